package postgres_test

import (
	"context"
	"testing"

	"github.com/refundflow/refundflow"
	"github.com/refundflow/refundflow/postgres"
	"github.com/refundflow/refundflow/postgres/pgtest"
)

// A count that does not fit its integer column is refused by the adapter
// itself, whoever calls it: a Go int of 4294967306 was stored as 10.
func TestCountsThatDoNotFitTheColumnAreRefusedNotTruncated(t *testing.T) {
	db := pgtest.Open(t)
	ctx := context.Background()
	_, err := db.UpsertProduct(ctx, &refundflow.Product{ID: "p-big", Type: refundflow.RecordedCourse, Title: "Go", LessonsTotal: 1<<32 + 10})
	if code := refundflow.ErrorCode(err); code != "count_out_of_range" {
		t.Fatalf("lessons_total 2^32+10: %v", err)
	}
	if _, err := db.GetProduct(ctx, "p-big"); refundflow.ErrorKind(err) != refundflow.ENOTFOUND {
		t.Fatalf("the product was stored: %v", err)
	}
	seedProduct(t, db)
	if _, err := db.UpsertOrder(ctx, newOrder(), postgres.DefaultPolicyV1); err != nil {
		t.Fatal(err)
	}
	_, err = db.RecordProgress(ctx, "o1", refundflow.Progress{SessionsAttended: 1 << 31})
	if code := refundflow.ErrorCode(err); code != "count_out_of_range" {
		t.Fatalf("sessions_attended 2^31: %v", err)
	}
	if p, err := db.GetProgress(ctx, "o1"); err != nil || p.SessionsAttended != 0 {
		t.Fatalf("progress stored: %+v %v", p, err)
	}
}
