package activities

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/refundflow/refundflow"
	"github.com/refundflow/refundflow/activities/contract"
	"github.com/refundflow/refundflow/notify"
	"github.com/refundflow/refundflow/payments"
	"github.com/refundflow/refundflow/refund"
)

func stripeRefundOf(r payments.Refund) contract.StripeRefund {
	return contract.StripeRefund{
		ID: r.ID, Status: r.Status, FailureReason: r.FailureReason, Amount: r.Amount, Created: r.Created,
		TransferReversal: r.TransferReversalAmount, ApplicationFeeRefunded: r.ApplicationFeeRefunded, ChargeFee: r.ChargeFee,
	}
}

// RefundThroughStripe moves a case's money for one attempt, exactly once
// (SPEC 4.6), and records what came of it. It runs only on the
// rate-limited payments queue: one Stripe refund per activity.
//
//  1. reserve: the attempt and its idempotency key are written, the
//     amount held as in flight on the order and the request recorded, in
//     one transaction, before Stripe is called;
//  2. create: the Stripe refund with that key — after an ambiguous failure
//     (this is not the first try), or with a key old enough for Stripe to
//     have forgotten it, the refund the attempt may have made already is
//     looked for by its metadata and adopted first; 429s wait and retry
//     with jitter; permanent refusals end the attempt;
//  3. settle: the hold becomes refunded and is booked on the ledger, or is
//     released, and the outcome is recorded with the messages it sends, in
//     one transaction. A pending refund only records that it waits.
//
// A try after the attempt was settled returns the outcome it recorded.
func (a *Activities) RefundThroughStripe(ctx context.Context, in contract.PaymentInput) (contract.PaymentResult, error) {
	defer heartbeat(ctx)()
	att, err := a.DB.ReservePayment(ctx, in.RefundID, in.Attempt, in.Amount, func(att refund.Attempt) refund.Step {
		return refund.Step{
			RefundID: in.RefundID, Seq: in.Seq, At: in.At, Actor: refundflow.SystemActor, Event: "payment_requested",
			Detail:   map[string]any{"idempotency_key": att.IdempotencyKey, "amount": att.Amount, "payment_intent": att.PaymentIntent},
			Snapshot: in.Case,
		}
	})
	if code := refundflow.ErrorCode(err); code != "" && refundflow.ErrorKind(err) == refundflow.EUNPROCESSABLE {
		// PostgreSQL refused the hold: no money was asked for.
		return a.paymentFailedUnreserved(ctx, in, code)
	}
	if err != nil {
		return contract.PaymentResult{}, refusal(err)
	}
	outcome := outcomeStep{base: in.Case, seq: in.Seq + 1}
	switch {
	case att.Settled():
		return outcome.recorded(*att), nil
	case att.Status != refund.AttemptReserved && att.ProviderRefundID != "":
		// Pending already: Stripe may have moved on since.
		r, err := a.Stripe.Get(ctx, att.ProviderRefundID)
		if err != nil {
			return contract.PaymentResult{}, stripeError(ctx, err)
		}
		return a.settle(ctx, outcome, *att, stripeRefundOf(r))
	}
	r, err := a.createStripeRefund(ctx, *att)
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) && (appErr.Type() == contract.ErrStripeKeySpent || appErr.Type() == contract.ErrPaymentPermanent) {
		code := failureCode(err)
		result := refund.PaymentFailed
		if appErr.Type() == contract.ErrStripeKeySpent {
			result, code = refund.PaymentKeySpent, contract.ErrStripeKeySpent
		}
		a.Logger.Warn("Stripe refused a refund", "refund", in.RefundID, "attempt", att.N, "code", code, "error", err)
		return a.settleRefused(ctx, outcome, *att, result, code)
	}
	if err != nil {
		return contract.PaymentResult{}, err
	}
	return a.settle(ctx, outcome, *att, stripeRefundOf(r))
}

// outcomeStep is where the step that records an attempt's outcome goes:
// after base, as step seq.
type outcomeStep struct {
	base refund.Snapshot
	seq  int
}

func (o outcomeStep) step(at time.Time, outcome string, att refund.Attempt, code string) refund.Step {
	return refund.PaymentStep(o.base, o.seq, at, outcome, att, code)
}

// recorded is the outcome a settled (or waiting) attempt recorded, rebuilt
// from the attempt as PostgreSQL holds it.
func (o outcomeStep) recorded(att refund.Attempt) contract.PaymentResult {
	outcome := outcomeOf(att)
	code := att.FailureReason
	if outcome == refund.PaymentFailed && att.ProviderRefundID != "" {
		code = "stripe_" + att.Status
	}
	return contract.PaymentResult{Outcome: outcome, Step: o.step(att.SettledAt, outcome, att, code),
		Refund: contract.StripeRefund{ID: att.ProviderRefundID, Status: att.Status, Amount: att.Amount}}
}

// settle records where the attempt stands after Stripe made (or
// reported) refund r: settled when r is terminal, waiting otherwise.
func (a *Activities) settle(ctx context.Context, o outcomeStep, att refund.Attempt, r contract.StripeRefund) (contract.PaymentResult, error) {
	outcome, code := refund.PaymentPending, ""
	switch r.Status {
	case "succeeded":
		outcome = refund.PaymentSucceeded
	case "failed", "canceled":
		outcome, code = refund.PaymentFailed, "stripe_"+r.Status
	}
	att.Status, att.ProviderRefundID = r.Status, r.ID
	res, err := a.settleAttempt(ctx, r.Settlement(att.RefundID, att.N), o.step(a.now(), outcome, att, code), o)
	if err != nil {
		return contract.PaymentResult{}, err
	}
	res.Refund = r
	return res, nil
}

// settleRefused releases the hold of an attempt Stripe refused for good
// (or whose key is spent) and records why.
func (a *Activities) settleRefused(ctx context.Context, o outcomeStep, att refund.Attempt, outcome, code string) (contract.PaymentResult, error) {
	att.Status = "failed"
	return a.settleAttempt(ctx, refund.Settlement{RefundID: att.RefundID, Attempt: att.N, Status: "failed", FailureReason: code},
		o.step(a.now(), outcome, att, code), o)
}

// settleAttempt settles an attempt with its outcome step and the messages
// it sends. An attempt settled meanwhile keeps what it recorded first.
func (a *Activities) settleAttempt(ctx context.Context, s refund.Settlement, step refund.Step, o outcomeStep) (contract.PaymentResult, error) {
	out, err := a.refundOutbox(ctx, step)
	if err != nil {
		return contract.PaymentResult{}, err
	}
	att, applied, err := a.DB.SettlePayment(ctx, s, step, out)
	if err != nil {
		return contract.PaymentResult{}, refusal(err)
	}
	if !applied {
		return o.recorded(*att), nil
	}
	return contract.PaymentResult{Outcome: outcomeOf(*att), Step: step}, nil
}

// paymentFailedUnreserved records that the case's money could not even be
// held (the order has nothing left to refund): no Stripe call was made.
func (a *Activities) paymentFailedUnreserved(ctx context.Context, in contract.PaymentInput, code string) (contract.PaymentResult, error) {
	step := outcomeStep{base: in.Case, seq: in.Seq + 1}.step(a.now(), refund.PaymentFailed, refund.Attempt{RefundID: in.RefundID, N: in.Attempt}, code)
	out, err := a.refundOutbox(ctx, step)
	if err != nil {
		return contract.PaymentResult{}, err
	}
	if err := a.DB.RecordStep(ctx, step, out); err != nil {
		return contract.PaymentResult{}, err
	}
	return contract.PaymentResult{Outcome: refund.PaymentFailed, Step: step}, nil
}

func outcomeOf(att refund.Attempt) string {
	switch {
	case att.Status == "succeeded":
		return refund.PaymentSucceeded
	case att.Status == "failed" && att.FailureReason == contract.ErrStripeKeySpent:
		return refund.PaymentKeySpent
	case att.Settled():
		return refund.PaymentFailed
	}
	return refund.PaymentPending
}

// createStripeRefund makes the Stripe refund of a reserved attempt.
//
// Exactly once: every call carries the attempt's idempotency key; and when
// an earlier call may have reached Stripe — this is not the activity's
// first try (the previous one may have made the refund and lost the
// answer: a timeout, a 5xx, a crash), or the key is old enough that
// Stripe may have forgotten it (a workflow reset, a queue down for a day)
// — it first lists the PaymentIntent's refunds and adopts the one whose
// metadata names this attempt.
func (a *Activities) createStripeRefund(ctx context.Context, att refund.Attempt) (payments.Refund, error) {
	if a.mayHaveReachedStripe(ctx, att) {
		if r, ok, err := a.adopt(ctx, att); err != nil || ok {
			return r, err
		}
	}
	r, err := a.Stripe.Create(ctx, payments.CreateRequest{
		PaymentIntent: att.PaymentIntent, Amount: att.Amount, IdempotencyKey: att.IdempotencyKey,
		RefundID: att.RefundID, OrderID: att.OrderID, Attempt: att.N,
		ReverseTransfer: att.ReverseTransfer, RefundApplicationFee: att.RefundApplicationFee,
	})
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

// keySpent handles a 5xx that Stripe replayed for the attempt's key. The
// request that first used the key has finished (Stripe saves an answer
// only then), so a refund it made is on the list now — even one committed
// after this activity's earlier look: it is adopted. Otherwise the key is
// spent and nothing was made with it.
func (a *Activities) keySpent(ctx context.Context, att refund.Attempt, replayed error) (payments.Refund, error) {
	if r, ok, err := a.adopt(ctx, att); err != nil || ok {
		return r, err
	}
	return payments.Refund{}, temporal.NewNonRetryableApplicationError(
		fmt.Sprintf("Stripe answers key %s with a saved error and holds no refund of the case: %v", att.IdempotencyKey, replayed),
		contract.ErrStripeKeySpent, replayed, contract.ErrStripeKeySpent)
}

// adopt looks for the Stripe refund the attempt made already, or a live
// one of its case (named in their metadata); ok says whether there is one.
func (a *Activities) adopt(ctx context.Context, att refund.Attempt) (r payments.Refund, ok bool, err error) {
	found, err := a.Stripe.FindByCase(ctx, att.PaymentIntent, att.RefundID, att.N)
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
func (a *Activities) mayHaveReachedStripe(ctx context.Context, att refund.Attempt) bool {
	return activity.GetInfo(ctx).Attempt > 1 || a.now().Sub(att.ReservedAt) >= payments.KeyWindow/2
}

// SettleRefund records how a pending Stripe refund ended: the hold becomes
// refunded (and is booked) or is released, with the outcome step and its
// messages, in one transaction.
func (a *Activities) SettleRefund(ctx context.Context, in contract.SettleInput) (contract.PaymentResult, error) {
	att, err := a.DB.PaymentAttempt(ctx, in.RefundID, in.Attempt)
	if err != nil {
		return contract.PaymentResult{}, refusal(err)
	}
	return a.settle(ctx, outcomeStep{base: in.Case, seq: in.Seq}, *att, in.Refund)
}

// GetStripeRefund reads a refund's current status (the polling fallback
// while waiting for a webhook).
func (a *Activities) GetStripeRefund(ctx context.Context, id string) (contract.StripeRefund, error) {
	defer heartbeat(ctx)()
	r, err := a.Stripe.Get(ctx, id)
	if err != nil {
		return contract.StripeRefund{}, stripeError(ctx, err)
	}
	return stripeRefundOf(r), nil
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
		return temporal.NewNonRetryableApplicationError(fmt.Sprintf("stripe refused: %v", err), contract.ErrPaymentPermanent, err, code)
	case payments.Misconfigured:
		activity.GetLogger(ctx).Error("Stripe refuses refundflow's credentials; fix STRIPE_SECRET_KEY (refunds wait and retry)", "code", code, "error", err)
	case payments.RateLimited:
		return temporal.NewApplicationErrorWithOptions(fmt.Sprintf("stripe rate limit (%s): %v", code, err), ErrStripeRateLimited,
			temporal.ApplicationErrorOptions{Cause: err, Details: []any{code}, NextRetryDelay: rateLimitBackoff(activity.GetInfo(ctx).Attempt)})
	}
	return fmt.Errorf("stripe (%s): %w", code, err)
}

// failureCode is the classification a payment error carries.
func failureCode(err error) string {
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) {
		var code string
		if appErr.HasDetails() && appErr.Details(&code) == nil && code != "" {
			return code
		}
		return appErr.Type()
	}
	return "error"
}

// rateLimitBackoff is 1 s doubling per try up to a minute, of which the
// second half is random.
func rateLimitBackoff(attempt int32) time.Duration {
	d := min(time.Second<<min(max(attempt-1, 0), 6), time.Minute)
	return d/2 + rand.N(d/2+1)
}

// ReverseRefundBooking undoes the booking of a refund that failed after it
// succeeded — refunded amount, ledger and case status — and tells finance,
// the platform and the learner, in one transaction, once. Until the case
// has booked the refund it fails retryably (see
// postgres.ReverseFailedRefund).
func (a *Activities) ReverseRefundBooking(ctx context.Context, in contract.ReverseInput) (contract.ReverseResult, error) {
	rev, err := a.DB.ReverseFailedRefund(ctx, in.RefundID, in.ProviderRefundID, in.FailureReason, in.At,
		func(s refund.Step) (notify.Outbox, error) { return a.refundOutbox(ctx, s) })
	if err != nil {
		return contract.ReverseResult{}, refusal(err)
	}
	return contract.ReverseResult{Reversed: rev.Reversed, Amount: rev.Amount}, nil
}
