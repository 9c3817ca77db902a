package activities_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/refundflow/refundflow"
	"github.com/refundflow/refundflow/activities"
	"github.com/refundflow/refundflow/activities/contract"
	"github.com/refundflow/refundflow/internal/casetest"
	"github.com/refundflow/refundflow/notify"
	"github.com/refundflow/refundflow/policy"
	"github.com/refundflow/refundflow/postgres"
	"github.com/refundflow/refundflow/postgres/sqlgen"
	"github.com/refundflow/refundflow/refund"
)

// sweepWorld is a world with one product and the sweeper's clock.
type sweepWorld struct {
	t   *testing.T
	w   *casetest.World
	now time.Time
}

func newSweepWorld(t *testing.T) *sweepWorld {
	s := &sweepWorld{t: t, w: casetest.New(t), now: time.Now()}
	s.w.Acts.Now = func() time.Time { return s.now }
	s.w.Acts.OfferWindow, s.w.Acts.ApprovalSLA = 48*time.Hour, 24*time.Hour
	s.w.Product(refundflow.Product{ID: "course", Type: refundflow.RecordedCourse, Title: "Course", LessonsTotal: 10})
	return s
}

// open opens a case on a new order of 19900, as the API records it.
func (s *sweepWorld) open(caseID, orderID string) {
	s.t.Helper()
	s.w.Order(refundflow.Order{ID: orderID, LearnerID: "l-" + orderID, ProductID: "course", Amount: 19900,
		PurchasedAt: s.now.Add(-24 * time.Hour)})
	s.w.Case(caseID, orderID, policy.ReasonChangedMind, "key_platform")
}

// step records step seq of a case with status, as its workflow would.
func (s *sweepWorld) step(caseID string, seq int, status refundflow.RefundStatus) {
	s.t.Helper()
	amount := int64(19900)
	if err := s.w.DB.RecordStep(context.Background(), refund.Step{
		RefundID: caseID, Seq: seq, At: s.now, Actor: refundflow.SystemActor, Event: string(status),
		Snapshot: refund.Snapshot{Status: status, Amount: &amount, EscalationLevel: 1},
	}, notify.Outbox{}); err != nil {
		s.t.Fatal(err)
	}
}

func (s *sweepWorld) sweep() contract.SweepResult {
	s.t.Helper()
	res, err := s.w.Acts.SweepCases(context.Background(), contract.SweepInput{Grace: time.Minute, LookBack: time.Hour, Limit: 100})
	if err != nil {
		s.t.Fatal(err)
	}
	return res
}

func (s *sweepWorld) staffNotes(audience string) []sqlgen.StaffNotification {
	s.t.Helper()
	notes, err := sqlgen.New(s.w.DB.Pool).ListStaffNotifications(context.Background(), sqlgen.ListStaffNotificationsParams{Audience: audience, MaxRows: 100})
	if err != nil {
		s.t.Fatal(err)
	}
	return notes
}

// A case whose request could not start its workflow (Temporal was down,
// or the API died between the row and the start) is started once it is a
// minute old, and its first timeline entry will say who started it.
func TestTheSweeperStartsACaseThatHasNoWorkflow(t *testing.T) {
	s := newSweepWorld(t)
	s.open("rf-lost", "o-lost")
	if res := s.sweep(); len(res.Started) != 0 {
		t.Fatalf("a case just opened was started by the sweeper: %+v", res)
	}

	// Two minutes later (the case is backdated: its row's clock is
	// PostgreSQL's), with another case opened just now, which the API is
	// still starting.
	if _, err := s.w.DB.Pool.Exec(context.Background(), "UPDATE refunds SET created_at = created_at - interval '2 minutes' WHERE id = 'rf-lost'"); err != nil {
		t.Fatal(err)
	}
	s.open("rf-new", "o-new")
	res := s.sweep()

	if !slices.Equal(res.Started, []string{"rf-lost"}) || len(res.Closed) != 0 {
		t.Fatalf("sweep %+v", res)
	}
	start := s.w.Starts.Refunds[0]
	if start.RefundID != "rf-lost" || start.StartedBy != activities.SweptBy || start.OrderID != "o-lost" ||
		start.OfferWindow != 48*time.Hour || start.ApprovalSLA != 24*time.Hour {
		t.Fatalf("started %+v", start)
	}
	// Its workflow runs now: the next sweep leaves it to it.
	if res := s.sweep(); len(res.Started) != 0 {
		t.Fatalf("second sweep %+v", res)
	}
}

// A case whose workflow runs but has not recorded yet (the workers are
// busy) is late, not lost: the sweeper leaves it alone.
func TestTheSweeperLeavesACaseWhoseWorkflowRuns(t *testing.T) {
	s := newSweepWorld(t)
	s.open("rf-busy", "o-busy")
	s.w.Starts.Runs = map[string]contract.Run{"rf-busy": {Running: true}}
	s.now = s.now.Add(10 * time.Minute)

	if res := s.sweep(); len(res.Started)+len(res.Closed) != 0 {
		t.Fatalf("sweep %+v", res)
	}
	if c := s.w.Refund("rf-busy"); c.Status != refundflow.StatusEvaluating {
		t.Fatalf("case %s", c.Status)
	}
}

// A case whose workflow was terminated (from the Temporal UI, say) while
// it waited for an approver is closed as failed: a timeline entry with a
// code and a message, staff and the platform told, and the order free for
// a new case. Sweeping again changes nothing.
func TestTheSweeperClosesACaseWhoseWorkflowWasTerminated(t *testing.T) {
	s := newSweepWorld(t)
	s.open("rf-gone", "o-gone")
	s.step("rf-gone", 1, refundflow.StatusAwaitingApproval)
	s.w.Starts.Ended = []contract.EndedRun{{RefundID: "rf-gone", Status: "Terminated"}, {RefundID: "rf-other-database", Status: "Failed"}}

	res := s.sweep()

	if !slices.Equal(res.Closed, []string{"rf-gone"}) {
		t.Fatalf("sweep %+v", res)
	}
	c := s.w.Refund("rf-gone")
	last := c.Timeline[len(c.Timeline)-1]
	if c.Status != refundflow.StatusFailed || c.ClosedAt == nil || c.SLADueAt != nil || last.Seq != 2 || last.Event != "case_failed" ||
		last.Detail["code"] != refund.FailedWorkflowGone || last.Detail["workflow"] != "Terminated" ||
		last.Detail["message"] != refund.CaseFailureMessage(refund.FailedWorkflowGone) || last.Detail["payment_unsettled"] != false {
		t.Fatalf("case %s closed %v, last entry %+v", c.Status, c.ClosedAt, last)
	}
	if notes := s.staffNotes("admin"); len(notes) != 1 || notes[0].Kind != "case_failed" || *notes[0].RefundID != "rf-gone" {
		t.Fatalf("admin notes %+v", notes)
	}
	s.w.Deliver()
	if types := s.w.Platform.Types("rf-gone"); !slices.Contains(types, string(notify.EventRefundFailed)) {
		t.Fatalf("the platform heard %v", types)
	}
	order := s.w.OrderNow("o-gone")
	if _, err := s.w.DB.InsertRefund(context.Background(), postgres.NewRefund{
		ID: "rf-again", Order: order, Reason: policy.ReasonChangedMind, SubmittedBy: "key_platform", RequestHash: []byte("again"),
	}); err != nil {
		t.Fatalf("the order is not free for a new case: %v", err)
	}

	if res := s.sweep(); len(res.Closed) != 0 {
		t.Fatalf("second sweep %+v", res)
	}
	if n := len(s.w.Refund("rf-gone").Timeline); n != 2 {
		t.Fatalf("the second sweep wrote to the timeline: %d entries", n)
	}
}

// A workflow that ended while its Stripe call was in flight leaves an
// attempt Stripe may still make: the case closes as failed, but the amount
// stays held on the order (no second case can refund it again), and
// finance is told to check it.
func TestTheSweeperKeepsTheHoldOfAPaymentStripeMayStillMake(t *testing.T) {
	s := newSweepWorld(t)
	s.open("rf-paying", "o-paying")
	s.step("rf-paying", 1, refundflow.StatusRefunding)
	if _, err := s.w.DB.ReservePayment(context.Background(), "rf-paying", 1, 19900, func(refund.Attempt) refund.Step {
		amount := int64(19900)
		return refund.Step{RefundID: "rf-paying", Seq: 2, At: s.now, Event: "payment_requested",
			Snapshot: refund.Snapshot{Status: refundflow.StatusRefunding, Amount: &amount, EscalationLevel: 1}}
	}); err != nil {
		t.Fatal(err)
	}
	s.w.Starts.Ended = []contract.EndedRun{{RefundID: "rf-paying", Status: "Terminated"}}

	s.sweep()

	c := s.w.Refund("rf-paying")
	last := c.Timeline[len(c.Timeline)-1]
	if c.Status != refundflow.StatusFailed || last.Seq != 3 || last.Detail["payment_unsettled"] != true {
		t.Fatalf("case %s, last entry %+v", c.Status, last)
	}
	var inFlight, refunded int64
	if err := s.w.DB.Pool.QueryRow(context.Background(), "SELECT in_flight_amount, refunded_amount FROM orders WHERE id = 'o-paying'").Scan(&inFlight, &refunded); err != nil {
		t.Fatal(err)
	}
	if inFlight != 19900 || refunded != 0 {
		t.Fatalf("order in flight %d refunded %d", inFlight, refunded)
	}
	if notes := s.staffNotes("finance"); len(notes) != 1 || notes[0].Kind != "case_failed" {
		t.Fatalf("finance notes %+v", notes)
	}
}
