package workflows

import (
	"go.temporal.io/sdk/workflow"

	"github.com/refundflow/refundflow"
	"github.com/refundflow/refundflow/activities/contract"
	"github.com/refundflow/refundflow/calendar"
	"github.com/refundflow/refundflow/notify"
	"github.com/refundflow/refundflow/sla"
)

// Ticket carries one ticket from the learner's message to its close
// (SPEC 4.8), in three steps:
//
//  1. Open: the tier's SLA policy is pinned and two clocks start on its
//     business calendar, first response and resolution.
//  2. Work: agents and the learner write. Waiting on the customer pauses
//     the clocks, keeping the time used; the first agent message stops the
//     first-response clock. Each warning and breach is recorded where
//     people see it, and each breach climbs the escalation ladder (L1
//     agent → L2 team lead → L3 complaints desk) and notifies.
//  3. Resolved: the learner is asked to rate the help (CSAT). For seven
//     days the ticket can be reopened, which takes it back to work; then
//     it closes.
func Ticket(ctx workflow.Context, in TicketInput) (TicketResult, error) {
	t, err := newTicketCase(ctx, in)
	if err != nil {
		return TicketResult{}, err
	}
	return t.run(ctx)
}

func (t *ticketCase) run(ctx workflow.Context) (TicketResult, error) {
	if err := t.open(ctx); err != nil {
		return TicketResult{}, err
	}
	for t.state.Status != refundflow.TicketClosed {
		t.work(ctx)
		if t.state.Status == refundflow.TicketResolved {
			t.awaitReopen(ctx)
		}
	}
	return t.close(ctx)
}

// open pins the ticket's policy and starts its clocks where the read model
// says it opened, so that the deadlines the API showed at once are the
// ones the timers keep.
func (t *ticketCase) open(ctx workflow.Context) error {
	var o contract.OpenedTicket
	err := workflow.ExecuteLocalActivity(localCtx(ctx), contract.OpenTicket, contract.OpenTicketInput{
		TicketID: t.in.TicketID, Acknowledged: t.in.Acknowledged,
	}).Get(ctx, &o)
	if err != nil {
		return err
	}
	cal, err := calendar.New(o.Calendar)
	if err != nil {
		return err
	}
	t.info, t.cal = o, cal
	t.state.EscalationLevel = o.Level
	t.state.Clocks = o.Policy.TicketClocks(o.OpenedAt)
	t.attrs = ticketAttrs{level: o.Level} // as the ticket was started with
	t.opened = true
	return nil
}

// work waits, while the ticket is open or waiting on the customer, for the
// next mark of its clocks or for a message or status change that moves
// them; every mark reached is acted on.
func (t *ticketCase) work(ctx workflow.Context) {
	for t.state.Status == refundflow.TicketOpen || t.state.Status == refundflow.TicketWaitingOnCustomer {
		seen := t.changes
		reached, _ := awaitMarks(ctx, t.cal, t.state.Clocks, t.await, func() bool { return t.changes != seen })
		for _, ev := range reached {
			t.markReached(ctx, ev)
		}
	}
}

// markReached records a warning or a breach. A warning tells the agents;
// a breach climbs one level of the ladder (up to L3) and tells the new
// level and the platform — the breach's step says so, with the event the
// messages are about.
func (t *ticketCase) markReached(ctx workflow.Context, ev sla.Event) {
	detail := map[string]any{"target": ev.Target, "due_at": ev.DueAt}
	if ev.Kind == sla.Warning {
		t.state.Events = append(t.state.Events, ev)
		t.record(ctx, ticketStep{actor: refundflow.SystemActor, event: "sla_warning", detail: detail, slaEvent: &ev,
			notices: []notify.Notice{notify.ToStaff("agent", "ticket_sla_warning")}})
		return
	}
	before := t.state.EscalationLevel
	t.state.EscalationLevel = min(before+1, MaxEscalationLevel)
	ev.Level = t.state.EscalationLevel
	t.state.Events = append(t.state.Events, ev)
	detail["level"] = ev.Level
	notices := []notify.Notice{notify.ToPlatform(notify.EventSLABreached)}
	if ev.Level == before {
		notices = append(notices, notify.ToStaff(levelAudience(ev.Level), "ticket_sla_breached"))
	} else {
		notices = append(notices, notify.ToStaff(levelAudience(ev.Level), "ticket_escalated"), notify.ToPlatform(notify.EventTicketEscalated))
	}
	t.record(ctx, ticketStep{actor: refundflow.SystemActor, event: "sla_breached", detail: detail, slaEvent: &ev, notices: notices})
	if ev.Level != before {
		t.record(ctx, ticketStep{actor: refundflow.SystemActor, event: "escalated",
			detail: map[string]any{"level": ev.Level, "reason": string(ev.Target) + "_breached"}})
	}
}

// levelAudience is who answers for a ticket at a level: team leads are
// agents (L2), the complaints desk are admins (L3).
func levelAudience(level int) string {
	if level >= MaxEscalationLevel {
		return "admin"
	}
	return "agent"
}

// awaitReopen keeps the ticket open to a reopen for the window (the
// resolution asked the learner to rate the help). A person may reopen or
// close it meanwhile; otherwise it closes when the window ends.
func (t *ticketCase) awaitReopen(ctx workflow.Context) {
	until := t.resolvedAt.Add(t.in.ReopenWindow)
	t.state.ReopenUntil = &until
	if t.await(ctx, max(until.Sub(workflow.Now(ctx)), 0), func() bool {
		return t.state.Status != refundflow.TicketResolved
	}) {
		t.state.ReopenUntil = nil
		return
	}
	t.state.ReopenUntil = nil
	t.state.Status = refundflow.TicketClosed
	now := workflow.Now(ctx)
	t.closedAt = &now
	t.record(ctx, ticketStep{actor: refundflow.SystemActor, event: "closed", detail: map[string]any{"reason": "reopen_window_passed"}})
}
