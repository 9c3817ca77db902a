package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/refundflow/refundflow"
	"github.com/refundflow/refundflow/notify"
	"github.com/refundflow/refundflow/postgres"
	"github.com/refundflow/refundflow/postgres/pgtest"
	"github.com/refundflow/refundflow/sla"
	"github.com/refundflow/refundflow/ticket"
)

func openTestTicket(t *testing.T, db *postgres.DB, id string) *postgres.Ticket {
	t.Helper()
	tk, err := db.OpenTicket(context.Background(), postgres.NewTicket{
		ID: id, Tier: sla.Paid, Priority: sla.Normal, LearnerID: "learner-1", Subject: "s", Body: "b",
		OpenedBy: refundflow.Actor{Kind: "learner"}, OpenedAt: time.Date(2026, 3, 2, 2, 0, 0, 123456789, time.UTC), Level: 1,
	})
	if err != nil {
		t.Fatal(err)
	}
	return tk
}

func TestOpeningATicketTwiceKeepsTheFirstAndItsDeadlines(t *testing.T) {
	db := pgtest.Open(t)
	first := openTestTicket(t, db, "tk-1")
	again := openTestTicket(t, db, "tk-1")
	want := time.Date(2026, 3, 2, 4, 0, 0, 123456000, time.UTC) // opened + 2h, to the microsecond kept
	if !first.SLA.FirstResponseDueAt.Equal(want) || !again.OpenedAt.Equal(first.OpenedAt) || len(again.Messages) != 1 {
		t.Fatalf("first %+v, again %+v", first.SLA, again)
	}
	if first.Policy != (sla.Policy{Tier: sla.Paid, Calendar: "24x7", FirstResponse: 2 * time.Hour, Resolution: 24 * time.Hour, WarnAt: 0.8}) {
		t.Fatalf("pinned %+v", first.Policy)
	}
}

// Steps are applied once each, and a late retry of an older step never
// overwrites a newer one.
func TestTicketStepsAreIdempotentAndOrderProof(t *testing.T) {
	db := pgtest.Open(t)
	ctx := context.Background()
	tk := openTestTicket(t, db, "tk-2")
	step := func(seq int, status refundflow.TicketStatus) {
		t.Helper()
		if err := db.RecordTicketStep(ctx, ticket.Step{
			TicketID: tk.ID, Seq: seq, At: tk.OpenedAt.Add(time.Duration(seq) * time.Minute), Event: string(status),
			Snapshot: ticket.Snapshot{Status: status, EscalationLevel: 1, SLA: tk.SLA, SLAState: "ok"},
			Message:  &ticket.Message{Author: refundflow.AuthorAgent, Body: "m"},
		}, notify.Outbox{}); err != nil {
			t.Fatal(err)
		}
	}
	step(2, refundflow.TicketResolved)
	step(1, refundflow.TicketWaitingOnCustomer)
	step(2, refundflow.TicketResolved)
	got, err := db.GetTicket(ctx, tk.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != refundflow.TicketResolved || len(got.Timeline) != 3 || len(got.Messages) != 3 {
		t.Fatalf("status %s, %d timeline entries, %d messages", got.Status, len(got.Timeline), len(got.Messages))
	}
}

func TestOnlyATicketNoStepWasRecordedForCanBeUndone(t *testing.T) {
	db := pgtest.Open(t)
	ctx := context.Background()
	openTestTicket(t, db, "tk-unstarted")
	started := openTestTicket(t, db, "tk-started")
	if err := db.RecordTicketStep(ctx, ticket.Step{TicketID: started.ID, Seq: 1, At: started.OpenedAt, Event: "first_response",
		Snapshot: ticket.Snapshot{Status: refundflow.TicketOpen, EscalationLevel: 1, SLA: started.SLA, SLAState: "ok"}}, notify.Outbox{}); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"tk-unstarted", "tk-started"} {
		if err := db.DeleteUnstartedTicket(ctx, id); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.GetTicket(ctx, "tk-unstarted"); refundflow.ErrorKind(err) != refundflow.ENOTFOUND {
		t.Fatalf("unstarted ticket: %v", err)
	}
	if _, err := db.GetTicket(ctx, "tk-started"); err != nil {
		t.Fatalf("a ticket with steps was deleted: %v", err)
	}
}

// A ticket's read model follows its workflow where a step recorded under
// a number was never taken (its update lost with the Temporal server that
// held it): the steps from that number on are forgotten, with their
// messages, and the workflow's step takes their place.
func TestTicketReadModelFollowsTheWorkflowWhereAStepWasNeverTaken(t *testing.T) {
	db := pgtest.Open(t)
	ctx := context.Background()
	tk := openTestTicket(t, db, "tk-lost")
	step := func(seq int, event string, status refundflow.TicketStatus, body string) {
		t.Helper()
		if err := db.RecordTicketStep(ctx, ticket.Step{
			TicketID: tk.ID, Seq: seq, At: tk.OpenedAt.Add(time.Duration(seq) * time.Minute), Event: event,
			Snapshot: ticket.Snapshot{Status: status, EscalationLevel: 1, SLA: tk.SLA, SLAState: "ok"},
			Message:  &ticket.Message{Author: refundflow.AuthorAgent, Body: body},
		}, notify.Outbox{}); err != nil {
			t.Fatal(err)
		}
	}
	step(1, "agent_message", refundflow.TicketOpen, "lost with the server")
	step(2, "resolved", refundflow.TicketResolved, "also lost")
	step(1, "customer_message", refundflow.TicketOpen, "what the workflow took")

	got, err := db.GetTicket(ctx, tk.ID)
	if err != nil {
		t.Fatal(err)
	}
	last := got.Messages[len(got.Messages)-1]
	if got.Status != refundflow.TicketOpen || len(got.Timeline) != 2 || len(got.Messages) != 2 || last.Body != "what the workflow took" {
		t.Fatalf("status %s, timeline %+v, messages %+v", got.Status, got.Timeline, got.Messages)
	}
}
