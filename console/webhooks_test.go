package console

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/refundflow/refundflow"
	"github.com/refundflow/refundflow/notify"
	"github.com/refundflow/refundflow/outbox"
	"github.com/refundflow/refundflow/postgres"
)

// failedDeliveries writes three events and delivers them to a platform
// that answers 503 to the first (failing), 410 to the second (dead) and
// takes the third.
func failedDeliveries(t testing.TB, e *consoleEnv, at time.Time) {
	t.Helper()
	answers := map[string]int{"evt_rf-w_1_refund.submitted": http.StatusServiceUnavailable, "evt_rf-w_2_refund.approved": http.StatusGone}
	platform := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if code, ok := answers[r.Header.Get(notify.EventIDHeader)]; ok {
			w.WriteHeader(code)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(platform.Close)
	var events []notify.Event
	for _, id := range []string{"evt_rf-w_1_refund.submitted", "evt_rf-w_2_refund.approved", "evt_rf-w_3_refund.succeeded"} {
		events = append(events, notify.Event{ID: id, Type: notify.EventType(strings.SplitN(id, "_", 4)[3]), CreatedAt: at, Data: map[string]string{"refund_id": "rf-w"}})
	}
	if err := e.db.WriteOutbox(context.Background(), notify.Outbox{RefundID: "rf-w", Events: events}); err != nil {
		t.Fatal(err)
	}
	d := &outbox.Dispatcher{DB: e.db, Webhooks: &notify.WebhookSender{URL: platform.URL, Secret: "whsec_console"}}
	if _, err := d.DeliverDue(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func deliveryOf(t *testing.T, e *consoleEnv, eventID string) *postgres.Delivery {
	t.Helper()
	ds, err := e.db.ListDeliveries(context.Background(), postgres.DeliveryFilter{EventID: eventID, Limit: 1})
	if err != nil || len(ds) != 1 {
		t.Fatalf("delivery of %s: %v %v", eventID, ds, err)
	}
	return ds[0]
}

// The webhooks page lists the failing and the dead deliveries with their
// tries, and nothing delivered; an admin redelivers one, or every one that
// failed since a time.
func TestAdminSeesFailedWebhookDeliveriesAndRedeliversThem(t *testing.T) {
	e := newConsoleEnv(t)
	failedDeliveries(t, e, time.Now())
	failing, dead := deliveryOf(t, e, "evt_rf-w_1_refund.submitted"), deliveryOf(t, e, "evt_rf-w_2_refund.approved")
	// The outbox's dead letter leads admins, who may redeliver, there.
	for role, link := range map[refundflow.Role]bool{admin: true, agent: false, approver: false} {
		if got := strings.Contains(e.send(request{method: "GET", path: "/console/outbox", as: role}).Body.String(), `id="to-webhooks"`); got != link {
			t.Errorf("the outbox links to the webhooks page for %s: %v", role, got)
		}
	}

	rec := e.send(request{method: "GET", path: "/console/webhooks", as: admin})
	page := rec.Body.String()
	if rec.Code != http.StatusOK {
		t.Fatalf("page: %d", rec.Code)
	}
	for _, want := range []string{
		`data-delivery="` + failing.DeliveryID() + `" data-event="evt_rf-w_1_refund.submitted" data-status="failing"`,
		`data-delivery="` + dead.DeliveryID() + `" data-event="evt_rf-w_2_refund.approved" data-status="dead"`,
		"<td>503</td>", "<td>410</td>", `action="/console/webhooks/` + dead.DeliveryID() + `/redeliver"`,
		`href="/console/refunds/rf-w"`, `name="since"`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("the page lacks %s", want)
		}
	}
	if strings.Contains(page, "evt_rf-w_3_refund.succeeded") {
		t.Error("the page lists a delivered event")
	}
	if zh := e.send(request{method: "GET", path: "/console/webhooks", as: admin, header: map[string]string{"Accept-Language": "zh-CN"}}); !strings.Contains(zh.Body.String(), "重新投递") {
		t.Error("the page in Chinese lacks 重新投递")
	}

	u := location(t, e.send(request{method: "POST", path: "/console/webhooks/" + dead.DeliveryID() + "/redeliver", as: admin}))
	if u.Path != "/console/webhooks" || u.Query().Get("done") != "redelivered" {
		t.Fatalf("redeliver: back to %s", u)
	}
	if d := deliveryOf(t, e, "evt_rf-w_2_refund.approved"); d.DeliveryStatus() != postgres.EventPending || len(d.Tries) != 1 {
		t.Fatalf("redelivered: %s with %d tries", d.DeliveryStatus(), len(d.Tries))
	}
	if back := e.send(request{method: "GET", path: u.RequestURI(), as: admin}).Body.String(); !strings.Contains(back, "is sent again now") || strings.Contains(back, `data-event="evt_rf-w_2_refund.approved"`) {
		t.Error("after the redelivery the page does not say so, or still lists it")
	}
	u = location(t, e.send(request{method: "POST", path: "/console/webhooks/" + dead.DeliveryID() + "/redeliver", as: admin}))
	if u.Query().Get("error") != "delivery_pending" {
		t.Fatalf("redeliver twice: back to %s", u)
	}

	since := url.Values{"since": {time.Now().Add(-time.Hour).UTC().Format(sinceLayout)}}
	u = location(t, e.send(request{method: "POST", path: "/console/webhooks/redeliver-failed", as: admin, form: since}))
	if u.Query().Get("done") != "redelivered_failed" {
		t.Fatalf("redeliver all failed: back to %s", u)
	}
	if d := deliveryOf(t, e, "evt_rf-w_1_refund.submitted"); d.DeliveryStatus() != postgres.EventPending || d.RedeliveredAt == nil {
		t.Fatalf("the failing one after redeliver all: %s", d.DeliveryStatus())
	}
	u = location(t, e.send(request{method: "POST", path: "/console/webhooks/redeliver-failed", as: admin, form: since}))
	if u.Query().Get("done") != "nothing_to_redeliver" {
		t.Fatalf("redeliver all failed, with none left: back to %s", u)
	}
	for _, bad := range []string{"", "yesterday", "2026-02-30T10:00", "%s%s", "2026-03-05T10:00\x00"} {
		u = location(t, e.send(request{method: "POST", path: "/console/webhooks/redeliver-failed", as: admin, form: url.Values{"since": {bad}}}))
		if code := u.Query().Get("error"); code != "invalid_since" && code != "invalid_text" {
			t.Errorf("since %q: back to %s", bad, u)
		}
	}
}

// "Since" is read in the page's time zone: Beijing time in Chinese.
func TestRedeliverFailedSinceIsReadInThePagesTimeZone(t *testing.T) {
	e := newConsoleEnv(t)
	at := time.Now().Add(-2 * time.Hour)
	failedDeliveries(t, e, at)
	// Half an hour before the events, in Beijing time: read as UTC, the
	// same digits would be seven and a half hours after them.
	since := at.Add(-30 * time.Minute).In(shanghai).Format(sinceLayout)
	zh := map[string]string{"Accept-Language": "zh-CN"}
	u := location(t, e.send(request{method: "POST", path: "/console/webhooks/redeliver-failed", as: admin, form: url.Values{"since": {since}}, header: zh}))
	if u.Query().Get("done") != "redelivered_failed" {
		t.Fatalf("since %s Beijing time: back to %s", since, u)
	}
}
