package integration

import (
	"context"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/refundflow/refundflow"
)

const (
	platform = refundflow.RolePlatform
	agent    = refundflow.RoleAgent
	approver = refundflow.RoleApprover
	admin    = refundflow.RoleAdmin
)

// seed pushes a product and an order through the API, as a platform would.
func (s *stack) seed(orderID string, product map[string]any, amount int64, age time.Duration) {
	s.t.Helper()
	pid := product["id"].(string)
	if code := s.do(platform, "PUT", "/v1/products/"+pid, product, nil); code/100 != 2 {
		s.t.Fatalf("product: %d", code)
	}
	s.world.Stripe.CreatePayment(stripePayment("pi_"+orderID, amount))
	order := map[string]any{
		"learner_id": "learner-" + orderID, "learner_email": orderID + "@example.com", "locale": "en",
		"product_id": pid, "amount": amount, "currency": "CNY",
		"purchased_at": time.Now().Add(-age).UTC().Format(time.RFC3339), "payment_intent": "pi_" + orderID,
	}
	if code := s.do(platform, "PUT", "/v1/orders/"+orderID, order, nil); code/100 != 2 {
		s.t.Fatalf("order: %d", code)
	}
}

func course(id string) map[string]any {
	return map[string]any{"id": id, "type": "recorded_course", "title": "Course " + id, "lessons_total": 20, "alternatives": []string{}}
}

func TestReadyWhenPostgresAndTemporalAnswer(t *testing.T) {
	s := newStack(t, stackOptions{})
	var body map[string]any
	if code := s.do("", "GET", "/readyz", nil, &body); code != http.StatusOK || body["ready"] != true {
		t.Fatalf("readyz %d %v", code, body)
	}
}

func TestAutoApprovedCaseIsRefundedThroughTheAPI(t *testing.T) {
	s := newStack(t, stackOptions{})
	s.seed("it-auto", course("c-auto"), 19900, 2*time.Hour)

	var c refundCase
	code := s.do(platform, "POST", "/v1/refunds", map[string]any{"order_id": "it-auto", "reason": "changed_mind"}, &c, "Idempotency-Key", "k-auto")
	if code != http.StatusCreated {
		t.Fatalf("POST /v1/refunds: %d", code)
	}
	var again refundCase
	if code := s.do(platform, "POST", "/v1/refunds", map[string]any{"order_id": "it-auto", "reason": "changed_mind"}, &again, "Idempotency-Key", "k-auto"); code != http.StatusOK || again.ID != c.ID {
		t.Fatalf("same key: %d %s", code, again.ID)
	}
	if code := s.do(platform, "POST", "/v1/refunds", map[string]any{"order_id": "it-auto", "reason": "other"}, nil, "Idempotency-Key", "k-auto"); code != http.StatusUnprocessableEntity {
		t.Fatalf("same key, other body: %d", code)
	}

	done := s.waitFor(c.ID, refundflow.StatusRefunded)

	if done.Payment == nil || !strings.HasPrefix(done.Payment.ProviderRefundID, "re_") || done.Payment.Status != "succeeded" {
		t.Fatalf("payment %+v", done.Payment)
	}
	if len(s.world.StripeRefundsFor("pi_it-auto")) != 1 {
		t.Fatal("not exactly one Stripe refund")
	}
	if done.WorkflowID != "refund/"+c.ID || done.TemporalUIURL != "http://127.0.0.1:8233/namespaces/default/workflows/refund%2F"+c.ID {
		t.Fatalf("workflow %s %s", done.WorkflowID, done.TemporalUIURL)
	}
	for _, e := range []string{"evaluated", "auto_approved", "payment_requested", "refunded"} {
		if !slices.Contains(done.events(), e) {
			t.Fatalf("timeline %v lacks %s", done.events(), e)
		}
	}
	var page struct {
		Data []struct {
			ID string `json:"id"`
		} `json:"data"`
	}
	if code := s.do(approver, "GET", "/v1/refunds?status=refunded", nil, &page); code != http.StatusOK || len(page.Data) != 1 {
		t.Fatalf("list: %d %v", code, page)
	}
	// The case completes only once its notifications are out.
	s.waitForClosed(done.WorkflowID)
	var msgs struct {
		Data []struct{ Kind string } `json:"data"`
	}
	s.do(platform, "GET", "/v1/learners/learner-it-auto/messages", nil, &msgs)
	if len(msgs.Data) != 2 || msgs.Data[0].Kind != "refunded" {
		t.Fatalf("learner messages %+v", msgs)
	}
	s.saveHistory(done.WorkflowID, "refund-auto-approved")

	// /metrics carries the API's own metrics and the Temporal SDK's.
	resp, err := http.Get(s.api + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{`refundflow_http_request_duration_seconds_count{method="POST",route="/v1/refunds",status="201"}`,
		`temporal_activity_execution_latency_seconds_count{activity_type="RefundThroughStripe"`} {
		if !strings.Contains(string(metrics), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}

func TestHumanApprovedCaseIsRefundedThroughTheAPI(t *testing.T) {
	s := newStack(t, stackOptions{})
	s.seed("it-human", course("c-human"), 29900, 20*24*time.Hour)

	var c refundCase
	if code := s.do(platform, "POST", "/v1/refunds", map[string]any{"order_id": "it-human", "reason": "quality_issue", "evidence": []string{"https://example.com/shot.png"}}, &c); code != http.StatusCreated {
		t.Fatalf("POST: %d", code)
	}
	if code := s.do(platform, "POST", "/v1/refunds", map[string]any{"order_id": "it-human", "reason": "quality_issue"}, nil); code != http.StatusConflict {
		t.Fatalf("second case for the order: %d", code)
	}
	s.waitFor(c.ID, refundflow.StatusAwaitingApproval)
	if code := s.do(agent, "POST", "/v1/refunds/"+c.ID+"/approve", map[string]any{}, nil); code != http.StatusForbidden {
		t.Fatalf("agent approve: %d", code)
	}
	var errBody map[string]map[string]any
	if code := s.do(approver, "POST", "/v1/refunds/"+c.ID+"/approve", map[string]any{"amount": 99999}, &errBody); code != http.StatusUnprocessableEntity || errBody["error"]["code"] != "amount_exceeds_refundable" {
		t.Fatalf("too much: %d %v", code, errBody)
	}
	var approved refundCase
	if code := s.do(approver, "POST", "/v1/refunds/"+c.ID+"/approve", map[string]any{"note": "checked the lessons"}, &approved); code != http.StatusOK {
		t.Fatalf("approve: %d", code)
	}
	if approved.Status != refundflow.StatusRefunding && approved.Status != refundflow.StatusRefunded {
		t.Fatalf("after approve: %s", approved.Status)
	}
	s.waitFor(c.ID, refundflow.StatusRefunded)
	if code := s.do(approver, "POST", "/v1/refunds/"+c.ID+"/approve", map[string]any{}, &errBody); code != http.StatusConflict {
		t.Fatalf("approving a refunded case: %d %v", code, errBody)
	}
	s.waitForClosed("refund/" + c.ID)
	s.saveHistory("refund/"+c.ID, "refund-human-approved")
}

func TestAcceptedOfferThroughTheAPI(t *testing.T) {
	s := newStack(t, stackOptions{})
	p := course("c-offer")
	p["alternatives"] = []string{"c-other"}
	s.do(platform, "PUT", "/v1/products/c-other", course("c-other"), nil)
	s.seed("it-offer", p, 19900, 3*24*time.Hour)

	var c refundCase
	s.do(platform, "POST", "/v1/refunds", map[string]any{"order_id": "it-offer", "reason": "not_as_expected"}, &c)
	offered := s.waitFor(c.ID, refundflow.StatusOffered)
	if len(offered.Offers) == 0 || offered.Offers[0].Kind != "switch_course" {
		t.Fatalf("offers %+v", offered.Offers)
	}
	var retained refundCase
	if code := s.do(platform, "POST", "/v1/refunds/"+c.ID+"/offers/"+offered.Offers[0].ID+"/accept", nil, &retained); code != http.StatusOK || retained.Status != refundflow.StatusRetained {
		t.Fatalf("accept: %d %s", code, retained.Status)
	}
	if len(s.world.StripeRefundsFor("pi_it-offer")) != 0 {
		t.Fatal("money moved for a retained learner")
	}
	s.waitForClosed("refund/" + c.ID)
	if ev := s.world.Platform.Event(c.ID, "offer.accepted"); ev == nil {
		t.Fatalf("platform heard %v", s.world.Platform.Types(c.ID))
	}
	s.saveHistory("refund/"+c.ID, "refund-offer-accepted")
}

// A learner who declines the retention offer is refunded: the decision
// approves itself once the offer is answered.
func TestDeclinedOfferIsRefundedThroughTheAPI(t *testing.T) {
	s := newStack(t, stackOptions{})
	p := course("c-decline")
	p["alternatives"] = []string{"c-decline-other"}
	s.do(platform, "PUT", "/v1/products/c-decline-other", course("c-decline-other"), nil)
	s.seed("it-decline", p, 19900, 3*24*time.Hour)

	var c refundCase
	s.do(platform, "POST", "/v1/refunds", map[string]any{"order_id": "it-decline", "reason": "not_as_expected"}, &c)
	s.waitFor(c.ID, refundflow.StatusOffered)
	var declined refundCase
	if code := s.do(platform, "POST", "/v1/refunds/"+c.ID+"/offers/decline", map[string]any{"note": "just the money"}, &declined); code != http.StatusOK ||
		(declined.Status != refundflow.StatusRefunding && declined.Status != refundflow.StatusRefunded) {
		t.Fatalf("decline: %d %s", code, declined.Status)
	}
	done := s.waitFor(c.ID, refundflow.StatusRefunded)
	wantEvents(t, done.events(), "evaluated", "offered", "offer_declined", "auto_approved", "payment_requested", "refunded")
	s.waitForClosed("refund/" + c.ID)
	s.saveHistory("refund/"+c.ID, "refund-offer-declined")
}

// A rejected learner appeals once: the appeal goes to another approver one
// level up, and support gets a linked ticket whose workflow runs on its own.
func TestAppealedCaseIsDecidedByAnotherApprover(t *testing.T) {
	s := newStack(t, stackOptions{})
	s.seed("it-appeal", course("c-appeal"), 29900, 20*24*time.Hour)

	var c refundCase
	s.do(platform, "POST", "/v1/refunds", map[string]any{"order_id": "it-appeal", "reason": "quality_issue"}, &c)
	s.waitFor(c.ID, refundflow.StatusAwaitingApproval)
	if code := s.do(approver, "POST", "/v1/refunds/"+c.ID+"/reject", map[string]any{"reason": "the lessons match the syllabus"}, nil); code != http.StatusOK {
		t.Fatalf("reject: %d", code)
	}
	s.waitFor(c.ID, refundflow.StatusRejected)
	var appealed refundCase
	if code := s.do(platform, "POST", "/v1/refunds/"+c.ID+"/appeal", map[string]any{"note": "lesson 3 is missing"}, &appealed); code != http.StatusOK {
		t.Fatalf("appeal: %d", code)
	}
	s.waitFor(c.ID, refundflow.StatusAwaitingApproval)
	var errBody map[string]map[string]any
	if code := s.do(approver, "POST", "/v1/refunds/"+c.ID+"/approve", map[string]any{}, &errBody); code != http.StatusForbidden ||
		errBody["error"]["code"] != "appeal_needs_another_approver" {
		t.Fatalf("the rejecting approver decides the appeal: %d %v", code, errBody)
	}
	if code := s.do(admin, "POST", "/v1/refunds/"+c.ID+"/approve", map[string]any{"note": "lesson 3 is indeed missing"}, nil); code != http.StatusOK {
		t.Fatalf("approve: %d", code)
	}
	done := s.waitFor(c.ID, refundflow.StatusRefunded)
	wantEvents(t, done.events(), "rejected", "appeal_window_opened", "appealed", "ticket_opened", "awaiting_approval", "approved", "refunded")
	if done.SLA.EscalationLevel != 2 {
		t.Fatalf("level %d after the appeal", done.SLA.EscalationLevel)
	}
	ticketID := "tk_appeal_" + c.ID
	if code := s.do(agent, "GET", "/v1/tickets/"+ticketID, nil, nil); code != http.StatusOK {
		t.Fatalf("the appeal's ticket: %d", code)
	}
	if _, err := s.app.Temporal.DescribeWorkflowExecution(context.Background(), "ticket/"+ticketID, ""); err != nil {
		t.Fatalf("the appeal's ticket has no workflow: %v", err)
	}
	s.waitForClosed("refund/" + c.ID)
	s.saveHistory("refund/"+c.ID, "refund-appealed")
}

// Nobody answers an approval: the approvers are reminded at 80 % of the
// SLA, and the case climbs a level at 100 % and again at 200 %.
func TestUnansweredApprovalIsEscalatedTwice(t *testing.T) {
	s := newStack(t, stackOptions{approvalSLA: 3 * time.Second})
	s.seed("it-escalate", course("c-escalate"), 29900, 20*24*time.Hour)

	var c refundCase
	s.do(platform, "POST", "/v1/refunds", map[string]any{"order_id": "it-escalate", "reason": "quality_issue"}, &c)
	deadline := time.Now().Add(time.Minute)
	for c.SLA.EscalationLevel < 3 && time.Now().Before(deadline) {
		time.Sleep(200 * time.Millisecond)
		s.do(agent, "GET", "/v1/refunds/"+c.ID, nil, &c)
	}
	if c.SLA.EscalationLevel != 3 {
		t.Fatalf("level %d after a minute", c.SLA.EscalationLevel)
	}
	if code := s.do(approver, "POST", "/v1/refunds/"+c.ID+"/approve", map[string]any{}, nil); code != http.StatusOK {
		t.Fatalf("approve: %d", code)
	}
	done := s.waitFor(c.ID, refundflow.StatusRefunded)
	wantEvents(t, done.events(), "awaiting_approval", "approval_reminder", "escalated", "escalated", "approved", "refunded")
	s.waitForClosed("refund/" + c.ID)
	s.saveHistory("refund/"+c.ID, "refund-approval-escalated")
}

// wantEvents checks that a timeline holds the events in that order.
func wantEvents(t *testing.T, got []string, want ...string) {
	t.Helper()
	i := 0
	for _, g := range got {
		if i < len(want) && g == want[i] {
			i++
		}
	}
	if i != len(want) {
		t.Fatalf("timeline %v does not contain %v in order", got, want)
	}
}
