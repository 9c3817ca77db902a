package workflows

import (
	"errors"
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/refundflow/refundflow"
	"github.com/refundflow/refundflow/policy"
)

// RefundInput opens a case. The windows come from the configuration when
// the case is opened and stay with it.
type RefundInput struct {
	RefundID    string
	SubmittedBy string // the API key that submitted the case
	// SkipRetention: the learner opted out of retention offers.
	SkipRetention bool
	OfferWindow   time.Duration
	ApprovalSLA   time.Duration
	// AppealWindow is how long a rejected learner may appeal.
	AppealWindow time.Duration
	// ExtensionOffer: an outage remediation in offer mode opened the case;
	// it offers more days of access before the refund (see outage_offer.go).
	ExtensionOffer bool
	// StartedBy names who started the case when its request could not
	// (the sweeper); the first timeline entry says so.
	StartedBy string `json:",omitempty"`
}

// DefaultAppealWindow is how long a rejection stays open to appeal.
const DefaultAppealWindow = 15 * 24 * time.Hour

// RefundResult is how a case ended.
type RefundResult struct {
	Status           refundflow.RefundStatus
	Amount           int64
	ProviderRefundID string
}

// RefundState is the live state of a case (the "state" query).
type RefundState struct {
	Status           refundflow.RefundStatus `json:"status"`
	Decision         *policy.Decision        `json:"decision"`
	Refundable       int64                   `json:"refundable"`
	Amount           *int64                  `json:"amount"`
	EscalationLevel  int                     `json:"escalation_level"`
	SLADueAt         *time.Time              `json:"sla_due_at"`
	Offers           []refundflow.Offer      `json:"offers"`
	OfferExpiresAt   *time.Time              `json:"offer_expires_at"`
	Approvals        []ApprovalVote          `json:"approvals"`
	Appealed         bool                    `json:"appealed"`
	AppealUntil      *time.Time              `json:"appeal_until"`
	ProviderRefundID string                  `json:"provider_refund_id"`
	PaymentStatus    string                  `json:"payment_status"`
}

// ApprovalVote is one approver's approval in the current round.
type ApprovalVote struct {
	Approver refundflow.Actor `json:"approver"`
	Amount   int64            `json:"amount"`
	At       time.Time        `json:"at"`
}

// ApproveRequest is the "approve" update. IntentID names what the
// approver asked, as the API recorded it for the key it authenticated: the
// workflow acts on that record. KeyID, Amount and Note repeat it, so that
// the validator can answer at once.
type ApproveRequest struct {
	IntentID string
	KeyID    string
	// Amount is required when a person sets it (review outcomes, appeals
	// of a policy refusal) and must not exceed what is refundable.
	Amount *int64
	Note   string
}

// RejectRequest is the "reject" update (see ApproveRequest).
type RejectRequest struct {
	IntentID string
	KeyID    string
	Reason   string
}

// AcceptOfferRequest is the "accept-offer" update.
type AcceptOfferRequest struct {
	OfferID string
	By      refundflow.Actor
}

// LearnerRequest is an update made for the learner: decline-offer, appeal,
// withdraw.
type LearnerRequest struct {
	By   refundflow.Actor
	Note string
}

// UpdateResult answers every update of a case.
type UpdateResult struct {
	Status refundflow.RefundStatus `json:"status"`
	// ApprovalsNeeded is how many more approvals the case waits for.
	ApprovalsNeeded int `json:"approvals_needed"`
}

// StripeRefundUpdate is Stripe's word about a refund, from a webhook.
type StripeRefundUpdate struct {
	ProviderRefundID string
	Status           string
	FailureReason    string
	EventID          string
}

// refuse says no to an update (or fails a step) with a domain error: the
// API turns it back into a 4xx with the same code (see AsRefusal).
func refuse(kind refundflow.Kind, code, format string, args ...any) error {
	return temporal.NewApplicationErrorWithOptions(fmt.Sprintf(format, args...), code,
		temporal.ApplicationErrorOptions{NonRetryable: true, Details: []any{string(kind)}})
}

// AsRefusal recovers the domain error of an update a workflow refused.
func AsRefusal(err error) (*refundflow.Error, bool) {
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) {
		return nil, false
	}
	var kind string
	if appErr.HasDetails() && appErr.Details(&kind) == nil && kind != "" {
		return &refundflow.Error{Kind: refundflow.Kind(kind), Code: appErr.Type(), Message: appErr.Message()}, true
	}
	return nil, false
}
