package integration

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/refundflow/refundflow"
)

// loggedEvent is an event as the event log serves it: its raw body, and
// what the test reads of it.
type loggedEvent struct {
	ID   string
	Type string
	Body json.RawMessage
	// RefundID is the case the event is about.
	RefundID string
}

// readEventLog pages through GET /v1/events as the platform from cursor
// ("" = the beginning) to the end, and returns the events and the cursor
// to poll with next.
func (s *stack) readEventLog(cursor string) ([]loggedEvent, string) {
	s.t.Helper()
	var out []loggedEvent
	for {
		var page struct {
			Data       []json.RawMessage `json:"data"`
			NextCursor *string           `json:"next_cursor"`
			HasMore    bool              `json:"has_more"`
		}
		path := "/v1/events?limit=2"
		if cursor != "" {
			path += "&cursor=" + url.QueryEscape(cursor)
		}
		if code := s.do(platform, "GET", path, nil, &page); code != http.StatusOK {
			s.t.Fatalf("GET %s: %d", path, code)
		}
		for _, raw := range page.Data {
			var ev struct {
				ID   string `json:"id"`
				Type string `json:"type"`
				Data struct {
					RefundID string `json:"refund_id"`
				} `json:"data"`
			}
			if err := json.Unmarshal(raw, &ev); err != nil {
				s.t.Fatal(err)
			}
			out = append(out, loggedEvent{ID: ev.ID, Type: ev.Type, Body: raw, RefundID: ev.Data.RefundID})
		}
		if page.NextCursor != nil {
			cursor = *page.NextCursor
		}
		if !page.HasMore {
			return out, cursor
		}
	}
}

// delivery is a webhook delivery as GET /v1/webhook-deliveries shows it.
type delivery struct {
	ID       string `json:"id"`
	EventID  string `json:"event_id"`
	Status   string `json:"status"`
	Attempts []struct {
		HTTPStatus *int   `json:"http_status"`
		Error      string `json:"error"`
	} `json:"attempts"`
}

func (d delivery) statuses() []int {
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

// deliveries lists every delivery (as role), by event id.
func (s *stack) deliveries(role refundflow.Role) map[string]delivery {
	s.t.Helper()
	out := map[string]delivery{}
	cursor := ""
	for {
		var page struct {
			Data       []delivery `json:"data"`
			NextCursor *string    `json:"next_cursor"`
		}
		path := "/v1/webhook-deliveries?limit=200"
		if cursor != "" {
			path += "&cursor=" + url.QueryEscape(cursor)
		}
		if code := s.do(role, "GET", path, nil, &page); code != http.StatusOK {
			s.t.Fatalf("GET %s: %d", path, code)
		}
		for _, d := range page.Data {
			out[d.EventID] = d
		}
		if page.NextCursor == nil {
			return out
		}
		cursor = *page.NextCursor
	}
}

// waitForDeliveries polls the delivery log until every one of the events
// is in a state ok accepts.
func (s *stack) waitForDeliveries(events []loggedEvent, what string, ok func(delivery) bool) map[string]delivery {
	s.t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		all := s.deliveries(platform)
		var waiting []string
		for _, ev := range events {
			if d, found := all[ev.ID]; !found || !ok(d) {
				waiting = append(waiting, fmt.Sprintf("%s: %s %v", ev.ID, d.Status, d.statuses()))
			}
		}
		if len(waiting) == 0 {
			return all
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("not %s after 2 minutes:\n%s", what, strings.Join(waiting, "\n"))
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// refundAutomatically opens a case that is refunded without anyone, and
// waits until it is.
func (s *stack) refundAutomatically(orderID string) string {
	s.t.Helper()
	s.seed(orderID, course("c-webhooks"), 19900, 2*time.Hour)
	var c refundCase
	if code := s.do(platform, "POST", "/v1/refunds", map[string]any{"order_id": orderID, "reason": "changed_mind"}, &c); code != http.StatusCreated {
		s.t.Fatalf("POST /v1/refunds for %s: %d", orderID, code)
	}
	s.waitFor(c.ID, refundflow.StatusRefunded)
	s.waitForClosed(c.WorkflowID) // every step, and so every event, is written
	return c.ID
}

func eventsOf(events []loggedEvent, refundIDs ...string) []loggedEvent {
	var out []loggedEvent
	for _, ev := range events {
		if slices.Contains(refundIDs, ev.RefundID) {
			out = append(out, ev)
		}
	}
	return out
}

func logIDs(events []loggedEvent) []string {
	var out []string
	for _, ev := range events {
		out = append(out, ev.ID)
	}
	return out
}

// The platform's webhook endpoint is down for a while — answering 503,
// then refusing every delivery for good — while cases are refunded. The
// platform catches up from GET /v1/events while it is still down, and once
// it is back an admin redelivers what failed: the platform has every event
// once after deduplicating by event id, each event the same bytes from the
// log and from its webhook, and the access revocation (refund.succeeded)
// of every case.
func TestPlatformCatchesUpThroughTheEventLogAndRedeliveryAfterItsEndpointWasDown(t *testing.T) {
	s := newStack(t, stackOptions{})
	receiver := s.world.Platform

	// Up: the first case's events arrive as webhooks, and the platform
	// keeps its place in the event log.
	before := s.refundAutomatically("it-wh-up")
	early, cursor := s.readEventLog("")
	if types := eventsOf(early, before); len(types) < 3 || types[len(types)-1].Type != "refund.succeeded" {
		t.Fatalf("the log of the first case: %v", logIDs(types))
	}
	s.waitForDeliveries(early, "delivered", func(d delivery) bool { return d.Status == "delivered" })

	// Down: answering 503, the deliveries fail and are retried.
	receiver.Refuse(http.StatusServiceUnavailable)
	down := []string{s.refundAutomatically("it-wh-down-1"), s.refundAutomatically("it-wh-down-2")}
	missed, _ := s.readEventLog(cursor)
	s.waitForDeliveries(missed, "failing with a 503", func(d delivery) bool {
		return (d.Status == "failing" || d.Status == "dead") && slices.Contains(d.statuses(), 503)
	})
	// Then refusing for good: the failing ones end in the dead letter at
	// their next try, the next case's at its first.
	receiver.Refuse(http.StatusGone)
	down = append(down, s.refundAutomatically("it-wh-down-3"))
	missed, cursor = s.readEventLog(cursor)
	dead := s.waitForDeliveries(missed, "dead", func(d delivery) bool { return d.Status == "dead" })

	// Catching up from the event log while the endpoint is still down:
	// every event of the three cases, once, in the order of each case's
	// steps, and nothing from before the cursor.
	if got, want := logIDs(missed), logIDs(eventsOf(missed, down...)); len(got) == 0 || !slices.Equal(got, want) {
		t.Fatalf("the log since the cursor: %v, want the down cases' events %v", got, want)
	}
	for _, id := range down {
		evs := eventsOf(missed, id)
		if len(evs) < 3 || evs[0].Type != "refund.submitted" || evs[len(evs)-1].Type != "refund.succeeded" {
			t.Errorf("case %s in the log: %v", id, logIDs(evs))
		}
	}
	if ids := logIDs(missed); len(slices.Compact(slices.Sorted(slices.Values(ids)))) != len(ids) {
		t.Fatalf("the log repeats an event: %v", ids)
	}
	received := receiver.Deliveries()
	for _, ev := range missed {
		if receiver.Body(ev.ID) != nil {
			t.Fatalf("%s reached the platform while it was down", ev.ID)
		}
	}
	if tail, _ := s.readEventLog(cursor); len(tail) != 0 {
		t.Fatalf("the log's tail holds %v", logIDs(tail))
	}

	// Back up: an admin redelivers every dead delivery (the platform may
	// list them, only an admin redelivers).
	receiver.Refuse(0)
	for _, ev := range missed {
		d := dead[ev.ID]
		if code := s.do(platform, "POST", "/v1/webhook-deliveries/"+d.ID+"/redeliver", nil, nil); code != http.StatusForbidden {
			t.Fatalf("the platform redelivered %s: %d", d.ID, code)
		}
		var again delivery
		if code := s.do(admin, "POST", "/v1/webhook-deliveries/"+d.ID+"/redeliver", nil, &again); code != http.StatusAccepted || again.Status != "pending" {
			t.Fatalf("redeliver %s: %d %+v", d.ID, code, again)
		}
	}
	delivered := s.waitForDeliveries(missed, "delivered", func(d delivery) bool { return d.Status == "delivered" })
	for _, ev := range missed {
		st := delivered[ev.ID].statuses()
		if len(st) < 2 || st[len(st)-1] != http.StatusNoContent || st[len(st)-2] != http.StatusGone {
			t.Errorf("%s's tries: %v, want its failures then 204", ev.ID, st)
		}
	}
	if receiver.Deliveries() < received+len(missed) {
		t.Fatalf("%d deliveries arrived after the redelivery, want at least %d", receiver.Deliveries()-received, len(missed))
	}

	// After deduplication by event id the platform has every event of the
	// log once, whichever way it came, with the same bytes both ways.
	all, _ := s.readEventLog("")
	var heard []string
	for _, ev := range receiver.Events() {
		heard = append(heard, ev.ID)
	}
	if got, want := slices.Sorted(slices.Values(heard)), slices.Sorted(slices.Values(logIDs(all))); !slices.Equal(got, want) {
		t.Fatalf("the platform heard %v\nthe log holds %v", got, want)
	}
	for _, ev := range all {
		if body := receiver.Body(ev.ID); !bytes.Equal(body, ev.Body) {
			t.Errorf("%s differs between its webhook and the log:\n%s\n%s", ev.ID, body, ev.Body)
		}
	}
	for _, id := range append(down, before) {
		if receiver.Event(id, "refund.succeeded") == nil {
			t.Errorf("the platform never heard that case %s was refunded", id)
		}
	}
}

// An admin finds a delivery the platform refused in the console, with its
// tries, and redelivers it with the row's button; it reaches the platform.
func TestAdminRedeliversAFailedWebhookFromTheConsole(t *testing.T) {
	s := newStack(t, stackOptions{})
	receiver := s.world.Platform
	receiver.Refuse(http.StatusGone)
	id := s.refundAutomatically("it-wh-console")
	events, _ := s.readEventLog("")
	dead := s.waitForDeliveries(events, "dead", func(d delivery) bool { return d.Status == "dead" })
	succeeded := eventsOf(events, id)[len(eventsOf(events, id))-1]
	if succeeded.Type != "refund.succeeded" {
		t.Fatalf("the case's last event: %s", succeeded.ID)
	}
	row := fmt.Sprintf(`article.delivery[data-delivery=%q]`, dead[succeeded.ID].ID)

	b := newBrowser(t)
	b.signIn(s, admin)
	var nav []string
	b.run(chromedp.Evaluate(`[...document.querySelectorAll("header nav a")].map(a => a.getAttribute("href"))`, &nav))
	if !slices.Contains(nav, "/console/webhooks") {
		t.Fatalf("the admin's menu lacks the webhooks page: %v", nav)
	}
	b.visit(s, "/console/webhooks", "webhooks")
	if n := b.count("#deliveries-dead article.delivery"); n != len(events) {
		t.Fatalf("%d dead deliveries shown, want %d", n, len(events))
	}
	var shown string
	b.run(chromedp.Text(row, &shown, chromedp.ByQuery))
	for _, want := range []string{"refund.succeeded", succeeded.ID, "410", id} {
		if !strings.Contains(shown, want) {
			t.Errorf("the row does not show %q:\n%s", want, shown)
		}
	}
	b.screenshot("webhooks")
	b.inChinese("webhooks-zh")

	receiver.Refuse(0)
	b.run(
		chromedp.Click(row+` form.redeliver button`, chromedp.ByQuery),
		chromedp.WaitVisible(`main[data-page="webhooks"] .alert.ok`, chromedp.ByQuery),
	)
	if n := b.count(row); n != 0 {
		t.Fatal("the redelivered delivery is still listed as failed")
	}
	for deadline := time.Now().Add(time.Minute); receiver.Body(succeeded.ID) == nil; time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%s did not reach the platform after its redelivery", succeeded.ID)
		}
	}
	if !bytes.Equal(receiver.Body(succeeded.ID), succeeded.Body) {
		t.Fatalf("the redelivered body differs from the log's:\n%s\n%s", receiver.Body(succeeded.ID), succeeded.Body)
	}
	if got := receiver.Events(); len(got) != 1 || got[0].ID != succeeded.ID {
		t.Fatalf("the platform heard %v, only the redelivered one was sent again", got)
	}

	// The rest at once, with "redeliver all failed since" (by default a
	// day ago). The page shows the last form's flash: the next page's is
	// the one to wait for.
	b.run(
		chromedp.Evaluate(`document.querySelector(".alert.ok").remove()`, nil),
		chromedp.Click(`form.redeliver-failed button`, chromedp.ByQuery),
		chromedp.WaitVisible(`main[data-page="webhooks"] .alert.ok`, chromedp.ByQuery),
	)
	var flash string
	b.run(chromedp.Text(`.alert.ok`, &flash, chromedp.ByQuery))
	if !strings.Contains(flash, "Every failed delivery") {
		t.Fatalf("after redelivering all: %q", flash)
	}
	if n := b.count("article.delivery"); n != 0 {
		t.Fatalf("%d deliveries still listed after redelivering all: %v", n, b.texts("article.delivery"))
	}
	s.waitForDeliveries(events, "delivered", func(d delivery) bool { return d.Status == "delivered" })
	b.noErrors()
}
