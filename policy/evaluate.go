package policy

import (
	"strconv"
	"time"

	"github.com/refundflow/refundflow"
	"github.com/refundflow/refundflow/calendar"
	"github.com/refundflow/refundflow/money"
)

// Evaluate decides one request under policy p. The first rule that applies,
// in the order of Rules, decides. The policy's calendar comes from cals; an
// unknown calendar or invalid facts (see Facts.Validate) are errors, never a
// decision.
//
// p must be valid (from Parse or Default, or checked with Validate).
func Evaluate(p *Policy, f Facts, cals *calendar.Registry) (Decision, error) {
	if err := f.Validate(); err != nil {
		return Decision{}, err
	}
	cal, ok := cals.Get(p.Calendar)
	if !ok {
		return Decision{}, refundflow.Errorf(refundflow.EUNPROCESSABLE, "unknown_calendar",
			"policy %s uses calendar %q, which is not loaded", p.ID(), p.Calendar)
	}
	e := evaluation{p: p, f: &f, cal: cal, refundable: f.Order.Amount - f.Order.RefundedAmount}
	for _, applies := range ruleOrder {
		if applies(&e) {
			break
		}
	}
	return e.decision(), nil
}

// ruleOrder is SPEC 4.3's table, top to bottom. Each function reports whether
// its rule applies and, if so, records the verdict; outsidePolicy always applies.
var ruleOrder = []func(*evaluation) bool{
	(*evaluation).disputeOpen,
	(*evaluation).fullyRefunded,
	(*evaluation).unnotifiedRenewal,
	(*evaluation).platformOutage,
	(*evaluation).outageUnverified,
	(*evaluation).qualityIssue,
	(*evaluation).promoNoRefund,
	(*evaluation).coolingOff,
	(*evaluation).liveBeforeStart,
	(*evaluation).notAsExpected,
	(*evaluation).liveProRata,
	(*evaluation).consultationNotice,
	(*evaluation).consultationLateCancel,
	(*evaluation).membershipCurrentPeriod,
	(*evaluation).outsidePolicy,
}

// evaluation is one run of the rules: the inputs and the verdict so far.
type evaluation struct {
	p          *Policy
	f          *Facts
	cal        *calendar.Calendar
	refundable int64

	rule    Rule
	outcome Outcome
	amount  int64
	actions []Action
	// why states, in each language, the facts that made the rule apply.
	whyEN, whyZH string
	// share is set for pro-rata amounts, to show the arithmetic.
	share *share
}

// share is a pro-rata refund: num/den × the order amount, shown as textEN/textZH.
type share struct {
	num, den       int64
	textEN, textZH string
	raw            int64 // before capping at refundable
}

func hours(n int) time.Duration { return time.Duration(n) * time.Hour }
func days(n int) time.Duration  { return time.Duration(n) * 24 * time.Hour }

func (e *evaluation) full(r Rule, en, zh string) {
	e.rule, e.outcome, e.amount, e.whyEN, e.whyZH = r, OutcomeFull, e.refundable, en, zh
}

func (e *evaluation) none(r Rule, en, zh string) {
	e.rule, e.outcome, e.whyEN, e.whyZH = r, OutcomeNone, en, zh
}

// review hands the case to a person, who may approve up to what is refundable.
func (e *evaluation) review(r Rule, en, zh string) {
	e.rule, e.outcome, e.amount, e.whyEN, e.whyZH = r, OutcomeReview, e.refundable, en, zh
}

// proRata refunds num/den of the order amount, rounded down to the minor unit
// and capped at what is still refundable. Full and partial follow from the
// result (full iff it equals refundable); a result of 0 refunds nothing.
func (e *evaluation) proRata(r Rule, num, den int64, shareEN, shareZH, en, zh string) {
	raw := money.MulFrac(e.f.Order.Amount, num, den)
	e.rule, e.whyEN, e.whyZH = r, en, zh
	e.share = &share{num: num, den: den, textEN: shareEN, textZH: shareZH, raw: raw}
	e.amount = min(raw, e.refundable)
	switch {
	case e.amount <= 0:
		e.outcome, e.amount = OutcomeNone, 0
	case e.amount == e.refundable:
		e.outcome = OutcomeFull
	default:
		e.outcome = OutcomePartial
	}
}

func (e *evaluation) disputeOpen() bool {
	if !e.f.Order.Disputed {
		return false
	}
	e.none(RuleDisputeOpen,
		"The payment is disputed with the card issuer (chargeback); the dispute process decides about the money, so no refund is made here.",
		"该笔付款正处于发卡行争议（拒付）流程中，款项由争议流程处理，此处不予退款。")
	return true
}

func (e *evaluation) fullyRefunded() bool {
	if e.refundable > 0 {
		return false
	}
	o := &e.f.Order
	e.none(RuleFullyRefunded,
		"Nothing is left to refund: "+e.money(o.RefundedAmount)+" of the "+e.money(o.Amount)+" paid has already been refunded.",
		"没有可退金额：实付 "+e.money(o.Amount)+"，已退款 "+e.money(o.RefundedAmount)+"。")
	return true
}

func (e *evaluation) unnotifiedRenewal() bool {
	r := e.f.Order.Renewal
	if r == nil {
		return false
	}
	lead := e.p.RenewalReminderLeadDays
	if r.ReminderSentAt != nil && !r.ReminderSentAt.After(r.PeriodStart.Add(-days(lead))) {
		return false
	}
	leadS, start := strconv.Itoa(lead), e.when(r.PeriodStart)
	var en, zh string
	switch {
	case r.ReminderSentAt == nil:
		en = "The membership renewed for the period starting " + start + " without a renewal reminder; one must be sent at least " + leadS + " days before."
		zh = "会员于 " + start + " 开始的新周期自动续费，但未发送续费提醒（须至少提前 " + leadS + " 天提醒）。"
	case r.ReminderSentAt.Before(r.PeriodStart):
		gap := r.PeriodStart.Sub(*r.ReminderSentAt)
		en = "The renewal reminder was sent only " + durationEN(gap) + " before the period starting " + start + ", less than the " + leadS + " days required."
		zh = "续费提醒仅在 " + start + " 开始的新周期前 " + durationZH(gap) + " 发送，不足规定的 " + leadS + " 天。"
	default:
		en = "The renewal reminder was sent only after the period starting " + start + " had begun; it must be sent at least " + leadS + " days before."
		zh = "续费提醒在 " + start + " 新周期开始之后才发送（须至少提前 " + leadS + " 天提醒）。"
	}
	e.full(RuleUnnotifiedRenewal, en+" Auto-renewal is cancelled.", zh+"已取消自动续费。")
	e.actions = []Action{ActionCancelAutoRenew}
	return true
}

func (e *evaluation) platformOutage() bool {
	if e.f.Reason != ReasonTechnicalFailure || e.f.OutageHours < float64(e.p.OutageThresholdHours) {
		return false
	}
	pr, c := &e.f.Order.Product, &e.f.Order.Consumption
	outH, minH := strconv.FormatFloat(e.f.OutageHours, 'f', -1, 64), strconv.Itoa(e.p.OutageThresholdHours)
	en := "A platform outage of " + outH + " h (at least " + minH + " h) hit this " + productEN(pr.Type)
	zh := "平台故障持续 " + outH + " 小时（不少于 " + minH + " 小时），影响了该" + productZH(pr.Type)
	var left, total int
	var unitEN, unitZH string
	switch pr.Type {
	case refundflow.RecordedCourse:
		left, total, unitEN, unitZH = pr.LessonsTotal-c.LessonsCompleted, pr.LessonsTotal, "lessons not yet completed", "课时尚未完成"
	case refundflow.LiveCourse:
		left, total, unitEN, unitZH = pr.SessionsTotal-pr.SessionsHeld, pr.SessionsTotal, "sessions still to come", "场直播尚未进行"
	}
	if total == 0 {
		e.review(RulePlatformOutage,
			en+"; it has no lesson or session count to pro-rate.",
			zh+"；没有可按比例计算的课时或场次。")
		return true
	}
	frac := strconv.Itoa(left) + "/" + strconv.Itoa(total)
	e.proRata(RulePlatformOutage, int64(left), int64(total), frac, frac,
		en+"; "+strconv.Itoa(left)+" of "+strconv.Itoa(total)+" "+unitEN+".",
		zh+"；共 "+strconv.Itoa(total)+" 节，其中 "+strconv.Itoa(left)+" "+unitZH+"。")
	return true
}

func (e *evaluation) outageUnverified() bool {
	if e.f.Reason != ReasonTechnicalFailure {
		return false
	}
	minH := strconv.Itoa(e.p.OutageThresholdHours)
	en := "You reported a technical failure, but no platform outage of at least " + minH + " h is on record for this product"
	zh := "您反馈了技术问题，但该产品没有持续 " + minH + " 小时以上的平台故障记录"
	if e.f.OutageHours > 0 {
		outH := strconv.FormatFloat(e.f.OutageHours, 'f', -1, 64)
		en += " (the longest lasted " + outH + " h)"
		zh += "（最长一次为 " + outH + " 小时）"
	}
	e.review(RuleOutageUnverified, en+"; an agent checks what happened.", zh+"；将由客服人员核实。")
	return true
}

func (e *evaluation) qualityIssue() bool {
	switch e.f.Reason {
	case ReasonQualityIssue:
		e.full(RuleQualityIssue,
			"You reported a quality issue with the course; a person verifies it before the refund is approved, and compensation may be added.",
			"您反馈了课程质量问题；经人工核实后退款，并可能给予额外补偿。")
	case ReasonFalseAdvertising:
		e.full(RuleQualityIssue,
			"You reported that the product does not match how it was advertised; a person verifies it before the refund is approved, and compensation may be added.",
			"您反馈了与宣传不符（虚假宣传）；经人工核实后退款，并可能给予额外补偿。")
	default:
		return false
	}
	return true
}

func (e *evaluation) promoNoRefund() bool {
	pr := &e.f.Order.Product
	if !pr.NoRefund || !pr.NoRefundDisclosed {
		return false
	}
	e.none(RulePromoNoRefund,
		"This was bought in a no-refund promotion, and the no-refund term was shown prominently at checkout.",
		"该商品以「不退款」促销价购买，且结算时已明确展示不退款条款。")
	return true
}

func (e *evaluation) coolingOff() bool {
	f := e.f
	since := f.Now.Sub(f.Order.PurchasedAt)
	if since > hours(e.p.CoolingOffHours) || !e.nothingConsumed() {
		return false
	}
	limit := strconv.Itoa(e.p.CoolingOffHours)
	en := "Requested " + durationEN(since) + " after purchase, within the " + limit + " h cooling-off period, with nothing used (nothing watched, no lessons completed, no sessions attended"
	zh := "购买后 " + durationZH(since) + " 内申请，在 " + limit + " 小时冷静期内，且未使用（未观看、未完成课时、未出席直播"
	if f.Order.Product.Type == refundflow.Consultation {
		en += ", the consultation not yet held"
		zh += "，咨询尚未进行"
	}
	e.full(RuleCoolingOff, en+").", zh+"）。")
	return true
}

// nothingConsumed is the cooling-off condition: no use of any kind, and a
// consultation not yet held.
func (e *evaluation) nothingConsumed() bool {
	f := e.f
	c := &f.Order.Consumption
	if c.WatchedRatio != 0 || c.LessonsCompleted != 0 || c.SessionsAttended != 0 {
		return false
	}
	pr := &f.Order.Product
	return pr.Type != refundflow.Consultation || f.Now.Before(*pr.AppointmentAt)
}

func (e *evaluation) liveBeforeStart() bool {
	pr := &e.f.Order.Product
	if pr.Type != refundflow.LiveCourse || !e.f.Now.Before(*pr.StartsAt) {
		return false
	}
	e.full(RuleLiveBeforeStart,
		"The live course starts "+e.when(*pr.StartsAt)+" and has not started yet.",
		"直播课将于 "+e.when(*pr.StartsAt)+" 开课，尚未开始。")
	return true
}

// courseStart is when the not-as-expected window opens: the course start, or
// the purchase for a recorded course without one.
func (e *evaluation) courseStart() (time.Time, string, string) {
	if s := e.f.Order.Product.StartsAt; s != nil {
		return *s, "the course started " + e.when(*s), "课程于 " + e.when(*s) + " 开课后"
	}
	return e.f.Order.PurchasedAt, "purchase", "购买后"
}

func (e *evaluation) notAsExpected() bool {
	f := e.f
	pr := &f.Order.Product
	if pr.Type != refundflow.RecordedCourse && pr.Type != refundflow.LiveCourse {
		return false
	}
	switch f.Reason {
	case ReasonNotAsExpected, ReasonChangedMind, ReasonOther:
	default:
		return false
	}
	start, startEN, startZH := e.courseStart()
	window := e.p.NotAsExpected.WindowDays
	if f.Now.After(start.Add(days(window))) || !e.consumedBelow(e.p.NotAsExpected.ConsumedLessThanBasisPoints) {
		return false
	}
	consumedEN, consumedZH := e.consumption()
	limit := basisPointsText(e.p.NotAsExpected.ConsumedLessThanBasisPoints)
	winS := strconv.Itoa(window)
	var en, zh string
	if f.Now.Before(start) {
		en = "Requested before the course starts (" + e.when(start) + ")"
		zh = "在课程开课（" + e.when(start) + "）前申请"
	} else {
		since := f.Now.Sub(start)
		en = "Requested " + durationEN(since) + " after " + startEN + ", within " + winS + " days"
		zh = startZH + " " + durationZH(since) + " 申请，在 " + winS + " 天内"
	}
	e.full(RuleNotAsExpected,
		en+", having used "+consumedEN+", less than "+limit+".",
		zh+"，已使用 "+consumedZH+"，低于 "+limit+"。")
	return true
}

// consumedBelow reports consumed < bp/10000 exactly. consumed is the larger
// of the watched share and the lessons share for a recorded course, the
// sessions share for a live one, so each share must be below on its own.
// Counts compare as integers; the watched ratio compares against the
// correctly rounded float of bp/10000, which equals the float a JSON decimal
// with the same value parses to, so "0.10" is not below 10%.
func (e *evaluation) consumedBelow(bp int64) bool {
	pr, c := &e.f.Order.Product, &e.f.Order.Consumption
	below := func(n, total int) bool {
		if total == 0 {
			return bp > 0
		}
		return int64(n)*fullBasisPoints < bp*int64(total)
	}
	if pr.Type == refundflow.LiveCourse {
		return below(c.SessionsAttended, pr.SessionsTotal)
	}
	return c.WatchedRatio < float64(bp)/fullBasisPoints && below(c.LessonsCompleted, pr.LessonsTotal)
}

func (e *evaluation) liveProRata() bool {
	pr := &e.f.Order.Product
	if pr.Type != refundflow.LiveCourse || e.f.Now.Before(*pr.StartsAt) || pr.SessionsHeld >= pr.SessionsTotal {
		return false
	}
	left, total := pr.SessionsTotal-pr.SessionsHeld, pr.SessionsTotal
	frac := strconv.Itoa(left) + "/" + strconv.Itoa(total)
	e.proRata(RuleLiveProRata, int64(left), int64(total), frac, frac,
		"The live course started "+e.when(*pr.StartsAt)+"; "+strconv.Itoa(pr.SessionsHeld)+" of "+strconv.Itoa(total)+
			" sessions have been held, so "+strconv.Itoa(left)+" are still to come.",
		"直播课已于 "+e.when(*pr.StartsAt)+" 开课；共 "+strconv.Itoa(total)+" 场，已进行 "+strconv.Itoa(pr.SessionsHeld)+
			" 场，剩余 "+strconv.Itoa(left)+" 场。")
	return true
}

func (e *evaluation) consultationNotice() bool {
	pr := &e.f.Order.Product
	if pr.Type != refundflow.Consultation || e.f.Now.After(pr.AppointmentAt.Add(-hours(e.p.Consultation.NoticeHours))) {
		return false
	}
	notice, ahead := strconv.Itoa(e.p.Consultation.NoticeHours), pr.AppointmentAt.Sub(e.f.Now)
	e.full(RuleConsultationNotice,
		"Cancelled "+durationEN(ahead)+" before the appointment "+e.when(*pr.AppointmentAt)+", at least "+notice+" h in advance.",
		"在预约时间 "+e.when(*pr.AppointmentAt)+" 前 "+durationZH(ahead)+" 取消，已提前至少 "+notice+" 小时。")
	return true
}

func (e *evaluation) consultationLateCancel() bool {
	pr := &e.f.Order.Product
	if pr.Type != refundflow.Consultation || !e.f.Now.Before(*pr.AppointmentAt) {
		return false
	}
	notice, ahead := strconv.Itoa(e.p.Consultation.NoticeHours), pr.AppointmentAt.Sub(e.f.Now)
	bp := e.p.Consultation.LateCancelRefundBasisPoints
	pct := basisPointsText(bp)
	e.proRata(RuleConsultationLateCancel, bp, fullBasisPoints, pct, pct,
		"Cancelled "+durationEN(ahead)+" before the appointment "+e.when(*pr.AppointmentAt)+", less than "+notice+" h in advance, so "+pct+" of the amount is refunded.",
		"在预约时间 "+e.when(*pr.AppointmentAt)+" 前 "+durationZH(ahead)+" 取消，不足 "+notice+" 小时，退还订单金额的 "+pct+"。")
	return true
}

func (e *evaluation) membershipCurrentPeriod() bool {
	if e.f.Order.Product.Type != refundflow.Membership {
		return false
	}
	e.none(RuleMembershipCurrentPeriod,
		"A membership period that has begun is not refunded once the cooling-off period has passed; auto-renewal is cancelled so you are not charged again.",
		"会员周期开始且超过冷静期后不予退款；已为您取消自动续费，之后不会再扣费。")
	e.actions = []Action{ActionCancelAutoRenew}
	return true
}

func (e *evaluation) outsidePolicy() bool {
	f := e.f
	pr := &f.Order.Product
	var en, zh string
	switch pr.Type {
	case refundflow.Consultation:
		en = "The consultation was booked for " + e.when(*pr.AppointmentAt) + " and has already taken place."
		zh = "该咨询预约于 " + e.when(*pr.AppointmentAt) + "，已经进行。"
	case refundflow.LiveCourse:
		en = "All " + strconv.Itoa(pr.SessionsTotal) + " sessions of the live course have been held"
		zh = "该直播课的 " + strconv.Itoa(pr.SessionsTotal) + " 场直播已全部结束"
		fallthrough
	default:
		en2, zh2 := e.whyNotAsExpected()
		if en != "" {
			en, zh = en+". "+en2, zh+"；"+zh2
		} else {
			en, zh = en2, zh2
		}
	}
	e.none(RuleOutsidePolicy, en+" No rule of the policy refunds this request.", zh+"本政策没有适用的退款规则。")
	return true
}

// whyNotAsExpected says why a course request missed the not-as-expected rule.
func (e *evaluation) whyNotAsExpected() (string, string) {
	f := e.f
	switch f.Reason {
	case ReasonNotAsExpected, ReasonChangedMind, ReasonOther:
	default:
		return "The reason " + string(f.Reason) + " does not qualify for a refund of this course after the cooling-off period.",
			"退款原因 " + string(f.Reason) + " 在冷静期后不适用于该课程的退款。"
	}
	start, startEN, startZH := e.courseStart()
	winS := strconv.Itoa(e.p.NotAsExpected.WindowDays)
	if f.Now.After(start.Add(days(e.p.NotAsExpected.WindowDays))) {
		since := f.Now.Sub(start)
		return "Requested " + durationEN(since) + " after " + startEN + ", more than " + winS + " days.",
			startZH + " " + durationZH(since) + " 才申请，超过 " + winS + " 天。"
	}
	consumedEN, consumedZH := e.consumption()
	limit := basisPointsText(e.p.NotAsExpected.ConsumedLessThanBasisPoints)
	return "You have used " + consumedEN + ", not less than " + limit + ".",
		"已使用 " + consumedZH + "，不低于 " + limit + "。"
}
