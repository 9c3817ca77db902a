package policy

import (
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/refundflow/refundflow/money"
)

// CourseFigures are one course's refund figures over a window: of the
// orders placed in it, how many were refunded and why, and what learners
// kept by taking an offer instead. Refunds that an outage remediation made
// are left out: the platform failed, not the course.
type CourseFigures struct {
	CourseID string `json:"course_id"`
	Orders   int    `json:"orders"`
	Refunds  int    `json:"refunds"`
	// Reasons counts the refunds by the reason the learner gave.
	Reasons  map[string]int    `json:"reasons"`
	Retained []RetainedRevenue `json:"retained_revenue"`
}

// RetainedRevenue is revenue kept in one currency, in minor units.
type RetainedRevenue struct {
	Currency money.Currency `json:"currency"`
	Amount   int64          `json:"amount"`
}

// CourseFlag is a course the monitor flagged for the content team, with
// the figures that made it stand out.
type CourseFlag struct {
	ID          string          `json:"id"`
	CourseID    string          `json:"course_id"`
	Kinds       []string        `json:"kinds"`
	WindowStart time.Time       `json:"window_start"`
	WindowEnd   time.Time       `json:"window_end"`
	Figures     json.RawMessage `json:"figures"`
	FlaggedAt   time.Time       `json:"flagged_at"`
	// TicketID is the course-review ticket, once one is open.
	TicketID string `json:"ticket_id,omitempty"`
}

// CourseFlagID names the flag of a course for the window ending at end, so
// that a retried run finds the flag it raised.
func CourseFlagID(courseID string, end time.Time) string {
	return fmt.Sprintf("flag_%s_%d", courseID, end.Unix())
}

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
	CourseFigures
	Rate  float64  `json:"refund_rate"`
	Flags []string `json:"flags"`
	// DominantReason is the reason over ReasonPercent, if one is.
	DominantReason string `json:"dominant_reason,omitempty"`
}

// AssessCourses measures each course against the platform's norm — the
// median refund rate of the courses with orders — and flags those that
// stand out. It is plain arithmetic on the figures, so that the thresholds
// can be read and tested as a table.
func AssessCourses(figs []CourseFigures, th MonitorThresholds) (median float64, out []CourseAssessment) {
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
