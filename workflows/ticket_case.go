package workflows

import (
	"fmt"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/refundflow/refundflow"
	"github.com/refundflow/refundflow/activities"
	"github.com/refundflow/refundflow/calendar"
	"github.com/refundflow/refundflow/notify"
	"github.com/refundflow/refundflow/postgres"
	"github.com/refundflow/refundflow/sla"
)

// ticketCase is one running ticket: its clocks and status, and what the
// update handlers change while the story in ticket.go waits.
type ticketCase struct {
	in    TicketInput
	acts  *activities.Activities // method values only: activity names
	state TicketState

	// info is the ticket as opened: tier, links, the pinned policy.
	info activities.OpenedTicket
	cal  *calendar.Calendar
	// opened is set once the clocks run; handlers wait for it.
	opened bool
	// changes counts what handlers did, so the story knows to look again.
	changes        int
	firstResponder *refundflow.Actor
	resolver       *refundflow.Actor
	resolvedAt     time.Time
	closedAt       *time.Time

	// seq numbers the ticket's steps (0 is the opening, written by the API
	// or the OpenTicket activity); recording counts steps being written
	// (see refundCase for the same pattern).
	seq       int
	recording int
	pending   []workflow.Future
}

func newTicketCase(ctx workflow.Context, in TicketInput) (*ticketCase, error) {
	if in.ReopenWindow == 0 {
		in.ReopenWindow = DefaultReopenWindow
	}
	t := &ticketCase{in: in, state: TicketState{Status: refundflow.TicketOpen, EscalationLevel: 1}}
	if err := workflow.SetQueryHandler(ctx, TicketStateQuery, func() (TicketState, error) { return t.state, nil }); err != nil {
		return nil, err
	}
	for _, h := range []struct {
		name               string
		handler, validator any
	}{
		{TicketMessageUpdate, t.addMessage, t.validateMessage},
		{TicketStatusUpdate, t.setStatus, t.validateStatus},
	} {
		if err := workflow.SetUpdateHandlerWithOptions(ctx, h.name, h.handler, workflow.UpdateHandlerOptions{Validator: h.validator}); err != nil {
			return nil, err
		}
	}
	return t, nil
}

// --- messages ---

func (t *ticketCase) validateMessage(ctx workflow.Context, req TicketMessageRequest) error {
	switch {
	case !req.Author.Valid():
		return refuse(refundflow.EINVALID, "invalid_author", "author must be agent or customer, not %q", req.Author)
	case strings.TrimSpace(req.Body) == "":
		return refuse(refundflow.EINVALID, "missing_body", "a message needs a body")
	case t.state.Status == refundflow.TicketClosed:
		return refuse(refundflow.ECONFLICT, "ticket_closed", "the ticket is closed; open a new one")
	case req.Author == refundflow.AuthorCustomer && t.state.Status == refundflow.TicketResolved && t.reopenWindowPassed(ctx):
		return refuse(refundflow.ECONFLICT, "reopen_window_closed", "the ticket was resolved too long ago to reopen; open a new one")
	}
	return nil
}

// addMessage adds a message to the conversation. The first agent message
// is the first response; the learner writing back takes a ticket waiting
// on them back to work, and reopens a resolved one.
func (t *ticketCase) addMessage(ctx workflow.Context, req TicketMessageRequest) (TicketUpdateResult, error) {
	_ = workflow.Await(ctx, func() bool { return t.opened })
	now := workflow.Now(ctx)
	event, detail := "customer_message", map[string]any{}
	if req.Author == refundflow.AuthorAgent {
		event = "agent_message"
		t.state.AgentMessages++
		if fr := t.clock(sla.FirstResponse); !fr.Met() {
			fr.Stop(t.cal, now)
			t.firstResponder = &req.By
			event = "first_response"
			detail["business_time"] = sla.FormatDuration(fr.Used.Round(time.Second))
		}
	} else {
		switch t.state.Status {
		case refundflow.TicketWaitingOnCustomer:
			t.resume(now)
			t.state.Status = refundflow.TicketOpen
			event = "customer_replied"
		case refundflow.TicketResolved:
			t.reopen(now)
			event = "reopened"
		}
	}
	t.changes++
	t.step(ctx, ticketStep{actor: req.By, event: event, detail: detail,
		message: &postgres.TicketMessage{Author: req.Author, By: req.By, Body: req.Body}})
	if req.Author == refundflow.AuthorAgent {
		t.tellLearner(ctx, notify.KindTicketReply, req.Body)
	}
	return t.result(), nil
}

// --- status ---

func (t *ticketCase) validateStatus(ctx workflow.Context, req TicketStatusRequest) error {
	from, to := t.state.Status, req.Status
	switch {
	case !to.Valid():
		return refuse(refundflow.EINVALID, "invalid_status", "status must be one of open, waiting_on_customer, resolved, closed")
	case from == refundflow.TicketClosed:
		return refuse(refundflow.ECONFLICT, "ticket_closed", "the ticket is closed; open a new one")
	case from == to:
		return refuse(refundflow.ECONFLICT, "status_unchanged", "the ticket is %s already", to)
	case !from.CanBecome(to):
		return refuse(refundflow.ECONFLICT, "illegal_status_change", "a ticket that is %s cannot become %s", from, to)
	case from == refundflow.TicketResolved && to == refundflow.TicketOpen && t.reopenWindowPassed(ctx):
		return refuse(refundflow.ECONFLICT, "reopen_window_closed", "the ticket was resolved too long ago to reopen; open a new one")
	}
	return nil
}

// setStatus moves the ticket: waiting on the customer pauses the clocks,
// back to open resumes them, resolving meets both targets, reopening
// resumes the resolution clock with the time it had used.
func (t *ticketCase) setStatus(ctx workflow.Context, req TicketStatusRequest) (TicketUpdateResult, error) {
	_ = workflow.Await(ctx, func() bool { return t.opened })
	now := workflow.Now(ctx)
	from, to := t.state.Status, req.Status
	event := string(to)
	switch {
	case to == refundflow.TicketWaitingOnCustomer:
		for i := range t.state.Clocks {
			t.state.Clocks[i].Pause(t.cal, now)
		}
	case to == refundflow.TicketResolved:
		if fr := t.clock(sla.FirstResponse); !fr.Met() {
			fr.Stop(t.cal, now) // resolving answers the learner too
			t.firstResponder = &req.By
		}
		t.clock(sla.Resolution).Stop(t.cal, now)
		t.resolver, t.resolvedAt = &req.By, now
	case from == refundflow.TicketResolved && to == refundflow.TicketOpen:
		t.reopen(now)
		event = "reopened"
	case to == refundflow.TicketOpen:
		t.resume(now)
		event = "resumed"
	case to == refundflow.TicketClosed:
		t.closedAt = &now
	}
	t.state.Status = to
	t.changes++
	t.step(ctx, ticketStep{actor: req.By, event: event, detail: map[string]any{"from": from}})
	return t.result(), nil
}

func (t *ticketCase) resume(now time.Time) {
	for i := range t.state.Clocks {
		t.state.Clocks[i].Resume(now)
	}
}

func (t *ticketCase) reopen(now time.Time) {
	t.clock(sla.Resolution).Reopen(now)
	t.state.Status = refundflow.TicketOpen
	t.state.Reopens++
	t.resolver = nil
}

func (t *ticketCase) reopenWindowPassed(ctx workflow.Context) bool {
	return t.state.ReopenUntil != nil && !workflow.Now(ctx).Before(*t.state.ReopenUntil)
}

func (t *ticketCase) clock(target sla.Target) *sla.Clock {
	for i := range t.state.Clocks {
		if t.state.Clocks[i].Target == target {
			return &t.state.Clocks[i]
		}
	}
	panic("ticket has no " + string(target) + " clock")
}

func (t *ticketCase) result() TicketUpdateResult {
	return TicketUpdateResult{Status: t.state.Status, EscalationLevel: t.state.EscalationLevel}
}

// await waits until cond holds or the timeout passes (no timeout when it is
// negative), then until every step being recorded is in the read model,
// and reports whether cond holds (as refundCase.await).
func (t *ticketCase) await(ctx workflow.Context, timeout time.Duration, cond func() bool) bool {
	switch {
	case timeout < 0:
		_ = workflow.Await(ctx, cond)
	case timeout > 0:
		_, _ = workflow.AwaitWithTimeout(ctx, timeout, cond)
	}
	_ = workflow.Await(ctx, func() bool { return t.recording == 0 })
	return cond()
}

// --- recording steps ---

type ticketStep struct {
	actor    refundflow.Actor
	event    string
	detail   map[string]any
	message  *postgres.TicketMessage
	slaEvent *sla.Event
}

// step records the ticket as it is now — its status, SLA and the event
// that led there — in the read model and the search attributes, numbered
// so that the read model applies each step once and in order.
func (t *ticketCase) step(ctx workflow.Context, s ticketStep) {
	t.recording++
	defer func() { t.recording-- }()
	t.seq++
	now := workflow.Now(ctx)
	rec := postgres.TicketStep{
		TicketID: t.in.TicketID, Seq: t.seq, At: now, Actor: s.actor, Event: s.event, Detail: s.detail,
		Snapshot: t.snapshot(), Message: s.message, SLAEvent: s.slaEvent,
	}
	if err := workflow.ExecuteActivity(dbCtx(ctx), t.acts.RecordTicketStep, rec).Get(ctx, nil); err != nil {
		workflow.GetLogger(ctx).Error("could not record step", "ticket", t.in.TicketID, "event", s.event, "error", err)
	}
	t.upsertSearchAttributes(ctx)
}

func (t *ticketCase) snapshot() postgres.TicketSnapshot {
	clocks, events := t.state.Clocks, t.state.Events
	s := postgres.TicketSnapshot{
		Status: t.state.Status, EscalationLevel: t.state.EscalationLevel,
		SLA:      sla.Describe(t.cal, t.info.Policy, clocks, t.state.EscalationLevel, events),
		SLAState: sla.State(clocks, events), FirstResponder: t.firstResponder, Resolver: t.resolver,
		AgentMessages: t.state.AgentMessages, Reopens: t.state.Reopens, ClosedAt: t.closedAt,
	}
	if due, ok := sla.NextDue(t.cal, clocks); ok {
		s.NextDueAt = &due
	}
	if fr := t.clock(sla.FirstResponse); fr.Met() {
		used := fr.Used
		s.FirstResponseAt, s.FirstResponseBusiness = fr.MetAt, &used
	}
	if res := t.clock(sla.Resolution); res.Met() {
		used := res.Used
		s.ResolvedAt, s.ResolutionBusiness = res.MetAt, &used
	}
	return s
}

// upsertSearchAttributes lets ops find the ticket in the Temporal UI by
// tier, escalation level and its next deadline.
func (t *ticketCase) upsertSearchAttributes(ctx workflow.Context) {
	updates := []temporal.SearchAttributeUpdate{
		TicketTierKey.ValueSet(string(t.info.Tier)),
		EscalationLevelKey.ValueSet(int64(t.state.EscalationLevel)),
	}
	if due, ok := sla.NextDue(t.cal, t.state.Clocks); ok {
		updates = append(updates, SlaDeadlineKey.ValueSet(due))
	} else {
		updates = append(updates, SlaDeadlineKey.ValueUnset())
	}
	if t.info.OrderID != "" {
		updates = append(updates, OrderIDKey.ValueSet(t.info.OrderID))
	}
	if err := workflow.UpsertTypedSearchAttributes(ctx, updates...); err != nil {
		workflow.GetLogger(ctx).Warn("search attributes not updated", "error", err)
	}
}

// --- telling people ---

// tellLearner sends the learner a ticket message (email in their language
// and the in-app list).
func (t *ticketCase) tellLearner(ctx workflow.Context, kind notify.MessageKind, reply string) {
	t.track(workflow.ExecuteActivity(notifyCtx(ctx, 24*time.Hour), t.acts.NotifyTicketLearner, activities.TicketNotice{
		ID: noticeID(t.in.TicketID, t.seq, string(kind)), TicketID: t.in.TicketID, Kind: kind, At: workflow.Now(ctx), ReplyBody: reply,
	}))
}

// tellStaff notifies the agents or the complaints desk.
func (t *ticketCase) tellStaff(ctx workflow.Context, audience, kind string, ev sla.Event) {
	t.track(workflow.ExecuteActivity(notifyCtx(ctx, 24*time.Hour), t.acts.NotifyTicketStaff, activities.TicketStaffNotice{
		ID: noticeID(t.in.TicketID, t.seq, kind), Audience: audience, Kind: kind, TicketID: t.in.TicketID, Event: ev,
	}))
}

// tellPlatform sends the platform a signed sla.breached or
// ticket.escalated webhook.
func (t *ticketCase) tellPlatform(ctx workflow.Context, typ notify.EventType, ev sla.Event) {
	w := activities.TicketWebhook{ID: fmt.Sprintf("evt_%s_%d_%s", t.in.TicketID, t.seq, typ), Type: typ, At: workflow.Now(ctx)}
	if typ == notify.EventTicketEscalated {
		w.Escalated = &notify.TicketEscalatedData{
			TicketID: t.in.TicketID, Tier: string(t.info.Tier), Level: ev.Level, OrderID: t.info.OrderID,
			RefundID: t.info.RefundID, Reason: string(ev.Target) + "_breached",
		}
	} else {
		w.Breached = &notify.SLABreachedData{Subject: "ticket", ID: t.in.TicketID, Target: string(ev.Target), DueAt: ev.DueAt, Level: ev.Level}
	}
	t.track(workflow.ExecuteActivity(notifyCtx(ctx, 24*time.Hour), t.acts.SendTicketWebhook, w))
}

func (t *ticketCase) track(f workflow.Future) { t.pending = append(t.pending, f) }

// close waits for the handlers and the notifications still in flight, then
// ends the ticket.
func (t *ticketCase) close(ctx workflow.Context) (TicketResult, error) {
	_ = workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) })
	for _, f := range t.pending {
		if err := f.Get(ctx, nil); err != nil {
			workflow.GetLogger(ctx).Warn("notification not delivered", "ticket", t.in.TicketID, "error", err)
		}
	}
	return TicketResult{Status: t.state.Status, EscalationLevel: t.state.EscalationLevel}, nil
}
