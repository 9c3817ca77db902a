// Package activities does refundflow's I/O for the workflows: reading and
// writing the PostgreSQL read model, calling Stripe, sending email and
// platform webhooks. Activities are methods on Activities, whose
// dependencies are built once in cmd; every activity is idempotent, because
// Temporal may run it more than once.
package activities

import (
	"errors"
	"log/slog"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/refundflow/refundflow"
	"github.com/refundflow/refundflow/notify"
	"github.com/refundflow/refundflow/payments"
	"github.com/refundflow/refundflow/postgres"
)

// Activities holds the dependencies of every activity.
type Activities struct {
	DB     *postgres.DB
	Stripe *payments.Client
	// Mailer sends email; nil keeps every email in the sink table (dev).
	Mailer notify.Mailer
	// Webhooks signs and sends platform webhooks; nil records them only.
	Webhooks *notify.WebhookSender
	Logger   *slog.Logger
	// Now is the clock for what activities stamp themselves.
	Now func() time.Time
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
