// Package refund is the vocabulary of a refund case as the workflow tells
// it and the read model keeps it: a case moves in numbered steps, each
// with the case's snapshot after it, what it decided, and the notices it
// causes. It is plain Go: the workflow builds steps, the activities write
// them (package postgres maps them to rows), the messages are rendered
// from them.
package refund

import (
	"time"

	"github.com/refundflow/refundflow"
	"github.com/refundflow/refundflow/notify"
	"github.com/refundflow/refundflow/policy"
)

// Snapshot is the changing part of a case as of one step.
type Snapshot struct {
	Status          refundflow.RefundStatus `json:"status"`
	Amount          *int64                  `json:"amount"`
	EscalationLevel int                     `json:"escalation_level"`
	SLADueAt        *time.Time              `json:"sla_due_at"`
	OfferExpiresAt  *time.Time              `json:"offer_expires_at"`
	AppealUntil     *time.Time              `json:"appeal_until"`
	Appealed        bool                    `json:"appealed"`
	// The Stripe refund, once there is one.
	ProviderRefundID string     `json:"provider_refund_id"`
	PaymentStatus    string     `json:"payment_status"`
	PaymentAmount    *int64     `json:"payment_amount"`
	ClosedAt         *time.Time `json:"closed_at"`
}

// Step is one step of a case: the timeline entry (who, when, what), the
// snapshot after it, whatever it decided, and the notices it causes. A
// step is written in one transaction, its notices rendered from it, so a
// message says what was true at its step.
type Step struct {
	RefundID string
	// Seq numbers the case's steps in the order the workflow takes them
	// (1 is the decision); the read model applies each once and never lets
	// an older one overwrite a newer snapshot.
	Seq      int
	At       time.Time
	Actor    refundflow.Actor
	Event    string
	Detail   map[string]any
	Snapshot Snapshot

	// Decision is the policy's decision (the first step only).
	Decision *policy.Decision
	// Offers are the retention offers this step made.
	Offers []refundflow.Offer
	// OfferAnswer closes the open offers.
	OfferAnswer *OfferAnswer
	// Approval is an approver's approval or rejection.
	Approval *Approval
	// Notices are the messages this step causes.
	Notices []notify.Notice
}

// OfferAnswer is the learner's answer to the retention offer: Accepted is
// the offer taken ("" when none), and the others get Others (declined,
// expired).
type OfferAnswer struct {
	Accepted string
	Others   string
}

// Approval is one approver's decision on a case.
type Approval struct {
	Action   string           `json:"action"` // approve, reject
	Approver refundflow.Actor `json:"approver"`
	Amount   *int64           `json:"amount"`
	Note     string           `json:"note"`
	Level    int              `json:"level"`
	At       time.Time        `json:"at"`
}

// Approval actions.
const (
	Approve = "approve"
	Reject  = "reject"
)

// Intent is what an approver asked of a case through the API (or the
// console), recorded for the key the API authenticated before the request
// goes to the case's workflow. The workflow decides on it and on the key
// as it stands then, never on what the update carried.
type Intent struct {
	ID       string
	RefundID string
	KeyID    string
	Action   string // Approve, Reject
	// Amount is what an approval sets, when it sets one.
	Amount    *int64
	Note      string
	CreatedAt time.Time
}

// IntentTTL is how long an intent may wait for its update: one older than
// this is a replay, and is refused.
const IntentTTL = 10 * time.Minute
