package workflows_test

import (
	"os"
	"path/filepath"
	"testing"

	"go.temporal.io/sdk/worker"

	"github.com/refundflow/refundflow/workflows"
)

// Every history recorded from a released workflow must replay against the
// current code: a change that would break running workflows fails here and
// belongs behind workflow.GetVersion. The histories come from the
// integration tests (go test ./integration -update-histories).
func TestReplayCommittedHistories(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "histories", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no committed histories to replay")
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			r := worker.NewWorkflowReplayer()
			for _, wf := range []any{
				workflows.Refund, workflows.RefundFailedAfterSuccess, workflows.Reconcile, workflows.Ticket,
				workflows.OutageRemediation, workflows.RenewalReminders, workflows.RefundRateMonitor, workflows.CaseSweeper,
			} {
				r.RegisterWorkflow(wf)
			}
			if err := r.ReplayWorkflowHistoryFromJSONFile(nil, f); err != nil {
				t.Fatalf("%s no longer replays: %v", f, err)
			}
		})
	}
}

// Each released workflow has at least one recorded history.
func TestEveryWorkflowHasARecordedHistory(t *testing.T) {
	for _, name := range []string{
		"refund-auto-approved", "refund-failed-after-success", "reconcile", "ticket-breached-resolved-closed",
		"outage-offer-mode", "renewal-reminders", "refund-rate-monitor", "case-sweeper",
	} {
		if _, err := os.Stat(filepath.Join("testdata", "histories", name+".json")); err != nil {
			t.Errorf("no recorded history %s.json: %v", name, err)
		}
	}
}
