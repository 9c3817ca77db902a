// Package activities does refundflow's I/O for the workflows: reading and
// writing the PostgreSQL read model, calling Stripe, starting the
// workflows a step opens. A step's messages are rendered here and written
// with the step (the outbox, delivered by package outbox). Activities are
// methods on Activities, whose dependencies are built once in cmd; every
// activity is idempotent, because Temporal may run it more than once.
//
// The workflows run the database work as local activities, in their own
// workflow task; only the Stripe calls run as regular activities, on the
// rate-limited payments queue.
package activities

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/refundflow/refundflow"
	"github.com/refundflow/refundflow/payments"
	"github.com/refundflow/refundflow/postgres"
)

// Activities holds the dependencies of every activity.
type Activities struct {
	DB     *postgres.DB
	Stripe *payments.Client
	// Engine starts the workflows that activities open — the cases of an
	// outage remediation, the ticket of an appeal or a course review — and
	// tells the sweeper what became of a case's workflow.
	Engine Engine
	// OfferWindow and ApprovalSLA are the windows of the cases the sweeper
	// starts (REFUNDFLOW_OFFER_WINDOW, REFUNDFLOW_APPROVAL_SLA).
	OfferWindow time.Duration
	ApprovalSLA time.Duration
	Logger      *slog.Logger
	// Now is the clock for what activities stamp themselves.
	Now func() time.Time
}

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

// RefundStartOf is how case c's workflow starts, with the windows of the
// configuration.
func RefundStartOf(c *postgres.RefundCase, offerWindow, approvalSLA time.Duration) RefundStart {
	return RefundStart{
		RefundID: c.ID, OrderID: c.OrderID, ProductID: c.ProductID, Currency: string(c.Currency), Reason: string(c.Reason),
		SubmittedBy: c.SubmittedBy, SkipRetention: c.SkipRetention, OfferWindow: offerWindow, ApprovalSLA: approvalSLA,
	}
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

func (a *Activities) now() time.Time {
	if a.Now != nil {
		return a.Now()
	}
	return time.Now()
}

// Error types that workflows match on (temporal.ApplicationError.Type()).
const (
	// ErrBusinessRefusal wraps a *refundflow.Error that retrying cannot fix.
	ErrBusinessRefusal = "business_refusal"
	// ErrPaymentPermanent is a Stripe refusal that retrying cannot fix
	// (disputed, already refunded, amount too large, no such payment).
	ErrPaymentPermanent = "payment_permanent"
)

// refusal turns domain errors that no retry can fix (not found, invalid,
// unprocessable) into non-retryable application errors; anything else is
// returned as is and retried by Temporal.
func refusal(err error) error {
	var e *refundflow.Error
	if errors.As(err, &e) && e.Kind != refundflow.EUNAVAILABLE && e.Kind != refundflow.EINTERNAL {
		return temporal.NewNonRetryableApplicationError(e.Error(), ErrBusinessRefusal, err, e.Code)
	}
	return err
}
