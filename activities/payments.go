package activities

import (
	"context"
	"fmt"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/refundflow/refundflow/payments"
	"github.com/refundflow/refundflow/postgres"
)

// ReserveInput holds a case's amount before Stripe is called.
type ReserveInput struct {
	RefundID string
	Attempt  int
	Amount   int64
}

// ReservePayment persists the attempt and its idempotency key and holds the
// amount as in flight (refunds task queue: no Stripe call here).
func (a *Activities) ReservePayment(ctx context.Context, in ReserveInput) (*postgres.PaymentAttempt, error) {
	att, err := a.DB.ReservePayment(ctx, in.RefundID, in.Attempt, in.Amount)
	if err != nil {
		return nil, refusal(err)
	}
	return att, nil
}

// CreateStripeRefund makes the Stripe refund of a reserved attempt. It runs
// only on the rate-limited payments task queue.
//
// Exactly once: every call carries the attempt's idempotency key; and when
// this is not the activity's first try — the previous one may have reached
// Stripe and lost the answer (timeout, 5xx, a crash), or may be older than
// Stripe's 24 h key window — it first lists the PaymentIntent's refunds and
// adopts the one whose metadata names this case.
func (a *Activities) CreateStripeRefund(ctx context.Context, att postgres.PaymentAttempt) (payments.Refund, error) {
	if activity.GetInfo(ctx).Attempt > 1 {
		found, err := a.Stripe.FindByCase(ctx, att.PaymentIntent, att.RefundID)
		if err != nil {
			return payments.Refund{}, stripeError(err)
		}
		if found != nil {
			a.Logger.Info("adopted an existing Stripe refund", "refund", att.RefundID, "stripe_refund", found.ID)
			return *found, nil
		}
	}
	r, err := a.Stripe.Create(ctx, payments.CreateRequest{
		PaymentIntent: att.PaymentIntent, Amount: att.Amount, IdempotencyKey: att.IdempotencyKey,
		RefundID: att.RefundID, OrderID: att.OrderID, Attempt: att.Attempt,
		ReverseTransfer: att.ReverseTransfer, RefundApplicationFee: att.RefundApplicationFee,
	})
	if err != nil {
		return payments.Refund{}, stripeError(err)
	}
	return r, nil
}

// GetStripeRefund reads a refund's current status (the polling fallback
// while waiting for a webhook).
func (a *Activities) GetStripeRefund(ctx context.Context, id string) (payments.Refund, error) {
	r, err := a.Stripe.Get(ctx, id)
	if err != nil {
		return payments.Refund{}, stripeError(err)
	}
	return r, nil
}

// stripeError makes permanent Stripe refusals non-retryable, with the
// class code as the error's detail; everything else is retried by Temporal
// with backoff (429s included, which stripe-go does not retry itself).
func stripeError(err error) error {
	class, code := payments.Classify(err)
	if class == payments.Permanent {
		return temporal.NewNonRetryableApplicationError(fmt.Sprintf("stripe refused: %v", err), ErrPaymentPermanent, err, code)
	}
	return fmt.Errorf("stripe (%s): %w", code, err)
}

// SettleInput records where an attempt ended.
type SettleInput struct {
	RefundID         string
	Attempt          int
	Status           string
	ProviderRefundID string
	FailureReason    string
}

// SettlePayment moves the held amount to refunded, or releases it.
func (a *Activities) SettlePayment(ctx context.Context, in SettleInput) (*postgres.PaymentAttempt, error) {
	att, err := a.DB.SettlePayment(ctx, in.RefundID, in.Attempt, in.Status, in.ProviderRefundID, in.FailureReason)
	if err != nil {
		return nil, refusal(err)
	}
	return att, nil
}
