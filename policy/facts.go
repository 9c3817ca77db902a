package policy

import (
	"math"
	"time"

	"github.com/refundflow/refundflow"
	"github.com/refundflow/refundflow/internal/jsonwalk"
	"github.com/refundflow/refundflow/money"
)

// Reason is why the learner asks for a refund (SPEC 4.2).
type Reason string

const (
	ReasonChangedMind       Reason = "changed_mind"       // 冲动消费/误操作
	ReasonNotAsExpected     Reason = "not_as_expected"    // 内容不符预期
	ReasonQualityIssue      Reason = "quality_issue"      // 课程质量问题
	ReasonFalseAdvertising  Reason = "false_advertising"  // 与宣传不符 / 虚假宣传
	ReasonTechnicalFailure  Reason = "technical_failure"  // 技术问题导致无法学习
	ReasonUnnotifiedRenewal Reason = "unnotified_renewal" // 自动续费未提醒
	ReasonScheduleChange    Reason = "schedule_change"    // time no longer suits (consultations)
	ReasonOther             Reason = "other"
)

// Reasons lists every reason, in SPEC order.
var Reasons = []Reason{
	ReasonChangedMind, ReasonNotAsExpected, ReasonQualityIssue, ReasonFalseAdvertising,
	ReasonTechnicalFailure, ReasonUnnotifiedRenewal, ReasonScheduleChange, ReasonOther,
}

// Valid reports whether r is one of Reasons.
func (r Reason) Valid() bool {
	for _, v := range Reasons {
		if r == v {
			return true
		}
	}
	return false
}

// Facts is everything the policy looks at for one request, as of Now. Its
// JSON is the `refundflow policy eval` input (SPEC 6); decode it with
// DecodeFacts (or json.Unmarshal, which uses it) to get field-naming errors.
type Facts struct {
	Now    time.Time `json:"now"`
	Reason Reason    `json:"reason"`
	Order  Order     `json:"order"`
	// OutageHours is the longest platform outage on record that hit the
	// product, in hours; 0 when none.
	OutageHours       float64 `json:"outage_hours"`
	LearnerRefunds90d int     `json:"learner_refunds_90d"`
}

// Order is the order being refunded, with its product and the learner's use of it.
type Order struct {
	Amount         int64               `json:"amount"` // minor units
	Currency       money.Currency      `json:"currency"`
	PurchasedAt    time.Time           `json:"purchased_at"`
	RefundedAmount int64               `json:"refunded_amount"` // already refunded, minor units
	Disputed       bool                `json:"disputed"`
	Product        Product             `json:"product"`
	Consumption    Consumption         `json:"consumption"`
	Renewal        *refundflow.Renewal `json:"renewal"`
}

// Product is the part of the product the policy needs.
type Product struct {
	Type          refundflow.ProductType `json:"type"`
	LessonsTotal  int                    `json:"lessons_total"`
	SessionsTotal int                    `json:"sessions_total"`
	SessionsHeld  int                    `json:"sessions_held"`
	// StartsAt is required for live courses; a recorded course without it
	// starts at purchase.
	StartsAt *time.Time `json:"starts_at,omitempty"`
	// AppointmentAt is required for consultations.
	AppointmentAt     *time.Time `json:"appointment_at,omitempty"`
	NoRefund          bool       `json:"no_refund"`
	NoRefundDisclosed bool       `json:"no_refund_disclosed"`
}

// Consumption is how much of the product the learner has used.
type Consumption struct {
	WatchedRatio     float64 `json:"watched_ratio"` // 0..1
	LessonsCompleted int     `json:"lessons_completed"`
	SessionsAttended int     `json:"sessions_attended"`
}

// maxCount bounds lesson and session counts so that exact fraction
// comparisons (count × 10000) and money.MulFrac never overflow.
const maxCount = 1_000_000

// DecodeFacts reads one facts object strictly: unknown fields, wrong types,
// missing required fields and impossible values are errors. The error is a
// *refundflow.Error whose Field is the JSON path (e.g.
// "order.consumption.watched_ratio") and whose Details list every problem.
func DecodeFacts(data []byte) (Facts, error) {
	tree, err := jsonwalk.Decode(data, "facts")
	if err != nil {
		return Facts{}, err
	}
	var w jsonwalk.Walker
	f := readFacts(&w, tree)
	if err := w.Problems.Err(); err != nil {
		return Facts{}, err
	}
	if err := f.Validate(); err != nil {
		return Facts{}, err
	}
	return f, nil
}

// UnmarshalJSON makes json.Unmarshal (and so API request binding) as strict
// as DecodeFacts.
func (f *Facts) UnmarshalJSON(data []byte) error {
	v, err := DecodeFacts(data)
	if err != nil {
		return err
	}
	*f = v
	return nil
}

func readFacts(w *jsonwalk.Walker, v any) Facts {
	var f Facts
	m, ok := w.Object(v, "", "now", "reason", "order", "outage_hours", "learner_refunds_90d")
	if !ok {
		return f
	}
	f.Now, _ = w.Time(m, "", "now", true)
	f.Reason = Reason(w.Str(m, "", "reason", true))
	if v, ok := w.Value(m, "", "order", true); ok {
		f.Order = readOrder(w, v, "order")
	}
	f.OutageHours = w.Number(m, "", "outage_hours", false)
	f.LearnerRefunds90d = w.Count(m, "", "learner_refunds_90d", false)
	return f
}

func readOrder(w *jsonwalk.Walker, v any, path string) Order {
	var o Order
	m, ok := w.Object(v, path, "amount", "currency", "purchased_at", "refunded_amount", "disputed",
		"product", "consumption", "renewal")
	if !ok {
		return o
	}
	o.Amount = w.Int64(m, path, "amount", true)
	if s := w.Str(m, path, "currency", true); s != "" {
		c, err := money.ParseCurrency(s)
		if err != nil {
			w.Problems.Add(jsonwalk.Join(path, "currency"), "unknown_currency", "%v", err)
		}
		o.Currency = c
	}
	o.PurchasedAt, _ = w.Time(m, path, "purchased_at", true)
	o.RefundedAmount = w.Int64(m, path, "refunded_amount", false)
	o.Disputed = w.Bool(m, path, "disputed", false)
	if v, ok := w.Value(m, path, "product", true); ok {
		o.Product = readProduct(w, v, jsonwalk.Join(path, "product"))
	}
	if v, ok := w.Value(m, path, "consumption", false); ok {
		p := jsonwalk.Join(path, "consumption")
		if c, ok := w.Object(v, p, "watched_ratio", "lessons_completed", "sessions_attended"); ok {
			o.Consumption = Consumption{
				WatchedRatio:     w.Number(c, p, "watched_ratio", false),
				LessonsCompleted: w.Count(c, p, "lessons_completed", false),
				SessionsAttended: w.Count(c, p, "sessions_attended", false),
			}
		}
	}
	if v, ok := w.Value(m, path, "renewal", false); ok {
		p := jsonwalk.Join(path, "renewal")
		if r, ok := w.Object(v, p, "period_start", "reminder_sent_at"); ok {
			o.Renewal = &refundflow.Renewal{ReminderSentAt: w.OptionalTime(r, p, "reminder_sent_at")}
			o.Renewal.PeriodStart, _ = w.Time(r, p, "period_start", true)
		}
	}
	return o
}

func readProduct(w *jsonwalk.Walker, v any, path string) Product {
	var p Product
	m, ok := w.Object(v, path, "type", "lessons_total", "sessions_total", "sessions_held", "starts_at",
		"appointment_at", "no_refund", "no_refund_disclosed")
	if !ok {
		return p
	}
	p.Type = refundflow.ProductType(w.Str(m, path, "type", true))
	p.LessonsTotal = w.Count(m, path, "lessons_total", false)
	p.SessionsTotal = w.Count(m, path, "sessions_total", false)
	p.SessionsHeld = w.Count(m, path, "sessions_held", false)
	p.StartsAt = w.OptionalTime(m, path, "starts_at")
	p.AppointmentAt = w.OptionalTime(m, path, "appointment_at")
	p.NoRefund = w.Bool(m, path, "no_refund", false)
	p.NoRefundDisclosed = w.Bool(m, path, "no_refund_disclosed", false)
	return p
}

// Validate checks facts built in Go the way DecodeFacts checks JSON, so that
// Evaluate never works on impossible data.
func (f *Facts) Validate() error {
	var p refundflow.Problems
	o, pr, c := &f.Order, &f.Order.Product, &f.Order.Consumption

	switch {
	case f.Now.IsZero():
		p.Add("now", "required", "required")
	case !o.PurchasedAt.IsZero() && f.Now.Before(o.PurchasedAt):
		p.Add("now", "before_purchase", "%s is before order.purchased_at %s",
			f.Now.Format(time.RFC3339), o.PurchasedAt.Format(time.RFC3339))
	}
	switch {
	case f.Reason == "":
		p.Add("reason", "required", "required")
	case !f.Reason.Valid():
		p.Add("reason", "unknown_reason", "unknown reason %q", string(f.Reason))
	}
	if f.OutageHours < 0 || math.IsNaN(f.OutageHours) || math.IsInf(f.OutageHours, 0) {
		p.Add("outage_hours", "out_of_range", "must be a number of hours, 0 or more")
	}
	if f.LearnerRefunds90d < 0 {
		p.Add("learner_refunds_90d", "out_of_range", "must not be negative")
	}

	if o.Amount < 0 {
		p.Add("order.amount", "out_of_range", "must not be negative")
	}
	switch {
	case o.Currency == "":
		p.Add("order.currency", "required", "required")
	case !o.Currency.Valid():
		p.Add("order.currency", "unknown_currency", "unknown currency %q", string(o.Currency))
	}
	if o.PurchasedAt.IsZero() {
		p.Add("order.purchased_at", "required", "required")
	}
	if o.RefundedAmount < 0 {
		p.Add("order.refunded_amount", "out_of_range", "must not be negative")
	}

	switch {
	case pr.Type == "":
		p.Add("order.product.type", "required", "required")
	case !pr.Type.Valid():
		p.Add("order.product.type", "unknown_product_type", "unknown product type %q", string(pr.Type))
	}
	checkCount(&p, "order.product.lessons_total", pr.LessonsTotal)
	checkCount(&p, "order.product.sessions_total", pr.SessionsTotal)
	checkCount(&p, "order.product.sessions_held", pr.SessionsHeld)
	if pr.SessionsHeld > pr.SessionsTotal {
		p.Add("order.product.sessions_held", "out_of_range", "%d is more than sessions_total %d", pr.SessionsHeld, pr.SessionsTotal)
	}
	if pr.Type == refundflow.LiveCourse && pr.StartsAt == nil {
		p.Add("order.product.starts_at", "required", "required for a live_course")
	}
	if pr.Type == refundflow.Consultation && pr.AppointmentAt == nil {
		p.Add("order.product.appointment_at", "required", "required for a consultation")
	}

	if c.WatchedRatio < 0 || c.WatchedRatio > 1 || math.IsNaN(c.WatchedRatio) {
		p.Add("order.consumption.watched_ratio", "out_of_range", "%v is outside 0..1", c.WatchedRatio)
	}
	checkCount(&p, "order.consumption.lessons_completed", c.LessonsCompleted)
	checkCount(&p, "order.consumption.sessions_attended", c.SessionsAttended)
	if c.LessonsCompleted > pr.LessonsTotal {
		p.Add("order.consumption.lessons_completed", "out_of_range", "%d is more than lessons_total %d", c.LessonsCompleted, pr.LessonsTotal)
	}

	if r := o.Renewal; r != nil {
		if pr.Type.Valid() && pr.Type != refundflow.Membership {
			p.Add("order.renewal", "not_a_membership", "only a membership renews, this is a %s", pr.Type)
		}
		if r.PeriodStart.IsZero() {
			p.Add("order.renewal.period_start", "required", "required")
		}
	}
	return p.Err()
}

func checkCount(p *refundflow.Problems, field string, n int) {
	switch {
	case n < 0:
		p.Add(field, "out_of_range", "must not be negative")
	case n > maxCount:
		p.Add(field, "out_of_range", "%d is more than %d", n, maxCount)
	}
}
