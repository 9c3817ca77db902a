package activities

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

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
// an earlier call may have reached Stripe — this is not the activity's
// first try (the previous one may have made the refund and lost the
// answer: a timeout, a 5xx, a crash), or the key is old enough that
// Stripe may have forgotten it (a workflow reset, a queue down for a day)
// — it first lists the PaymentIntent's refunds and adopts the one whose
// metadata names this case.
func (a *Activities) CreateStripeRefund(ctx context.Context, att postgres.PaymentAttempt) (payments.Refund, error) {
	defer heartbeat(ctx)()
	if a.mayHaveReachedStripe(ctx, att) {
		if r, ok, err := a.adopt(ctx, att); err != nil || ok {
			return r, err
		}
	}
	// An attempt reserved before ReservedAt was recorded may have used its
	// key with the unexpanded parameters.
	legacy := att.ReservedAt.IsZero()
	r, err := a.Stripe.Create(ctx, payments.CreateRequest{
		PaymentIntent: att.PaymentIntent, Amount: att.Amount, IdempotencyKey: att.IdempotencyKey,
		RefundID: att.RefundID, OrderID: att.OrderID, Attempt: att.Attempt,
		ReverseTransfer: att.ReverseTransfer, RefundApplicationFee: att.RefundApplicationFee, Unexpanded: legacy,
	})
	if err == nil && legacy {
		r, err = a.Stripe.Get(ctx, r.ID)
	}
	if err != nil && payments.Replayed(err) {
		if class, _ := payments.Classify(err); class == payments.Ambiguous {
			return a.keySpent(ctx, att, err)
		}
	}
	if err != nil {
		return payments.Refund{}, stripeError(ctx, err)
	}
	return r, nil
}

// ErrStripeKeySpent says the attempt's idempotency key can no longer make
// the refund: Stripe saved a 5xx under it and answers every retry with
// that, and no refund of the case exists. The workflow moves on to a new
// attempt with a new key.
const ErrStripeKeySpent = "stripe_key_spent"

// keySpent handles a 5xx that Stripe replayed for the attempt's key. The
// request that first used the key has finished (Stripe saves an answer
// only then), so a refund it made is on the list now — even one committed
// after this activity's earlier look: it is adopted. Otherwise the key is
// spent and nothing was made with it.
func (a *Activities) keySpent(ctx context.Context, att postgres.PaymentAttempt, replayed error) (payments.Refund, error) {
	if r, ok, err := a.adopt(ctx, att); err != nil || ok {
		return r, err
	}
	return payments.Refund{}, temporal.NewNonRetryableApplicationError(
		fmt.Sprintf("Stripe answers key %s with a saved error and holds no refund of the case: %v", att.IdempotencyKey, replayed),
		ErrStripeKeySpent, replayed, ErrStripeKeySpent)
}

// adopt looks for the Stripe refund the attempt made already, or a live
// one of its case (named in their metadata); ok says whether there is one.
func (a *Activities) adopt(ctx context.Context, att postgres.PaymentAttempt) (r payments.Refund, ok bool, err error) {
	found, err := a.Stripe.FindByCase(ctx, att.PaymentIntent, att.RefundID, att.Attempt)
	if err != nil {
		return payments.Refund{}, false, stripeError(ctx, err)
	}
	if found == nil {
		return payments.Refund{}, false, nil
	}
	a.Logger.Info("adopted an existing Stripe refund", "refund", att.RefundID, "stripe_refund", found.ID)
	return *found, true, nil
}

// mayHaveReachedStripe reports whether a refund for att may exist already
// although this call has not made it. Half of Stripe's key window leaves a
// wide margin before the key stops protecting a repeated create.
func (a *Activities) mayHaveReachedStripe(ctx context.Context, att postgres.PaymentAttempt) bool {
	return activity.GetInfo(ctx).Attempt > 1 || a.now().Sub(att.ReservedAt) >= payments.KeyWindow/2
}

// GetStripeRefund reads a refund's current status (the polling fallback
// while waiting for a webhook).
func (a *Activities) GetStripeRefund(ctx context.Context, id string) (payments.Refund, error) {
	defer heartbeat(ctx)()
	r, err := a.Stripe.Get(ctx, id)
	if err != nil {
		return payments.Refund{}, stripeError(ctx, err)
	}
	return r, nil
}

// heartbeat reports the activity alive every third of its heartbeat
// timeout until the returned function is called. A worker killed in the
// middle of a Stripe call is then noticed within that timeout, not the
// start-to-close timeout, and the retry — which adopts what the dead
// worker made — starts soon.
func heartbeat(ctx context.Context) (stop func()) {
	every := activity.GetInfo(ctx).HeartbeatTimeout / 3
	if every <= 0 {
		return func() {}
	}
	done := make(chan struct{})
	go func() {
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-t.C:
				activity.RecordHeartbeat(ctx)
			}
		}
	}()
	return func() { close(done) }
}

// ErrStripeRateLimited is a 429 from Stripe: retried after a backoff the
// activity chooses itself.
const ErrStripeRateLimited = "stripe_rate_limited"

// stripeError makes permanent Stripe refusals non-retryable, with the
// class code as the error's detail. 429s are retried after an exponential,
// jittered delay (stripe-go does not retry them, and a burst of cases
// must not come back in lockstep); everything else is retried by Temporal
// with the activity's backoff.
func stripeError(ctx context.Context, err error) error {
	class, code := payments.Classify(err)
	switch class {
	case payments.Permanent:
		return temporal.NewNonRetryableApplicationError(fmt.Sprintf("stripe refused: %v", err), ErrPaymentPermanent, err, code)
	case payments.Misconfigured:
		activity.GetLogger(ctx).Error("Stripe refuses refundflow's credentials; fix STRIPE_SECRET_KEY (refunds wait and retry)", "code", code, "error", err)
	case payments.RateLimited:
		return temporal.NewApplicationErrorWithOptions(fmt.Sprintf("stripe rate limit (%s): %v", code, err), ErrStripeRateLimited,
			temporal.ApplicationErrorOptions{Cause: err, Details: []any{code}, NextRetryDelay: rateLimitBackoff(activity.GetInfo(ctx).Attempt)})
	}
	return fmt.Errorf("stripe (%s): %w", code, err)
}

// rateLimitBackoff is 1 s doubling per try up to a minute, of which the
// second half is random.
func rateLimitBackoff(attempt int32) time.Duration {
	d := min(time.Second<<min(max(attempt-1, 0), 6), time.Minute)
	return d/2 + rand.N(d/2+1)
}

// SettleInput records where an attempt ended, with what Stripe reported
// about the refund for the ledger.
type SettleInput = postgres.Settlement

// SettlePayment moves the held amount to refunded, or releases it, and
// books the ledger in the same transaction.
func (a *Activities) SettlePayment(ctx context.Context, in SettleInput) (*postgres.PaymentAttempt, error) {
	att, err := a.DB.SettlePayment(ctx, in)
	if err != nil {
		return nil, refusal(err)
	}
	return att, nil
}

// ReverseInput names a refund Stripe failed after it had succeeded.
type ReverseInput struct {
	RefundID         string
	ProviderRefundID string
	FailureReason    string
	// At is when the workflow learnt of it (its clock).
	At time.Time
}

// ReverseRefundBooking undoes the booking of a refund that failed after it
// succeeded: refunded amount, ledger and case status, once. Until the
// case has booked the refund it fails retryably (see
// postgres.ReverseFailedRefund).
func (a *Activities) ReverseRefundBooking(ctx context.Context, in ReverseInput) (*postgres.Reversal, error) {
	rev, err := a.DB.ReverseFailedRefund(ctx, in.RefundID, in.ProviderRefundID, in.FailureReason, in.At)
	if err != nil {
		return nil, refusal(err)
	}
	return rev, nil
}
