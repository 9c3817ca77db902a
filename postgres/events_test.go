package postgres_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/refundflow/refundflow"
	"github.com/refundflow/refundflow/notify"
	"github.com/refundflow/refundflow/postgres"
	"github.com/refundflow/refundflow/postgres/pgtest"
)

func writeEvents(t *testing.T, db *postgres.DB, events ...notify.Event) {
	t.Helper()
	if err := db.WriteOutbox(context.Background(), notify.Outbox{Events: events}); err != nil {
		t.Fatal(err)
	}
}

func event(id string, typ notify.EventType, at time.Time) notify.Event {
	return notify.Event{ID: id, Type: typ, CreatedAt: at, Data: map[string]string{"refund_id": "rf-1"}}
}

func eventIDs(evs []*postgres.EventRecord) []string {
	var out []string
	for _, e := range evs {
		out = append(out, e.ID)
	}
	return out
}

// readLog pages through the whole log from f, f.Limit events a page,
// once every event written so far can be read.
func readLog(t *testing.T, db *postgres.DB, f postgres.EventFilter) []string {
	t.Helper()
	pgtest.WaitForEventLog(t, db)
	var out []string
	for {
		page, err := db.ListEvents(context.Background(), f)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, eventIDs(page)...)
		if len(page) < f.Limit {
			return out
		}
		f.AfterID = page[len(page)-1].ID
	}
}

func TestEventLogPagesThroughEveryEventInTheOrderItWasWritten(t *testing.T) {
	db := pgtest.Open(t)
	at := time.Date(2026, 3, 5, 10, 0, 0, 0, time.UTC)
	var want []string
	for step := range 4 {
		// One step's events, all in one transaction, at one instant: the
		// created_at ties are broken by the order they were written in.
		var evs []notify.Event
		for _, typ := range []notify.EventType{notify.EventRefundSubmitted, notify.EventRefundApproved} {
			id := fmt.Sprintf("evt_rf-%d_%s", step, typ)
			evs = append(evs, event(id, typ, at))
			want = append(want, id)
		}
		writeEvents(t, db, evs...)
	}
	for _, limit := range []int{1, 3, 50} {
		if got := readLog(t, db, postgres.EventFilter{Limit: limit}); !slices.Equal(got, want) {
			t.Errorf("limit %d: %v, want %v", limit, got, want)
		}
	}
	var approved []string
	for _, id := range want {
		if strings.HasSuffix(id, "approved") {
			approved = append(approved, id)
		}
	}
	if got := readLog(t, db, postgres.EventFilter{Type: string(notify.EventRefundApproved), Limit: 2}); !slices.Equal(got, approved) {
		t.Errorf("type filter: %v, want %v", got, approved)
	}
	if _, err := db.ListEvents(context.Background(), postgres.EventFilter{AfterID: "evt_nobody", Limit: 5}); refundflow.ErrorCode(err) != "invalid_cursor" {
		t.Errorf("a cursor naming no event: %v", err)
	}
}

func TestEventLogKeepsEventsThatHappenedAtOrAfterCreatedAfter(t *testing.T) {
	db := pgtest.Open(t)
	t0 := time.Date(2026, 3, 5, 10, 0, 0, 0, time.UTC)
	writeEvents(t, db, event("evt_early", notify.EventRefundSubmitted, t0.Add(-time.Second)))
	writeEvents(t, db, event("evt_on_time", notify.EventRefundSubmitted, t0))
	writeEvents(t, db, event("evt_late", notify.EventRefundSubmitted, t0.Add(time.Millisecond)))
	got := readLog(t, db, postgres.EventFilter{CreatedAfter: &t0, Limit: 10})
	if !slices.Equal(got, []string{"evt_on_time", "evt_late"}) {
		t.Fatalf("created_after %s: %v", t0, got)
	}
}

// An event whose transaction began first but commits last must not be
// skipped by a reader that has already paged past the events committed
// meanwhile: until it commits, those later events are not shown either.
func TestEventLogNeverSkipsAnEventThatCommitsLate(t *testing.T) {
	db := pgtest.Open(t)
	ctx := context.Background()
	slow, err := db.Pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer slow.Rollback(ctx) //nolint:errcheck
	if _, err := slow.Exec(ctx, `INSERT INTO webhook_deliveries (id, type, payload, status) VALUES ('evt_slow', 'refund.submitted', '{}', 'pending')`); err != nil {
		t.Fatal(err)
	}
	writeEvents(t, db, event("evt_fast", notify.EventRefundSubmitted, time.Now()))

	page, err := db.ListEvents(ctx, postgres.EventFilter{Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	if len(page) != 0 {
		t.Fatalf("while evt_slow's transaction runs the log shows %v: a reader at its end would skip evt_slow", eventIDs(page))
	}
	if err := slow.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if got := readLog(t, db, postgres.EventFilter{Limit: 1}); !slices.Equal(got, []string{"evt_slow", "evt_fast"}) {
		t.Fatalf("after the commit: %v, want [evt_slow evt_fast]", got)
	}
}
