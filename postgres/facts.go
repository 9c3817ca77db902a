package postgres

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/refundflow/refundflow"
	"github.com/refundflow/refundflow/money"
	"github.com/refundflow/refundflow/postgres/sqlgen"
)

// UpsertProduct stores a product and reports whether it was new.
func (db *DB) UpsertProduct(ctx context.Context, p *refundflow.Product) (created bool, err error) {
	var counts columnCounts
	params := sqlgen.UpsertProductParams{
		ID:                p.ID,
		Type:              string(p.Type),
		Title:             p.Title,
		LessonsTotal:      counts.int32("lessons_total", p.LessonsTotal),
		SessionsTotal:     counts.int32("sessions_total", p.SessionsTotal),
		SessionsHeld:      counts.int32("sessions_held", p.SessionsHeld),
		StartsAt:          p.StartsAt,
		AppointmentAt:     p.AppointmentAt,
		NoRefund:          p.NoRefund,
		NoRefundDisclosed: p.NoRefundDisclosed,
		CreatorAccount:    p.CreatorAccount,
		Alternatives:      nonNil(p.Alternatives),
	}
	if err := counts.Err(); err != nil {
		return false, err
	}
	row, err := db.q.UpsertProduct(ctx, params)
	if err != nil {
		return false, fmt.Errorf("upsert product %s: %w", p.ID, err)
	}
	*p = productFromRow(sqlgen.Product{
		ID: row.ID, Type: row.Type, Title: row.Title, LessonsTotal: row.LessonsTotal,
		SessionsTotal: row.SessionsTotal, SessionsHeld: row.SessionsHeld, StartsAt: row.StartsAt,
		AppointmentAt: row.AppointmentAt, NoRefund: row.NoRefund, NoRefundDisclosed: row.NoRefundDisclosed,
		CreatorAccount: row.CreatorAccount, Alternatives: row.Alternatives, UpdatedAt: row.UpdatedAt,
	})
	return row.Inserted, nil
}

// columnCounts converts counts for PostgreSQL's integer columns and
// records each one that does not fit, so that none is ever truncated
// whoever the caller is (the API bounds them far lower already).
type columnCounts struct{ refundflow.Problems }

func (c *columnCounts) int32(field string, n int) int32 {
	if n < math.MinInt32 || n > math.MaxInt32 {
		c.Add(field, "count_out_of_range", "%d does not fit the column", n)
		return 0
	}
	return int32(n)
}

// GetProduct returns a product or an ENOTFOUND error.
func (db *DB) GetProduct(ctx context.Context, id string) (*refundflow.Product, error) {
	row, err := db.q.GetProduct(ctx, id)
	if err != nil {
		return nil, notFound(err, "product %q not found", id)
	}
	p := productFromRow(row)
	return &p, nil
}

func productFromRow(r sqlgen.Product) refundflow.Product {
	return refundflow.Product{
		ID:                r.ID,
		Type:              refundflow.ProductType(r.Type),
		Title:             r.Title,
		LessonsTotal:      int(r.LessonsTotal),
		SessionsTotal:     int(r.SessionsTotal),
		SessionsHeld:      int(r.SessionsHeld),
		StartsAt:          utcPtr(r.StartsAt),
		AppointmentAt:     utcPtr(r.AppointmentAt),
		NoRefund:          r.NoRefund,
		NoRefundDisclosed: r.NoRefundDisclosed,
		CreatorAccount:    r.CreatorAccount,
		Alternatives:      nonNil(r.Alternatives),
		UpdatedAt:         r.UpdatedAt.UTC(),
	}
}

// PolicyPinner names the refund policy version in force at an instant; an
// order pins it when it is first stored.
type PolicyPinner func(ctx context.Context, q *sqlgen.Queries, at time.Time) (name string, version int, err error)

// DefaultPolicyV1 pins every order to the embedded default policy, version 1.
func DefaultPolicyV1(context.Context, *sqlgen.Queries, time.Time) (string, int, error) {
	return "default", 1, nil
}

// UpsertOrder stores an order for a known product and reports whether it
// was new. A new order pins the policy version in force at its purchase;
// a re-sent order keeps the one it has, and may not change its money facts
// once a case exists for it (frozenFacts).
func (db *DB) UpsertOrder(ctx context.Context, o *refundflow.Order, pin PolicyPinner) (created bool, err error) {
	err = db.InTx(ctx, func(q *sqlgen.Queries) error {
		exists, err := q.ProductExists(ctx, o.ProductID)
		if err != nil {
			return err
		}
		if !exists {
			return &refundflow.Error{Kind: refundflow.EUNPROCESSABLE, Code: "unknown_product", Field: "product_id",
				Message: fmt.Sprintf("product %q is not known; PUT /v1/products/%s first", o.ProductID, o.ProductID)}
		}
		if err := frozenFacts(ctx, q, o); err != nil {
			return err
		}
		if err := sharedPaymentIntent(ctx, q, o); err != nil {
			return err
		}
		policyName, policyVersion, err := pin(ctx, q, o.PurchasedAt)
		if err != nil {
			return err
		}
		params := sqlgen.UpsertOrderParams{
			ID:                   o.ID,
			LearnerID:            o.LearnerID,
			LearnerEmail:         o.LearnerEmail,
			Locale:               string(o.Locale),
			ProductID:            o.ProductID,
			Amount:               o.Amount,
			Currency:             string(o.Currency),
			PurchasedAt:          o.PurchasedAt,
			PaymentIntent:        o.PaymentIntent,
			ApplicationFeeAmount: o.ApplicationFeeAmount,
			Disputed:             o.Disputed,
			PolicyName:           policyName,
			PolicyVersion:        int32(policyVersion),
			NextRenewalAt:        o.NextRenewalAt,
		}
		if o.Renewal != nil {
			params.RenewalPeriodStart = &o.Renewal.PeriodStart
			params.RenewalReminderSentAt = o.Renewal.ReminderSentAt
		}
		row, err := q.UpsertOrder(ctx, params)
		if err != nil {
			if constraintName(err) == "orders_refunds_within_paid" {
				return &refundflow.Error{Kind: refundflow.ECONFLICT, Code: "amount_below_refunded", Field: "amount",
					Message: "the order has already been refunded more than the new amount"}
			}
			return err
		}
		created = row.Inserted
		*o = orderFromRow(sqlgen.Order{
			ID: row.ID, LearnerID: row.LearnerID, LearnerEmail: row.LearnerEmail, Locale: row.Locale,
			ProductID: row.ProductID, Amount: row.Amount, Currency: row.Currency, PurchasedAt: row.PurchasedAt,
			PaymentIntent: row.PaymentIntent, ApplicationFeeAmount: row.ApplicationFeeAmount,
			RenewalPeriodStart: row.RenewalPeriodStart, RenewalReminderSentAt: row.RenewalReminderSentAt,
			Disputed: row.Disputed, RefundedAmount: row.RefundedAmount, InFlightAmount: row.InFlightAmount,
			PolicyName: row.PolicyName, PolicyVersion: row.PolicyVersion, UpdatedAt: row.UpdatedAt,
			NextRenewalAt: row.NextRenewalAt,
		})
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("upsert order %s: %w", o.ID, err)
	}
	return created, nil
}

// frozenFacts refuses a change to the facts an order's money is decided
// and moved on — amount, currency, PaymentIntent, application fee and
// product — once a case exists for it or money has been refunded: the
// case was decided on them and its refund goes to that charge. The order
// row stays locked (FOR UPDATE) until the upsert commits; a case's insert
// needs a share lock on it for its foreign key, so a case being opened at
// the same moment is either seen here or opened on the facts as stored.
func frozenFacts(ctx context.Context, q *sqlgen.Queries, o *refundflow.Order) error {
	current, err := q.LockOrder(ctx, o.ID)
	if isNoRows(err) {
		return nil
	}
	if err != nil {
		return err
	}
	hasCase, err := q.OrderHasRefund(ctx, o.ID)
	if err != nil {
		return err
	}
	if !hasCase && current.RefundedAmount == 0 && current.InFlightAmount == 0 {
		return nil
	}
	var pr refundflow.Problems
	for _, f := range []struct {
		field       string
		stored, new any
	}{
		{"amount", current.Amount, o.Amount},
		{"currency", current.Currency, string(o.Currency)},
		{"payment_intent", current.PaymentIntent, o.PaymentIntent},
		{"application_fee_amount", current.ApplicationFeeAmount, o.ApplicationFeeAmount},
		{"product_id", current.ProductID, o.ProductID},
	} {
		if f.stored != f.new {
			pr.Add(f.field, "order_fact_frozen", "is %v and can no longer change: order %s has a refund case or refunded money", f.stored, o.ID)
		}
	}
	return pr.ErrOfKind(refundflow.ECONFLICT)
}

// sharedPaymentIntent refuses an order whose PaymentIntent another order
// was paid with too, unless both are the same learner's in the same
// currency: a cart of several courses is one payment by one learner, and
// each order's refunds draw on that one charge (Stripe refuses a refund
// above what is left of it, so refunded ≤ paid holds per PaymentIntent).
func sharedPaymentIntent(ctx context.Context, q *sqlgen.Queries, o *refundflow.Order) error {
	other, err := q.OtherOrderOfPaymentIntent(ctx, sqlgen.OtherOrderOfPaymentIntentParams{PaymentIntent: o.PaymentIntent, ID: o.ID})
	if isNoRows(err) {
		return nil
	}
	if err != nil {
		return err
	}
	var pr refundflow.Problems
	if other.LearnerID != o.LearnerID {
		pr.Add("payment_intent", "payment_intent_conflict", "order %s of another learner was paid with %s", other.ID, o.PaymentIntent)
	} else if other.Currency != string(o.Currency) {
		pr.Add("payment_intent", "payment_intent_conflict", "order %s was paid with %s in %s, not %s", other.ID, o.PaymentIntent, other.Currency, o.Currency)
	}
	return pr.ErrOfKind(refundflow.ECONFLICT)
}

// GetOrder returns an order or an ENOTFOUND error.
func (db *DB) GetOrder(ctx context.Context, id string) (*refundflow.Order, error) {
	row, err := db.q.GetOrder(ctx, id)
	if err != nil {
		return nil, notFound(err, "order %q not found", id)
	}
	o := orderFromRow(row)
	return &o, nil
}

func orderFromRow(r sqlgen.Order) refundflow.Order {
	o := refundflow.Order{
		ID:                   r.ID,
		LearnerID:            r.LearnerID,
		LearnerEmail:         r.LearnerEmail,
		Locale:               refundflow.Locale(r.Locale),
		ProductID:            r.ProductID,
		Amount:               r.Amount,
		Currency:             money.Currency(r.Currency),
		PurchasedAt:          r.PurchasedAt.UTC(),
		PaymentIntent:        r.PaymentIntent,
		ApplicationFeeAmount: r.ApplicationFeeAmount,
		Disputed:             r.Disputed,
		RefundedAmount:       r.RefundedAmount,
		NextRenewalAt:        utcPtr(r.NextRenewalAt),
		Policy:               fmt.Sprintf("%s@%d", r.PolicyName, r.PolicyVersion),
		UpdatedAt:            r.UpdatedAt.UTC(),
	}
	if r.RenewalPeriodStart != nil {
		o.Renewal = &refundflow.Renewal{PeriodStart: r.RenewalPeriodStart.UTC(), ReminderSentAt: utcPtr(r.RenewalReminderSentAt)}
	}
	return o
}

// RecordProgress raises the order's consumption figures to at least p and
// returns what is stored now.
func (db *DB) RecordProgress(ctx context.Context, orderID string, p refundflow.Progress) (refundflow.Progress, error) {
	if _, err := db.q.GetOrder(ctx, orderID); err != nil {
		return refundflow.Progress{}, notFound(err, "order %q not found", orderID)
	}
	var counts columnCounts
	params := sqlgen.UpsertProgressParams{
		OrderID:          orderID,
		WatchedRatio:     p.WatchedRatio,
		LessonsCompleted: counts.int32("lessons_completed", p.LessonsCompleted),
		SessionsAttended: counts.int32("sessions_attended", p.SessionsAttended),
	}
	if err := counts.Err(); err != nil {
		return refundflow.Progress{}, err
	}
	row, err := db.q.UpsertProgress(ctx, params)
	if err != nil {
		return refundflow.Progress{}, fmt.Errorf("record progress of order %s: %w", orderID, err)
	}
	return progressFromRow(row), nil
}

// GetProgress returns an order's consumption (zero when none was reported).
func (db *DB) GetProgress(ctx context.Context, orderID string) (refundflow.Progress, error) {
	row, err := db.q.GetProgress(ctx, orderID)
	if err != nil {
		if isNoRows(err) {
			return refundflow.Progress{}, nil
		}
		return refundflow.Progress{}, err
	}
	return progressFromRow(row), nil
}

func progressFromRow(r sqlgen.Progress) refundflow.Progress {
	return refundflow.Progress{
		WatchedRatio:     r.WatchedRatio,
		LessonsCompleted: int(r.LessonsCompleted),
		SessionsAttended: int(r.SessionsAttended),
		UpdatedAt:        r.UpdatedAt.UTC(),
	}
}

// CreateOutage records a declared outage; an id that exists is a conflict.
func (db *DB) CreateOutage(ctx context.Context, o *refundflow.Outage) error {
	row, err := db.q.InsertOutage(ctx, sqlgen.InsertOutageParams{
		ID:         o.ID,
		ProductIds: nonNil(o.ProductIDs),
		StartedAt:  o.StartedAt,
		EndedAt:    o.EndedAt,
		Reason:     o.Reason,
	})
	if err != nil {
		if isNoRows(err) { // ON CONFLICT DO NOTHING returned no row
			return &refundflow.Error{Kind: refundflow.ECONFLICT, Code: "outage_exists", Field: "id",
				Message: fmt.Sprintf("outage %q already exists", o.ID)}
		}
		return fmt.Errorf("create outage %s: %w", o.ID, err)
	}
	*o = outageFromRow(row)
	return nil
}

// GetOutage returns an outage or an ENOTFOUND error.
func (db *DB) GetOutage(ctx context.Context, id string) (*refundflow.Outage, error) {
	row, err := db.q.GetOutage(ctx, id)
	if err != nil {
		return nil, notFound(err, "outage %q not found", id)
	}
	o := outageFromRow(row)
	return &o, nil
}

func outageFromRow(r sqlgen.Outage) refundflow.Outage {
	return refundflow.Outage{
		ID:         r.ID,
		ProductIDs: nonNil(r.ProductIds),
		StartedAt:  r.StartedAt.UTC(),
		EndedAt:    utcPtr(r.EndedAt),
		Reason:     r.Reason,
	}
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}
