package workflows

import (
	"errors"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/refundflow/refundflow"
	"github.com/refundflow/refundflow/activities"
	"github.com/refundflow/refundflow/payments"
	"github.com/refundflow/refundflow/postgres"
)

// stripePollInterval is how often a pending Stripe refund is read again
// when no webhook has said how it ended.
const stripePollInterval = 30 * time.Minute

// refundThroughStripe moves the case's money exactly once (SPEC 4.6) and
// reports whether it moved:
//
//  1. reserve: the attempt and its idempotency key are written, and the
//     amount held as in flight on the order, before Stripe is called;
//  2. create: the Stripe refund, on the rate-limited payments queue, with
//     that key (after an ambiguous failure the activity first adopts a
//     refund it may already have made);
//  3. wait: a pending refund waits for Stripe's webhook, or a poll;
//  4. settle: the hold becomes refunded, or is released if Stripe failed.
func (r *refundCase) refundThroughStripe(ctx workflow.Context) bool {
	const attempt = 1
	var att postgres.PaymentAttempt
	err := workflow.ExecuteActivity(r.dbCtx(ctx), r.acts.ReservePayment, activities.ReserveInput{
		RefundID: r.in.RefundID, Attempt: attempt, Amount: *r.state.Amount,
	}).Get(ctx, &att)
	if err != nil {
		r.paymentFailed(ctx, "reserve_refused", err)
		return false
	}
	r.step(ctx, stepSpec{actor: refundflow.SystemActor, event: "payment_requested",
		detail: map[string]any{"idempotency_key": att.IdempotencyKey, "amount": att.Amount, "payment_intent": att.PaymentIntent}})

	var sr payments.Refund
	if err := workflow.ExecuteActivity(r.paymentsCtx(ctx), r.acts.CreateStripeRefund, att).Get(ctx, &sr); err != nil {
		r.settle(ctx, activities.SettleInput{RefundID: r.in.RefundID, Attempt: attempt, Status: "failed", FailureReason: failureCode(err)})
		r.paymentFailed(ctx, failureCode(err), err)
		return false
	}
	r.state.ProviderRefundID, r.state.PaymentStatus = sr.ID, sr.Status
	if !sr.Terminal() {
		r.settle(ctx, activities.SettleInput{RefundID: r.in.RefundID, Attempt: attempt, Status: sr.Status, ProviderRefundID: sr.ID})
		r.step(ctx, stepSpec{actor: refundflow.Actor{Kind: "stripe"}, event: "payment_pending", detail: map[string]any{"stripe_refund": sr.ID, "stripe_status": sr.Status}})
		sr = r.awaitStripe(ctx, sr)
		r.state.PaymentStatus = sr.Status
	}
	r.settle(ctx, activities.SettleInput{RefundID: r.in.RefundID, Attempt: attempt, Status: sr.Status, ProviderRefundID: sr.ID, FailureReason: sr.FailureReason})
	if sr.Status != "succeeded" {
		r.paymentFailed(ctx, "stripe_"+sr.Status, errors.New(sr.FailureReason))
		return false
	}
	r.state.Status = refundflow.StatusRefunded
	r.step(ctx, stepSpec{actor: refundflow.Actor{Kind: "stripe"}, event: "refunded", detail: map[string]any{"stripe_refund": sr.ID, "amount": sr.Amount}})
	return true
}

// awaitStripe waits for a pending refund to end: Stripe's webhook arrives
// as a signal; without one, the refund is read again every so often.
func (r *refundCase) awaitStripe(ctx workflow.Context, sr payments.Refund) payments.Refund {
	for !sr.Terminal() {
		var update StripeRefundUpdate
		got, _ := r.stripeUpdates.ReceiveWithTimeout(ctx, stripePollInterval, &update)
		switch {
		case got && update.ProviderRefundID == sr.ID:
			sr.Status, sr.FailureReason = update.Status, update.FailureReason
		case !got:
			var polled payments.Refund
			if err := workflow.ExecuteActivity(r.paymentsCtx(ctx), r.acts.GetStripeRefund, sr.ID).Get(ctx, &polled); err == nil {
				sr = polled
			}
		}
	}
	return sr
}

func (r *refundCase) settle(ctx workflow.Context, in activities.SettleInput) {
	if err := workflow.ExecuteActivity(r.dbCtx(ctx), r.acts.SettlePayment, in).Get(ctx, nil); err != nil {
		workflow.GetLogger(ctx).Error("could not settle payment", "refund", r.in.RefundID, "error", err)
	}
}

// paymentFailed ends the case as failed: the money did not move, access is
// kept, and finance must act.
func (r *refundCase) paymentFailed(ctx workflow.Context, code string, err error) {
	r.state.Status = refundflow.StatusFailed
	r.state.PaymentStatus = "failed"
	r.step(ctx, stepSpec{actor: refundflow.SystemActor, event: "payment_failed", detail: map[string]any{"code": code, "error": err.Error()}})
}

// failureCode is the classification a payment activity gave its failure.
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

// paymentsCtx runs Stripe calls on the payments queue, whose rate the
// Temporal server limits. They are retried until they succeed or Stripe
// refuses for good: money is never silently dropped.
func (r *refundCase) paymentsCtx(ctx workflow.Context) workflow.Context {
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		TaskQueue:           PaymentsTaskQueue,
		StartToCloseTimeout: 2 * time.Minute,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval: 2 * time.Second, BackoffCoefficient: 2, MaximumInterval: 5 * time.Minute,
			NonRetryableErrorTypes: []string{activities.ErrPaymentPermanent, activities.ErrBusinessRefusal},
		},
	})
}
