package contract

import (
	"time"

	"github.com/refundflow/refundflow"
	"github.com/refundflow/refundflow/money"
	"github.com/refundflow/refundflow/policy"
)

// DecideInput asks for a case's decision as of Now (the workflow's clock,
// so that a replayed history decides the same).
type DecideInput struct {
	RefundID string
	Now      time.Time
}

// DecideResult is the decision and the facts the workflow needs later.
type DecideResult struct {
	Decision   policy.Decision
	Refundable int64
	OrderID    string
	ProductID  string
	Currency   money.Currency
}

// ChooseOffersInput asks for the retention offers of a case.
type ChooseOffersInput struct {
	RefundID  string
	ExpiresAt time.Time
	// Extension: an outage remediation in offer mode offers more days of
	// access instead of the refund, and nothing else.
	Extension bool
}

// VerifyApprovalInput asks whether an approval (or rejection) of a case
// may stand: the intent the API recorded for it, taken by the update
// UpdateID.
type VerifyApprovalInput struct {
	IntentID string
	UpdateID string
	RefundID string
	Action   string // refund.Approve, refund.Reject
	Currency money.Currency
}

// VerifiedApproval is an approval as PostgreSQL holds it: the intent and
// the key as it stands now. The workflow decides on this, never on what
// an update carried.
type VerifiedApproval struct {
	// Refusal is the code of why the approval cannot stand, "" when it can;
	// Message says it in words.
	Refusal string
	Message string

	Actor  refundflow.Actor
	Amount *int64
	Note   string
	// Limit is the most the key may approve alone in the case's currency;
	// nil means no limit of its own.
	Limit *int64
}

// AppealTicketInput opens the ticket of a refund's appeal.
type AppealTicketInput struct {
	RefundID string
	OrderID  string
	Note     string
	By       refundflow.Actor
	At       time.Time
}
