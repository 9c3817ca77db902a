package postgres_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/refundflow/refundflow"
	"github.com/refundflow/refundflow/notify"
	"github.com/refundflow/refundflow/policy"
	"github.com/refundflow/refundflow/postgres"
	"github.com/refundflow/refundflow/postgres/pgtest"
	"github.com/refundflow/refundflow/refund"
)

// stepWriter records the steps of one case.
type stepWriter struct {
	t  *testing.T
	db *postgres.DB
	at time.Time
}

func (w *stepWriter) write(seq int, event string, status refundflow.RefundStatus, by refundflow.Actor, approval *refund.Approval) {
	w.t.Helper()
	amount := int64(19900)
	if err := w.db.RecordStep(context.Background(), refund.Step{
		RefundID: "rf-1", Seq: seq, At: w.at.Add(time.Duration(seq) * time.Minute), Actor: by, Event: event,
		Snapshot: refund.Snapshot{Status: status, Amount: &amount, EscalationLevel: 1}, Approval: approval,
	}, notify.Outbox{}); err != nil {
		w.t.Fatal(err)
	}
}

func (w *stepWriter) timeline() []string {
	w.t.Helper()
	c, err := w.db.GetRefund(context.Background(), "rf-1")
	if err != nil {
		w.t.Fatal(err)
	}
	var out []string
	for _, e := range c.Timeline {
		out = append(out, e.Event)
	}
	return out
}

// A step keeps its sequence number: writing it again changes nothing. But
// a step whose update Temporal lost (the server died before it stored the
// workflow task that took it) was never taken, and the workflow takes
// another step with that number: the read model then follows the
// workflow — the steps recorded from that number on are forgotten, with
// their approvals, and the new entry names what it replaces.
func TestTheReadModelFollowsTheWorkflowWhereAStepWasNeverTaken(t *testing.T) {
	db := pgtest.Open(t)
	ctx := context.Background()
	seedProduct(t, db)
	o := newOrder()
	if _, err := db.UpsertOrder(ctx, o, postgres.DefaultPolicyV1); err != nil {
		t.Fatal(err)
	}
	if _, err := db.InsertRefund(ctx, postgres.NewRefund{ID: "rf-1", Order: o, Reason: policy.ReasonQualityIssue,
		SubmittedBy: "key-platform", RequestHash: []byte("h")}); err != nil {
		t.Fatal(err)
	}
	w := &stepWriter{t: t, db: db, at: time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)}
	alice := refundflow.Actor{Kind: "approver", ID: "key_alice", Name: "Alice"}
	bob := refundflow.Actor{Kind: "approver", ID: "key_bob", Name: "Bob"}
	w.write(1, "evaluated", refundflow.StatusAwaitingApproval, refundflow.SystemActor, nil)
	// Alice's rejection, whose update Temporal then lost.
	w.write(2, "rejected", refundflow.StatusRejected, alice, &refund.Approval{Action: refund.Reject, Approver: alice, Note: "no", Level: 1})
	w.write(3, "appeal_window_opened", refundflow.StatusRejected, refundflow.SystemActor, nil)
	// The same step written again (a retried local activity) changes nothing.
	w.write(2, "rejected", refundflow.StatusRejected, alice, &refund.Approval{Action: refund.Reject, Approver: alice, Note: "no", Level: 1})
	if got := w.timeline(); !slices.Equal(got, []string{"evaluated", "rejected", "appeal_window_opened"}) {
		t.Fatalf("timeline after a repeated step: %v", got)
	}

	// The workflow never took it: Bob's approval is its step 2.
	amount := int64(19900)
	w.write(2, "approved", refundflow.StatusRefunding, bob, &refund.Approval{Action: refund.Approve, Approver: bob, Amount: &amount, Level: 1})

	c, err := db.GetRefund(ctx, "rf-1")
	if err != nil {
		t.Fatal(err)
	}
	if got := w.timeline(); !slices.Equal(got, []string{"evaluated", "approved"}) {
		t.Fatalf("timeline %v", got)
	}
	if c.Status != refundflow.StatusRefunding || c.LastSeq != 2 {
		t.Fatalf("case %s at step %d", c.Status, c.LastSeq)
	}
	if len(c.Approvals) != 1 || c.Approvals[0].Approver.ID != bob.ID {
		t.Fatalf("approvals %+v", c.Approvals)
	}
	replaces, _ := c.Timeline[1].Detail["replaces"].([]any)
	if len(replaces) != 2 || replaces[0] != "rejected" || replaces[1] != "appeal_window_opened" {
		t.Fatalf("the new entry says it replaces %v", c.Timeline[1].Detail["replaces"])
	}
	// And the steps after it go on as usual.
	w.write(3, "refunded", refundflow.StatusRefunded, refundflow.Actor{Kind: "stripe"}, nil)
	if got := w.timeline(); !slices.Equal(got, []string{"evaluated", "approved", "refunded"}) {
		t.Fatalf("timeline %v", got)
	}
}
