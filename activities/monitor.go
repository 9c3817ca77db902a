package activities

import (
	"context"
	"encoding/json"
	"slices"
	"time"

	"github.com/refundflow/refundflow/postgres"
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

// LinkCourseReviewInput records the ticket a course flag opened.
type LinkCourseReviewInput struct {
	FlagID   string
	TicketID string
}

// LinkCourseReview records the course-review ticket on its flag, so the
// courses report shows it.
func (a *Activities) LinkCourseReview(ctx context.Context, in LinkCourseReviewInput) error {
	return a.DB.LinkCourseFlagTicket(ctx, in.FlagID, in.TicketID)
}
