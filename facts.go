package refundflow

import (
	"time"

	"github.com/refundflow/refundflow/money"
)

// ProductType is what was sold; each type has its own refund rules.
type ProductType string

const (
	RecordedCourse ProductType = "recorded_course"
	LiveCourse     ProductType = "live_course"
	Membership     ProductType = "membership"
	Consultation   ProductType = "consultation"
)

// Valid reports whether t is one of the four product types.
func (t ProductType) Valid() bool {
	switch t {
	case RecordedCourse, LiveCourse, Membership, Consultation:
		return true
	}
	return false
}

// Product is a course, membership or consultation as the platform sells it
// (SPEC 4.1). Counts that do not apply to the type are zero.
type Product struct {
	ID                string      `json:"id"`
	Type              ProductType `json:"type"`
	Title             string      `json:"title"`
	LessonsTotal      int         `json:"lessons_total"`
	SessionsTotal     int         `json:"sessions_total"`
	SessionsHeld      int         `json:"sessions_held"`
	StartsAt          *time.Time  `json:"starts_at"`
	AppointmentAt     *time.Time  `json:"appointment_at"`
	NoRefund          bool        `json:"no_refund"`
	NoRefundDisclosed bool        `json:"no_refund_disclosed"`
	CreatorAccount    string      `json:"creator_account"`
	Alternatives      []string    `json:"alternatives"`
	UpdatedAt         time.Time   `json:"updated_at"`
}

// Validate checks every field and reports all problems at once.
func (p *Product) Validate() error {
	var pr Problems
	checkID(&pr, "id", p.ID)
	if !p.Type.Valid() {
		pr.Add("type", "invalid_product_type", "must be one of recorded_course, live_course, membership, consultation")
	}
	if p.Title == "" || len(p.Title) > 500 {
		pr.Add("title", "invalid_title", "must be 1 to 500 bytes")
	} else {
		CheckText(&pr, "title", p.Title)
	}
	checkCount(&pr, "lessons_total", p.LessonsTotal)
	checkCount(&pr, "sessions_total", p.SessionsTotal)
	checkCount(&pr, "sessions_held", p.SessionsHeld)
	if p.SessionsHeld > p.SessionsTotal {
		pr.Add("sessions_held", "sessions_held_exceeds_total", "is %d but sessions_total is %d", p.SessionsHeld, p.SessionsTotal)
	}
	switch p.Type {
	case RecordedCourse:
		if p.LessonsTotal == 0 {
			pr.Add("lessons_total", "missing_lessons_total", "a recorded course needs lessons_total > 0")
		}
	case LiveCourse:
		if p.SessionsTotal == 0 {
			pr.Add("sessions_total", "missing_sessions_total", "a live course needs sessions_total > 0")
		}
		if p.StartsAt == nil {
			pr.Add("starts_at", "missing_starts_at", "a live course needs starts_at")
		}
	case Consultation:
		if p.AppointmentAt == nil {
			pr.Add("appointment_at", "missing_appointment_at", "a consultation needs appointment_at")
		}
	}
	if p.NoRefundDisclosed && !p.NoRefund {
		pr.Add("no_refund_disclosed", "disclosed_without_no_refund", "can only be true when no_refund is true")
	}
	if len(p.CreatorAccount) > 255 {
		pr.Add("creator_account", "invalid_creator_account", "must be at most 255 bytes")
	} else {
		CheckText(&pr, "creator_account", p.CreatorAccount)
	}
	if len(p.Alternatives) > MaxAlternatives {
		pr.Add("alternatives", "too_many", "at most %d products", MaxAlternatives)
	}
	for i, alt := range p.Alternatives {
		field := "alternatives[" + itoa(i) + "]"
		checkID(&pr, field, alt)
		if alt == p.ID {
			pr.Add(field, "alternative_is_self", "a product cannot be its own alternative")
		}
	}
	return pr.Err()
}

// Locale is the language the learner is addressed in.
type Locale string

const (
	LocaleZhCN Locale = "zh-CN"
	LocaleEn   Locale = "en"
)

// Renewal describes the membership period an order paid for when the order
// is an automatic renewal.
type Renewal struct {
	PeriodStart    time.Time  `json:"period_start"`
	ReminderSentAt *time.Time `json:"reminder_sent_at"`
}

// Order is one purchase (SPEC 4.1). RefundedAmount is derived from our own
// refunds and never taken from the platform.
type Order struct {
	ID                   string         `json:"id"`
	LearnerID            string         `json:"learner_id"`
	LearnerEmail         string         `json:"learner_email"`
	Locale               Locale         `json:"locale"`
	ProductID            string         `json:"product_id"`
	Amount               int64          `json:"amount"`
	Currency             money.Currency `json:"currency"`
	PurchasedAt          time.Time      `json:"purchased_at"`
	PaymentIntent        string         `json:"payment_intent"`
	ApplicationFeeAmount int64          `json:"application_fee_amount"`
	Renewal              *Renewal       `json:"renewal"`
	// NextRenewalAt is when a membership renews automatically next (and is
	// charged again); nil when it does not renew. refundflow reminds the
	// learner ahead of it (SPEC 4.9).
	NextRenewalAt  *time.Time `json:"next_renewal_at"`
	Disputed       bool       `json:"disputed"`
	RefundedAmount int64      `json:"refunded_amount"`
	// Policy is the refund policy version in force at purchase, "name@version".
	Policy    string    `json:"policy"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Validate checks the fields the platform sends.
func (o *Order) Validate() error {
	var pr Problems
	checkID(&pr, "id", o.ID)
	checkID(&pr, "learner_id", o.LearnerID)
	checkID(&pr, "product_id", o.ProductID)
	if !validEmail(o.LearnerEmail) {
		pr.Add("learner_email", "invalid_email", "must be an email address")
	}
	if o.Locale != LocaleZhCN && o.Locale != LocaleEn {
		pr.Add("locale", "invalid_locale", "must be zh-CN or en")
	}
	CheckAmount(&pr, "amount", o.Amount)
	if !o.Currency.Valid() {
		pr.Add("currency", "unknown_currency", "%q is not an ISO 4217 currency code", o.Currency)
	}
	if o.PurchasedAt.IsZero() {
		pr.Add("purchased_at", "missing_purchased_at", "is required (RFC 3339)")
	}
	if o.PaymentIntent == "" || len(o.PaymentIntent) > 255 {
		pr.Add("payment_intent", "invalid_payment_intent", "must be the Stripe PaymentIntent id")
	} else {
		CheckText(&pr, "payment_intent", o.PaymentIntent)
	}
	if o.ApplicationFeeAmount < 0 {
		pr.Add("application_fee_amount", "negative_amount", "must not be negative")
	} else if o.ApplicationFeeAmount > o.Amount && o.Amount > 0 {
		pr.Add("application_fee_amount", "fee_exceeds_amount", "must not exceed amount")
	}
	if o.Renewal != nil && o.Renewal.PeriodStart.IsZero() {
		pr.Add("renewal.period_start", "missing_period_start", "is required for a renewal")
	}
	if o.NextRenewalAt != nil && !o.PurchasedAt.IsZero() && !o.NextRenewalAt.After(o.PurchasedAt) {
		pr.Add("next_renewal_at", "renewal_not_after_purchase", "must be after purchased_at")
	}
	return pr.Err()
}

// CheckTimes refuses, as unprocessable, an order whose purchase or renewal
// reminder lies in the future (beyond MaxClockSkew): both have happened by
// the time the platform tells us. The renewal period and the next renewal
// lie ahead by nature.
func (o *Order) CheckTimes(now time.Time) error {
	var pr Problems
	checkPast(&pr, "purchased_at", &o.PurchasedAt, now)
	if o.Renewal != nil {
		checkPast(&pr, "renewal.reminder_sent_at", o.Renewal.ReminderSentAt, now)
	}
	return pr.ErrOfKind(EUNPROCESSABLE)
}

// Progress is how much of a product the learner has consumed. Updates only
// ever increase each figure.
type Progress struct {
	WatchedRatio     float64   `json:"watched_ratio"`
	LessonsCompleted int       `json:"lessons_completed"`
	SessionsAttended int       `json:"sessions_attended"`
	UpdatedAt        time.Time `json:"updated_at"`
}

// Validate checks the ranges of a progress report.
func (p *Progress) Validate() error {
	var pr Problems
	if p.WatchedRatio < 0 || p.WatchedRatio > 1 || p.WatchedRatio != p.WatchedRatio {
		pr.Add("watched_ratio", "ratio_out_of_range", "must be between 0 and 1")
	}
	checkCount(&pr, "lessons_completed", p.LessonsCompleted)
	checkCount(&pr, "sessions_attended", p.SessionsAttended)
	return pr.Err()
}

// Merge returns the element-wise maximum of p and q: progress never goes back.
func (p Progress) Merge(q Progress) Progress {
	return Progress{
		WatchedRatio:     max(p.WatchedRatio, q.WatchedRatio),
		LessonsCompleted: max(p.LessonsCompleted, q.LessonsCompleted),
		SessionsAttended: max(p.SessionsAttended, q.SessionsAttended),
		UpdatedAt:        q.UpdatedAt,
	}
}

// Outage is a period when the platform itself failed. No ProductIDs means
// every product was hit; a nil EndedAt means it is still going on.
type Outage struct {
	ID         string     `json:"id"`
	ProductIDs []string   `json:"product_ids"`
	StartedAt  time.Time  `json:"started_at"`
	EndedAt    *time.Time `json:"ended_at"`
	Reason     string     `json:"reason"`
}

// Validate checks the outage's interval and ids.
func (o *Outage) Validate() error {
	var pr Problems
	checkID(&pr, "id", o.ID)
	if len(o.ProductIDs) > MaxOutageProducts {
		pr.Add("product_ids", "too_many", "at most %d products; an outage of every product leaves product_ids out", MaxOutageProducts)
	}
	for i, id := range o.ProductIDs {
		checkID(&pr, "product_ids["+itoa(i)+"]", id)
	}
	if o.StartedAt.IsZero() {
		pr.Add("started_at", "missing_started_at", "is required (RFC 3339)")
	}
	if o.EndedAt != nil && !o.EndedAt.After(o.StartedAt) {
		pr.Add("ended_at", "ends_before_start", "must be after started_at")
	}
	CheckNote(&pr, "reason", o.Reason)
	return pr.Err()
}

// CheckTimes refuses, as unprocessable, an outage that starts or ends in
// the future (beyond MaxClockSkew): remediation refunds learners for what
// has happened, never for what is planned.
func (o *Outage) CheckTimes(now time.Time) error {
	var pr Problems
	checkPast(&pr, "started_at", &o.StartedAt, now)
	checkPast(&pr, "ended_at", o.EndedAt, now)
	return pr.ErrOfKind(EUNPROCESSABLE)
}

// Hours is how long the outage lasted, or has lasted by now if it is open.
func (o *Outage) Hours(now time.Time) float64 {
	end := now
	if o.EndedAt != nil {
		end = *o.EndedAt
	}
	return end.Sub(o.StartedAt).Hours()
}
