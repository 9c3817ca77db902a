package activities

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/refundflow/refundflow"
	"github.com/refundflow/refundflow/activities/contract"
	"github.com/refundflow/refundflow/policy"
	"github.com/refundflow/refundflow/postgres"
	"github.com/refundflow/refundflow/sla"
)

// MonitorCourses computes every course's figures over the window, replaces
// the courses report with them, and flags the courses that stand out and
// were not flagged in an overlapping window. Running it again for the same
// At changes nothing and returns the same flags.
func (a *Activities) MonitorCourses(ctx context.Context, in contract.MonitorInput) (contract.MonitorResult, error) {
	start := in.At.Add(-in.Window)
	figs, err := a.DB.CourseFiguresBetween(ctx, start, in.At)
	if err != nil {
		return contract.MonitorResult{}, err
	}
	median, assessed := policy.AssessCourses(figs, policy.DefaultMonitorThresholds)
	rows := make([]postgres.CourseAnalytics, 0, len(assessed))
	for _, c := range assessed {
		rows = append(rows, postgres.CourseAnalytics{
			CourseFigures: c.CourseFigures, WindowStart: start, WindowEnd: in.At, Rate: c.Rate, MedianRate: median, ComputedAt: in.At,
		})
	}
	if err := a.DB.SaveCourseAnalytics(ctx, rows); err != nil {
		return contract.MonitorResult{}, err
	}
	res := contract.MonitorResult{Courses: len(assessed), Median: median, Flags: []policy.CourseFlag{}}
	for _, c := range assessed {
		if len(c.Flags) == 0 {
			continue
		}
		figures, err := json.Marshal(struct {
			policy.CourseAssessment
			MedianRate float64 `json:"median_refund_rate"`
		}{c, median})
		if err != nil {
			return contract.MonitorResult{}, err
		}
		flag, raised, err := a.DB.FlagCourse(ctx, policy.CourseFlag{
			ID: policy.CourseFlagID(c.CourseID, in.At), CourseID: c.CourseID, Kinds: c.Flags,
			WindowStart: start, WindowEnd: in.At, Figures: figures, FlaggedAt: in.At,
		})
		if err != nil {
			return contract.MonitorResult{}, err
		}
		if raised {
			res.Flags = append(res.Flags, *flag)
		}
	}
	return res, nil
}

// CourseReviewTicketID names the ticket a course flag opens.
func CourseReviewTicketID(flagID string) string { return "tk_review_" + flagID }

// OpenCourseReview opens a ticket for the content team with the figures
// that flagged the course, on the free tier's business-hours clock, starts
// its workflow (which outlives the monitor's run) and records it on the
// flag, so the courses report shows it. Each part is idempotent; the flag
// never points at a ticket that is not there yet. It returns the ticket's
// id.
func (a *Activities) OpenCourseReview(ctx context.Context, in contract.CourseReviewInput) (string, error) {
	f := in.Flag
	id := CourseReviewTicketID(f.ID)
	var figures policy.CourseAssessment
	_ = json.Unmarshal(f.Figures, &figures) // written by MonitorCourses from this type
	if _, err := a.DB.OpenTicket(ctx, postgres.NewTicket{
		ID: id, Tier: sla.Free, Priority: sla.Normal, LearnerID: refundflow.ContentTeam, Locale: refundflow.LocaleZhCN,
		Subject:  fmt.Sprintf("Course review: %s / 课程复查：%s", f.CourseID, f.CourseID),
		Body:     courseReviewBody(f, figures, in.Median),
		OpenedBy: refundflow.SystemActor, OpenedAt: in.At, Level: 1,
	}); err != nil {
		return "", refusal(err)
	}
	if err := a.Engine.StartTicket(ctx, contract.TicketStart{TicketID: id, Tier: string(sla.Free), Level: 1, CourseID: f.CourseID, Acknowledged: true}); err != nil {
		return "", err
	}
	return id, a.DB.LinkCourseFlagTicket(ctx, f.ID, id)
}

// courseReviewBody says, in both languages, why the course was flagged.
func courseReviewBody(f policy.CourseFlag, a policy.CourseAssessment, median float64) string {
	reasons := make([]string, 0, len(a.Reasons))
	for _, r := range slices.Sorted(maps.Keys(a.Reasons)) {
		reasons = append(reasons, fmt.Sprintf("%s %d", r, a.Reasons[r]))
	}
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
