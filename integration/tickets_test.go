package integration

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"testing"
	"time"

	"go.temporal.io/sdk/converter"

	"github.com/refundflow/refundflow"
)

// ticket is the part of the ticket JSON the tests read.
type ticket struct {
	ID       string                  `json:"id"`
	Status   refundflow.TicketStatus `json:"status"`
	Tier     string                  `json:"tier"`
	RefundID *string                 `json:"refund_id"`
	Messages []struct {
		Author string `json:"author"`
	} `json:"messages"`
	SLA struct {
		Calendar           string     `json:"calendar"`
		FirstResponseDueAt *time.Time `json:"first_response_due_at"`
		ResolutionDueAt    *time.Time `json:"resolution_due_at"`
		Paused             bool       `json:"paused"`
		EscalationLevel    int        `json:"escalation_level"`
		Warnings           []slaEvent `json:"warnings"`
		Breaches           []slaEvent `json:"breaches"`
	} `json:"sla"`
	CSAT *struct {
		Score int `json:"score"`
	} `json:"csat"`
	Timeline []struct {
		Event string    `json:"event"`
		At    time.Time `json:"at"`
	} `json:"timeline"`
	WorkflowID string `json:"workflow_id"`
}

type slaEvent struct {
	Target string    `json:"target"`
	At     time.Time `json:"at"`
	DueAt  time.Time `json:"due_at"`
	Level  int       `json:"level"`
}

func (t ticket) stepAt(event string) (time.Time, bool) {
	for _, e := range t.Timeline {
		if e.Event == event {
			return e.At, true
		}
	}
	return time.Time{}, false
}

// waitForTicket polls the ticket until cond holds (or fails after a minute).
func (s *stack) waitForTicket(id string, what string, cond func(ticket) bool) ticket {
	s.t.Helper()
	deadline := time.Now().Add(time.Minute)
	var tk ticket
	for time.Now().Before(deadline) {
		if code := s.do(agent, "GET", "/v1/tickets/"+id, nil, &tk); code != http.StatusOK {
			s.t.Fatalf("GET ticket: %d", code)
		}
		if cond(tk) {
			return tk
		}
		time.Sleep(50 * time.Millisecond)
	}
	s.t.Fatalf("ticket %s: not %s after a minute: %+v", id, what, tk.SLA)
	return tk
}

// searchAttribute reads a workflow's search attribute as Temporal holds it
// (what the Temporal UI shows and filters on).
func (s *stack) searchAttribute(workflowID, name string, into any) bool {
	s.t.Helper()
	d, err := s.app.Temporal.DescribeWorkflowExecution(context.Background(), workflowID, "")
	if err != nil {
		s.t.Fatal(err)
	}
	p, ok := d.GetWorkflowExecutionInfo().GetSearchAttributes().GetIndexedFields()[name]
	if !ok {
		return false
	}
	if err := converter.GetDefaultDataConverter().FromPayload(p, into); err != nil {
		s.t.Fatal(err)
	}
	return true
}

// With second-scale SLA policies a VIP ticket nobody answers shows its
// warning, then its breach and level 2, in the ticket JSON and in Temporal;
// then it goes through its whole life over the API.
func TestUnansweredVIPTicketWarnsThenBreachesAndEscalates(t *testing.T) {
	s := newStack(t, stackOptions{})
	policy := map[string]any{"calendar": "24x7", "first_response": "2s", "resolution": "1m", "warn_at": 0.5}
	if code := s.do(admin, "PUT", "/v1/sla-policies/vip", policy, nil); code != http.StatusOK {
		t.Fatalf("PUT policy: %d", code)
	}

	var tk ticket
	code := s.do(platform, "POST", "/v1/tickets", map[string]any{
		"tier": "vip", "learner_id": "learner-vip", "learner_email": "vip@example.com", "locale": "en",
		"subject": "Live class link does not open", "body": "The link in the email gives a 404.",
	}, &tk)
	if code != http.StatusCreated || tk.SLA.FirstResponseDueAt == nil || tk.SLA.EscalationLevel != 1 {
		t.Fatalf("POST ticket: %d %+v", code, tk)
	}
	due := *tk.SLA.FirstResponseDueAt

	warned := s.waitForTicket(tk.ID, "warned", func(x ticket) bool { return len(x.SLA.Warnings) > 0 })
	if w := warned.SLA.Warnings[0]; w.Target != "first_response" || !w.At.Equal(due.Add(-time.Second)) || !w.DueAt.Equal(due) {
		t.Fatalf("warning %+v, want at %s (50 %% of 2s)", w, due.Add(-time.Second))
	}
	breached := s.waitForTicket(tk.ID, "at level 2", func(x ticket) bool { return x.SLA.EscalationLevel == 2 })
	if len(breached.SLA.Breaches) != 1 || !breached.SLA.Breaches[0].At.Equal(due) || breached.SLA.Breaches[0].Level != 2 {
		t.Fatalf("breaches %+v, want one at %s", breached.SLA.Breaches, due)
	}
	if at, ok := breached.stepAt("sla_breached"); !ok || at.Before(due) {
		t.Fatalf("breach recorded at %s, before its deadline %s", at, due)
	} else {
		t.Logf("breach recorded %s after the deadline", at.Sub(due))
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		var level int64
		var tier string
		if s.searchAttribute(tk.WorkflowID, "EscalationLevel", &level) && s.searchAttribute(tk.WorkflowID, "TicketTier", &tier) && level == 2 && tier == "vip" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Temporal shows level %d, tier %q", level, tier)
		}
		time.Sleep(50 * time.Millisecond)
	}

	// The agent answers; waiting on the learner pauses the clocks.
	var after ticket
	if code := s.do(agent, "POST", "/v1/tickets/"+tk.ID+"/messages", map[string]any{"author": "agent", "body": "Here is a new link."}, &after); code != http.StatusOK {
		t.Fatalf("agent message: %d", code)
	}
	if code := s.do(agent, "POST", "/v1/tickets/"+tk.ID+"/status", map[string]any{"status": "waiting_on_customer"}, &after); code != http.StatusOK || !after.SLA.Paused || after.SLA.ResolutionDueAt != nil {
		t.Fatalf("waiting on the customer: %d %+v", code, after.SLA)
	}
	var refused map[string]map[string]any
	if code := s.do(agent, "POST", "/v1/tickets/"+tk.ID+"/status", map[string]any{"status": "closed"}, &refused); code != http.StatusConflict || refused["error"]["code"] != "illegal_status_change" {
		t.Fatalf("waiting → closed: %d %v", code, refused)
	}
	if code := s.do(platform, "POST", "/v1/tickets/"+tk.ID+"/messages", map[string]any{"author": "customer", "body": "It works, thanks!"}, &after); code != http.StatusOK || after.Status != refundflow.TicketOpen || after.SLA.Paused {
		t.Fatalf("the learner answers: %d %s %+v", code, after.Status, after.SLA)
	}
	if code := s.do(agent, "POST", "/v1/tickets/"+tk.ID+"/status", map[string]any{"status": "resolved"}, &after); code != http.StatusOK || after.Status != refundflow.TicketResolved {
		t.Fatalf("resolve: %d %s", code, after.Status)
	}
	if code := s.do(platform, "POST", "/v1/tickets/"+tk.ID+"/csat", map[string]any{"score": 5}, &after); code != http.StatusOK || after.CSAT == nil || after.CSAT.Score != 5 {
		t.Fatalf("rating: %d %+v", code, after.CSAT)
	}
	if code := s.do(agent, "POST", "/v1/tickets/"+tk.ID+"/status", map[string]any{"status": "closed"}, &after); code != http.StatusOK || after.Status != refundflow.TicketClosed {
		t.Fatalf("close: %d %s", code, after.Status)
	}
	s.waitForClosed(tk.WorkflowID)
	s.saveHistory(tk.WorkflowID, "ticket-breached-resolved-closed")
	if code := s.do(platform, "POST", "/v1/tickets/"+tk.ID+"/messages", map[string]any{"author": "customer", "body": "One more thing"}, &refused); code != http.StatusConflict || refused["error"]["code"] != "ticket_closed" {
		t.Fatalf("message to a closed ticket: %d %v", code, refused)
	}

	var types []string
	for _, e := range s.world.Platform.Events() {
		var d map[string]any
		_ = json.Unmarshal(e.Data, &d)
		if d["ticket_id"] == tk.ID || d["id"] == tk.ID {
			types = append(types, e.Type)
		}
	}
	slices.Sort(types)
	if !slices.Equal(types, []string{"sla.breached", "ticket.escalated"}) {
		t.Fatalf("platform heard %v", types)
	}
	var report struct {
		ByTier []struct {
			Key        string   `json:"key"`
			Tickets    int      `json:"tickets"`
			BreachRate *float64 `json:"breach_rate"`
			CSAT       *float64 `json:"csat_average"`
		} `json:"by_tier"`
	}
	if code := s.do(approver, "GET", "/v1/reports/sla", nil, &report); code != http.StatusOK {
		t.Fatalf("report: %d", code)
	}
	vip := report.ByTier[2]
	if vip.Key != "vip" || vip.Tickets != 1 || vip.BreachRate == nil || *vip.BreachRate != 1 || vip.CSAT == nil || *vip.CSAT != 5 {
		t.Fatalf("vip row %+v", vip)
	}
}

// A learner's appeal of a rejected refund opens a ticket linked to the
// case, already at level 2.
func TestAppealOpensALinkedTicketAtLevel2(t *testing.T) {
	s := newStack(t, stackOptions{})
	s.seed("it-appeal", course("c-appeal"), 29900, 20*24*time.Hour)
	var c refundCase
	if code := s.do(platform, "POST", "/v1/refunds", map[string]any{"order_id": "it-appeal", "reason": "quality_issue"}, &c); code != http.StatusCreated {
		t.Fatalf("POST refund: %d", code)
	}
	s.waitFor(c.ID, refundflow.StatusAwaitingApproval)
	if code := s.do(approver, "POST", "/v1/refunds/"+c.ID+"/reject", map[string]any{"reason": "the lessons are all there"}, nil); code != http.StatusOK {
		t.Fatalf("reject: %d", code)
	}
	s.waitFor(c.ID, refundflow.StatusRejected)
	if code := s.do(platform, "POST", "/v1/refunds/"+c.ID+"/appeal", map[string]any{"note": "lesson 7 is a blank video"}, nil); code != http.StatusOK {
		t.Fatalf("appeal: %d", code)
	}

	deadline := time.Now().Add(time.Minute)
	var page struct {
		Data []ticket `json:"data"`
	}
	for len(page.Data) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("no ticket for the appeal after a minute")
		}
		time.Sleep(50 * time.Millisecond)
		if code := s.do(agent, "GET", "/v1/tickets?refund_id="+c.ID, nil, &page); code != http.StatusOK {
			t.Fatalf("list: %d", code)
		}
	}
	tk := page.Data[0]
	if len(page.Data) != 1 || tk.Tier != "paid" || tk.SLA.EscalationLevel != 2 || tk.RefundID == nil || *tk.RefundID != c.ID {
		t.Fatalf("appeal tickets %+v", page.Data)
	}
	var full ticket
	s.do(agent, "GET", "/v1/tickets/"+tk.ID, nil, &full)
	if len(full.Messages) != 1 || full.Messages[0].Author != "customer" {
		t.Fatalf("messages %+v", full.Messages)
	}
	if got := s.waitFor(c.ID, refundflow.StatusAwaitingApproval); !slices.Contains(got.events(), "ticket_opened") {
		t.Fatalf("the case's timeline %v does not say a ticket was opened", got.events())
	}
}
