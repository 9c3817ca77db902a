package workflows

import (
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/refundflow/refundflow/activities/contract"
)

// RefundFailedInput names a refund that Stripe reported failed.
type RefundFailedInput struct {
	RefundID         string
	ProviderRefundID string
	FailureReason    string
	EventID          string
}

// RefundFailedAfterSuccess reverses the booking of a refund that Stripe
// fails after it succeeded (a closed card, say), whose case's workflow
// booked it and may have closed since: once the case has booked the
// refund, the order's refunded amount, the ledger and the case's status
// are put back, and finance, the platform and the learner are told — in
// one transaction. It reports whether there was anything to reverse (a
// refund that failed before it was booked is the case workflow's to
// handle).
func RefundFailedAfterSuccess(ctx workflow.Context, in RefundFailedInput) (bool, error) {
	reverseCtx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		TaskQueue:              RefundsTaskQueue,
		StartToCloseTimeout:    30 * time.Second,
		ScheduleToCloseTimeout: 7 * 24 * time.Hour,
		RetryPolicy: &temporal.RetryPolicy{
			// Retried while the case has not booked the refund yet.
			InitialInterval: 10 * time.Second, BackoffCoefficient: 2, MaximumInterval: 10 * time.Minute,
			NonRetryableErrorTypes: []string{contract.ErrBusinessRefusal},
		},
	})
	var rev contract.ReverseResult
	err := workflow.ExecuteActivity(reverseCtx, contract.ReverseRefundBooking, contract.ReverseInput{
		RefundID: in.RefundID, ProviderRefundID: in.ProviderRefundID, FailureReason: in.FailureReason, At: workflow.Now(ctx),
	}).Get(ctx, &rev)
	return rev.Reversed, err
}
