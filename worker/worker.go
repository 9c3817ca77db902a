// Package worker registers refundflow's workflows and activities on their
// task queues and runs them:
//
//   - refunds: the workflows and the read-model activities;
//   - payments: only the Stripe calls, rate-limited by the Temporal server
//     (TaskQueueActivitiesPerSecond) across every worker process;
//   - notifications: email, in-app messages and platform webhooks.
package worker

import (
	"context"
	"fmt"
	"log/slog"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"

	"github.com/refundflow/refundflow/activities"
	"github.com/refundflow/refundflow/workflows"
)

// Options tunes the workers.
type Options struct {
	// StripeRatePerSecond caps Stripe calls for the whole cluster.
	StripeRatePerSecond float64
	Logger              *slog.Logger
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
	o.Logger.Info("workers started", "task_queues", []string{workflows.RefundsTaskQueue, workflows.PaymentsTaskQueue, workflows.NotificationsTaskQueue},
		"stripe_rate_per_second", o.StripeRatePerSecond)
	<-ctx.Done()
	for _, w := range ws {
		w.Stop()
	}
	return nil
}

// New builds the workers without starting them.
func New(c client.Client, a *activities.Activities, o Options) []worker.Worker {
	refunds := worker.New(c, workflows.RefundsTaskQueue, QueueOptions(workflows.RefundsTaskQueue, o))
	// The refund case, and the reversal of a refund that failed after it
	// succeeded (SPEC 4.5, 4.6).
	register(refunds, []any{workflows.Refund, workflows.RefundFailedAfterSuccess},
		a.Evaluate, a.MakeOffers, a.RecordStep, a.ReservePayment, a.SettlePayment, a.ReverseRefundBooking)
	// Reconciliation with Stripe (SPEC 4.7).
	register(refunds, []any{workflows.Reconcile}, a.StartReconciliation, a.FinishReconciliation)
	// Tickets and their SLA clocks (SPEC 4.8).
	register(refunds, []any{workflows.Escalation}, a.OpenTicket, a.RecordTicketStep)
	// Bulk and scheduled work (SPEC 4.9).
	register(refunds, []any{workflows.OutageRemediation, workflows.RenewalReminders, workflows.RefundRateMonitor},
		a.OpenOutageCases, a.RemediationPageStarted, a.RemediationProgress, a.CompleteRemediation, a.MakeExtensionOffer,
		a.DueRenewals, a.MonitorCourses, a.LinkCourseReview)

	payments := worker.New(c, workflows.PaymentsTaskQueue, QueueOptions(workflows.PaymentsTaskQueue, o))
	register(payments, nil, a.CreateStripeRefund, a.GetStripeRefund, a.ReconcileStripePage, a.ReconcileLedgerSide)

	notifications := worker.New(c, workflows.NotificationsTaskQueue, QueueOptions(workflows.NotificationsTaskQueue, o))
	register(notifications, nil, a.NotifyLearner, a.SendWebhook, a.NotifyStaff, a.SendRenewalReminder,
		a.NotifyTicketLearner, a.NotifyTicketStaff, a.SendTicketWebhook)
	return []worker.Worker{refunds, payments, notifications}
}

// QueueOptions are the SDK options of the worker of a task queue (the
// benchmark's engine baseline runs its no-op workflow with the same ones).
func QueueOptions(queue string, o Options) worker.Options {
	switch queue {
	case workflows.RefundsTaskQueue:
		return worker.Options{}
	case workflows.PaymentsTaskQueue:
		// Only Stripe calls run here: the server holds them to the rate.
		return worker.Options{TaskQueueActivitiesPerSecond: o.StripeRatePerSecond, DisableWorkflowWorker: true}
	default:
		return worker.Options{DisableWorkflowWorker: true}
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
