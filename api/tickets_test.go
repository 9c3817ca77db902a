package api_test

import (
	"context"
	"encoding/csv"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/refundflow/refundflow"
	"github.com/refundflow/refundflow/notify"
	"github.com/refundflow/refundflow/postgres"
	"github.com/refundflow/refundflow/sla"
	"github.com/refundflow/refundflow/ticket"
)

var (
	adaAgent = refundflow.Actor{Kind: "agent", ID: "key_ada", Name: "Ada"}
	bobAgent = refundflow.Actor{Kind: "agent", ID: "key_bob", Name: "Bob"}
)

// openTicket records a ticket as POST /v1/tickets does before it starts
// the workflow (the API tests run without Temporal).
func (e *env) openTicket(id string, tier sla.Tier, n postgres.NewTicket) *postgres.Ticket {
	e.t.Helper()
	n.ID, n.Tier = id, tier
	if n.Priority == "" {
		n.Priority = sla.Normal
	}
	if n.LearnerID == "" && n.OrderID == "" {
		n.LearnerID = "learner-" + id
	}
	if n.OpenedAt.IsZero() {
		n.OpenedAt = time.Now().UTC()
	}
	n.Subject, n.Body, n.Level = "视频无法播放", "Lesson 3 does not play.", max(n.Level, 1)
	t, err := e.db.OpenTicket(context.Background(), n)
	if err != nil {
		e.t.Fatal(err)
	}
	return t
}

// step records what the ticket's workflow would: a later state of the ticket.
func (e *env) step(t *postgres.Ticket, seq int, event string, snap ticket.Snapshot) {
	e.t.Helper()
	if snap.EscalationLevel == 0 {
		snap.EscalationLevel = 1
	}
	if snap.SLAState == "" {
		snap.SLAState = "ok"
	}
	snap.SLA = t.SLA
	snap.SLA.EscalationLevel = snap.EscalationLevel
	if err := e.db.RecordTicketStep(context.Background(), ticket.Step{
		TicketID: t.ID, Seq: seq, At: time.Now().UTC(), Actor: adaAgent, Event: event, Snapshot: snap,
	}, notify.Outbox{}); err != nil {
		e.t.Fatal(err)
	}
}

func dur(d time.Duration) *time.Duration { return &d }

func TestSLAPoliciesShipWithTheSpecDefaultsAndAdminsEditThem(t *testing.T) {
	e := newEnv(t)
	for tier, want := range map[string]map[string]any{
		"free": {"tier": "free", "calendar": "cn", "first_response": "24h", "resolution": "72h", "warn_at": 0.8},
		"paid": {"tier": "paid", "calendar": "24x7", "first_response": "2h", "resolution": "24h", "warn_at": 0.8},
		"vip":  {"tier": "vip", "calendar": "24x7", "first_response": "30m", "resolution": "4h", "warn_at": 0.8},
	} {
		r := e.do(admin, "GET", "/v1/sla-policies/"+tier, nil)
		if got := r.json(t); r.Status != http.StatusOK || !sameJSON(got, want) {
			t.Fatalf("GET %s: %d %v, want %v", tier, r.Status, got, want)
		}
	}
	body := map[string]any{"calendar": "24x7", "first_response": "5s", "resolution": "1h30m", "warn_at": 0.5}
	r := e.do(admin, "PUT", "/v1/sla-policies/vip", body)
	want := map[string]any{"tier": "vip", "calendar": "24x7", "first_response": "5s", "resolution": "1h30m", "warn_at": 0.5}
	if r.Status != http.StatusOK || !sameJSON(r.json(t), want) {
		t.Fatalf("PUT: %d %s", r.Status, r.Body)
	}
	if got := e.do(admin, "GET", "/v1/sla-policies/vip", nil).json(t); !sameJSON(got, want) {
		t.Fatalf("after PUT: %v", got)
	}
	// A ticket opened now pins the new targets; urgent halves them.
	tk := e.openTicket("tk-pinned", sla.VIP, postgres.NewTicket{Priority: sla.Urgent})
	if tk.Policy.FirstResponse != 2500*time.Millisecond || tk.Policy.Resolution != 45*time.Minute {
		t.Fatalf("pinned %+v", tk.Policy)
	}
}

func sameJSON(got, want map[string]any) bool {
	if len(got) != len(want) {
		return false
	}
	for k, v := range want {
		if got[k] != v {
			return false
		}
	}
	return true
}

func TestBadSLAPoliciesAreRefusedAndNothingChanges(t *testing.T) {
	e := newEnv(t)
	good := map[string]any{"calendar": "cn", "first_response": "24h", "resolution": "72h", "warn_at": 0.8}
	tests := []struct {
		name   string
		tier   string
		body   any
		status int
		code   string
		field  string
	}{
		{"unknown tier", "gold", good, 404, "unknown_tier", ""},
		{"unknown calendar", "free", with(good, "calendar", "mars"), 422, "unknown_calendar", "calendar"},
		{"duration that does not parse", "free", with(good, "first_response", "one day"), 400, "invalid_duration", "first_response"},
		{"duration without a unit", "free", with(good, "resolution", "72"), 400, "invalid_duration", "resolution"},
		{"negative duration", "free", with(good, "resolution", "-72h"), 400, "duration_out_of_range", "resolution"},
		{"duration as a number", "free", with(good, "first_response", 86400), 400, "invalid_type", "first_response"},
		{"warn_at above 1", "free", with(good, "warn_at", 1.2), 400, "invalid_warn_at", "warn_at"},
		{"warn_at 0", "free", with(good, "warn_at", 0), 400, "invalid_warn_at", "warn_at"},
		{"warn_at 1", "free", with(good, "warn_at", 1), 400, "invalid_warn_at", "warn_at"},
		{"warn_at missing", "free", with(good, "warn_at", nil), 400, "missing_field", "warn_at"},
		{"tier of another policy", "free", with(good, "tier", "vip"), 400, "tier_mismatch", "tier"},
		{"unknown field", "free", with(good, "escalate_after", "1h"), 400, "unknown_field", "escalate_after"},
		{"not JSON", "free", `{"calendar": `, 400, "malformed_json", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.do(admin, "PUT", "/v1/sla-policies/"+tt.tier, tt.body)
			if code, field := r.errorCode(t); r.Status != tt.status || code != tt.code || field != tt.field {
				t.Fatalf("%d %s %q, want %d %s %q\n%s", r.Status, code, field, tt.status, tt.code, tt.field, r.Body)
			}
		})
	}
	if r := e.do(admin, "GET", "/v1/sla-policies/gold", nil); r.Status != http.StatusNotFound {
		t.Fatalf("GET an unknown tier: %d", r.Status)
	}
	if r := e.do(admin, "GET", "/v1/sla-policies/a%00b", nil); r.Status != http.StatusBadRequest {
		t.Fatalf("GET a malformed tier: %d", r.Status)
	}
	if got := e.do(admin, "GET", "/v1/sla-policies/free", nil).json(t); !sameJSON(got, with(good, "tier", "free")) {
		t.Fatalf("a refused PUT changed the policy: %v", got)
	}
}

func TestBadTicketsAreRefusedAndNothingIsStored(t *testing.T) {
	e := newEnv(t)
	e.do(platform, "PUT", "/v1/products/course-1", recorded())
	e.do(platform, "PUT", "/v1/orders/order-1", order())
	good := map[string]any{"tier": "free", "learner_id": "learner-1", "subject": "Video does not play", "body": "Lesson 3."}
	tests := []struct {
		name   string
		body   any
		status int
		code   string
		field  string
	}{
		{"unknown tier", with(good, "tier", "gold"), 400, "unknown_tier", "tier"},
		{"no tier", with(good, "tier", nil), 400, "unknown_tier", "tier"},
		{"unknown priority", with(good, "priority", "asap"), 400, "invalid_priority", "priority"},
		{"no subject", with(good, "subject", " "), 400, "missing_field", "subject"},
		{"no body", with(good, "body", nil), 400, "missing_field", "body"},
		{"subject too long", with(good, "subject", strings.Repeat("x", 201)), 400, "too_long", "subject"},
		{"nobody to answer", with(good, "learner_id", nil), 400, "missing_field", "learner_id"},
		{"bad email", with(good, "learner_email", "ada at example"), 400, "invalid_email", "learner_email"},
		{"bad locale", with(good, "locale", "fr"), 400, "invalid_locale", "locale"},
		{"bad id", with(good, "order_id", "a b"), 400, "invalid_id", "order_id"},
		{"unknown order", with(good, "order_id", "order-9"), 422, "unknown_order", "order_id"},
		{"unknown refund", with(good, "refund_id", "rf_nope"), 422, "unknown_refund", "refund_id"},
		{"another learner's order", with(good, "order_id", "order-1", "learner_id", "learner-2"), 422, "learner_mismatch", "learner_id"},
		{"unknown field", with(good, "severity", "high"), 400, "unknown_field", "severity"},
		{"NUL in the body", with(good, "body", "a\u0000b"), 400, "invalid_text", "body"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.do(platform, "POST", "/v1/tickets", tt.body)
			if code, field := r.errorCode(t); r.Status != tt.status || code != tt.code || field != tt.field {
				t.Fatalf("%d %s %q, want %d %s %q\n%s", r.Status, code, field, tt.status, tt.code, tt.field, r.Body)
			}
		})
	}
	if got := e.do(agent, "GET", "/v1/tickets", nil).json(t)["data"].([]any); len(got) != 0 {
		t.Fatalf("refused tickets were stored: %v", got)
	}
}

// The ticket JSON is the SPEC 5 shape; a ticket linked to an order takes
// its learner from it.
func TestTicketShowsEveryDeadlineInTheSpecShape(t *testing.T) {
	e := newEnv(t)
	e.do(platform, "PUT", "/v1/products/course-1", recorded())
	e.do(platform, "PUT", "/v1/orders/order-1", order())
	opened := time.Date(2026, 4, 3, 9, 0, 0, 0, time.UTC) // Friday 17:00 in Shanghai
	e.openTicket("tk-shape", sla.Free, postgres.NewTicket{OrderID: "order-1", OpenedAt: opened})

	r := e.do(agent, "GET", "/v1/tickets/tk-shape", nil)

	if r.Status != http.StatusOK {
		t.Fatalf("%d %s", r.Status, r.Body)
	}
	got := r.json(t)
	for _, k := range []string{"id", "status", "tier", "priority", "learner_id", "order_id", "refund_id", "subject", "messages", "sla"} {
		if _, ok := got[k]; !ok {
			t.Errorf("no %s in %v", k, got)
		}
	}
	if got["learner_id"] != "learner-1" || got["order_id"] != "order-1" || got["refund_id"] != nil || got["status"] != "open" {
		t.Fatalf("ticket %v", got)
	}
	s := got["sla"].(map[string]any)
	if s["calendar"] != "cn" || s["paused"] != false || s["escalation_level"] != float64(1) ||
		s["first_response_due_at"] != "2026-04-09T15:30:00+08:00" || s["resolution_due_at"] != "2026-04-17T12:30:00+08:00" {
		t.Fatalf("sla %v", s)
	}
	if w, b := s["warnings"].([]any), s["breaches"].([]any); len(w) != 0 || len(b) != 0 {
		t.Fatalf("warnings %v breaches %v", w, b)
	}
	msgs := got["messages"].([]any)
	if len(msgs) != 1 || msgs[0].(map[string]any)["author"] != "customer" {
		t.Fatalf("messages %v", msgs)
	}
	if got["workflow_id"] != "ticket/tk-shape" {
		t.Fatalf("workflow %v", got["workflow_id"])
	}
	if r := e.do(platform, "GET", "/v1/tickets/tk-nope", nil); r.Status != http.StatusNotFound {
		t.Fatalf("unknown ticket: %d", r.Status)
	}
	for _, id := range []string{"a%00b", "a%20b"} {
		if r := e.do(platform, "GET", "/v1/tickets/"+id, nil); r.Status != http.StatusBadRequest {
			t.Fatalf("malformed ticket id %q: %d", id, r.Status)
		}
	}
}

func TestTicketCommandsRefuseBadInputAndClosedTickets(t *testing.T) {
	e := newEnv(t)
	tk := e.openTicket("tk-closed", sla.Paid, postgres.NewTicket{})
	e.step(tk, 1, "resolved", ticket.Snapshot{Status: refundflow.TicketResolved})
	e.step(tk, 2, "closed", ticket.Snapshot{Status: refundflow.TicketClosed})
	tests := []struct {
		name, path string
		body       any
		status     int
		code       string
	}{
		{"message to a closed ticket", "/v1/tickets/tk-closed/messages", map[string]any{"author": "customer", "body": "hello?"}, 409, "ticket_closed"},
		{"status of a closed ticket", "/v1/tickets/tk-closed/status", map[string]any{"status": "open"}, 409, "ticket_closed"},
		{"unknown ticket", "/v1/tickets/tk-nope/messages", map[string]any{"author": "agent", "body": "hi"}, 404, "not_found"},
		{"unknown author", "/v1/tickets/tk-closed/messages", map[string]any{"author": "bot", "body": "hi"}, 400, "invalid_author"},
		{"empty message", "/v1/tickets/tk-closed/messages", map[string]any{"author": "agent", "body": ""}, 400, "missing_field"},
		{"NUL in a message", "/v1/tickets/tk-closed/messages", map[string]any{"author": "agent", "body": "a\u0000b"}, 400, "invalid_text"},
		{"unknown status", "/v1/tickets/tk-closed/status", map[string]any{"status": "pending"}, 400, "invalid_status"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.do(agent, "POST", tt.path, tt.body)
			if code, _ := r.errorCode(t); r.Status != tt.status || code != tt.code {
				t.Fatalf("%d %s, want %d %s\n%s", r.Status, code, tt.status, tt.code, r.Body)
			}
		})
	}
}

func TestLearnersRateResolvedTicketsOnly(t *testing.T) {
	e := newEnv(t)
	tk := e.openTicket("tk-rated", sla.Paid, postgres.NewTicket{})
	if r := e.do(platform, "POST", "/v1/tickets/tk-rated/csat", map[string]any{"score": 5}); r.Status != http.StatusConflict {
		t.Fatalf("rating an open ticket: %d %s", r.Status, r.Body)
	} else if code, _ := r.errorCode(t); code != "not_resolved" {
		t.Fatalf("code %s", code)
	}
	e.step(tk, 1, "resolved", ticket.Snapshot{Status: refundflow.TicketResolved})
	for _, bad := range []any{map[string]any{"score": 0}, map[string]any{"score": 6}, map[string]any{}, map[string]any{"score": 4.5}} {
		if r := e.do(platform, "POST", "/v1/tickets/tk-rated/csat", bad); r.Status != http.StatusBadRequest {
			t.Fatalf("score %v: %d", bad, r.Status)
		}
	}
	e.do(platform, "POST", "/v1/tickets/tk-rated/csat", map[string]any{"score": 2})
	r := e.do(platform, "POST", "/v1/tickets/tk-rated/csat", map[string]any{"score": 4, "comment": "quick, thanks"})
	c, _ := r.json(t)["csat"].(map[string]any)
	if r.Status != http.StatusOK || c["score"] != float64(4) || c["comment"] != "quick, thanks" {
		t.Fatalf("%d csat %v", r.Status, c)
	}
	if r := e.do(platform, "POST", "/v1/tickets/tk-nope/csat", map[string]any{"score": 4}); r.Status != http.StatusNotFound {
		t.Fatalf("unknown ticket: %d", r.Status)
	}
}

func TestTicketListFiltersByStatusTierLevelAndSLAState(t *testing.T) {
	e := newEnv(t)
	base := time.Now().UTC().Add(-time.Hour)
	free := e.openTicket("tk-1", sla.Free, postgres.NewTicket{OpenedAt: base})
	vip := e.openTicket("tk-2", sla.VIP, postgres.NewTicket{OpenedAt: base.Add(time.Minute)})
	e.openTicket("tk-3", sla.VIP, postgres.NewTicket{OpenedAt: base.Add(2 * time.Minute)})
	e.step(vip, 1, "sla_breached", ticket.Snapshot{Status: refundflow.TicketOpen, EscalationLevel: 2, SLAState: "breached"})
	e.step(free, 1, "resolved", ticket.Snapshot{Status: refundflow.TicketResolved})

	ids := func(query string) []string {
		t.Helper()
		r := e.do(agent, "GET", "/v1/tickets"+query, nil)
		if r.Status != http.StatusOK {
			t.Fatalf("GET %s: %d %s", query, r.Status, r.Body)
		}
		var out []string
		for _, d := range r.json(t)["data"].([]any) {
			out = append(out, d.(map[string]any)["id"].(string))
		}
		return out
	}
	for query, want := range map[string][]string{
		"":                          {"tk-3", "tk-2", "tk-1"},
		"?tier=vip":                 {"tk-3", "tk-2"},
		"?level=2":                  {"tk-2"},
		"?sla_state=breached":       {"tk-2"},
		"?sla_state=ok&status=open": {"tk-3"},
		"?status=resolved":          {"tk-1"},
		"?learner_id=learner-tk-1":  {"tk-1"},
		"?tier=paid":                nil,
	} {
		if got := ids(query); !slices.Equal(got, want) {
			t.Errorf("GET /v1/tickets%s: %v, want %v", query, got, want)
		}
	}
	first := e.do(agent, "GET", "/v1/tickets?limit=2", nil).json(t)
	cursor, _ := first["next_cursor"].(string)
	if got := ids("?limit=2&cursor=" + cursor); cursor == "" || !slices.Equal(got, []string{"tk-1"}) {
		t.Fatalf("second page %v (cursor %q)", got, cursor)
	}
	for _, bad := range []string{"?status=pending", "?tier=gold", "?level=4", "?sla_state=late", "?limit=0", "?cursor=x", "?learner_id=a%00b"} {
		if r := e.do(agent, "GET", "/v1/tickets"+bad, nil); r.Status != http.StatusBadRequest {
			t.Errorf("GET %s: %d", bad, r.Status)
		}
	}
}

// The report measures business time on the SLA clocks: p50/p90 of first
// response and resolution, breach rate, first-contact resolution, CSAT —
// by tier and by the agent who answered first.
func TestSLAReportByTierAndAgent(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	quick := e.openTicket("tk-quick", sla.Free, postgres.NewTicket{})
	e.step(quick, 1, "resolved", ticket.Snapshot{Status: refundflow.TicketResolved, FirstResponder: &adaAgent,
		FirstResponseBusiness: dur(time.Hour), ResolutionBusiness: dur(3 * time.Hour), AgentMessages: 1})
	slow := e.openTicket("tk-slow", sla.Free, postgres.NewTicket{})
	e.step(slow, 1, "resolved", ticket.Snapshot{Status: refundflow.TicketResolved, FirstResponder: &adaAgent, SLAState: "breached",
		FirstResponseBusiness: dur(3 * time.Hour), ResolutionBusiness: dur(10 * time.Hour), AgentMessages: 2, EscalationLevel: 2})
	answered := e.openTicket("tk-vip-answered", sla.VIP, postgres.NewTicket{})
	e.step(answered, 1, "first_response", ticket.Snapshot{Status: refundflow.TicketOpen, FirstResponder: &bobAgent,
		FirstResponseBusiness: dur(10 * time.Minute), AgentMessages: 1})
	ignored := e.openTicket("tk-vip-ignored", sla.VIP, postgres.NewTicket{})
	e.step(ignored, 1, "sla_breached", ticket.Snapshot{Status: refundflow.TicketOpen, SLAState: "breached", EscalationLevel: 2})
	for id, score := range map[string]int{"tk-quick": 5, "tk-slow": 3} {
		if _, err := e.db.RateTicket(ctx, id, postgres.CSAT{Score: score, RatedAt: time.Now()}, "key_platform"); err != nil {
			t.Fatal(err)
		}
	}

	r := e.do(approver, "GET", "/v1/reports/sla", nil)

	if r.Status != http.StatusOK {
		t.Fatalf("%d %s", r.Status, r.Body)
	}
	rep := r.json(t)
	rows := func(group string) map[string]map[string]any {
		out := map[string]map[string]any{}
		for _, x := range rep[group].([]any) {
			row := x.(map[string]any)
			out[row["key"].(string)] = row
		}
		return out
	}
	tiers, agents := rows("by_tier"), rows("by_agent")
	checkRow(t, "free", tiers["free"], map[string]any{
		"tickets": 2.0, "breached": 1.0, "breach_rate": 0.5, "responded": 2.0,
		"first_response_p50_seconds": 7200.0, "first_response_p90_seconds": 10080.0,
		"resolved": 2.0, "resolution_p50_seconds": 23400.0, "resolution_p90_seconds": 33480.0,
		"first_contact_resolutions": 1.0, "first_contact_resolution_rate": 0.5, "csat_count": 2.0, "csat_average": 4.0,
	})
	checkRow(t, "paid", tiers["paid"], map[string]any{"tickets": 0.0, "breach_rate": nil, "first_response_p50_seconds": nil, "csat_average": nil})
	checkRow(t, "vip", tiers["vip"], map[string]any{
		"tickets": 2.0, "breached": 1.0, "breach_rate": 0.5, "responded": 1.0, "first_response_p50_seconds": 600.0,
		"resolved": 0.0, "resolution_p50_seconds": nil, "first_contact_resolution_rate": nil, "csat_count": 0.0,
	})
	checkRow(t, "ada", agents["key_ada"], map[string]any{"name": "Ada", "tickets": 2.0, "csat_average": 4.0, "first_contact_resolutions": 1.0})
	checkRow(t, "bob", agents["key_bob"], map[string]any{"name": "Bob", "tickets": 1.0, "first_response_p90_seconds": 600.0})
	checkRow(t, "nobody", agents[""], map[string]any{"tickets": 1.0, "breached": 1.0, "responded": 0.0})

	csvResp := e.do(admin, "GET", "/v1/reports/sla?format=csv", nil)
	records, err := csv.NewReader(strings.NewReader(string(csvResp.Body))).ReadAll()
	if err != nil || csvResp.Status != http.StatusOK || !strings.HasPrefix(csvResp.Header.Get("Content-Type"), "text/csv") {
		t.Fatalf("csv: %d %v\n%s", csvResp.Status, err, csvResp.Body)
	}
	if len(records) != 1+3+3 || records[0][0] != "group" || records[1][1] != "free" || records[1][5] != "0.5" || records[2][5] != "" {
		t.Fatalf("csv %v", records)
	}
	if r := e.do(admin, "GET", "/v1/reports/sla?format=xml", nil); r.Status != http.StatusBadRequest {
		t.Fatalf("format=xml: %d", r.Status)
	}
}

func checkRow(t *testing.T, name string, row map[string]any, want map[string]any) {
	t.Helper()
	if row == nil {
		t.Fatalf("no row %s", name)
	}
	for k, v := range want {
		if row[k] != v {
			t.Errorf("%s.%s = %v, want %v", name, k, row[k], v)
		}
	}
}

// A platform key speaks for the learner: it may not answer as an agent,
// nor resolve, close or pause a ticket (the SLA report credited
// "dev-platform" as an agent with 100 % first-contact resolution), and it
// is refused before anything is looked up. Only taking a ticket back to
// open is the learner's.
func TestThePlatformMayOnlyWriteAndReopenAsTheLearner(t *testing.T) {
	e := newEnv(t)
	e.openTicket("tk-1", sla.Paid, postgres.NewTicket{})
	for _, c := range []struct {
		name, path string
		body       map[string]any
		code       string
		field      string
	}{
		{"answer as an agent", "/v1/tickets/tk-1/messages", map[string]any{"author": "agent", "body": "Fixed, thanks!"}, "author_not_allowed", "author"},
		{"resolve", "/v1/tickets/tk-1/status", map[string]any{"status": "resolved"}, "status_not_allowed", "status"},
		{"close", "/v1/tickets/tk-1/status", map[string]any{"status": "closed"}, "status_not_allowed", "status"},
		{"pause the clocks", "/v1/tickets/tk-1/status", map[string]any{"status": "waiting_on_customer"}, "status_not_allowed", "status"},
		{"on a ticket that does not exist", "/v1/tickets/tk-nope/status", map[string]any{"status": "resolved"}, "status_not_allowed", "status"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := e.do(platform, "POST", c.path, c.body)
			if code, field := r.errorCode(t); r.Status != http.StatusForbidden || code != c.code || field != c.field {
				t.Fatalf("%d %s field=%q, want 403 %s field=%q\n%s", r.Status, code, field, c.code, c.field, r.Body)
			}
		})
	}
	// What is the learner's gets past the rule (and finds no such ticket).
	for _, body := range []map[string]any{{"author": "customer", "body": "still broken"}, {"status": "open"}} {
		path := "/v1/tickets/tk-nope/messages"
		if body["status"] != nil {
			path = "/v1/tickets/tk-nope/status"
		}
		if r := e.do(platform, "POST", path, body); r.Status != http.StatusNotFound {
			t.Fatalf("the platform's %v: %d %s", body, r.Status, r.Body)
		}
	}
	if r := e.do(agent, "POST", "/v1/tickets/tk-1/csat", map[string]any{"score": 5}); r.Status != http.StatusForbidden {
		t.Fatalf("an agent rated a ticket: %d", r.Status)
	}
}
