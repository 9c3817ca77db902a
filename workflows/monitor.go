package workflows

import (
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/refundflow/refundflow/activities/contract"
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
// each with a ticket for the content team to review with the figures.
func RefundRateMonitor(ctx workflow.Context) (RefundRateMonitorResult, error) {
	var run contract.MonitorResult
	err := workflow.ExecuteActivity(dbCtx(ctx, 5*time.Minute), contract.MonitorCourses, contract.MonitorInput{
		At: workflow.Now(ctx), Window: MonitorWindow,
	}).Get(ctx, &run)
	if err != nil {
		return RefundRateMonitorResult{}, err
	}
	res := RefundRateMonitorResult{Courses: run.Courses, Median: run.Median, Flagged: []string{}}
	for _, f := range run.Flags {
		res.Flagged = append(res.Flagged, f.CourseID)
	}
	for _, f := range run.Flags {
		// The ticket outlives the monitor's run; one that cannot be opened
		// does not hold up the others.
		err := workflow.ExecuteActivity(dbCtx(ctx, 5*time.Minute), contract.OpenCourseReview, contract.CourseReviewInput{
			Flag: f, Median: run.Median, At: workflow.Now(ctx),
		}).Get(ctx, nil)
		if err != nil {
			workflow.GetLogger(ctx).Error("could not open a course-review ticket", "course", f.CourseID, "error", err)
		}
	}
	return res, nil
}
