package api

import (
	"context"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/refundflow/refundflow"
	"github.com/refundflow/refundflow/policy"
)

// CoursesReport is the refund-rate monitor's latest run (SPEC 4.9): per
// course over its trailing window, orders, refunds, refund rate, reason
// mix and revenue kept by offers, with the course's flag if it stood out.
type CoursesReport struct {
	Window     *ReportSpan      `json:"window"`
	ComputedAt *time.Time       `json:"computed_at"`
	MedianRate float64          `json:"median_refund_rate"`
	Thresholds Thresholds       `json:"thresholds"`
	Courses    []CourseAnalysis `json:"courses"`
}

// ReportSpan is the window the monitor measured.
type ReportSpan struct {
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
}

// Thresholds say when the monitor flags a course.
type Thresholds struct {
	RateFactor    float64 `json:"rate_factor"`
	MinRefunds    int     `json:"min_refunds"`
	ReasonPercent int     `json:"reason_percent"`
}

// CourseAnalysis is one course's figures and flag.
type CourseAnalysis struct {
	CourseID string                   `json:"course_id"`
	Title    string                   `json:"title"`
	Orders   int                      `json:"orders"`
	Refunds  int                      `json:"refunds"`
	Rate     float64                  `json:"refund_rate"`
	Reasons  map[string]int           `json:"reasons"`
	Retained []policy.RetainedRevenue `json:"retained_revenue"`
	Flag     *CourseFlag              `json:"flag"`
}

// CourseFlag is why and when the monitor flagged a course, and the
// course-review ticket it opened.
type CourseFlag struct {
	ID        string    `json:"id"`
	Kinds     []string  `json:"kinds"`
	FlaggedAt time.Time `json:"flagged_at"`
	TicketID  *string   `json:"ticket_id"`
}

// coursesReport serves GET /v1/reports/courses.
func (s *Server) coursesReport(c *gin.Context) {
	var pr refundflow.Problems
	csv := wantsCSV(c.Request.URL.Query(), &pr)
	if err := pr.Err(); err != nil {
		s.fail(c, err)
		return
	}
	out, err := s.CoursesReport(c.Request.Context())
	if err != nil {
		s.fail(c, err)
		return
	}
	if csv {
		out.CSV().Serve(c.Writer)
		return
	}
	c.JSON(http.StatusOK, out)
}

// CoursesReport reads the monitor's latest run, highest refund rate
// first. Empty until the monitor has run once.
func (s *Server) CoursesReport(ctx context.Context) (*CoursesReport, error) {
	rows, err := s.DB.ListCourseAnalytics(ctx)
	if err != nil {
		return nil, err
	}
	th := policy.DefaultMonitorThresholds
	out := &CoursesReport{
		Thresholds: Thresholds{RateFactor: th.RateFactor, MinRefunds: th.MinRefunds, ReasonPercent: th.ReasonPercent},
		Courses:    make([]CourseAnalysis, 0, len(rows)),
	}
	for _, r := range rows {
		if out.Window == nil {
			out.Window = &ReportSpan{Start: r.WindowStart, End: r.WindowEnd}
			computed := r.ComputedAt
			out.ComputedAt, out.MedianRate = &computed, r.MedianRate
		}
		row := CourseAnalysis{
			CourseID: r.CourseID, Title: r.Title, Orders: r.Orders, Refunds: r.Refunds, Rate: r.Rate,
			Reasons: r.Reasons, Retained: r.Retained,
		}
		if f := r.Flag; f != nil {
			row.Flag = &CourseFlag{ID: f.ID, Kinds: f.Kinds, FlaggedAt: f.FlaggedAt}
			if f.TicketID != "" {
				row.Flag.TicketID = &f.TicketID
			}
		}
		out.Courses = append(out.Courses, row)
	}
	return out, nil
}

// CSV is the report as one row per course; the reason mix reads
// "reason=count" by count, and retained revenue "amount currency" in minor
// units.
func (r *CoursesReport) CSV() CSV {
	table := [][]string{{"window_start", "window_end", "course_id", "title", "orders", "refunds", "refund_rate",
		"median_refund_rate", "reasons", "retained_revenue", "flags", "flagged_at", "ticket_id"}}
	for _, c := range r.Courses {
		reasons := make([]string, 0, len(c.Reasons))
		for k := range c.Reasons {
			reasons = append(reasons, k)
		}
		slices.SortFunc(reasons, func(a, b string) int {
			if c.Reasons[a] != c.Reasons[b] {
				return c.Reasons[b] - c.Reasons[a]
			}
			return strings.Compare(a, b)
		})
		for i, k := range reasons {
			reasons[i] = k + "=" + strconv.Itoa(c.Reasons[k])
		}
		retained := make([]string, 0, len(c.Retained))
		for _, m := range c.Retained {
			retained = append(retained, strconv.FormatInt(m.Amount, 10)+" "+string(m.Currency))
		}
		var flags, flaggedAt, ticket string
		if c.Flag != nil {
			flags, flaggedAt = strings.Join(c.Flag.Kinds, ";"), c.Flag.FlaggedAt.Format(time.RFC3339)
			if c.Flag.TicketID != nil {
				ticket = *c.Flag.TicketID
			}
		}
		table = append(table, []string{
			r.Window.Start.Format(time.RFC3339), r.Window.End.Format(time.RFC3339), c.CourseID, c.Title,
			strconv.Itoa(c.Orders), strconv.Itoa(c.Refunds), strconv.FormatFloat(c.Rate, 'f', 4, 64),
			strconv.FormatFloat(r.MedianRate, 'f', 4, 64), strings.Join(reasons, ";"), strings.Join(retained, ";"),
			flags, flaggedAt, ticket,
		})
	}
	return CSV{Filename: "courses.csv", Rows: table}
}
