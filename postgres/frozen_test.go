package postgres_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/refundflow/refundflow"
	"github.com/refundflow/refundflow/money"
	"github.com/refundflow/refundflow/policy"
	"github.com/refundflow/refundflow/postgres"
	"github.com/refundflow/refundflow/postgres/pgtest"
	"github.com/refundflow/refundflow/postgres/sqlgen"
)

// Once a case exists for an order, the facts its money is decided and
// moved on — amount, currency, PaymentIntent, application fee, product —
// are frozen: a re-sent order that changes one is refused naming it (a
// PaymentIntent changed mid-case refunded another order's charge). What
// does not move money may still change.
func TestAnOrdersMoneyFactsAreFrozenOnceACaseExists(t *testing.T) {
	db := pgtest.Open(t)
	ctx := context.Background()
	seedProduct(t, db)
	other := &refundflow.Product{ID: "p2", Type: refundflow.RecordedCourse, Title: "Rust", LessonsTotal: 10}
	if _, err := db.UpsertProduct(ctx, other); err != nil {
		t.Fatal(err)
	}
	o := newOrder()
	o.ApplicationFeeAmount = 1000
	if _, err := db.UpsertOrder(ctx, o, postgres.DefaultPolicyV1); err != nil {
		t.Fatal(err)
	}
	// Before any case the platform may still correct its order.
	fixed := newOrder()
	fixed.Amount, fixed.ApplicationFeeAmount = 29900, 1000
	if _, err := db.UpsertOrder(ctx, fixed, postgres.DefaultPolicyV1); err != nil {
		t.Fatalf("correcting an order without a case: %v", err)
	}
	if _, err := db.InsertRefund(ctx, postgres.NewRefund{ID: "rf-1", Order: fixed, Reason: policy.ReasonChangedMind,
		SubmittedBy: "key-platform", RequestHash: []byte("h")}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		field  string
		change func(*refundflow.Order)
	}{
		{"amount", func(o *refundflow.Order) { o.Amount = 39800 }},
		{"currency", func(o *refundflow.Order) { o.Currency = money.Currency("JPY") }},
		{"payment_intent", func(o *refundflow.Order) { o.PaymentIntent = "pi_other" }},
		{"application_fee_amount", func(o *refundflow.Order) { o.ApplicationFeeAmount = 0 }},
		{"product_id", func(o *refundflow.Order) { o.ProductID = "p2" }},
	} {
		t.Run(c.field, func(t *testing.T) {
			o := newOrder()
			o.Amount, o.ApplicationFeeAmount = 29900, 1000
			c.change(o)
			_, err := db.UpsertOrder(ctx, o, postgres.DefaultPolicyV1)
			var e *refundflow.Error
			if !errors.As(err, &e) || e.Kind != refundflow.ECONFLICT || e.Code != "order_fact_frozen" || e.Field != c.field {
				t.Fatalf("changing %s under a case: %v, want 409 order_fact_frozen field %s", c.field, err, c.field)
			}
		})
	}
	stored, err := db.GetOrder(ctx, "o1")
	if err != nil {
		t.Fatal(err)
	}
	if stored.Amount != 29900 || stored.Currency != "CNY" || stored.PaymentIntent != "pi_1" || stored.ApplicationFeeAmount != 1000 || stored.ProductID != "p1" {
		t.Fatalf("a refused change was written: %+v", stored)
	}
	// Every field that moves no money may still change.
	o = newOrder()
	o.Amount, o.ApplicationFeeAmount = 29900, 1000
	o.LearnerEmail, o.Locale, o.Disputed = "new@example.com", refundflow.LocaleZhCN, true
	o.Renewal = &refundflow.Renewal{PeriodStart: time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)}
	if _, err := db.UpsertOrder(ctx, o, postgres.DefaultPolicyV1); err != nil {
		t.Fatalf("changing email, locale, renewal and dispute under a case: %v", err)
	}
	if o.LearnerEmail != "new@example.com" || !o.Disputed || o.Renewal == nil {
		t.Fatalf("not stored: %+v", o)
	}
}

// The freeze holds against a case that is being opened at the same
// moment: the upsert locks the order row, which the case's foreign key
// needs too, so it sees the case once that commits.
func TestAnOrderChangeWaitsForACaseBeingOpenedAndIsThenRefused(t *testing.T) {
	db := pgtest.Open(t)
	ctx := context.Background()
	seedProduct(t, db)
	if _, err := db.UpsertOrder(ctx, newOrder(), postgres.DefaultPolicyV1); err != nil {
		t.Fatal(err)
	}
	tx, err := db.Pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	if _, err := sqlgen.New(tx).InsertRefund(ctx, sqlgen.InsertRefundParams{ID: "rf-1", OrderID: "o1",
		Reason: "changed_mind", Evidence: []string{}, SubmittedBy: "key-platform", RequestHash: []byte("h")}); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		o := newOrder()
		o.PaymentIntent = "pi_other"
		_, err := db.UpsertOrder(ctx, o, postgres.DefaultPolicyV1)
		done <- err
	}()
	select {
	case err := <-done:
		t.Fatalf("the upsert did not wait for the case being opened: %v", err)
	case <-time.After(300 * time.Millisecond):
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-done; refundflow.ErrorCode(err) != "order_fact_frozen" {
		t.Fatalf("after the case committed: %v, want order_fact_frozen", err)
	}
}
