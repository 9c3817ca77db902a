package refundflow

import "time"

// RefundStatus is a case's public status (SPEC 4.5).
type RefundStatus string

const (
	StatusEvaluating       RefundStatus = "evaluating"
	StatusOffered          RefundStatus = "offered"
	StatusAwaitingApproval RefundStatus = "awaiting_approval"
	StatusRefunding        RefundStatus = "refunding"
	StatusRefunded         RefundStatus = "refunded"
	StatusRetained         RefundStatus = "retained"
	StatusRejected         RefundStatus = "rejected"
	StatusWithdrawn        RefundStatus = "withdrawn"
	// StatusFailed means the money could not be moved; finance must act.
	StatusFailed RefundStatus = "failed"
)

// RefundStatuses lists every status.
var RefundStatuses = []RefundStatus{
	StatusEvaluating, StatusOffered, StatusAwaitingApproval, StatusRefunding,
	StatusRefunded, StatusRetained, StatusRejected, StatusWithdrawn, StatusFailed,
}

// Valid reports whether s is a known status.
func (s RefundStatus) Valid() bool {
	for _, x := range RefundStatuses {
		if s == x {
			return true
		}
	}
	return false
}

// Open reports whether the case still blocks a new request for its order.
func (s RefundStatus) Open() bool {
	switch s {
	case StatusEvaluating, StatusOffered, StatusAwaitingApproval, StatusRefunding:
		return true
	}
	return false
}

// Withdrawable reports whether the learner may still withdraw: any time
// before money starts to move.
func (s RefundStatus) Withdrawable() bool {
	switch s {
	case StatusEvaluating, StatusOffered, StatusAwaitingApproval, StatusRejected:
		return true
	}
	return false
}

// OfferKind is a retention offer's kind (以服务代替退款).
type OfferKind string

const (
	OfferSwitchCourse OfferKind = "switch_course"
	OfferExtendAccess OfferKind = "extend_access"
	OfferCoupon       OfferKind = "coupon"
	OfferTutoring     OfferKind = "tutoring"
	OfferReschedule   OfferKind = "reschedule"
)

// Offer is one alternative to the refund that the learner may accept
// (SPEC 5 shape: id, kind, title, detail, expires_at).
type Offer struct {
	ID        string    `json:"id"`
	Kind      OfferKind `json:"kind"`
	Title     string    `json:"title"`
	Detail    string    `json:"detail"`
	ExpiresAt time.Time `json:"expires_at"`
	// ProductID is the course offered by a switch_course offer.
	ProductID string `json:"product_id,omitempty"`
	// Answer is "accepted", "declined" or "expired" once the learner answered
	// or the window closed.
	Answer string `json:"answer,omitempty"`
}

// Actor is who did something to a case, for the timeline and approvals.
type Actor struct {
	Kind string `json:"kind"` // system, platform, learner, approver, agent, admin, stripe
	ID   string `json:"id,omitempty"`
	Name string `json:"name,omitempty"`
}

// SystemActor is refundflow itself (timers, automatic decisions).
var SystemActor = Actor{Kind: "system"}

// ActorFor is the actor an API key acts as.
func ActorFor(k *APIKey) Actor {
	return Actor{Kind: string(k.Role), ID: k.ID, Name: k.Name}
}
