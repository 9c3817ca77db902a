package policy

import (
	"strconv"
	"strings"
	"time"

	"github.com/refundflow/refundflow"
	"github.com/refundflow/refundflow/money"
)

// decision assembles the verdict into a Decision: auto-approval, retention,
// arrival and the explanation around the rule's own sentence.
func (e *evaluation) decision() Decision {
	f, cur := e.f, e.f.Order.Currency
	d := Decision{
		Outcome:  e.outcome,
		Amount:   e.amount,
		Currency: cur,
		Rule:     e.rule,
		Policy:   e.p.ID(),
		Actions:  e.actions,
	}
	if d.Actions == nil {
		d.Actions = []Action{}
	}
	var en, zh strings.Builder
	en.Grow(512)
	zh.Grow(512)
	en.WriteString(e.whyEN)
	zh.WriteString(e.whyZH)

	if e.share != nil {
		e.writeShare(&en, &zh)
	}
	switch e.outcome {
	case OutcomeFull, OutcomePartial:
		if e.share == nil {
			e.writeFull(&en, &zh)
		}
		params := e.p.Rules[e.rule]
		d.Retention = params.Retention
		d.AutoApprove = e.writeApproval(&en, &zh, params.Auto)
		d.Arrival = e.writeArrival(&en, &zh, params.Arrival, d.AutoApprove)
	case OutcomeReview:
		en.WriteString(" A person reviews the case and sets the amount, up to the " + e.money(e.refundable) + " still refundable.")
		zh.WriteString("由人工审核并确定退款金额，最多为可退的 " + e.money(e.refundable) + "。")
	case OutcomeNone:
		en.WriteString(" No refund.")
		zh.WriteString("不予退款。")
	}
	if pr := &f.Order.Product; pr.NoRefund && !pr.NoRefundDisclosed && ruleIndex(e.rule) > ruleIndex(RulePromoNoRefund) {
		en.WriteString(" The no-refund promotion term was not shown prominently at checkout, so it does not bind you.")
		zh.WriteString("该「不退款」促销条款在结算时未明确展示，对您不具约束力。")
	}
	if e.outcome == OutcomeNone {
		en.WriteString(" If you disagree, you can appeal once (二次申诉) and a person will review the case.")
		zh.WriteString("如有异议，可发起一次二次申诉，由人工复核。")
	}
	en.WriteString(" Rule " + string(e.rule) + ", policy " + d.Policy + ".")
	zh.WriteString("规则 " + string(e.rule) + "，政策 " + d.Policy + "。")
	d.Explanation = Explanation{EN: en.String(), ZH: zh.String()}
	return d
}

func (e *evaluation) writeFull(en, zh *strings.Builder) {
	o := &e.f.Order
	if o.RefundedAmount > 0 {
		en.WriteString(" Full refund of the remaining " + e.money(e.amount) + " (" + e.money(o.RefundedAmount) + " was refunded before).")
		zh.WriteString("全额退还剩余的 " + e.money(e.amount) + "（此前已退 " + e.money(o.RefundedAmount) + "）。")
		return
	}
	en.WriteString(" Full refund of " + e.money(e.amount) + ".")
	zh.WriteString("全额退款 " + e.money(e.amount) + "。")
}

// writeShare shows the pro-rata arithmetic, its rounding and its cap.
func (e *evaluation) writeShare(en, zh *strings.Builder) {
	s, o := e.share, &e.f.Order
	en.WriteString(" Pro-rata refund: " + s.textEN + " × " + e.money(o.Amount) + " = " + e.money(s.raw))
	zh.WriteString("按比例退款：" + s.textZH + " × " + e.money(o.Amount) + " = " + e.money(s.raw))
	if (o.Amount%s.den)*s.num%s.den != 0 {
		en.WriteString(", rounded down to the minor unit")
		zh.WriteString("（向下取整到最小货币单位）")
	}
	switch {
	case e.outcome == OutcomeNone:
		en.WriteString(", so nothing is refunded.")
		zh.WriteString("，因此没有可退金额。")
	case s.raw > e.amount:
		en.WriteString(", capped at the " + e.money(e.amount) + " still refundable (" + e.money(o.RefundedAmount) + " was refunded before).")
		zh.WriteString("，以剩余可退的 " + e.money(e.amount) + " 为上限（此前已退 " + e.money(o.RefundedAmount) + "）。")
	default:
		en.WriteString(".")
		zh.WriteString("。")
	}
}

// writeApproval decides auto-approval and says what stopped it, if anything.
func (e *evaluation) writeApproval(en, zh *strings.Builder, ruleAuto bool) bool {
	f, cur := e.f, e.f.Order.Currency
	limit, hasLimit := e.p.AutoApprove.Limits[cur]
	withinLimit := hasLimit && e.amount <= limit
	below := e.p.AutoApprove.LearnerRefunds90dBelow
	notSerial := f.LearnerRefunds90d < below
	if ruleAuto && withinLimit && notSerial {
		en.WriteString(" Approved automatically (within the " + e.money(limit) + " auto-approval limit for " + string(cur) + ").")
		zh.WriteString("已自动批准（未超过 " + string(cur) + " 自动批准上限 " + e.money(limit) + "）。")
		return true
	}
	en.WriteString(" A person approves it because")
	zh.WriteString("需人工审批：")
	sepEN, sepZH := " ", ""
	if !ruleAuto {
		en.WriteString(sepEN + "rule " + string(e.rule) + " is never approved automatically")
		zh.WriteString(sepZH + "规则 " + string(e.rule) + " 不自动批准")
		sepEN, sepZH = "; ", "；"
	}
	switch {
	case !hasLimit:
		en.WriteString(sepEN + string(cur) + " has no auto-approval limit")
		zh.WriteString(sepZH + string(cur) + " 没有自动批准额度")
		sepEN, sepZH = "; ", "；"
	case !withinLimit:
		en.WriteString(sepEN + e.money(e.amount) + " is above the " + e.money(limit) + " auto-approval limit")
		zh.WriteString(sepZH + e.money(e.amount) + " 超过自动批准上限 " + e.money(limit))
		sepEN, sepZH = "; ", "；"
	}
	if !notSerial {
		n, b := strconv.Itoa(f.LearnerRefunds90d), strconv.Itoa(below)
		en.WriteString(sepEN + "the learner had " + n + " refunds in the last 90 days (automatic approval needs fewer than " + b + ")")
		zh.WriteString(sepZH + "该学员近 90 天已退款 " + n + " 次（自动批准要求少于 " + b + " 次）")
	}
	en.WriteString(".")
	zh.WriteString("。")
	return false
}

// writeArrival dates the money: the decision date is the local date of Now in
// the policy's calendar, and +N is the N-th business day strictly after it.
func (e *evaluation) writeArrival(en, zh *strings.Builder, w ArrivalWindow, auto bool) *Arrival {
	day := e.cal.DateOf(e.f.Now)
	a := &Arrival{
		MinBusinessDays: w.MinBusinessDays,
		MaxBusinessDays: w.MaxBusinessDays,
		Earliest:        e.cal.AddBusinessDays(day, w.MinBusinessDays),
		Latest:          e.cal.AddBusinessDays(day, w.MaxBusinessDays),
	}
	a.FallbackYears = e.cal.FallbackYears(day.AddDays(1), a.Latest)
	span := strconv.Itoa(w.MinBusinessDays) + "–" + strconv.Itoa(w.MaxBusinessDays)
	if !auto {
		en.WriteString(" Once approved, the money is expected")
		zh.WriteString("批准后预计 ")
	} else {
		en.WriteString(" The money is expected")
		zh.WriteString("预计 ")
	}
	en.WriteString(" between " + a.Earliest.String() + " and " + a.Latest.String() + " (" + span + " business days after " +
		day.String() + ", " + e.cal.Name() + " calendar).")
	zh.WriteString(a.Earliest.String() + " 至 " + a.Latest.String() + " 到账（" + day.String() + " 之后第 " + span + " 个工作日，" +
		e.cal.Name() + " 日历）。")
	if len(a.FallbackYears) > 0 {
		ys := yearsText(a.FallbackYears)
		en.WriteString(" These dates assume plain weekdays for " + ys + ": no holiday schedule is loaded for it.")
		zh.WriteString(ys + " 年的节假日安排尚未载入，日期按普通工作日估算。")
	}
	return a
}

func yearsText(ys []int) string {
	var b strings.Builder
	for i, y := range ys {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(strconv.Itoa(y))
	}
	return b.String()
}

func ruleIndex(r Rule) int {
	for i, v := range Rules {
		if v == r {
			return i
		}
	}
	return -1
}

func (e *evaluation) money(amount int64) string {
	return money.Format(amount, e.f.Order.Currency)
}

// when shows an instant in the policy calendar's zone, the learner's clock
// for a Chinese platform, with the offset so it is never ambiguous.
func (e *evaluation) when(t time.Time) string {
	return t.In(e.cal.Location()).Format("2006-01-02 15:04 Z07:00")
}

// consumption describes what was used of a course, the same measures the
// not-as-expected rule compares.
func (e *evaluation) consumption() (string, string) {
	pr, c := &e.f.Order.Product, &e.f.Order.Consumption
	if pr.Type == refundflow.LiveCourse {
		n, t := strconv.Itoa(c.SessionsAttended), strconv.Itoa(pr.SessionsTotal)
		return n + " of " + t + " sessions attended (" + fractionPercent(c.SessionsAttended, pr.SessionsTotal) + ")",
			"出席 " + n + "/" + t + " 场直播（" + fractionPercent(c.SessionsAttended, pr.SessionsTotal) + "）"
	}
	w := ratioPercent(c.WatchedRatio)
	n, t := strconv.Itoa(c.LessonsCompleted), strconv.Itoa(pr.LessonsTotal)
	return w + " watched and " + n + " of " + t + " lessons completed (" + fractionPercent(c.LessonsCompleted, pr.LessonsTotal) + ")",
		"观看 " + w + "，完成 " + n + "/" + t + " 课时（" + fractionPercent(c.LessonsCompleted, pr.LessonsTotal) + "）"
}

// ratioPercent shows a 0..1 ratio as a percentage by moving the decimal
// point of its shortest decimal form, so 0.0999 shows as 9.99%, never as a
// float artefact such as 9.990000000000002%.
func ratioPercent(r float64) string {
	s := strconv.FormatFloat(r, 'f', -1, 64)
	whole, frac, _ := strings.Cut(s, ".")
	for len(frac) < 2 {
		frac += "0"
	}
	whole = strings.TrimLeft(whole+frac[:2], "0")
	if whole == "" {
		whole = "0"
	}
	if frac = frac[2:]; frac != "" {
		return whole + "." + frac + "%"
	}
	return whole + "%"
}

// fractionPercent shows n/total as a percentage truncated to two decimals,
// so a share below a threshold never displays as the threshold itself.
func fractionPercent(n, total int) string {
	if total == 0 {
		return "0%"
	}
	return basisPointsText(int64(n) * fullBasisPoints / int64(total))
}

// basisPointsText shows basis points as a percentage: 1000 → "10%", 1250 → "12.5%".
func basisPointsText(bp int64) string {
	s := strconv.FormatInt(bp/100, 10)
	if r := bp % 100; r != 0 {
		frac := strconv.FormatInt(100+r, 10)[1:]
		s += "." + strings.TrimRight(frac, "0")
	}
	return s + "%"
}

// durationEN shows an elapsed time exactly, largest unit first: "23 h 59 min
// 59 s", "3 days 4 h". Boundaries matter here, so nothing is rounded.
func durationEN(d time.Duration) string {
	return durationText(d, " days", " h", " min", " s", " ")
}

func durationZH(d time.Duration) string {
	return durationText(d, "天", "小时", "分钟", "秒", "")
}

// durationText switches to days only from 48 h on, so the unit is always plural.
func durationText(d time.Duration, daysUnit, hourUnit, minUnit, secUnit, sep string) string {
	if d < 0 {
		d = -d
	}
	d = d.Truncate(time.Second)
	var parts []string
	if d >= 48*time.Hour {
		n := int64(d / (24 * time.Hour))
		d -= time.Duration(n) * 24 * time.Hour
		parts = append(parts, strconv.FormatInt(n, 10)+daysUnit)
	}
	for _, u := range []struct {
		size time.Duration
		name string
	}{{time.Hour, hourUnit}, {time.Minute, minUnit}, {time.Second, secUnit}} {
		if n := int64(d / u.size); n > 0 {
			parts = append(parts, strconv.FormatInt(n, 10)+u.name)
			d -= time.Duration(n) * u.size
		}
	}
	if len(parts) == 0 {
		return "0" + secUnit
	}
	return strings.Join(parts, sep)
}

func productEN(t refundflow.ProductType) string {
	switch t {
	case refundflow.RecordedCourse:
		return "recorded course"
	case refundflow.LiveCourse:
		return "live course"
	case refundflow.Membership:
		return "membership"
	}
	return "consultation"
}

func productZH(t refundflow.ProductType) string {
	switch t {
	case refundflow.RecordedCourse:
		return "录播课"
	case refundflow.LiveCourse:
		return "直播课"
	case refundflow.Membership:
		return "会员"
	}
	return "咨询"
}
