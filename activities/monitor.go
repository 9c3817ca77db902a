package activities

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/refundflow/refundflow"
	"github.com/refundflow/refundflow/postgres"
	"github.com/refundflow/refundflow/sla"
)

// Flag kinds: why the monitor flagged a course for review.
const (
	// FlagRefundRate: the course's refund rate is over RateFactor times the
	// median of all courses.
	FlagRefundRate = "refund_rate"
	// FlagReasonShare: one refund reason makes more than ReasonPercent of
	// the course's refunds.
	FlagReasonShare = "reason_share"
)

// MonitorThresholds say when a course stands out. Both flags need
// MinRefunds refunds in the window: a handful of refunds is not a signal,
// and a course with one refund has one reason at 100 %.
type MonitorThresholds struct {
	RateFactor    float64
	MinRefunds    int
	ReasonPercent int
}

// DefaultMonitorThresholds: over twice the median with at least 10
// refunds, or one reason over 60 %.
var DefaultMonitorThresholds = MonitorThresholds{RateFactor: 2, MinRefunds: 10, ReasonPercent: 60}

// CourseAssessment is a course's figures with its refund rate and what
// made it stand out, if anything.
type CourseAssessment struct {
	postgres.CourseFigures
	Rate  float64  `json:"refund_rate"`
	Flags []string `json:"flags"`
	// DominantReason is the reason over ReasonPercent, if one is.
	DominantReason string `json:"dominant_reason,omitempty"`
}

// AssessCourses measures each course against the platform's norm — the
// median refund rate of the courses with orders — and flags those that
// stand out. It is plain arithmetic on the figures, so that the thresholds
// can be read and tested as a table.
func AssessCourses(figs []postgres.CourseFigures, th MonitorThresholds) (median float64, out []CourseAssessment) {
	rates := make([]float64, 0, len(figs))
	out = make([]CourseAssessment, 0, len(figs))
	for _, f := range figs {
		a := CourseAssessment{CourseFigures: f, Flags: []string{}}
		if f.Orders > 0 {
			a.Rate = float64(f.Refunds) / float64(f.Orders)
			rates = append(rates, a.Rate)
		}
		out = append(out, a)
	}
	median = medianOf(rates)
	for i := range out {
		a := &out[i]
		if a.Refunds < th.MinRefunds {
			continue
		}
		if a.Rate > th.RateFactor*median {
			a.Flags = append(a.Flags, FlagRefundRate)
		}
		for _, reason := range sortedKeys(a.Reasons) {
			if a.Reasons[reason]*100 > th.ReasonPercent*a.Refunds {
				a.Flags = append(a.Flags, FlagReasonShare)
				a.DominantReason = reason
				break
			}
		}
	}
	return median, out
}

func medianOf(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	mid := len(s) / 2
	if len(s)%2 == 1 {
		return s[mid]
	}
	return (s[mid-1] + s[mid]) / 2
}

func sortedKeys(m map[string]int) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// MonitorInput is one run of the refund-rate monitor: the window is
// [At − Window, At).
type MonitorInput struct {
	At     time.Time
	Window time.Duration
}

// MonitorResult says what a run found: how many courses it measured and
// the flags it raised (at most one per course per window).
type MonitorResult struct {
	Courses int
	Median  float64
	Flags   []postgres.CourseFlag
}

// MonitorCourses computes every course's figures over the window, replaces
// the courses report with them, and flags the courses that stand out and
// were not flagged in an overlapping window. Running it again for the same
// At changes nothing and returns the same flags.
func (a *Activities) MonitorCourses(ctx context.Context, in MonitorInput) (MonitorResult, error) {
	start := in.At.Add(-in.Window)
	figs, err := a.DB.CourseFiguresBetween(ctx, start, in.At)
	if err != nil {
		return MonitorResult{}, err
	}
	median, assessed := AssessCourses(figs, DefaultMonitorThresholds)
	rows := make([]postgres.CourseAnalytics, 0, len(assessed))
	for _, c := range assessed {
		rows = append(rows, postgres.CourseAnalytics{
			CourseFigures: c.CourseFigures, WindowStart: start, WindowEnd: in.At, Rate: c.Rate, MedianRate: median, ComputedAt: in.At,
		})
	}
	if err := a.DB.SaveCourseAnalytics(ctx, rows); err != nil {
		return MonitorResult{}, err
	}
	res := MonitorResult{Courses: len(assessed), Median: median, Flags: []postgres.CourseFlag{}}
	for _, c := range assessed {
		if len(c.Flags) == 0 {
			continue
		}
		figures, err := json.Marshal(struct {
			CourseAssessment
			MedianRate float64 `json:"median_refund_rate"`
		}{c, median})
		if err != nil {
			return MonitorResult{}, err
		}
		flag, raised, err := a.DB.FlagCourse(ctx, postgres.CourseFlag{
			ID: postgres.CourseFlagID(c.CourseID, in.At), CourseID: c.CourseID, Kinds: c.Flags,
			WindowStart: start, WindowEnd: in.At, Figures: figures, FlaggedAt: in.At,
		})
		if err != nil {
			return MonitorResult{}, err
		}
		if raised {
			res.Flags = append(res.Flags, *flag)
		}
	}
	return res, nil
}

// CourseReviewInput opens the review of a flagged course.
type CourseReviewInput struct {
	Flag   postgres.CourseFlag
	Median float64
	At     time.Time
}

// CourseReviewTicketID names the ticket a course flag opens.
func CourseReviewTicketID(flagID string) string { return "tk_review_" + flagID }

// OpenCourseReview opens a ticket for the content team with the figures
// that flagged the course, on the free tier's business-hours clock, starts
// its workflow (which outlives the monitor's run) and records it on the
// flag, so the courses report shows it. Each part is idempotent; the flag
// never points at a ticket that is not there yet. It returns the ticket's
// id.
func (a *Activities) OpenCourseReview(ctx context.Context, in CourseReviewInput) (string, error) {
	f := in.Flag
	id := CourseReviewTicketID(f.ID)
	var figures CourseAssessment
	_ = json.Unmarshal(f.Figures, &figures) // written by MonitorCourses from this type
	if _, err := a.DB.OpenTicket(ctx, postgres.NewTicket{
		ID: id, Tier: sla.Free, Priority: sla.Normal, LearnerID: refundflow.ContentTeam, Locale: refundflow.LocaleZhCN,
		Subject:  fmt.Sprintf("Course review: %s / 课程复查：%s", f.CourseID, f.CourseID),
		Body:     courseReviewBody(f, figures, in.Median),
		OpenedBy: refundflow.SystemActor, OpenedAt: in.At, Level: 1,
	}); err != nil {
		return "", refusal(err)
	}
	if err := a.Engine.StartTicket(ctx, TicketStart{TicketID: id, Tier: string(sla.Free), Level: 1, CourseID: f.CourseID, Acknowledged: true}); err != nil {
		return "", err
	}
	return id, a.DB.LinkCourseFlagTicket(ctx, f.ID, id)
}

// courseReviewBody says, in both languages, why the course was flagged.
func courseReviewBody(f postgres.CourseFlag, a CourseAssessment, median float64) string {
	reasons := make([]string, 0, len(a.Reasons))
	for _, r := range sortedKeys(a.Reasons) {
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
