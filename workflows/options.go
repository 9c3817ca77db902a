package workflows

import (
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/refundflow/refundflow/activities"
)

// How the workflows run their activities. Only the Stripe calls have their
// own options (refund_payment.go, reconcile.go): they run on the
// rate-limited payments queue.

// dbCtx runs read-model activities on the refunds queue: each try is quick,
// and they are retried until PostgreSQL answers; a business refusal is final.
func dbCtx(ctx workflow.Context) workflow.Context { return slowDBCtx(ctx, 30*time.Second) }

// slowDBCtx is dbCtx for activities one try of which may take up to
// timeout (a page of cases, a scan of every course).
func slowDBCtx(ctx workflow.Context, timeout time.Duration) workflow.Context {
	return workflow.WithActivityOptions(ctx, DBActivityOptions(timeout))
}

// notifyCtx runs email, in-app messages and webhooks on the notifications
// queue, retried for retryFor; a receiver that refuses for good is not
// retried.
func notifyCtx(ctx workflow.Context, retryFor time.Duration) workflow.Context {
	return workflow.WithActivityOptions(ctx, NotifyActivityOptions(retryFor))
}

// DBActivityOptions are dbCtx's, with one try taking up to timeout (the
// benchmark's engine baseline runs its no-op twins of the activities with
// these options too).
func DBActivityOptions(timeout time.Duration) workflow.ActivityOptions {
	return workflow.ActivityOptions{
		TaskQueue:           RefundsTaskQueue,
		StartToCloseTimeout: timeout,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: time.Minute,
			NonRetryableErrorTypes: []string{activities.ErrBusinessRefusal},
		},
	}
}

// NotifyActivityOptions are notifyCtx's.
func NotifyActivityOptions(retryFor time.Duration) workflow.ActivityOptions {
	return workflow.ActivityOptions{
		TaskQueue:              NotificationsTaskQueue,
		StartToCloseTimeout:    30 * time.Second,
		ScheduleToCloseTimeout: retryFor,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval: 5 * time.Second, BackoffCoefficient: 2, MaximumInterval: 10 * time.Minute,
			NonRetryableErrorTypes: []string{activities.ErrBusinessRefusal, activities.ErrPermanentDelivery},
		},
	}
}
