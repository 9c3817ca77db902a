package contract

import (
	"time"

	"github.com/refundflow/refundflow/policy"
)

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
	Flags   []policy.CourseFlag
}

// CourseReviewInput opens the review of a flagged course.
type CourseReviewInput struct {
	Flag   policy.CourseFlag
	Median float64
	At     time.Time
}
