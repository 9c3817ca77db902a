package postgres_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/refundflow/refundflow"
	"github.com/refundflow/refundflow/notify"
	"github.com/refundflow/refundflow/postgres"
	"github.com/refundflow/refundflow/postgres/pgtest"
	"github.com/refundflow/refundflow/refund"
	"github.com/refundflow/refundflow/ticket"
)

// The tickets board puts breached tickets first, then warnings, then the
// rest, each by its next deadline; closed tickets leave the board unless
// asked for.
func TestTicketBoardShowsTheMostUrgentFirst(t *testing.T) {
	db := pgtest.Open(t)
	ctx := context.Background()
	base := time.Date(2026, 3, 2, 2, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		id, state string
		status    refundflow.TicketStatus
		due       time.Duration
	}{
		{"tk-ok", "ok", refundflow.TicketOpen, 3 * time.Hour},
		{"tk-breached", "breached", refundflow.TicketOpen, time.Hour},
		{"tk-warning-later", "warning", refundflow.TicketOpen, 2 * time.Hour},
		{"tk-warning-sooner", "warning", refundflow.TicketWaitingOnCustomer, 30 * time.Minute},
		{"tk-closed", "breached", refundflow.TicketClosed, 0},
	} {
		tk := openTestTicket(t, db, tc.id)
		snap := ticket.Snapshot{Status: tc.status, EscalationLevel: 1, SLA: tk.SLA, SLAState: tc.state}
		if tc.due != 0 {
			due := base.Add(tc.due)
			snap.NextDueAt = &due
		}
		if err := db.RecordTicketStep(ctx, ticket.Step{TicketID: tc.id, Seq: 1, At: base, Event: "e", Snapshot: snap}, notify.Outbox{}); err != nil {
			t.Fatal(err)
		}
	}
	ids := func(b postgres.TicketBoard) []string {
		t.Helper()
		b.Limit = 10
		rows, err := db.ListTicketBoard(ctx, b)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, r := range rows {
			out = append(out, r.ID)
		}
		return out
	}
	if got := ids(postgres.TicketBoard{}); !slices.Equal(got, []string{"tk-breached", "tk-warning-sooner", "tk-warning-later", "tk-ok"}) {
		t.Fatalf("board %v", got)
	}
	if got := ids(postgres.TicketBoard{SLAState: "warning"}); !slices.Equal(got, []string{"tk-warning-sooner", "tk-warning-later"}) {
		t.Fatalf("warnings %v", got)
	}
	if got := ids(postgres.TicketBoard{Status: refundflow.TicketClosed}); !slices.Equal(got, []string{"tk-closed"}) {
		t.Fatalf("closed %v", got)
	}
	counts, err := db.CountTicketBoard(ctx, postgres.TicketBoard{SLAState: "ok"})
	if err != nil {
		t.Fatal(err)
	}
	if counts["breached"] != 1 || counts["warning"] != 2 || counts["ok"] != 1 {
		t.Fatalf("counts %v (the state filter does not narrow them)", counts)
	}
}

// The approval queue comes with each case's approvals so far (read for the
// whole page at once), on the right case and in their order; the most
// urgent deadline comes first.
func TestApprovalQueueCarriesEachCasesApprovals(t *testing.T) {
	db, _ := remediationDB(t)
	ctx := context.Background()
	at := time.Date(2026, 3, 12, 2, 0, 0, 0, time.UTC)
	wait := func(id, orderID string, due time.Duration, approvals ...refund.Approval) {
		t.Helper()
		o, err := db.GetOrder(ctx, orderID)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.InsertRefund(ctx, postgres.NewRefund{ID: id, Order: o, Reason: "quality_issue", SubmittedBy: "key_platform", RequestHash: []byte(id)}); err != nil {
			t.Fatal(err)
		}
		dueAt := at.Add(due)
		snap := refund.Snapshot{Status: refundflow.StatusAwaitingApproval, EscalationLevel: 1, SLADueAt: &dueAt}
		if err := db.RecordStep(ctx, refund.Step{RefundID: id, Seq: 1, At: at, Event: "awaiting_approval", Snapshot: snap}, notify.Outbox{}); err != nil {
			t.Fatal(err)
		}
		for i, a := range approvals {
			if err := db.RecordStep(ctx, refund.Step{RefundID: id, Seq: 2 + i, At: at.Add(time.Duration(i+1) * time.Minute),
				Event: "approved", Snapshot: snap, Approval: &a}, notify.Outbox{}); err != nil {
				t.Fatal(err)
			}
		}
	}
	li := refundflow.Actor{Kind: "key", ID: "key_li", Name: "Li"}
	wang := refundflow.Actor{Kind: "key", ID: "key_wang", Name: "Wang"}
	wait("rf-later", "o1", 3*time.Hour, refund.Approval{Action: "approve", Approver: li, Level: 1})
	wait("rf-sooner", "o2", time.Hour)
	wait("rf-two", "o3", 2*time.Hour, refund.Approval{Action: "approve", Approver: wang, Level: 1}, refund.Approval{Action: "approve", Approver: li, Level: 1})

	queue, err := db.ApprovalQueue(ctx, 10)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range queue {
		entry := c.ID + ":"
		for _, a := range c.Approvals {
			entry += " " + a.Approver.Name
		}
		got = append(got, entry)
	}
	if want := []string{"rf-sooner:", "rf-two: Wang Li", "rf-later: Li"}; !slices.Equal(got, want) {
		t.Fatalf("queue %q, want %q", got, want)
	}
}
