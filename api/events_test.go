package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/refundflow/refundflow"
	"github.com/refundflow/refundflow/notify"
	"github.com/refundflow/refundflow/outbox"
	"github.com/refundflow/refundflow/postgres/pgtest"
)

// receiver is the platform's webhook endpoint: it answers status (204
// when 0) and keeps the bodies it was sent, by event id.
type receiver struct {
	mu     sync.Mutex
	status int
	bodies map[string][]byte
	url    string
}

func newReceiver(t *testing.T) *receiver {
	r := &receiver{bodies: map[string][]byte{}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		defer r.mu.Unlock()
		r.bodies[req.Header.Get(notify.EventIDHeader)] = body
		if r.status != 0 {
			w.WriteHeader(r.status)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(srv.Close)
	r.url = srv.URL
	return r
}

func (r *receiver) answer(status int) {
	r.mu.Lock()
	r.status = status
	r.mu.Unlock()
}

func (r *receiver) body(id string) []byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.bodies[id]
}

// webhooks writes events into the outbox and delivers them to a receiver.
type webhooks struct {
	e        *env
	receiver *receiver
	d        *outbox.Dispatcher
}

func newWebhooks(t *testing.T, e *env) *webhooks {
	r := newReceiver(t)
	return &webhooks{e: e, receiver: r, d: &outbox.Dispatcher{DB: e.db, Webhooks: &notify.WebhookSender{URL: r.url, Secret: "whsec_api_test"}}}
}

func (w *webhooks) write(events ...notify.Event) {
	w.e.t.Helper()
	if err := w.e.db.WriteOutbox(context.Background(), notify.Outbox{RefundID: "rf-ev", Events: events}); err != nil {
		w.e.t.Fatal(err)
	}
}

func (w *webhooks) deliver() {
	w.e.t.Helper()
	if _, err := w.d.DeliverDue(context.Background()); err != nil {
		w.e.t.Fatal(err)
	}
}

func refundEvent(id string, typ notify.EventType) notify.Event {
	return notify.Event{ID: id, Type: typ, CreatedAt: time.Now(), Data: notify.RefundData{
		RefundID: "rf-ev", OrderID: "o-ev", Status: refundflow.StatusEvaluating, Amount: 100, Currency: "CNY",
		// What json.Marshal escapes: the log must carry the very bytes.
		Reason: "<changed_mind & more>",
	}}
}

type eventsPage struct {
	Data       []json.RawMessage `json:"data"`
	NextCursor *string           `json:"next_cursor"`
	HasMore    bool              `json:"has_more"`
}

func (e *env) events(role refundflow.Role, query string) eventsPage {
	e.t.Helper()
	pgtest.WaitForEventLog(e.t, e.db)
	r := e.do(role, "GET", "/v1/events?"+query, nil)
	if r.Status != http.StatusOK {
		e.t.Fatalf("GET /v1/events?%s: %d %s", query, r.Status, r.Body)
	}
	var p eventsPage
	if err := json.Unmarshal(r.Body, &p); err != nil {
		e.t.Fatal(err)
	}
	return p
}

func ids(raw []json.RawMessage) []string {
	var out []string
	for _, r := range raw {
		var ev struct{ ID string }
		_ = json.Unmarshal(r, &ev)
		out = append(out, ev.ID)
	}
	return out
}

// The event log is the webhooks' stream: every event in the order it was
// written, each the body its webhook carried byte for byte, and a cursor a
// platform keeps polling with.
func TestEventLogServesEveryEventInOrderWithItsWebhookBody(t *testing.T) {
	e := newEnv(t)
	w := newWebhooks(t, e)
	var want []string
	for step, typ := range []notify.EventType{notify.EventRefundSubmitted, notify.EventRefundApproved, notify.EventRefundSucceeded} {
		id := fmt.Sprintf("evt_rf-ev_%d_%s", step+1, typ)
		w.write(refundEvent(id, typ))
		want = append(want, id)
	}
	w.deliver()

	var got []string
	var bodies []json.RawMessage
	query := "limit=2"
	for range 3 {
		p := e.events(platform, query)
		got, bodies = append(got, ids(p.Data)...), append(bodies, p.Data...)
		if p.NextCursor == nil {
			t.Fatalf("page %v has no next_cursor", ids(p.Data))
		}
		query = "limit=2&cursor=" + url.QueryEscape(*p.NextCursor)
		if !p.HasMore {
			break
		}
	}
	if !slices.Equal(got, want) {
		t.Fatalf("event log %v, want %v", got, want)
	}
	for i, id := range want {
		if sent := w.receiver.body(id); !bytes.Equal(bodies[i], sent) {
			t.Errorf("%s in the log:\n%s\nas its webhook carried it:\n%s", id, bodies[i], sent)
		}
	}

	// At the end the cursor stays where the next event will come.
	tail := e.events(admin, query)
	if len(tail.Data) != 0 || tail.HasMore || tail.NextCursor == nil || "limit=2&cursor="+url.QueryEscape(*tail.NextCursor) != query {
		t.Fatalf("past the end: %v has_more=%v next=%v", ids(tail.Data), tail.HasMore, tail.NextCursor)
	}
	w.write(refundEvent("evt_rf-ev_4_refund.failed", notify.EventRefundFailed))
	if next := e.events(platform, query); !slices.Equal(ids(next.Data), []string{"evt_rf-ev_4_refund.failed"}) {
		t.Fatalf("polling with the last cursor: %v", ids(next.Data))
	}

	if p := e.events(platform, "type=refund.approved"); !slices.Equal(ids(p.Data), []string{"evt_rf-ev_2_refund.approved"}) {
		t.Fatalf("type filter: %v", ids(p.Data))
	}
	if p := e.events(platform, "created_after="+url.QueryEscape(time.Now().Add(time.Hour).UTC().Format(time.RFC3339))); len(p.Data) != 0 || p.NextCursor != nil {
		t.Fatalf("created_after an hour from now: %v next=%v", ids(p.Data), p.NextCursor)
	}
	if p := e.events(platform, "created_after=2026-01-01T00:00:00Z"); len(p.Data) != 4 {
		t.Fatalf("created_after long ago: %v", ids(p.Data))
	}
}

// The type filter's documented values are the event types refundflow
// sends.
func TestEventLogDocumentsEveryEventType(t *testing.T) {
	doc := loadDoc(t)
	var documented []string
	for _, p := range doc.Paths.Find("/v1/events").Get.Parameters {
		if p.Value.Name == "type" {
			for _, v := range p.Value.Schema.Value.Enum {
				documented = append(documented, v.(string))
			}
		}
	}
	var sent []string
	for _, typ := range notify.EventTypes {
		sent = append(sent, string(typ))
	}
	if !slices.Equal(documented, sent) {
		t.Fatalf("documented types %v, sent %v", documented, sent)
	}
}

// Every query parameter is checked before anything is read: bad input is a
// 400 naming the parameter, never a 500.
func TestEventAndDeliveryLogsRefuseBadQueries(t *testing.T) {
	e := newEnv(t)
	w := newWebhooks(t, e)
	w.write(refundEvent("evt_rf-ev_1_refund.submitted", notify.EventRefundSubmitted))
	// Another list's cursor: well-formed, but naming no event.
	foreignCursor := "MjAyNi0wMy0wMVQwMDowMDowMFp8cmYtbm9ib2R5" // "2026-03-01T00:00:00Z|rf-nobody"
	for _, c := range []struct{ path, code, field string }{
		{"/v1/events?type=refund.exploded", "invalid_event_type", "type"},
		{"/v1/events?type=%25s%25n%25d", "invalid_event_type", "type"},
		{"/v1/events?type=refund.succeeded%00", "invalid_text", "type"},
		{"/v1/events?created_after=yesterday", "invalid_time", "created_after"},
		{"/v1/events?created_after=2026-02-30T00:00:00Z", "invalid_time", "created_after"},
		{"/v1/events?created_after=2026-03-01", "invalid_time", "created_after"},
		{"/v1/events?created_after=%25s%25s%25s", "invalid_time", "created_after"},
		{"/v1/events?created_after=2026-03-01T00:00:00Z%00", "invalid_text", "created_after"},
		{"/v1/events?created_after=" + strings.Repeat("9", 5000), "invalid_time", "created_after"},
		{"/v1/events?limit=0", "invalid_limit", "limit"},
		{"/v1/events?limit=201", "invalid_limit", "limit"},
		{"/v1/events?limit=99999999999999999999999", "invalid_limit", "limit"},
		{"/v1/events?limit=-1", "invalid_limit", "limit"},
		{"/v1/events?limit=1e3", "invalid_limit", "limit"},
		{"/v1/events?cursor=%25%25%25", "invalid_cursor", "cursor"},
		{"/v1/events?cursor=" + foreignCursor, "invalid_cursor", "cursor"},
		{"/v1/webhook-deliveries?status=failed", "invalid_status", "status"},
		{"/v1/webhook-deliveries?status=%25v", "invalid_status", "status"},
		{"/v1/webhook-deliveries?status=dead%00", "invalid_text", "status"},
		{"/v1/webhook-deliveries?event_id=" + strings.Repeat("e", 600), "too_long", "event_id"},
		{"/v1/webhook-deliveries?event_id=%ff%fe", "invalid_text", "event_id"},
		{"/v1/webhook-deliveries?limit=100000000", "invalid_limit", "limit"},
		{"/v1/webhook-deliveries?cursor=bm90IGEgY3Vyc29y", "invalid_cursor", "cursor"},
	} {
		r := e.do(admin, "GET", c.path, nil)
		code, field := r.errorCode(t)
		if r.Status != http.StatusBadRequest || code != c.code || field != c.field {
			t.Errorf("GET %s: %d %s field=%q, want 400 %s field=%q\n%s", c.path, r.Status, code, field, c.code, c.field, r.Body)
		}
	}
	for _, c := range []struct {
		path   string
		status int
		code   string
	}{
		{"/v1/webhook-deliveries/whd_999999/redeliver", http.StatusNotFound, "not_found"},
		{"/v1/webhook-deliveries/evt_rf-ev_1_refund.submitted/redeliver", http.StatusNotFound, "not_found"},
		{"/v1/webhook-deliveries/whd_99999999999999999999999/redeliver", http.StatusNotFound, "not_found"},
		{"/v1/webhook-deliveries/%25s%25n/redeliver", http.StatusBadRequest, "invalid_id"},
		{"/v1/webhook-deliveries/a%00b/redeliver", http.StatusBadRequest, "invalid_id"},
	} {
		r := e.do(admin, "POST", c.path, nil)
		if code, _ := r.errorCode(t); r.Status != c.status || code != c.code {
			t.Errorf("POST %s: %d %s, want %d %s", c.path, r.Status, code, c.status, c.code)
		}
	}
	if r := e.do(admin, "POST", "/v1/webhook-deliveries/whd_1/redeliver", `{"force": true}`); r.Status != http.StatusBadRequest {
		t.Errorf("redeliver with an unknown field: %d", r.Status)
	}
}

type deliveryJSON struct {
	ID            string     `json:"id"`
	EventID       string     `json:"event_id"`
	EventType     string     `json:"event_type"`
	Status        string     `json:"status"`
	RefundID      *string    `json:"refund_id"`
	NextAttemptAt *time.Time `json:"next_attempt_at"`
	DeliveredAt   *time.Time `json:"delivered_at"`
	RedeliveredAt *time.Time `json:"redelivered_at"`
	LastError     string     `json:"last_error"`
	Attempts      []struct {
		Attempt    int       `json:"attempt"`
		At         time.Time `json:"at"`
		HTTPStatus *int      `json:"http_status"`
		LatencyMS  int64     `json:"latency_ms"`
		Error      string    `json:"error"`
	} `json:"attempts"`
}

func (d deliveryJSON) statuses() []int {
	var out []int
	for _, a := range d.Attempts {
		if a.HTTPStatus == nil {
			out = append(out, 0)
		} else {
			out = append(out, *a.HTTPStatus)
		}
	}
	return out
}

func (e *env) deliveries(role refundflow.Role, query string) []deliveryJSON {
	e.t.Helper()
	r := e.do(role, "GET", "/v1/webhook-deliveries?"+query, nil)
	if r.Status != http.StatusOK {
		e.t.Fatalf("GET /v1/webhook-deliveries?%s: %d %s", query, r.Status, r.Body)
	}
	var p struct{ Data []deliveryJSON }
	if err := json.Unmarshal(r.Body, &p); err != nil {
		e.t.Fatal(err)
	}
	return p.Data
}

// The delivery log shows each try (when, the receiver's status, how long,
// the error); an admin redelivers a failing or dead delivery, which keeps
// its tries and goes out again with the same event id and body.
func TestDeliveryLogShowsEveryTryAndAnAdminRedeliversAFailedDelivery(t *testing.T) {
	e := newEnv(t)
	w := newWebhooks(t, e)
	w.receiver.answer(http.StatusServiceUnavailable)
	w.write(refundEvent("evt_rf-ev_1_refund.submitted", notify.EventRefundSubmitted))
	w.deliver()
	w.receiver.answer(http.StatusGone)
	w.write(refundEvent("evt_rf-ev_2_refund.approved", notify.EventRefundApproved))
	w.deliver()

	failing := e.deliveries(platform, "status=failing")
	if len(failing) != 1 || failing[0].EventID != "evt_rf-ev_1_refund.submitted" || failing[0].EventType != "refund.submitted" ||
		!slices.Equal(failing[0].statuses(), []int{503}) || failing[0].Attempts[0].Error == "" || failing[0].LastError == "" ||
		failing[0].NextAttemptAt == nil || failing[0].RefundID == nil || *failing[0].RefundID != "rf-ev" {
		t.Fatalf("failing deliveries: %+v", failing)
	}
	dead := e.deliveries(admin, "status=dead")
	if len(dead) != 1 || dead[0].EventID != "evt_rf-ev_2_refund.approved" || !slices.Equal(dead[0].statuses(), []int{410}) || dead[0].NextAttemptAt != nil {
		t.Fatalf("dead deliveries: %+v", dead)
	}
	if all := e.deliveries(admin, ""); len(all) != 2 || all[0].EventID != "evt_rf-ev_2_refund.approved" {
		t.Fatalf("every delivery, newest first: %+v", all)
	}
	if one := e.deliveries(admin, "event_id=evt_rf-ev_2_refund.approved"); len(one) != 1 || one[0].ID != dead[0].ID {
		t.Fatalf("by event id: %+v", one)
	}
	firstBody := w.receiver.body("evt_rf-ev_2_refund.approved")

	w.receiver.answer(0)
	for _, d := range []deliveryJSON{failing[0], dead[0]} {
		r := e.do(admin, "POST", "/v1/webhook-deliveries/"+d.ID+"/redeliver", nil)
		var got deliveryJSON
		if err := json.Unmarshal(r.Body, &got); err != nil || r.Status != http.StatusAccepted {
			t.Fatalf("redeliver %s: %d %s", d.ID, r.Status, r.Body)
		}
		if got.Status != "pending" || got.RedeliveredAt == nil || got.NextAttemptAt == nil || time.Until(*got.NextAttemptAt) > time.Second ||
			!slices.Equal(got.statuses(), d.statuses()) {
			t.Fatalf("redelivered %s: %+v", d.ID, got)
		}
		r = e.do(admin, "POST", "/v1/webhook-deliveries/"+d.ID+"/redeliver", "{}")
		if code, _ := r.errorCode(t); r.Status != http.StatusConflict || code != "delivery_pending" {
			t.Fatalf("redeliver %s twice: %d %s", d.ID, r.Status, code)
		}
	}
	w.deliver()
	delivered := e.deliveries(admin, "status=delivered")
	if len(delivered) != 2 {
		t.Fatalf("after the redelivery: %+v", delivered)
	}
	for _, d := range delivered {
		if last := d.statuses()[len(d.statuses())-1]; len(d.Attempts) != 2 || last != 204 || d.DeliveredAt == nil || d.LastError != "" {
			t.Errorf("%s after its redelivery: %+v", d.EventID, d)
		}
	}
	if again := w.receiver.body("evt_rf-ev_2_refund.approved"); !bytes.Equal(again, firstBody) {
		t.Errorf("the redelivered body differs:\n%s\n%s", firstBody, again)
	}
	// A delivered one may be sent again too (the platform lost it).
	if r := e.do(admin, "POST", "/v1/webhook-deliveries/"+delivered[0].ID+"/redeliver", nil); r.Status != http.StatusAccepted {
		t.Fatalf("redeliver a delivered one: %d %s", r.Status, r.Body)
	}
}

func TestDeliveryRecordedWithoutAnEndpointCannotBeRedelivered(t *testing.T) {
	e := newEnv(t)
	w := newWebhooks(t, e)
	w.d.Webhooks = nil // no PLATFORM_WEBHOOK_URL
	w.write(refundEvent("evt_rf-ev_1_refund.submitted", notify.EventRefundSubmitted))
	w.deliver()
	d := e.deliveries(admin, "status=not_configured")
	if len(d) != 1 || len(d[0].Attempts) != 0 {
		t.Fatalf("not configured: %+v", d)
	}
	r := e.do(admin, "POST", "/v1/webhook-deliveries/"+d[0].ID+"/redeliver", nil)
	if code, _ := r.errorCode(t); r.Status != http.StatusConflict || code != "delivery_not_configured" {
		t.Fatalf("redeliver: %d %s", r.Status, code)
	}
	if p := e.events(platform, ""); !slices.Equal(ids(p.Data), []string{"evt_rf-ev_1_refund.submitted"}) {
		t.Fatalf("the event log lacks it: %v", ids(p.Data))
	}
}
