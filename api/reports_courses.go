package api

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/refundflow/refundflow"
	"github.com/refundflow/refundflow/activities"
	"github.com/refundflow/refundflow/postgres"
)

type courseReportJSON struct {
	Window     *windowJSON           `json:"window"`
	ComputedAt *time.Time            `json:"computed_at"`
	MedianRate float64               `json:"median_refund_rate"`
	Thresholds thresholdsJSON        `json:"thresholds"`
	Courses    []courseAnalyticsJSON `json:"courses"`
}

type windowJSON struct {
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
}

type thresholdsJSON struct {
	RateFactor    float64 `json:"rate_factor"`
	MinRefunds    int     `json:"min_refunds"`
	ReasonPercent int     `json:"reason_percent"`
}

type courseAnalyticsJSON struct {
	CourseID string                     `json:"course_id"`
	Title    string                     `json:"title"`
	Orders   int                        `json:"orders"`
	Refunds  int                        `json:"refunds"`
	Rate     float64                    `json:"refund_rate"`
	Reasons  map[string]int             `json:"reasons"`
	Retained []postgres.RetainedRevenue `json:"retained_revenue"`
	Flag     *courseFlagJSON            `json:"flag"`
}

type courseFlagJSON struct {
	ID        string    `json:"id"`
	Kinds     []string  `json:"kinds"`
	FlaggedAt time.Time `json:"flagged_at"`
	TicketID  *string   `json:"ticket_id"`
}

// coursesReport serves the refund-rate monitor's latest run (SPEC 4.9):
// per course over its trailing window, orders, refunds, refund rate,
// reason mix and revenue kept by offers, with the course's flag if it
// stood out. Empty until the monitor has run once.
func (s *Server) coursesReport(c *gin.Context) {
	format := c.DefaultQuery("format", "json")
	if format != "json" && format != "csv" {
		s.fail(c, refundflow.FieldError("format", "invalid_format", "must be json or csv"))
		return
	}
	rows, err := s.DB.ListCourseAnalytics(c.Request.Context())
	if err != nil {
		s.fail(c, err)
		return
	}
	th := activities.DefaultMonitorThresholds
	out := courseReportJSON{
		Thresholds: thresholdsJSON{RateFactor: th.RateFactor, MinRefunds: th.MinRefunds, ReasonPercent: th.ReasonPercent},
		Courses:    make([]courseAnalyticsJSON, 0, len(rows)),
	}
	for _, r := range rows {
		if out.Window == nil {
			out.Window = &windowJSON{Start: r.WindowStart, End: r.WindowEnd}
			computed := r.ComputedAt
			out.ComputedAt, out.MedianRate = &computed, r.MedianRate
		}
		row := courseAnalyticsJSON{
			CourseID: r.CourseID, Title: r.Title, Orders: r.Orders, Refunds: r.Refunds, Rate: r.Rate,
			Reasons: r.Reasons, Retained: r.Retained,
		}
		if f := r.Flag; f != nil {
			row.Flag = &courseFlagJSON{ID: f.ID, Kinds: f.Kinds, FlaggedAt: f.FlaggedAt}
			if f.TicketID != "" {
				row.Flag.TicketID = &f.TicketID
			}
		}
		out.Courses = append(out.Courses, row)
	}
	if format == "csv" {
		writeCSV(c, "courses.csv", coursesCSV(out))
		return
	}
	c.JSON(http.StatusOK, out)
}

// coursesCSV is the report as one row per course; the reason mix reads
// "reason=count" by count, and retained revenue "amount currency" in minor
// units.
func coursesCSV(r courseReportJSON) [][]string {
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
	return table
}
