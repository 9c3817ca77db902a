package postgres_test

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/refundflow/refundflow"
	"github.com/refundflow/refundflow/postgres"
	"github.com/refundflow/refundflow/postgres/pgtest"
	"github.com/refundflow/refundflow/postgres/sqlgen"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

func TestMigrateIsIdempotent(t *testing.T) {
	url := pgtest.URL(t)
	res, err := postgres.Migrate(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 0 {
		t.Fatalf("a migrated database applied %d migrations again", len(res))
	}
	st, err := postgres.MigrationStatus(context.Background(), url)
	if err != nil || len(st) == 0 {
		t.Fatalf("status: %v %v", st, err)
	}
}

func seedProduct(t *testing.T, db *postgres.DB) *refundflow.Product {
	t.Helper()
	p := &refundflow.Product{ID: "p1", Type: refundflow.RecordedCourse, Title: "Go", LessonsTotal: 10}
	if _, err := db.UpsertProduct(context.Background(), p); err != nil {
		t.Fatal(err)
	}
	return p
}

func newOrder() *refundflow.Order {
	return &refundflow.Order{
		ID: "o1", LearnerID: "l1", LearnerEmail: "l1@example.com", Locale: refundflow.LocaleEn,
		ProductID: "p1", Amount: 19900, Currency: "CNY", PurchasedAt: time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC),
		PaymentIntent: "pi_1",
	}
}

func TestOrderPinsPolicyOnceAndNeverChangesIt(t *testing.T) {
	db := pgtest.Open(t)
	seedProduct(t, db)
	ctx := context.Background()
	o := newOrder()
	created, err := db.UpsertOrder(ctx, o, postgres.DefaultPolicyV1)
	if err != nil || !created {
		t.Fatalf("first upsert: created=%v err=%v", created, err)
	}
	if o.Policy != "default@1" {
		t.Fatalf("pinned %q", o.Policy)
	}
	o2 := newOrder()
	o2.Amount = 29900
	pinV2 := func(context.Context, *sqlgen.Queries, time.Time) (string, int, error) { return "default", 2, nil }
	created, err = db.UpsertOrder(ctx, o2, pinV2)
	if err != nil || created {
		t.Fatalf("second upsert: created=%v err=%v", created, err)
	}
	if o2.Policy != "default@1" || o2.Amount != 29900 {
		t.Fatalf("re-sent order: policy %q amount %d", o2.Policy, o2.Amount)
	}
}

func TestOrderForUnknownProductIsRejectedAndNothingIsWritten(t *testing.T) {
	db := pgtest.Open(t)
	ctx := context.Background()
	_, err := db.UpsertOrder(ctx, newOrder(), postgres.DefaultPolicyV1)
	if refundflow.ErrorCode(err) != "unknown_product" {
		t.Fatalf("err = %v", err)
	}
	if _, err := db.GetOrder(ctx, "o1"); refundflow.ErrorKind(err) != refundflow.ENOTFOUND {
		t.Fatalf("order was written: %v", err)
	}
}

func TestProgressNeverGoesBackwards(t *testing.T) {
	db := pgtest.Open(t)
	seedProduct(t, db)
	ctx := context.Background()
	if _, err := db.UpsertOrder(ctx, newOrder(), postgres.DefaultPolicyV1); err != nil {
		t.Fatal(err)
	}
	if _, err := db.RecordProgress(ctx, "o1", refundflow.Progress{WatchedRatio: 0.5, LessonsCompleted: 4}); err != nil {
		t.Fatal(err)
	}
	got, err := db.RecordProgress(ctx, "o1", refundflow.Progress{WatchedRatio: 0.2, LessonsCompleted: 6})
	if err != nil {
		t.Fatal(err)
	}
	if got.WatchedRatio != 0.5 || got.LessonsCompleted != 6 {
		t.Fatalf("progress = %+v, want watched 0.5 and 6 lessons", got)
	}
	if _, err := db.RecordProgress(ctx, "nope", refundflow.Progress{}); refundflow.ErrorKind(err) != refundflow.ENOTFOUND {
		t.Fatalf("unknown order: %v", err)
	}
}

func TestDatabaseRefusesRefundsBeyondWhatWasPaid(t *testing.T) {
	db := pgtest.Open(t)
	seedProduct(t, db)
	ctx := context.Background()
	if _, err := db.UpsertOrder(ctx, newOrder(), postgres.DefaultPolicyV1); err != nil {
		t.Fatal(err)
	}
	_, err := db.Pool.Exec(ctx, "UPDATE orders SET refunded_amount = 10000, in_flight_amount = 9901 WHERE id = 'o1'")
	if err == nil {
		t.Fatal("refunded + in flight above the paid amount was accepted")
	}
}

func TestOutageIdsAreUnique(t *testing.T) {
	db := pgtest.Open(t)
	ctx := context.Background()
	end := time.Date(2026, 3, 3, 0, 0, 0, 0, time.UTC)
	o := &refundflow.Outage{ID: "out1", StartedAt: end.Add(-50 * time.Hour), EndedAt: &end}
	if err := db.CreateOutage(ctx, o); err != nil {
		t.Fatal(err)
	}
	if o.ProductIDs == nil || o.Hours(time.Now()) != 50 {
		t.Fatalf("outage = %+v", o)
	}
	if err := db.CreateOutage(ctx, o); refundflow.ErrorKind(err) != refundflow.ECONFLICT {
		t.Fatalf("duplicate outage: %v", err)
	}
}
