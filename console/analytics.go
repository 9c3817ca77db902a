package console

import (
	"fmt"
	"html/template"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/refundflow/refundflow"
	"github.com/refundflow/refundflow/cases"
	"github.com/refundflow/refundflow/money"
	"github.com/refundflow/refundflow/postgres"
)

// coursesCharted is how many courses the refund-rate chart shows (the
// table lists them all).
const coursesCharted = 15

type analyticsPage struct {
	Window windowForm
	// PerDay is the refunds booked per day, full and partial.
	PerDay template.HTML
	// Money is, per currency, what was refunded and what offers kept.
	Money []moneyChart
	// Reasons is the cases opened in the window by reason.
	Reasons    template.HTML
	ReasonRows []reasonRow
	Courses    *cases.CoursesReport
	// CourseRates is the refund rate per course against the median.
	CourseRates template.HTML
}

type moneyChart struct {
	Currency string
	Chart    template.HTML
}

// reasonRow is the cases that gave one reason, by where they stand.
type reasonRow struct {
	Reason                                           string
	Total, Refunded, Retained, Rejected, Open, Other int
}

// analytics draws the window's refunds per day, the money refunded and
// kept by offers, the reasons learners give, and the refund-rate
// monitor's latest run per course with its flags.
func (s *Server) analytics(w http.ResponseWriter, r *http.Request, sess *session) {
	ctx := r.Context()
	lang := language(r)
	win, err := s.reportWindow(r)
	if err != nil {
		s.failPage(w, r, err)
		return
	}
	refunds, err := s.Reports.RefundsReport(ctx, win.ReportWindow)
	if err != nil {
		s.failPage(w, r, err)
		return
	}
	reasons, err := s.DB.RefundReasonsBetween(ctx, win.Start, win.End)
	if err != nil {
		s.failPage(w, r, err)
		return
	}
	courses, err := s.Reports.CoursesReport(ctx)
	if err != nil {
		s.failPage(w, r, err)
		return
	}
	page := analyticsPage{Window: win, Courses: courses}
	days := windowDays(win.ReportWindow)
	labels := make([]string, len(days))
	for i, d := range days {
		labels[i] = d[len("2006-"):]
	}
	full, partial := make([]float64, len(days)), make([]float64, len(days))
	for _, f := range refunds.Days {
		if i := slices.Index(days, f.Day); i >= 0 {
			full[i] += float64(f.Full.Count)
			partial[i] += float64(f.Partial.Count)
		}
	}
	page.PerDay = BarChart{
		Title:  translate(lang, "chart_refunds_per_day"),
		Labels: labels,
		Series: []Series{
			{Name: translate(lang, "full"), Class: "c-full", Values: full},
			{Name: translate(lang, "partial"), Class: "c-partial", Values: partial},
		},
	}.SVG()
	for _, t := range refunds.Totals {
		refunded, retained := make([]float64, len(days)), make([]float64, len(days))
		for _, f := range refunds.Days {
			if i := slices.Index(days, f.Day); i >= 0 && f.Currency == t.Currency {
				refunded[i] += float64(f.Refunded.Amount)
				retained[i] += float64(f.Retained.Amount)
			}
		}
		cur := money.Currency(t.Currency)
		page.Money = append(page.Money, moneyChart{Currency: t.Currency, Chart: BarChart{
			Title:  fmt.Sprintf(translate(lang, "chart_money_per_day"), t.Currency),
			Labels: labels,
			Series: []Series{
				{Name: translate(lang, "refunded_amount"), Class: "c-refunded", Values: refunded},
				{Name: translate(lang, "retained_amount"), Class: "c-retained", Values: retained},
			},
			Format: majorUnits(cur),
		}.SVG()})
	}
	page.ReasonRows = reasonRows(reasons)
	bars := make([]HBar, 0, len(page.ReasonRows))
	for _, r := range page.ReasonRows {
		bars = append(bars, HBar{Label: translateOr(lang, "reason_"+r.Reason, r.Reason), Value: float64(r.Total), Class: "c-reason"})
	}
	page.Reasons = HBarChart{Title: translate(lang, "chart_reasons"), Rows: bars}.SVG()
	page.CourseRates = courseChart(lang, courses)
	s.render(w, r, sess, http.StatusOK, "analytics", page)
}

// windowDays lists the window's days, YYYY-MM-DD in its time zone.
func windowDays(w cases.ReportWindow) []string {
	var out []string
	for d := w.Start; d.Before(w.End); d = d.AddDate(0, 0, 1) {
		out = append(out, d.Format(time.DateOnly))
	}
	return out
}

func reasonRows(counts []postgres.ReasonCount) []reasonRow {
	var rows []reasonRow
	for _, c := range counts {
		i := slices.IndexFunc(rows, func(r reasonRow) bool { return r.Reason == c.Reason })
		if i < 0 {
			rows = append(rows, reasonRow{Reason: c.Reason})
			i = len(rows) - 1
		}
		r := &rows[i]
		r.Total += c.Cases
		switch {
		case c.Status == refundflow.StatusRefunded:
			r.Refunded += c.Cases
		case c.Status == refundflow.StatusRetained:
			r.Retained += c.Cases
		case c.Status == refundflow.StatusRejected:
			r.Rejected += c.Cases
		case c.Status.Open():
			r.Open += c.Cases
		default:
			r.Other += c.Cases
		}
	}
	slices.SortStableFunc(rows, func(a, b reasonRow) int {
		if a.Total != b.Total {
			return b.Total - a.Total
		}
		return strings.Compare(a.Reason, b.Reason)
	})
	return rows
}

// courseChart draws the refund rate of the courses with the highest
// rates, flagged ones in their own colour, against the median.
func courseChart(lang string, r *cases.CoursesReport) template.HTML {
	bars := make([]HBar, 0, min(len(r.Courses), coursesCharted))
	for _, c := range r.Courses[:min(len(r.Courses), coursesCharted)] {
		class := "c-rate"
		if c.Flag != nil {
			class = "c-flag"
		}
		label := c.Title
		if label == "" {
			label = c.CourseID
		}
		bars = append(bars, HBar{Label: label, Value: c.Rate, Class: class,
			Note: fmt.Sprintf("%s (%d/%d)", percent(c.Rate), c.Refunds, c.Orders)})
	}
	chart := HBarChart{Title: translate(lang, "chart_course_rates"), Rows: bars, Format: percent}
	if len(bars) > 0 {
		chart.Marker, chart.MarkerLabel = r.MedianRate, fmt.Sprintf(translate(lang, "median"), percent(r.MedianRate))
	}
	return chart.SVG()
}

// percent writes a rate as a percentage with at most one decimal.
func percent(rate float64) string {
	return strconv.FormatFloat(math.Round(rate*1000)/10, 'f', -1, 64) + "%"
}

// majorUnits writes minor units as the currency's major units (299.5, not
// 29950), for chart axes.
func majorUnits(c money.Currency) func(float64) string {
	exp, _ := c.Exponent()
	return func(v float64) string { return plain(v / math.Pow10(exp)) }
}

func (s *Server) coursesCSV(w http.ResponseWriter, r *http.Request, _ *session) {
	rep, err := s.Reports.CoursesReport(r.Context())
	if err != nil {
		s.failPage(w, r, err)
		return
	}
	rep.CSV().Serve(w)
}
