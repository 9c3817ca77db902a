package workflows

import (
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/refundflow/refundflow/activities/contract"
)

// How the workflows run their activities. A step's cost is a design
// decision (Temporal Cloud bills every activity attempt, and all the local
// activities of one workflow task together as one action): database work
// runs as local activities in the workflow task that needs it, Stripe
// calls as regular activities on the rate-limited payments queue, and the
// long or scheduled jobs' database work as regular activities on the
// refunds queue.

// localCtx runs read-model work as local activities: quick tries, retried
// until PostgreSQL answers; a business refusal is final.
func localCtx(ctx workflow.Context) workflow.Context {
	return workflow.WithLocalActivityOptions(ctx, LocalActivityOptions())
}

// LocalActivityOptions are localCtx's.
func LocalActivityOptions() workflow.LocalActivityOptions {
	return workflow.LocalActivityOptions{
		StartToCloseTimeout: 10 * time.Second,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval: 200 * time.Millisecond, BackoffCoefficient: 2, MaximumInterval: time.Minute,
			NonRetryableErrorTypes: []string{contract.ErrBusinessRefusal},
		},
	}
}

// dbCtx runs a job's read-model activities on the refunds queue, one try
// taking up to timeout (a page of cases, a scan of every course), retried
// until PostgreSQL answers; a business refusal is final.
func dbCtx(ctx workflow.Context, timeout time.Duration) workflow.Context {
	return workflow.WithActivityOptions(ctx, DBActivityOptions(timeout))
}

// DBActivityOptions are dbCtx's.
func DBActivityOptions(timeout time.Duration) workflow.ActivityOptions {
	return workflow.ActivityOptions{
		TaskQueue:           RefundsTaskQueue,
		StartToCloseTimeout: timeout,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: time.Minute,
			NonRetryableErrorTypes: []string{contract.ErrBusinessRefusal},
		},
	}
}

// stripeHeartbeatTimeout is how soon a Stripe call whose worker died is
// tried again.
const stripeHeartbeatTimeout = 20 * time.Second

// paymentsCtx runs Stripe calls on the payments queue, whose rate the
// Temporal server limits. They are retried until they succeed or Stripe
// refuses for good: money is never silently dropped. They heartbeat, so a
// worker that dies in the middle of a call is replaced within the
// heartbeat timeout.
func paymentsCtx(ctx workflow.Context) workflow.Context {
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
			NonRetryableErrorTypes: []string{contract.ErrPaymentPermanent, contract.ErrBusinessRefusal},
		},
	}
}
