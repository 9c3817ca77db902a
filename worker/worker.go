// Package worker registers refundflow's workflows and activities on their
// task queues and runs them:
//
//   - refunds: the workflows and their read-model activities (most of
//     them local activities, run in the workflow task that needs them);
//   - payments: only the Stripe calls, rate-limited by the Temporal server
//     (TaskQueueActivitiesPerSecond) across every worker process;
//
// and delivers the outbox — the emails and platform webhooks the steps
// wrote — alongside them (package outbox).
package worker

import (
	"context"
	"fmt"
	"log/slog"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"

	"github.com/refundflow/refundflow/activities"
	"github.com/refundflow/refundflow/outbox"
	"github.com/refundflow/refundflow/workflows"
)

// Options tunes the workers.
type Options struct {
	// StripeRatePerSecond caps Stripe calls for the whole cluster.
	StripeRatePerSecond float64
	Logger              *slog.Logger
	// Outbox delivers the messages the steps wrote; nil leaves them to
	// other workers.
	Outbox *outbox.Dispatcher
}

// Run starts a worker per task queue and blocks until ctx ends, then
// stops them gracefully: running activities may finish, none are lost.
func Run(ctx context.Context, c client.Client, a *activities.Activities, o Options) error {
	ws := New(c, a, o)
	for i, w := range ws {
		if err := w.Start(); err != nil {
			for _, started := range ws[:i] {
				started.Stop()
			}
			return fmt.Errorf("start worker: %w", err)
		}
	}
	o.Logger.Info("workers started", "task_queues", []string{workflows.RefundsTaskQueue, workflows.PaymentsTaskQueue},
		"stripe_rate_per_second", o.StripeRatePerSecond)
	var delivered error
	if o.Outbox != nil {
		delivered = o.Outbox.Run(ctx)
	} else {
		<-ctx.Done()
	}
	for _, w := range ws {
		w.Stop()
	}
	return delivered
}

// New builds the workers without starting them. The workflows run their
// database work as local activities, which run in the workflow worker and
// must be registered there: on the refunds queue, with the jobs' regular
// database activities.
func New(c client.Client, a *activities.Activities, o Options) []worker.Worker {
	refunds := worker.New(c, workflows.RefundsTaskQueue, QueueOptions(workflows.RefundsTaskQueue, o))
	// The refund case, and the reversal of a refund that failed after it
	// succeeded (SPEC 4.5, 4.6).
	register(refunds, []any{workflows.Refund, workflows.RefundFailedAfterSuccess},
		a.DecideRefund, a.ChooseOffers, a.RecordRefundStep, a.VerifyApproval, a.OpenAppealTicket, a.SettleRefund,
		a.ReverseRefundBooking)
	// The sweeper that keeps every case's row and workflow together.
	register(refunds, []any{workflows.CaseSweeper}, a.SweepCases)
	// Reconciliation with Stripe (SPEC 4.7).
	register(refunds, []any{workflows.Reconcile}, a.StartReconciliation, a.FinishReconciliation)
	// Tickets and their SLA clocks (SPEC 4.8).
	register(refunds, []any{workflows.Ticket}, a.OpenTicket, a.RecordTicketStep)
	// Bulk and scheduled work (SPEC 4.9).
	register(refunds, []any{workflows.OutageRemediation, workflows.RenewalReminders, workflows.RefundRateMonitor},
		a.OpenOutageCases, a.GetRemediationProgress, a.CompleteRemediation,
		a.DueRenewals, a.SendRenewalReminder, a.MonitorCourses, a.OpenCourseReview)

	payments := worker.New(c, workflows.PaymentsTaskQueue, QueueOptions(workflows.PaymentsTaskQueue, o))
	register(payments, nil, a.RefundThroughStripe, a.GetStripeRefund, a.ReconcileStripePage, a.ReconcileLedgerSide)
	return []worker.Worker{refunds, payments}
}

// QueueOptions are the SDK options of the worker of a task queue (the
// benchmark's engine baseline runs its no-op workflow with the same ones).
func QueueOptions(queue string, o Options) worker.Options {
	switch queue {
	case workflows.RefundsTaskQueue:
		return worker.Options{}
	default:
		// Only Stripe calls run on payments: the server holds them to the rate.
		return worker.Options{TaskQueueActivitiesPerSecond: o.StripeRatePerSecond, DisableWorkflowWorker: true}
	}
}

func register(w worker.Worker, workflowFuncs []any, activityFuncs ...any) {
	for _, wf := range workflowFuncs {
		w.RegisterWorkflow(wf)
	}
	for _, fn := range activityFuncs {
		w.RegisterActivity(fn)
	}
}
