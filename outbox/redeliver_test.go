package outbox_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/refundflow/refundflow"
	"github.com/refundflow/refundflow/notify"
	"github.com/refundflow/refundflow/outbox"
	"github.com/refundflow/refundflow/postgres"
	"github.com/refundflow/refundflow/postgres/pgtest"
)

// platform is a webhook receiver that answers status (204 when 0) and
// keeps what it was sent.
type platform struct {
	mu     sync.Mutex
	status int
	bodies []string
	ids    []string
	url    string
}

func newPlatform(t *testing.T) *platform {
	p := &platform{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		p.mu.Lock()
		defer p.mu.Unlock()
		p.bodies = append(p.bodies, string(body))
		p.ids = append(p.ids, r.Header.Get(notify.EventIDHeader))
		if p.status != 0 {
			w.WriteHeader(p.status)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(srv.Close)
	p.url = srv.URL
	return p
}

func (p *platform) answer(status int) {
	p.mu.Lock()
	p.status = status
	p.mu.Unlock()
}

func (p *platform) received() (ids, bodies []string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.ids), slices.Clone(p.bodies)
}

func delivery(t *testing.T, db *postgres.DB, eventID string) *postgres.Delivery {
	t.Helper()
	ds, err := db.ListDeliveries(context.Background(), postgres.DeliveryFilter{EventID: eventID, Limit: 1})
	if err != nil || len(ds) != 1 {
		t.Fatalf("delivery of %s: %v %v", eventID, ds, err)
	}
	return ds[0]
}

func tryStatuses(d *postgres.Delivery) []int {
	var out []int
	for _, t := range d.Tries {
		out = append(out, t.HTTPStatus)
	}
	return out
}

// A delivery the platform refused for good is sent again on demand: the
// same event id and the same body, its earlier tries kept beside the new
// one.
func TestRedeliveredDeadEventArrivesWithItsIDAndBodyAndKeepsItsTries(t *testing.T) {
	db := pgtest.Open(t)
	p := newPlatform(t)
	p.answer(http.StatusGone)
	write(t, db, notify.Outbox{RefundID: "rf-9", Events: []notify.Event{{ID: "evt_rf-9_1_refund.submitted", Type: notify.EventRefundSubmitted,
		CreatedAt: time.Now(), Data: map[string]string{"refund_id": "rf-9", "note": "<b>&</b>"}}}})
	clk := newClock(t, db)
	d := &outbox.Dispatcher{DB: db, Now: clk.Now, Webhooks: &notify.WebhookSender{URL: p.url, Secret: "whsec_test"}}
	deliver(t, d)
	dead := delivery(t, db, "evt_rf-9_1_refund.submitted")
	if dead.DeliveryStatus() != postgres.EventDead || !slices.Equal(tryStatuses(dead), []int{410}) {
		t.Fatalf("refused delivery: %s %v", dead.DeliveryStatus(), tryStatuses(dead))
	}

	p.answer(0)
	again, err := db.Redeliver(context.Background(), dead.DeliveryID(), clk.Now())
	if err != nil {
		t.Fatal(err)
	}
	if again.DeliveryStatus() != postgres.EventPending || again.RedeliveredAt == nil || len(again.Tries) != 1 {
		t.Fatalf("redelivered: %s %v %d tries", again.DeliveryStatus(), again.RedeliveredAt, len(again.Tries))
	}
	if n := deliver(t, d); n != 1 {
		t.Fatalf("tried %d after the redelivery", n)
	}
	done := delivery(t, db, "evt_rf-9_1_refund.submitted")
	if done.DeliveryStatus() != postgres.EventDelivered || !slices.Equal(tryStatuses(done), []int{410, 204}) || done.Tries[1].Attempt != 2 {
		t.Fatalf("after the redelivery: %s %+v", done.DeliveryStatus(), done.Tries)
	}
	ids, bodies := p.received()
	if !slices.Equal(ids, []string{"evt_rf-9_1_refund.submitted", "evt_rf-9_1_refund.submitted"}) || bodies[0] != bodies[1] {
		t.Fatalf("received %v:\n%s\n%s", ids, bodies[0], bodies[1])
	}
}

// A delivery redelivered after its day of retries is retried for another
// day, not sent to the dead letter at its first failure.
func TestRedeliveredEventGetsAFreshDayOfRetries(t *testing.T) {
	db := pgtest.Open(t)
	p := newPlatform(t)
	p.answer(http.StatusServiceUnavailable)
	write(t, db, notify.Outbox{Events: []notify.Event{{ID: "evt_old", Type: notify.EventRefundSubmitted, CreatedAt: time.Now(), Data: map[string]int{"n": 1}}}})
	clk := newClock(t, db)
	d := &outbox.Dispatcher{DB: db, Now: clk.Now, Webhooks: &notify.WebhookSender{URL: p.url, Secret: "whsec_test"}, Options: outbox.Options{MaxAge: time.Hour}}
	deliver(t, d)
	clk.advance(2 * time.Hour)
	deliver(t, d)
	if st := delivery(t, db, "evt_old").DeliveryStatus(); st != postgres.EventDead {
		t.Fatalf("after its hour of retries: %s", st)
	}

	if _, err := db.Redeliver(context.Background(), delivery(t, db, "evt_old").DeliveryID(), clk.Now()); err != nil {
		t.Fatal(err)
	}
	deliver(t, d)
	if st := delivery(t, db, "evt_old").DeliveryStatus(); st != postgres.EventFailing {
		t.Fatalf("redelivered, failed once: %s, want failing", st)
	}
	clk.advance(2 * time.Hour)
	deliver(t, d)
	if st := delivery(t, db, "evt_old").DeliveryStatus(); st != postgres.EventDead {
		t.Fatalf("redelivered, failing for two hours: %s, want dead", st)
	}
}

func TestRedeliveryIsRefusedForADeliveryWithNoEndpointOrAlreadyOnItsWay(t *testing.T) {
	db := pgtest.Open(t)
	ctx := context.Background()
	write(t, db, notify.Outbox{Events: []notify.Event{
		{ID: "evt_nowhere", Type: notify.EventRefundSubmitted, CreatedAt: time.Now(), Data: map[string]int{"n": 1}},
	}})
	if _, err := db.Redeliver(ctx, delivery(t, db, "evt_nowhere").DeliveryID(), time.Now()); refundflow.ErrorCode(err) != "delivery_pending" {
		t.Errorf("a delivery before its first try: %v, want delivery_pending", err)
	}
	d := &outbox.Dispatcher{DB: db} // no webhook endpoint configured
	deliver(t, d)
	nowhere := delivery(t, db, "evt_nowhere")
	if nowhere.DeliveryStatus() != postgres.EventNotConfigured {
		t.Fatalf("without an endpoint: %s", nowhere.DeliveryStatus())
	}
	if _, err := db.Redeliver(ctx, nowhere.DeliveryID(), time.Now()); refundflow.ErrorKind(err) != refundflow.ECONFLICT || refundflow.ErrorCode(err) != "delivery_not_configured" {
		t.Errorf("a delivery with no endpoint: %v, want delivery_not_configured", err)
	}
	for _, id := range []string{"whd_999999", "whd_0", "whd_", "whd_-1", "evt_nowhere", "whd_99999999999999999999"} {
		if _, err := db.Redeliver(ctx, id, time.Now()); refundflow.ErrorKind(err) != refundflow.ENOTFOUND {
			t.Errorf("redeliver %q: %v, want not found", id, err)
		}
	}
}

// "Redeliver all failed since": every dead or failing delivery of an
// event that happened since then, and nothing else.
func TestRedeliverFailedSinceTakesTheDeadAndFailingDeliveriesOfThatTimeOn(t *testing.T) {
	db := pgtest.Open(t)
	ctx := context.Background()
	p := newPlatform(t)
	clk := newClock(t, db)
	since := clk.Now().Add(-time.Hour)
	ev := func(id string, at time.Time) notify.Event {
		return notify.Event{ID: id, Type: notify.EventRefundSubmitted, CreatedAt: at, Data: map[string]string{"id": id}}
	}
	d := &outbox.Dispatcher{DB: db, Now: clk.Now, Webhooks: &notify.WebhookSender{URL: p.url, Secret: "whsec_test"}}
	// Each written event is due at the database's now, a moment after the
	// clock's.
	writeAndDeliver := func(evs ...notify.Event) {
		write(t, db, notify.Outbox{Events: evs})
		clk.advance(time.Second)
		deliver(t, d)
	}
	writeAndDeliver(ev("evt_delivered", since.Add(time.Minute)))
	p.answer(http.StatusGone)
	writeAndDeliver(ev("evt_dead_before", since.Add(-time.Minute)), ev("evt_dead", since))
	p.answer(http.StatusBadGateway)
	writeAndDeliver(ev("evt_failing", since.Add(time.Minute)))
	if st := delivery(t, db, "evt_failing").DeliveryStatus(); st != postgres.EventFailing {
		t.Fatalf("evt_failing: %s", st)
	}

	n, err := db.RedeliverFailedSince(ctx, since, clk.Now())
	if err != nil || n != 2 {
		t.Fatalf("redelivered %d: %v", n, err)
	}
	for id, want := range map[string]string{
		"evt_delivered": postgres.EventDelivered, "evt_dead_before": postgres.EventDead,
		"evt_dead": postgres.EventPending, "evt_failing": postgres.EventPending,
	} {
		got := delivery(t, db, id)
		if got.DeliveryStatus() != want || (want == postgres.EventPending) != (got.RedeliveredAt != nil) {
			t.Errorf("%s: %s (redelivered at %v), want %s", id, got.DeliveryStatus(), got.RedeliveredAt, want)
		}
		if want == postgres.EventPending && got.NextAttemptAt.After(clk.Now()) {
			t.Errorf("%s is due at %s, not now", id, got.NextAttemptAt)
		}
	}
}
