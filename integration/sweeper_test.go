package integration

import (
	"context"
	"net/http"
	"testing"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/refundflow/refundflow"
	"github.com/refundflow/refundflow/activities"
	"github.com/refundflow/refundflow/refund"
	"github.com/refundflow/refundflow/workflows"
)

// apiRefusal is the API's error answer, with its details.
type apiRefusal struct {
	Error struct {
		Code    string          `json:"code"`
		Details []refusalDetail `json:"details"`
	} `json:"error"`
}

type refusalDetail struct {
	Code    string `json:"code"`
	Field   string `json:"field"`
	Message string `json:"message"`
}

// id is the id a detail names: its message, as it is.
func (d refusalDetail) id() string { return d.Message }

// A refund asked for while the Temporal server is down (SIGKILLed) is
// answered 503 with the case's id, and the case is not lost: the platform
// retrying without an Idempotency-Key meets it (409) and so starts it;
// a case nobody asks about again is started by the sweeper. Both end
// refunded, once.
func TestARefundAskedWhileTemporalIsDownIsCarriedOutOnceItIsBack(t *testing.T) {
	tp := startTemporalProcess(t)
	s := newStack(t, stackOptions{temporal: tp.addr})
	s.seed("it-down-retried", course("c-down"), 19900, 2*time.Hour)
	s.seed("it-down-alone", course("c-down"), 19900, 2*time.Hour)
	s.seed("it-down-approval", course("c-down"), 19900, 20*24*time.Hour)
	var review refundCase
	if code := s.do(platform, "POST", "/v1/refunds", map[string]any{"order_id": "it-down-approval", "reason": "quality_issue"}, &review); code != http.StatusCreated {
		t.Fatalf("POST /v1/refunds: %d", code)
	}
	s.waitFor(review.ID, refundflow.StatusAwaitingApproval)
	tp.kill()

	ids := map[string]string{}
	for _, order := range []string{"it-down-retried", "it-down-alone"} {
		var refused apiRefusal
		code := s.do(platform, "POST", "/v1/refunds", map[string]any{"order_id": order, "reason": "changed_mind"}, &refused)
		if code != http.StatusServiceUnavailable || refused.Error.Code != "workflow_unavailable" ||
			len(refused.Error.Details) != 1 || refused.Error.Details[0].Code != "refund_id" {
			t.Fatalf("POST /v1/refunds for %s with Temporal down: %d %+v", order, code, refused)
		}
		ids[order] = refused.Error.Details[0].id()
		var c refundCase
		if code := s.do(agent, "GET", "/v1/refunds/"+ids[order], nil, &c); code != http.StatusOK || c.Status != refundflow.StatusEvaluating {
			t.Fatalf("the case of %s: %d %s", order, code, c.Status)
		}
	}

	// An approval while Temporal is down is answered 503, not 500, once the
	// API's update budget has run out: it cannot know whether the update
	// reached the workflow, so the approver reads the case and sends again.
	var unanswered apiRefusal
	if code := s.do(approver, "POST", "/v1/refunds/"+review.ID+"/approve", map[string]any{}, &unanswered); code != http.StatusServiceUnavailable || unanswered.Error.Code != "workflow_unavailable" {
		t.Fatalf("approve with Temporal down: %d %+v", code, unanswered)
	}

	tp.start()
	// The API's and the worker's connections come back on their own
	// (gRPC's reconnect backoff); the test waits for the API's.
	s.waitForTemporal()

	var conflict apiRefusal
	code := s.do(platform, "POST", "/v1/refunds", map[string]any{"order_id": "it-down-retried", "reason": "changed_mind"}, &conflict)
	if code != http.StatusConflict || conflict.Error.Code != "refund_in_progress" || conflict.Error.Details[0].id() != ids["it-down-retried"] {
		t.Fatalf("the retry: %d %+v", code, conflict)
	}
	// The worker's polls come back with gRPC's reconnect backoff (up to 10 s).
	s.waitForWithin(ids["it-down-retried"], refundflow.StatusRefunded, 2*time.Minute)

	if code := s.do(approver, "POST", "/v1/refunds/"+review.ID+"/approve", map[string]any{}, nil); code != http.StatusOK {
		t.Fatalf("approve again once Temporal is back: %d", code)
	}
	s.waitForWithin(review.ID, refundflow.StatusRefunded, 2*time.Minute)

	s.ageCase(ids["it-down-alone"], 2*workflows.SweepGrace)
	swept := s.sweepUntil(ids["it-down-alone"], refundflow.StatusRefunded)
	if first := swept.Timeline[0]; first.Event != "evaluated" || first.Detail["started_by"] != activities.SweptBy {
		t.Fatalf("first entry %+v", first)
	}
	for _, order := range []string{"it-down-retried", "it-down-alone"} {
		if n := len(s.world.StripeRefundsFor("pi_" + order)); n != 1 {
			t.Fatalf("%s: %d Stripe refunds", order, n)
		}
	}
}

// A case whose workflow an operator terminates (from the Temporal UI or
// the SDK) while it waits for an approver is closed by the sweeper as
// failed, with a reason; the platform hears refund.failed and may open a
// new case for the order.
func TestACaseWhoseWorkflowIsTerminatedIsClosedAsFailed(t *testing.T) {
	s := newStack(t, stackOptions{})
	s.seed("it-terminated", course("c-terminated"), 19900, 20*24*time.Hour)
	var c refundCase
	if code := s.do(platform, "POST", "/v1/refunds", map[string]any{"order_id": "it-terminated", "reason": "quality_issue"}, &c); code != http.StatusCreated {
		t.Fatalf("POST /v1/refunds: %d", code)
	}
	s.waitFor(c.ID, refundflow.StatusAwaitingApproval)
	if err := s.app.Temporal.TerminateWorkflow(context.Background(), workflows.RefundWorkflowID(c.ID), "", "terminated by an operator"); err != nil {
		t.Fatal(err)
	}

	failed := s.sweepUntil(c.ID, refundflow.StatusFailed)

	last := failed.Timeline[len(failed.Timeline)-1]
	if last.Event != "case_failed" || last.Detail["code"] != refund.FailedWorkflowGone || last.Detail["workflow"] != "Terminated" {
		t.Fatalf("last entry %+v", last)
	}
	for deadline := time.Now().Add(30 * time.Second); s.world.Platform.Event(c.ID, "refund.failed") == nil; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the platform heard %v", s.world.Platform.Types(c.ID))
		}
	}
	if code := s.do(platform, "POST", "/v1/refunds", map[string]any{"order_id": "it-terminated", "reason": "quality_issue"}, nil); code != http.StatusCreated {
		t.Fatalf("a new case for the order: %d", code)
	}
}

// waitForTemporal waits until the stack's Temporal client answers again.
func (s *stack) waitForTemporal() {
	s.t.Helper()
	deadline := time.Now().Add(3 * time.Minute)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_, err := s.app.Temporal.CheckHealth(ctx, &client.CheckHealthRequest{})
		cancel()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("Temporal did not answer the stack again: %v", err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// ageCase moves a case's opening back, as if it were opened d ago (the
// sweeper leaves cases younger than a minute to the API that opens them).
func (s *stack) ageCase(id string, d time.Duration) {
	s.t.Helper()
	if _, err := s.world.DB.Pool.Exec(context.Background(), "UPDATE refunds SET created_at = created_at - $2::interval WHERE id = $1", id, d.String()); err != nil {
		s.t.Fatal(err)
	}
}

// sweepUntil runs the sweeper's schedule now, as ops would from the
// Temporal UI, until the case has the status (or fails after a minute).
func (s *stack) sweepUntil(id string, want refundflow.RefundStatus) refundCase {
	s.t.Helper()
	h := s.app.Temporal.ScheduleClient().GetHandle(context.Background(), workflows.CaseSweeperScheduleID)
	deadline := time.Now().Add(2 * time.Minute)
	var c refundCase
	for time.Now().Before(deadline) {
		// The worker creates the schedule once Temporal answers it.
		if err := h.Trigger(context.Background(), client.ScheduleTriggerOptions{}); err != nil {
			s.t.Logf("trigger the sweeper: %v", err)
		}
		for range 20 {
			if code := s.do(agent, "GET", "/v1/refunds/"+id, nil, &c); code != http.StatusOK {
				s.t.Fatalf("GET case: %d", code)
			}
			if c.Status == want {
				return c
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	s.t.Fatalf("case %s is %s, not %s, after two minutes of sweeps; timeline %v", id, c.Status, want, c.events())
	return c
}
