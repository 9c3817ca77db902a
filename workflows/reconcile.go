package workflows

import (
	"context"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/refundflow/refundflow/activities/contract"
	"github.com/refundflow/refundflow/ledger"
)

// ReconcileInput asks for a reconciliation of the Stripe refunds created
// in [From, To) with the ledger.
type ReconcileInput struct {
	// From and To are Stripe creation times; both zero means the UTC day
	// before the run (what the daily schedule asks for).
	From time.Time
	To   time.Time
	// Trigger is "schedule" (the default) or "manual".
	Trigger string
	// Cursor is the last Stripe refund looked at, when a long run went on
	// as a new run.
	Cursor string
}

// Reconcile compares Stripe's refunds with the ledger (SPEC 4.7), page by
// page on the rate-limited payments queue: refunds missing on either side,
// amounts that differ, and refunds made by hand in the Stripe dashboard,
// which are adopted onto their orders and flagged. The findings are kept
// under the run's id — the workflow's id — for the reconciliation report.
func Reconcile(ctx workflow.Context, in ReconcileInput) (*ledger.ReconciliationRun, error) {
	if in.From.IsZero() || in.To.IsZero() {
		in.From, in.To = ReconcileDayBefore(workflow.Now(ctx))
	}
	if in.Trigger == "" {
		in.Trigger = ReconcileTriggerSchedule
	}
	run := contract.ReconcileRun{RunID: workflow.GetInfo(ctx).WorkflowExecution.ID, Trigger: in.Trigger, From: in.From, To: in.To}
	readModel := dbCtx(ctx, time.Minute)
	stripeCtx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		TaskQueue:           PaymentsTaskQueue,
		StartToCloseTimeout: 10 * time.Minute,
		HeartbeatTimeout:    stripeHeartbeatTimeout,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval: 2 * time.Second, BackoffCoefficient: 2, MaximumInterval: 5 * time.Minute,
			NonRetryableErrorTypes: []string{contract.ErrPaymentPermanent},
		},
	})

	if err := workflow.ExecuteActivity(readModel, contract.StartReconciliation, run).Get(ctx, nil); err != nil {
		return nil, err
	}
	for {
		var page contract.ReconcilePageResult
		if err := workflow.ExecuteActivity(stripeCtx, contract.ReconcileStripePage, contract.ReconcilePageInput{
			Run: run, StartingAfter: in.Cursor,
		}).Get(ctx, &page); err != nil {
			return nil, err
		}
		if !page.HasMore || page.Last == "" {
			break
		}
		in.Cursor = page.Last
		if workflow.GetInfo(ctx).GetContinueAsNewSuggested() {
			return nil, workflow.NewContinueAsNewError(ctx, Reconcile, in)
		}
	}
	if err := workflow.ExecuteActivity(stripeCtx, contract.ReconcileLedgerSide, run).Get(ctx, nil); err != nil {
		return nil, err
	}
	var out ledger.ReconciliationRun
	if err := workflow.ExecuteActivity(readModel, contract.FinishReconciliation, run.RunID).Get(ctx, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// ReconcileDayBefore is the window a run covers unless asked otherwise:
// the UTC day before now.
func ReconcileDayBefore(now time.Time) (from, to time.Time) {
	day := now.UTC().Truncate(24 * time.Hour)
	return day.Add(-24 * time.Hour), day
}

// StartReconcile starts a run of the reconciliation workflow — the one the
// daily schedule starts — under id, for an on-demand run (API, console,
// CLI). An id that ran before is refused.
func StartReconcile(ctx context.Context, c client.Client, id string, in ReconcileInput) (client.WorkflowRun, error) {
	return c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID: id, TaskQueue: RefundsTaskQueue, WorkflowIDReusePolicy: enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
	}, Reconcile, in)
}

// Reconciliation triggers.
const (
	ReconcileTriggerSchedule = "schedule"
	ReconcileTriggerManual   = "manual"
)

// reconcileCron runs the daily reconciliation at 01:30 UTC, over the UTC
// day before.
const reconcileCron = "30 1 * * *"
