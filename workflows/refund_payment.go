package workflows

import (
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/refundflow/refundflow/activities/contract"
	"github.com/refundflow/refundflow/refund"
)

// stripePollInterval is how often a pending Stripe refund is read again
// when no webhook has said how it ended.
const stripePollInterval = 30 * time.Minute

// maxStripeAttempts bounds the attempts of a case whose keys Stripe keeps
// spending (5xx before anything was made): about half a day of waiting
// between them, then finance takes the case over.
const maxStripeAttempts = 20

// reversePayment moves the case's money exactly once (SPEC 4.6): one
// activity on the rate-limited payments queue reserves the attempt and
// its idempotency key, calls Stripe and settles — the ledger, the case's
// step and its messages in one transaction (see
// contract.RefundThroughStripe) — and the case carries on from the step
// it recorded:
//
//   - succeeded: refunded; the learner hears when the money arrives, and
//     the platform may revoke access now that the money has moved;
//   - pending: the case waits for Stripe's webhook, or a poll, and then
//     settles;
//   - failed: the money did not move, access is kept, finance must act;
//   - key spent (Stripe saved a 5xx under the key and made nothing): a
//     new attempt with a new key, after a backoff, so that a Stripe
//     incident is not hammered.
func (r *refundCase) reversePayment(ctx workflow.Context) {
	for n := 1; ; n++ {
		res, err := r.payOnce(ctx, n)
		if err != nil {
			// Only a refusal ends here: Temporal retries everything else.
			r.paymentFailed(ctx, n, "payment_refused")
			return
		}
		r.adopt(res.Step)
		switch res.Outcome {
		case refund.PaymentPending:
			r.awaitStripe(ctx, n, res.Refund)
			return
		case refund.PaymentKeySpent:
			if n >= maxStripeAttempts {
				r.paymentFailed(ctx, n, contract.ErrStripeKeySpent)
				return
			}
			if workflow.Sleep(ctx, min(10*time.Second<<min(n-1, 10), time.Hour)) != nil {
				return
			}
		default:
			return
		}
	}
}

// payOnce runs attempt n: steps seq (the request) and seq+1 (its outcome)
// are the activity's to record.
func (r *refundCase) payOnce(ctx workflow.Context, n int) (contract.PaymentResult, error) {
	seq := r.journal.seq + 1
	r.journal.seq += 2
	r.upsertSearchAttributes(ctx) // the case waits for Stripe now
	now := workflow.Now(ctx)
	var res contract.PaymentResult
	err := workflow.ExecuteActivity(paymentsCtx(ctx), contract.RefundThroughStripe, contract.PaymentInput{
		RefundID: r.in.RefundID, Attempt: n, Amount: *r.state.Amount, Case: r.snapshot(now), Seq: seq, At: now,
	}).Get(ctx, &res)
	return res, err
}

// awaitStripe waits for a pending refund to end — Stripe's webhook arrives
// as a signal; without one, the refund is read again every so often — and
// settles it. Webhooks may come twice or out of order: one that would move
// the refund back (pending after requires_action moved on, say) is an old
// one and changes nothing.
func (r *refundCase) awaitStripe(ctx workflow.Context, n int, sr contract.StripeRefund) {
	for !sr.Terminal() {
		var update StripeRefundUpdate
		got, _ := r.stripeUpdates.ReceiveWithTimeout(ctx, stripePollInterval, &update)
		switch {
		case got && update.ProviderRefundID == sr.ID && refund.Progress(update.Status) > refund.Progress(sr.Status):
			sr.Status, sr.FailureReason = update.Status, update.FailureReason
		case !got:
			var polled contract.StripeRefund
			if err := workflow.ExecuteActivity(paymentsCtx(ctx), contract.GetStripeRefund, sr.ID).Get(ctx, &polled); err == nil {
				sr = polled
			}
		}
	}
	var res contract.PaymentResult
	err := workflow.ExecuteLocalActivity(localCtx(ctx), contract.SettleRefund, contract.SettleInput{
		RefundID: r.in.RefundID, Attempt: n, Refund: sr, Case: r.snapshot(workflow.Now(ctx)), Seq: r.journal.next(),
	}).Get(ctx, &res)
	if err != nil {
		workflow.GetLogger(ctx).Error("could not settle the payment", "refund", r.in.RefundID, "error", err)
		return
	}
	r.adopt(res.Step)
}

// paymentFailed ends the case as failed when no attempt can move the
// money: access is kept, and finance must act.
func (r *refundCase) paymentFailed(ctx workflow.Context, n int, code string) {
	now := workflow.Now(ctx)
	s := refund.PaymentStep(r.snapshot(now), r.journal.next(), now, refund.PaymentFailed, refund.Attempt{RefundID: r.in.RefundID, N: n}, code)
	r.journal.write(ctx, contract.RecordRefundStep, s)
	r.adopt(s)
}
