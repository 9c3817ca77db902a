package contract

import (
	"context"
	"time"
)

// Engine is what activities ask of Temporal. It starts refundflow's own
// workflows by their business ids — starting one that exists already is
// not an error (the workflow id is the case's or the ticket's) — and says
// what became of a case's workflow. Package workflows implements it over
// the Temporal client, where the workflows' names and options live.
type Engine interface {
	StartRefund(ctx context.Context, c RefundStart) error
	StartTicket(ctx context.Context, t TicketStart) error
	// RefundRun says how case refundID's workflow stands.
	RefundRun(ctx context.Context, refundID string) (Run, error)
	// EndedAbnormally lists the cases whose workflows ended other than by
	// completing — failed, terminated, timed out, canceled — since then,
	// while the case was open by their search attributes.
	EndedAbnormally(ctx context.Context, since time.Time) ([]EndedRun, error)
}

// Run is how a workflow stands: Missing (never started), Running, or
// ended with Status (Temporal's execution status, e.g. Terminated).
type Run struct {
	Missing bool
	Running bool
	Status  string
}

// EndedRun is a case whose workflow ended abnormally.
type EndedRun struct {
	RefundID string
	Status   string
}

// RefundStart names a refund case whose workflow an activity starts.
type RefundStart struct {
	RefundID    string
	OrderID     string
	ProductID   string
	Currency    string
	Reason      string
	SubmittedBy string
	// SkipRetention: the learner opted out of retention offers.
	SkipRetention bool
	// The case's windows, from the configuration when it was opened.
	OfferWindow time.Duration
	ApprovalSLA time.Duration
	// ExtensionOffer: an outage remediation in offer mode opened the case.
	ExtensionOffer bool
	// StartedBy names who started the case when its request could not
	// (SweptBy); "" when the request did.
	StartedBy string
}

// TicketStart names a ticket whose row is written and whose workflow an
// activity starts.
type TicketStart struct {
	TicketID string
	Tier     string
	Level    int
	OrderID  string
	CourseID string
	// Acknowledged: the learner (or the team) knows already; the ticket
	// sends no ticket_received.
	Acknowledged bool
}

// Error types that workflows match on (temporal.ApplicationError.Type()).
const (
	// ErrBusinessRefusal wraps a *refundflow.Error that retrying cannot fix.
	ErrBusinessRefusal = "business_refusal"
	// ErrPaymentPermanent is a Stripe refusal that retrying cannot fix
	// (disputed, already refunded, amount too large, no such payment).
	ErrPaymentPermanent = "payment_permanent"
)
