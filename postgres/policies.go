package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/refundflow/refundflow"
	"github.com/refundflow/refundflow/calendar"
	"github.com/refundflow/refundflow/policy"
	"github.com/refundflow/refundflow/postgres/sqlgen"
)

// DefaultPolicyName is the policy every order is decided by.
const DefaultPolicyName = "default"

// EnsureDefaultPolicy stores the embedded default policy as version 1 when
// the database has none, in force for any purchase.
func (db *DB) EnsureDefaultPolicy(ctx context.Context) error {
	p := policy.Default()
	_, err := db.q.InsertPolicy(ctx, sqlgen.InsertPolicyParams{
		Name: p.Name, Version: int32(p.Version), Body: policy.DefaultJSON(),
		InForceFrom: time.Unix(0, 0).UTC(), CreatedBy: "embedded default",
	})
	if err != nil && !isNoRows(err) {
		return fmt.Errorf("store default policy: %w", err)
	}
	return nil
}

// PinPolicy names the version of the default policy in force at an
// instant; it is the PolicyPinner the API uses for new orders.
func PinPolicy(ctx context.Context, q *sqlgen.Queries, at time.Time) (string, int, error) {
	row, err := q.GetPolicyInForce(ctx, sqlgen.GetPolicyInForceParams{Name: DefaultPolicyName, At: at})
	if isNoRows(err) {
		return DefaultPolicyName, 1, nil
	}
	if err != nil {
		return "", 0, err
	}
	return row.Name, int(row.Version), nil
}

// Policy returns one stored policy version; default@1 is always available.
func (db *DB) Policy(ctx context.Context, name string, version int) (*policy.Policy, error) {
	row, err := db.q.GetPolicy(ctx, sqlgen.GetPolicyParams{Name: name, Version: int32(version)})
	if isNoRows(err) && name == DefaultPolicyName && version == 1 {
		return policy.Default(), nil
	}
	if err != nil {
		return nil, notFound(err, "policy %s@%d not found", name, version)
	}
	return policy.Parse(row.Body)
}

// CalendarRegistry is the built-in calendars with the stored ones (years
// loaded by admins) merged over them.
func (db *DB) CalendarRegistry(ctx context.Context) (*calendar.Registry, error) {
	reg := calendar.NewRegistry()
	rows, err := db.q.ListCalendars(ctx)
	if err != nil {
		return nil, err
	}
	for _, r := range rows {
		c, err := calendar.Parse(r.Definition)
		if err != nil {
			return nil, fmt.Errorf("stored calendar %s: %w", r.Name, err)
		}
		reg.Merge(c)
	}
	return reg, nil
}

// RefundFacts is what a case's eligibility is decided on, gathered from the
// read model as of now.
type RefundFacts struct {
	Facts   policy.Facts
	Policy  string // name@version pinned on the order
	Order   *refundflow.Order
	Product *refundflow.Product
}

// LoadRefundFacts gathers the order, product, consumption, outages and the
// learner's recent refunds for case refundID.
func (db *DB) LoadRefundFacts(ctx context.Context, refundID string, now time.Time) (*RefundFacts, error) {
	c, err := db.q.GetRefund(ctx, refundID)
	if err != nil {
		return nil, notFound(err, "refund %q not found", refundID)
	}
	order, err := db.GetOrder(ctx, c.OrderID)
	if err != nil {
		return nil, err
	}
	product, err := db.GetProduct(ctx, order.ProductID)
	if err != nil {
		return nil, err
	}
	progress, err := db.GetProgress(ctx, order.ID)
	if err != nil {
		return nil, err
	}
	outageHours, err := db.q.LongestOutageHours(ctx, sqlgen.LongestOutageHoursParams{
		Now: now, ProductID: product.ID, PurchasedAt: order.PurchasedAt,
	})
	if err != nil {
		return nil, err
	}
	recent, err := db.q.CountLearnerRefundsSince(ctx, sqlgen.CountLearnerRefundsSinceParams{
		LearnerID: order.LearnerID, RefundID: refundID, Since: now.Add(-90 * 24 * time.Hour),
	})
	if err != nil {
		return nil, err
	}
	// The platform may re-send an order with a purchase time later than the
	// request was made; the policy refuses now < purchased_at, so decide as
	// of the purchase at the earliest.
	factsNow := now
	if factsNow.Before(order.PurchasedAt) {
		factsNow = order.PurchasedAt
	}
	f := policy.Facts{
		Now:    factsNow,
		Reason: policy.Reason(c.Reason),
		Order: policy.Order{
			Amount: order.Amount, Currency: order.Currency, PurchasedAt: order.PurchasedAt,
			RefundedAmount: order.RefundedAmount, Disputed: order.Disputed,
			Product: policy.Product{
				Type: product.Type, LessonsTotal: product.LessonsTotal, SessionsTotal: product.SessionsTotal,
				SessionsHeld: product.SessionsHeld, StartsAt: product.StartsAt, AppointmentAt: product.AppointmentAt,
				NoRefund: product.NoRefund, NoRefundDisclosed: product.NoRefundDisclosed,
			},
			Consumption: policy.Consumption{
				WatchedRatio: progress.WatchedRatio, LessonsCompleted: progress.LessonsCompleted,
				SessionsAttended: progress.SessionsAttended,
			},
			Renewal: order.Renewal,
		},
		OutageHours:       outageHours,
		LearnerRefunds90d: int(recent),
	}
	if product.Type != refundflow.Membership {
		f.Order.Renewal = nil
	}
	return &RefundFacts{Facts: f, Policy: order.Policy, Order: order, Product: product}, nil
}

