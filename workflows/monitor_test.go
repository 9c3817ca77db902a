package workflows_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/testsuite"

	"github.com/refundflow/refundflow"
	"github.com/refundflow/refundflow/internal/casetest"
	"github.com/refundflow/refundflow/notify"
	"github.com/refundflow/refundflow/policy"
	"github.com/refundflow/refundflow/refund"
	"github.com/refundflow/refundflow/sla"
	"github.com/refundflow/refundflow/workflows"
)

// monitorAt runs the refund-rate monitor once at a moment.
func monitorAt(t *testing.T, w *casetest.World, at time.Time) workflows.RefundRateMonitorResult {
	t.Helper()
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestWorkflowEnvironment()
	env.SetStartTime(at)
	env.RegisterWorkflow(workflows.RefundRateMonitor)
	env.RegisterWorkflow(workflows.Ticket)
	// The course-review tickets outlive the monitor's run.
	env.SetDetachedChildWait(false)
	env.RegisterActivity(w.Acts)
	env.ExecuteWorkflow(workflows.RefundRateMonitor)
	if err := env.GetWorkflowError(); err != nil {
		t.Fatalf("monitor at %s: %v", at, err)
	}
	var res workflows.RefundRateMonitorResult
	if err := env.GetWorkflowResult(&res); err != nil {
		t.Fatal(err)
	}
	return res
}

// sales stores n orders of a course bought 10 days before the test starts;
// the first refunded of them end refunded with reason, the next retained of
// them end retained (the learner took an offer worth 5000).
func sales(t *testing.T, w *casetest.World, course string, n, refunded, retained int, reason policy.Reason) {
	t.Helper()
	ctx := context.Background()
	for i := range n {
		id := fmt.Sprintf("%s-%03d", course, i)
		order(w, id, course, 19900, 10*24*time.Hour)
		status := refundflow.StatusRefunded
		switch {
		case i < refunded:
		case i < refunded+retained:
			status = refundflow.StatusRetained
		default:
			continue
		}
		w.Case("rf-"+id, id, reason, platformKey)
		amount := int64(5000)
		if err := w.DB.RecordStep(ctx, refund.Step{
			RefundID: "rf-" + id, Seq: 1, At: start, Actor: refundflow.SystemActor, Event: string(status),
			Snapshot: refund.Snapshot{Status: status, Amount: &amount},
		}, notify.Outbox{}); err != nil {
			t.Fatal(err)
		}
	}
}

func TestMonitorFlagsACourseOncePerWindow(t *testing.T) {
	w := casetest.New(t)
	for _, c := range []string{"steady-1", "steady-2", "steady-3", "spiking"} {
		w.Product(refundflow.Product{ID: c, Type: refundflow.RecordedCourse, Title: c, LessonsTotal: 10})
	}
	// Three courses refund 1 in 20 orders; one refunds 12 in 30, most of
	// them for quality.
	sales(t, w, "steady-1", 20, 1, 1, policy.ReasonChangedMind)
	sales(t, w, "steady-2", 20, 1, 0, policy.ReasonNotAsExpected)
	sales(t, w, "steady-3", 20, 1, 0, policy.ReasonChangedMind)
	sales(t, w, "spiking", 30, 12, 2, policy.ReasonQualityIssue)

	first := monitorAt(t, w, start)
	if first.Courses != 4 || !slices.Equal(first.Flagged, []string{"spiking"}) {
		t.Fatalf("first run %+v, want the spiking course flagged", first)
	}
	if next := monitorAt(t, w, start.Add(24*time.Hour)); len(next.Flagged) != 0 {
		t.Fatalf("the next day flagged %v again within the same window", next.Flagged)
	}

	report, err := w.DB.ListCourseAnalytics(context.Background())
	if err != nil || len(report) != 4 {
		t.Fatalf("report %+v: %v", report, err)
	}
	top := report[0]
	if top.CourseID != "spiking" || top.Orders != 30 || top.Refunds != 12 || top.Rate != 0.4 || top.MedianRate != 0.05 {
		t.Fatalf("top row %+v", top)
	}
	if top.Reasons["quality_issue"] != 12 || len(top.Retained) != 1 || top.Retained[0].Amount != 10000 {
		t.Fatalf("reasons %v retained %v", top.Reasons, top.Retained)
	}
	if top.Flag == nil || !slices.Equal(top.Flag.Kinds, []string{"refund_rate", "reason_share"}) || !top.Flag.FlaggedAt.Equal(start) {
		t.Fatalf("flag %+v", top.Flag)
	}
	for _, r := range report[1:] {
		if r.Flag != nil {
			t.Fatalf("steady course flagged: %+v", r)
		}
	}

	// The flag opened one ticket for the content team, with the figures.
	if top.Flag.TicketID == "" {
		t.Fatal("the flag opened no course-review ticket")
	}
	tk, err := w.DB.GetTicket(context.Background(), top.Flag.TicketID)
	if err != nil {
		t.Fatal(err)
	}
	if tk.LearnerID != refundflow.ContentTeam || tk.Tier != sla.Free || tk.SLA.EscalationLevel != 1 || !strings.Contains(tk.Subject, "spiking") {
		t.Fatalf("course-review ticket %+v", tk)
	}
	if len(tk.Messages) != 1 || !strings.Contains(tk.Messages[0].Body, "refund rate 40.0% against a platform median of 5.0%") {
		t.Fatalf("ticket messages %+v", tk.Messages)
	}
}
