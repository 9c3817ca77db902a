package workflows

import (
	"errors"
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/refundflow/refundflow"
	"github.com/refundflow/refundflow/activities"
	"github.com/refundflow/refundflow/payments"
	"github.com/refundflow/refundflow/postgres"
)

// stripeHeartbeatTimeout is how soon a Stripe call whose worker died is
// tried again.
const stripeHeartbeatTimeout = 20 * time.Second

// stripePollInterval is how often a pending Stripe refund is read again
// when no webhook has said how it ended.
const stripePollInterval = 30 * time.Minute

// refundThroughStripe moves the case's money exactly once (SPEC 4.6) and
// reports whether it moved:
//
//  1. reserve: the attempt and its idempotency key are written, and the
//     amount held as in flight on the order, before Stripe is called;
//  2. create: the Stripe refund, on the rate-limited payments queue, with
//     that key (after an ambiguous failure, or with a key old enough for
//     Stripe to have forgotten it, the activity first adopts a refund it
//     may already have made; 429s wait and retry, refusals end it; a key
//     Stripe answers only with a saved 5xx leads to a new attempt, with a
//     new key, reserved like the first);
//  3. wait: a pending refund waits for Stripe's webhook, or a poll;
//  4. settle: the hold becomes refunded and is booked on the ledger, in
//     one transaction, or is released if Stripe failed.
func (r *refundCase) refundThroughStripe(ctx workflow.Context) bool {
	var att postgres.PaymentAttempt
	var sr payments.Refund
	for n := 1; ; n++ {
		err := workflow.ExecuteActivity(dbCtx(ctx), r.acts.ReservePayment, activities.ReserveInput{
			RefundID: r.in.RefundID, Attempt: n, Amount: *r.state.Amount,
		}).Get(ctx, &att)
		if err != nil {
			r.paymentFailed(ctx, "reserve_refused", err)
			return false
		}
		r.step(ctx, stepSpec{actor: refundflow.SystemActor, event: "payment_requested",
			detail: map[string]any{"idempotency_key": att.IdempotencyKey, "amount": att.Amount, "payment_intent": att.PaymentIntent}})

		err = workflow.ExecuteActivity(r.paymentsCtx(ctx), r.acts.CreateStripeRefund, att).Get(ctx, &sr)
		if err == nil {
			break
		}
		r.settle(ctx, activities.SettleInput{RefundID: r.in.RefundID, Attempt: n, Status: "failed", FailureReason: failureCode(err)})
		if !r.retryWithNewKey(ctx, n, err) {
			r.paymentFailed(ctx, failureCode(err), err)
			return false
		}
	}
	attempt := att.Attempt
	r.state.ProviderRefundID, r.state.PaymentStatus = sr.ID, sr.Status
	if !sr.Terminal() {
		r.settle(ctx, activities.SettleInput{RefundID: r.in.RefundID, Attempt: attempt, Status: sr.Status, ProviderRefundID: sr.ID})
		r.step(ctx, stepSpec{actor: refundflow.Actor{Kind: "stripe"}, event: "payment_pending", detail: map[string]any{"stripe_refund": sr.ID, "stripe_status": sr.Status}})
		sr = r.awaitStripe(ctx, sr)
		r.state.PaymentStatus = sr.Status
	}
	r.settle(ctx, settlement(r.in.RefundID, attempt, sr))
	if sr.Status != "succeeded" {
		r.paymentFailed(ctx, "stripe_"+sr.Status, errors.New(sr.FailureReason))
		return false
	}
	r.state.Status = refundflow.StatusRefunded
	detail := map[string]any{"stripe_refund": sr.ID, "amount": sr.Amount}
	if sr.TransferReversalAmount > 0 {
		detail["transfer_reversal"] = sr.TransferReversalAmount // the creator's share pulled back
	}
	r.step(ctx, stepSpec{actor: refundflow.Actor{Kind: "stripe"}, event: "refunded", detail: detail})
	return true
}

// newKeyChange versions the new attempt a spent idempotency key leads to:
// before it, such a case retried the spent key until Stripe forgot it.
const newKeyChange = "stripe-key-spent-new-attempt"

// maxStripeAttempts bounds the attempts of a case whose keys Stripe keeps
// spending (5xx before anything was made): about half a day of waiting
// between them, then finance takes the case over.
const maxStripeAttempts = 20

// retryWithNewKey decides what follows a failed Stripe create. Only a
// spent key (Stripe saved a 5xx under it and no refund of the case
// exists) calls for another attempt: its key was written with it before
// the call, so nothing is ever sent without one on record. The attempt
// that failed was settled (its hold released) already; the next one waits
// a backoff first, so a Stripe incident is not hammered. It reports
// whether to make the next attempt.
func (r *refundCase) retryWithNewKey(ctx workflow.Context, n int, err error) bool {
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) || appErr.Type() != activities.ErrStripeKeySpent || n >= maxStripeAttempts {
		return false
	}
	if workflow.GetVersion(ctx, newKeyChange, workflow.DefaultVersion, 1) == workflow.DefaultVersion {
		return false
	}
	wait := min(10*time.Second<<min(n-1, 10), time.Hour)
	r.step(ctx, stepSpec{actor: refundflow.SystemActor, event: "payment_retried",
		detail: map[string]any{"attempt": n, "code": activities.ErrStripeKeySpent, "next_attempt": n + 1, "retry_in": wait.String()}})
	return workflow.Sleep(ctx, wait) == nil
}

// settlement is where an attempt ended, with what the ledger needs from
// the Stripe refund.
func settlement(refundID string, attempt int, sr payments.Refund) activities.SettleInput {
	return activities.SettleInput{
		RefundID: refundID, Attempt: attempt, Status: sr.Status, ProviderRefundID: sr.ID, FailureReason: sr.FailureReason,
		ProviderCreated: sr.Created, TransferReversal: sr.TransferReversalAmount,
		ApplicationFeeRefunded: sr.ApplicationFeeRefunded, ChargeFee: sr.ChargeFee,
	}
}

// awaitStripe waits for a pending refund to end: Stripe's webhook arrives
// as a signal; without one, the refund is read again every so often.
// Webhooks may come twice or out of order: one that would move the refund
// back (pending after requires_action moved on, say) is an old one and
// changes nothing.
func (r *refundCase) awaitStripe(ctx workflow.Context, sr payments.Refund) payments.Refund {
	for !sr.Terminal() {
		var update StripeRefundUpdate
		got, _ := r.stripeUpdates.ReceiveWithTimeout(ctx, stripePollInterval, &update)
		switch {
		case got && update.ProviderRefundID == sr.ID && payments.Progress(update.Status) > payments.Progress(sr.Status):
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
	if err := workflow.ExecuteActivity(dbCtx(ctx), r.acts.SettlePayment, in).Get(ctx, nil); err != nil {
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
// refuses for good: money is never silently dropped. They heartbeat, so a
// worker that dies in the middle of a call is replaced within the
// heartbeat timeout.
func (r *refundCase) paymentsCtx(ctx workflow.Context) workflow.Context {
	return workflow.WithActivityOptions(ctx, StripeActivityOptions())
}

// StripeActivityOptions are paymentsCtx's.
func StripeActivityOptions() workflow.ActivityOptions {
	return workflow.ActivityOptions{
		TaskQueue:           PaymentsTaskQueue,
		StartToCloseTimeout: 2 * time.Minute,
		HeartbeatTimeout:    stripeHeartbeatTimeout,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval: 2 * time.Second, BackoffCoefficient: 2, MaximumInterval: 5 * time.Minute,
			NonRetryableErrorTypes: []string{activities.ErrPaymentPermanent, activities.ErrBusinessRefusal},
		},
	}
}

// RefundFailedInput names a refund that Stripe reported failed.
type RefundFailedInput struct {
	RefundID         string
	ProviderRefundID string
	FailureReason    string
	EventID          string
}

// RefundFailedAfterSuccess handles a refund that Stripe fails after it
// succeeded (a closed card, say), whose case's workflow booked it and may
// have closed since: once the case has booked the refund, the booking is
// reversed — the order's refunded amount, the ledger, the case's status —
// and finance, the platform and the learner are told. It reports whether
// there was anything to reverse (a refund that failed before it was booked
// is the case workflow's to handle).
func RefundFailedAfterSuccess(ctx workflow.Context, in RefundFailedInput) (bool, error) {
	var acts *activities.Activities
	reverseCtx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		TaskQueue:              RefundsTaskQueue,
		StartToCloseTimeout:    30 * time.Second,
		ScheduleToCloseTimeout: 7 * 24 * time.Hour,
		RetryPolicy: &temporal.RetryPolicy{
			// Retried while the case has not booked the refund yet.
			InitialInterval: 10 * time.Second, BackoffCoefficient: 2, MaximumInterval: 10 * time.Minute,
			NonRetryableErrorTypes: []string{activities.ErrBusinessRefusal},
		},
	})
	var rev postgres.Reversal
	err := workflow.ExecuteActivity(reverseCtx, acts.ReverseRefundBooking, activities.ReverseInput{
		RefundID: in.RefundID, ProviderRefundID: in.ProviderRefundID, FailureReason: in.FailureReason, At: workflow.Now(ctx),
	}).Get(ctx, &rev)
	if err != nil || !rev.Reversed {
		return false, err
	}
	// The same delivery options as the case's own notices.
	noticeCtx := notifyCtx(ctx, 24*time.Hour)
	notices := []workflow.Future{
		workflow.ExecuteActivity(noticeCtx, acts.NotifyStaff, activities.StaffNotice{
			ID: noticeID(in.RefundID, rev.Seq, "refund_failed"), Audience: "finance", Kind: "refund_failed", RefundID: in.RefundID,
		}),
		workflow.ExecuteActivity(noticeCtx, acts.SendWebhook, activities.WebhookEvent{
			ID: fmt.Sprintf("evt_%s_%d_%s", in.RefundID, rev.Seq, "refund.failed"), Type: "refund.failed", RefundID: in.RefundID,
		}),
		workflow.ExecuteActivity(noticeCtx, acts.NotifyLearner, activities.LearnerNotice{
			ID: noticeID(in.RefundID, rev.Seq, "failed"), RefundID: in.RefundID, Kind: "failed", At: workflow.Now(ctx),
		}),
	}
	for _, f := range notices {
		if err := f.Get(ctx, nil); err != nil {
			workflow.GetLogger(ctx).Warn("notification not delivered", "refund", in.RefundID, "error", err)
		}
	}
	return true, nil
}
