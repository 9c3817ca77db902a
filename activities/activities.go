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
	"errors"
	"log/slog"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/refundflow/refundflow"
	"github.com/refundflow/refundflow/activities/contract"
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
	Engine contract.Engine
	// OfferWindow and ApprovalSLA are the windows of the cases the sweeper
	// starts (REFUNDFLOW_OFFER_WINDOW, REFUNDFLOW_APPROVAL_SLA).
	OfferWindow time.Duration
	ApprovalSLA time.Duration
	Logger      *slog.Logger
	// Now is the clock for what activities stamp themselves.
	Now func() time.Time
}

// RefundStartOf is how case c's workflow starts, with the windows of the
// configuration.
func RefundStartOf(c *postgres.RefundCase, offerWindow, approvalSLA time.Duration) contract.RefundStart {
	return contract.RefundStart{
		RefundID: c.ID, OrderID: c.OrderID, ProductID: c.ProductID, Currency: string(c.Currency), Reason: string(c.Reason),
		SubmittedBy: c.SubmittedBy, SkipRetention: c.SkipRetention, OfferWindow: offerWindow, ApprovalSLA: approvalSLA,
	}
}

func (a *Activities) now() time.Time {
	if a.Now != nil {
		return a.Now()
	}
	return time.Now()
}

// refusal turns domain errors that no retry can fix (not found, invalid,
// unprocessable) into non-retryable application errors; anything else is
// returned as is and retried by Temporal.
func refusal(err error) error {
	var e *refundflow.Error
	if errors.As(err, &e) && e.Kind != refundflow.EUNAVAILABLE && e.Kind != refundflow.EINTERNAL {
		return temporal.NewNonRetryableApplicationError(e.Error(), contract.ErrBusinessRefusal, err, e.Code)
	}
	return err
}
