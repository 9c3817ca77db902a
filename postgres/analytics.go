package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/refundflow/refundflow/money"
	"github.com/refundflow/refundflow/policy"
	"github.com/refundflow/refundflow/postgres/sqlgen"
)

// CourseFiguresBetween computes the figures of every course (recorded or
// live) with orders placed in [start, end).
func (db *DB) CourseFiguresBetween(ctx context.Context, start, end time.Time) ([]policy.CourseFigures, error) {
	orders, err := db.q.CohortOrders(ctx, sqlgen.CohortOrdersParams{WindowStart: start, WindowEnd: end})
	if err != nil {
		return nil, fmt.Errorf("course orders: %w", err)
	}
	out := make([]policy.CourseFigures, 0, len(orders))
	index := make(map[string]int, len(orders))
	for _, o := range orders {
		index[o.ProductID] = len(out)
		out = append(out, policy.CourseFigures{CourseID: o.ProductID, Orders: int(o.Orders), Reasons: map[string]int{}, Retained: []policy.RetainedRevenue{}})
	}
	reasons, err := db.q.CohortRefundReasons(ctx, sqlgen.CohortRefundReasonsParams{WindowStart: start, WindowEnd: end})
	if err != nil {
		return nil, fmt.Errorf("course refunds: %w", err)
	}
	for _, r := range reasons {
		f := &out[index[r.ProductID]]
		f.Reasons[r.Reason] = int(r.Refunds)
		f.Refunds += int(r.Refunds)
	}
	retained, err := db.q.CohortRetained(ctx, sqlgen.CohortRetainedParams{WindowStart: start, WindowEnd: end})
	if err != nil {
		return nil, fmt.Errorf("course retained revenue: %w", err)
	}
	for _, r := range retained {
		f := &out[index[r.ProductID]]
		f.Retained = append(f.Retained, policy.RetainedRevenue{Currency: money.Currency(r.Currency), Amount: r.Amount})
	}
	return out, nil
}

// CourseAnalytics is one row of the courses report: a course's figures
// over the monitor's latest window, and its flag in that window if any.
type CourseAnalytics struct {
	policy.CourseFigures
	Title       string
	WindowStart time.Time
	WindowEnd   time.Time
	Rate        float64
	// MedianRate is the platform's norm: the median refund rate of the
	// courses with orders in the window.
	MedianRate float64
	ComputedAt time.Time
	Flag       *policy.CourseFlag
}

// SaveCourseAnalytics replaces the report with a new run's rows.
func (db *DB) SaveCourseAnalytics(ctx context.Context, rows []CourseAnalytics) error {
	return db.InTx(ctx, func(q *sqlgen.Queries) error {
		if err := q.ClearCourseAnalytics(ctx); err != nil {
			return err
		}
		for _, r := range rows {
			reasons, err := json.Marshal(r.Reasons)
			if err != nil {
				return err
			}
			retained, err := json.Marshal(r.Retained)
			if err != nil {
				return err
			}
			if err := q.InsertCourseAnalytics(ctx, sqlgen.InsertCourseAnalyticsParams{
				CourseID: r.CourseID, WindowStart: r.WindowStart, WindowEnd: r.WindowEnd, Orders: int32(r.Orders),
				Refunds: int32(r.Refunds), RefundRate: r.Rate, MedianRate: r.MedianRate, Reasons: reasons,
				RetainedRevenue: retained, ComputedAt: r.ComputedAt,
			}); err != nil {
				return fmt.Errorf("course analytics of %s: %w", r.CourseID, err)
			}
		}
		return nil
	})
}

// ListCourseAnalytics returns the report, highest refund rate first.
func (db *DB) ListCourseAnalytics(ctx context.Context) ([]CourseAnalytics, error) {
	rows, err := db.q.ListCourseAnalytics(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]CourseAnalytics, 0, len(rows))
	for _, r := range rows {
		a := CourseAnalytics{
			CourseFigures: policy.CourseFigures{CourseID: r.CourseID, Orders: int(r.Orders), Refunds: int(r.Refunds)},
			Title:         r.Title, WindowStart: r.WindowStart.UTC(), WindowEnd: r.WindowEnd.UTC(),
			Rate: r.RefundRate, MedianRate: r.MedianRate, ComputedAt: r.ComputedAt.UTC(),
		}
		if err := json.Unmarshal(r.Reasons, &a.Reasons); err != nil {
			return nil, fmt.Errorf("course %s reasons: %w", r.CourseID, err)
		}
		if err := json.Unmarshal(r.RetainedRevenue, &a.Retained); err != nil {
			return nil, fmt.Errorf("course %s retained revenue: %w", r.CourseID, err)
		}
		if r.FlagID != nil {
			a.Flag = &policy.CourseFlag{ID: *r.FlagID, CourseID: r.CourseID, Kinds: r.FlagKinds, FlaggedAt: r.FlaggedAt.UTC()}
			if r.FlagTicketID != nil {
				a.Flag.TicketID = *r.FlagTicketID
			}
		}
		out = append(out, a)
	}
	return out, nil
}

// FlagCourse records f unless the course has a flag whose window overlaps
// f's: a course is flagged at most once per window. It returns the flag
// and true when f is raised (now, or by an earlier try of the same run).
func (db *DB) FlagCourse(ctx context.Context, f policy.CourseFlag) (*policy.CourseFlag, bool, error) {
	row, err := db.q.InsertCourseFlag(ctx, sqlgen.InsertCourseFlagParams{
		ID: f.ID, CourseID: f.CourseID, Kinds: f.Kinds, WindowStart: f.WindowStart, WindowEnd: f.WindowEnd,
		Figures: f.Figures, FlaggedAt: f.FlaggedAt,
	})
	if isNoRows(err) {
		row, err = db.q.GetCourseFlag(ctx, f.ID)
		if isNoRows(err) {
			return nil, false, nil
		}
	}
	if err != nil {
		return nil, false, fmt.Errorf("flag course %s: %w", f.CourseID, err)
	}
	return flagFromRow(row), true, nil
}

func flagFromRow(r sqlgen.CourseFlag) *policy.CourseFlag {
	f := &policy.CourseFlag{
		ID: r.ID, CourseID: r.CourseID, Kinds: r.Kinds, WindowStart: r.WindowStart.UTC(), WindowEnd: r.WindowEnd.UTC(),
		Figures: r.Figures, FlaggedAt: r.FlaggedAt.UTC(),
	}
	if r.TicketID != nil {
		f.TicketID = *r.TicketID
	}
	return f
}

// LinkCourseFlagTicket records the course-review ticket a flag opened.
func (db *DB) LinkCourseFlagTicket(ctx context.Context, flagID, ticketID string) error {
	return db.q.LinkCourseFlagTicket(ctx, sqlgen.LinkCourseFlagTicketParams{ID: flagID, TicketID: &ticketID})
}
