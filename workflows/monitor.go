package workflows

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/refundflow/refundflow"
	"github.com/refundflow/refundflow/activities"
	"github.com/refundflow/refundflow/postgres"
	"github.com/refundflow/refundflow/sla"
)

// MonitorWindow is the trailing window the refund-rate monitor measures,
// and so the shortest time between two flags of one course.
const MonitorWindow = 30 * 24 * time.Hour

// RefundRateMonitorResult is what one run measured and flagged.
type RefundRateMonitorResult struct {
	Courses int
	Median  float64
	// Flagged lists the courses flagged by this run.
	Flagged []string
}

// RefundRateMonitor is one run of the refund-rate-monitor schedule
// (SPEC 4.9): it measures every course over the trailing MonitorWindow —
// orders, refunds, refund rate, reason mix, revenue kept by offers —
// publishes the courses report, and flags the courses well above the
// platform's norm or dominated by one reason, once per course per window,
// with the figures, for the content team to review.
func RefundRateMonitor(ctx workflow.Context) (RefundRateMonitorResult, error) {
	var acts *activities.Activities // method values only: activity names
	var run activities.MonitorResult
	err := workflow.ExecuteActivity(slowDBCtx(ctx, 5*time.Minute), acts.MonitorCourses, activities.MonitorInput{
		At: workflow.Now(ctx), Window: MonitorWindow,
	}).Get(ctx, &run)
	if err != nil {
		return RefundRateMonitorResult{}, err
	}
	res := RefundRateMonitorResult{Courses: run.Courses, Median: run.Median, Flagged: []string{}}
	for _, f := range run.Flags {
		res.Flagged = append(res.Flagged, f.CourseID)
	}
	if workflow.GetVersion(ctx, courseReviewTicketChange, workflow.DefaultVersion, 1) == workflow.DefaultVersion {
		return res, nil
	}
	for _, f := range run.Flags {
		openCourseReview(ctx, f, run.Median)
	}
	return res, nil
}

// courseReviewTicketChange versions the tickets that flags open: runs from
// before it replay without them.
const courseReviewTicketChange = "course-review-ticket"

// CourseReviewTicketID names the ticket a course flag opens.
func CourseReviewTicketID(flagID string) string { return "tk_review_" + flagID }

// openCourseReview opens a ticket for the content team with the figures
// that flagged the course, on the free tier's business-hours clock, and
// records it on the flag. The ticket outlives the monitor's run.
func openCourseReview(ctx workflow.Context, f postgres.CourseFlag, median float64) {
	id := CourseReviewTicketID(f.ID)
	var a activities.CourseAssessment
	_ = json.Unmarshal(f.Figures, &a) // written by MonitorCourses from this type
	cctx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{
		WorkflowID:        TicketWorkflowID(id),
		TaskQueue:         RefundsTaskQueue,
		ParentClosePolicy: enumspb.PARENT_CLOSE_POLICY_ABANDON,
		TypedSearchAttributes: temporal.NewSearchAttributes(
			TicketTierKey.ValueSet(string(sla.Free)), EscalationLevelKey.ValueSet(1), CourseIDKey.ValueSet(f.CourseID),
		),
	})
	ticket := &postgres.NewTicket{
		ID: id, Tier: sla.Free, Priority: sla.Normal, LearnerID: refundflow.ContentTeam, Locale: refundflow.LocaleZhCN,
		Subject:  fmt.Sprintf("Course review: %s / 课程复查：%s", f.CourseID, f.CourseID),
		Body:     courseReviewBody(f, a, median),
		OpenedBy: refundflow.SystemActor, OpenedAt: workflow.Now(ctx), Level: 1,
	}
	// The row first (opening is idempotent; the ticket's workflow opens the
	// same), so the flag never points at a ticket that is not there yet.
	acts := (*activities.Activities)(nil)
	if err := workflow.ExecuteActivity(slowDBCtx(ctx, 5*time.Minute), acts.OpenTicket, activities.OpenTicketInput{TicketID: id, New: ticket}).Get(ctx, nil); err != nil {
		workflow.GetLogger(ctx).Error("could not open a course-review ticket", "course", f.CourseID, "error", err)
		return
	}
	child := workflow.ExecuteChildWorkflow(cctx, Escalation, TicketInput{TicketID: id, Acknowledged: true, New: ticket})
	if err := child.GetChildWorkflowExecution().Get(ctx, nil); err != nil {
		workflow.GetLogger(ctx).Error("could not open a course-review ticket", "course", f.CourseID, "error", err)
		return
	}
	err := workflow.ExecuteActivity(slowDBCtx(ctx, 5*time.Minute), acts.LinkCourseReview,
		activities.LinkCourseReviewInput{FlagID: f.ID, TicketID: id}).Get(ctx, nil)
	if err != nil {
		workflow.GetLogger(ctx).Error("could not link the course-review ticket", "course", f.CourseID, "error", err)
	}
}

// courseReviewBody says, in both languages, why the course was flagged.
func courseReviewBody(f postgres.CourseFlag, a activities.CourseAssessment, median float64) string {
	reasons := make([]string, 0, len(a.Reasons))
	for r, n := range a.Reasons {
		reasons = append(reasons, fmt.Sprintf("%s %d", r, n))
	}
	sort.Strings(reasons)
	return fmt.Sprintf("The refund-rate monitor flagged course %s (%s) for the window %s – %s.\n"+
		"Orders %d, refunds %d: refund rate %.1f%% against a platform median of %.1f%%.\n"+
		"Reasons: %s.\n"+
		"Please review the course and write the outcome here.\n\n"+
		"退款率监控将课程 %s 标记为需复查（%s），统计区间 %s 至 %s。\n"+
		"订单 %d，退款 %d，退款率 %.1f%%，平台中位数 %.1f%%。\n"+
		"退款原因：%s。\n请复查课程内容，并在此回复处理结果。",
		f.CourseID, strings.Join(f.Kinds, ", "), f.WindowStart.Format("2006-01-02"), f.WindowEnd.Format("2006-01-02"),
		a.Orders, a.Refunds, a.Rate*100, median*100, strings.Join(reasons, ", "),
		f.CourseID, strings.Join(f.Kinds, "、"), f.WindowStart.Format("2006-01-02"), f.WindowEnd.Format("2006-01-02"),
		a.Orders, a.Refunds, a.Rate*100, median*100, strings.Join(reasons, "，"))
}
