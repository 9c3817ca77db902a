package postgres_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/refundflow/refundflow"
	"github.com/refundflow/refundflow/postgres"
	"github.com/refundflow/refundflow/postgres/pgtest"
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
		snap := postgres.TicketSnapshot{Status: tc.status, EscalationLevel: 1, SLA: tk.SLA, SLAState: tc.state}
		if tc.due != 0 {
			due := base.Add(tc.due)
			snap.NextDueAt = &due
		}
		if err := db.RecordTicketStep(ctx, postgres.TicketStep{TicketID: tc.id, Seq: 1, At: base, Event: "e", Snapshot: snap}); err != nil {
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
