package integration

import (
	"context"
	"testing"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/refundflow/refundflow/workflows"
)

// The worker creates the product's Temporal Schedules; triggered by hand
// (as ops would from the Temporal UI), each runs its workflow to the end.
func TestSchedulesExistAndTheirRunsComplete(t *testing.T) {
	s := newStack(t, stackOptions{})
	ctx := context.Background()
	for _, c := range []struct{ schedule, history string }{
		{workflows.CaseSweeperScheduleID, "case-sweeper"},
		{workflows.RenewalRemindersScheduleID, "renewal-reminders"},
		{workflows.RefundRateMonitorScheduleID, "refund-rate-monitor"},
		{workflows.ReconcileScheduleID, ""},
	} {
		h := s.app.Temporal.ScheduleClient().GetHandle(ctx, c.schedule)
		var desc *client.ScheduleDescription
		deadline := time.Now().Add(time.Minute)
		for {
			d, err := h.Describe(ctx)
			if err == nil {
				desc = d
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("schedule %s: %v", c.schedule, err)
			}
			time.Sleep(100 * time.Millisecond)
		}
		if c.history == "" {
			continue // the daily reconciliation's run is covered by the money tests
		}
		before := len(desc.Info.RecentActions)
		if err := h.Trigger(ctx, client.ScheduleTriggerOptions{}); err != nil {
			t.Fatal(err)
		}
		var workflowID string
		for workflowID == "" {
			if time.Now().After(deadline) {
				t.Fatalf("schedule %s started nothing", c.schedule)
			}
			d, err := h.Describe(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if n := len(d.Info.RecentActions); n > before {
				workflowID = d.Info.RecentActions[n-1].StartWorkflowResult.WorkflowID
			}
			time.Sleep(100 * time.Millisecond)
		}
		s.waitForClosed(workflowID)
		s.saveHistory(workflowID, c.history)
	}
}
