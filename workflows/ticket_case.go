package workflows

import (
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/refundflow/refundflow"
	"github.com/refundflow/refundflow/activities/contract"
	"github.com/refundflow/refundflow/calendar"
	"github.com/refundflow/refundflow/notify"
	"github.com/refundflow/refundflow/sla"
	"github.com/refundflow/refundflow/ticket"
)

// ticketCase is one running ticket: its clocks and status, and what the
// update handlers change while the story in ticket.go waits.
type ticketCase struct {
	in    TicketInput
	state TicketState

	// info is the ticket as opened: tier, links, the pinned policy.
	info contract.OpenedTicket
	cal  *calendar.Calendar
	// opened is set once the clocks run; handlers wait for it.
	opened bool
	// changes counts what handlers did, so the story knows to look again.
	changes        int
	firstResponder *refundflow.Actor
	resolver       *refundflow.Actor
	resolvedAt     time.Time
	closedAt       *time.Time

	// journal numbers the ticket's steps (0 is the opening, written by
	// whoever opened it) and writes them.
	journal journal
	// attrs are the search attributes as last set.
	attrs ticketAttrs
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
	case !req.Author.WritableBy(actingRole(req.By)):
		return refuse(refundflow.EFORBIDDEN, "author_not_allowed", "a %s writes as the customer only", req.By.Kind)
	case strings.TrimSpace(req.Body) == "":
		return refuse(refundflow.EINVALID, "missing_body", "a message needs a body")
	case t.state.Status == refundflow.TicketClosed:
		return refuse(refundflow.ECONFLICT, "ticket_closed", "the ticket is closed; open a new one")
	case req.Author == refundflow.AuthorCustomer && t.state.Status == refundflow.TicketResolved && t.reopenWindowPassed(ctx):
		return refuse(refundflow.ECONFLICT, "reopen_window_closed", "the ticket was resolved too long ago to reopen; open a new one")
	}
	return nil
}

// actingRole is the role an update's actor acts with, for the rules the
// API applies too (one set of rules, wherever an update comes from): a
// learner speaks through the platform's key.
func actingRole(by refundflow.Actor) refundflow.Role {
	if by.Kind == "learner" {
		return refundflow.RolePlatform
	}
	return refundflow.Role(by.Kind)
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
	step := ticketStep{actor: req.By, event: event, detail: detail,
		message: &ticket.Message{Author: req.Author, By: req.By, Body: req.Body}}
	if req.Author == refundflow.AuthorAgent {
		step.notices = []notify.Notice{notify.ToLearner(notify.KindTicketReply)}
	}
	t.record(ctx, step)
	return t.result(), nil
}

// --- status ---

func (t *ticketCase) validateStatus(ctx workflow.Context, req TicketStatusRequest) error {
	from, to := t.state.Status, req.Status
	switch {
	case !to.Valid():
		return refuse(refundflow.EINVALID, "invalid_status", "status must be one of open, waiting_on_customer, resolved, closed")
	case !to.SettableBy(actingRole(req.By)):
		return refuse(refundflow.EFORBIDDEN, "status_not_allowed", "a %s may only take a ticket back to open; %s is an agent's to set", req.By.Kind, to)
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
	step := ticketStep{actor: req.By, event: event, detail: map[string]any{"from": from}}
	if to == refundflow.TicketResolved {
		// The learner is asked to rate the help (CSAT).
		step.notices = []notify.Notice{notify.ToLearner(notify.KindTicketResolved)}
	}
	t.record(ctx, step)
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

// await waits for cond (see journal.await), with the ticket's search
// attributes up to date while it waits.
func (t *ticketCase) await(ctx workflow.Context, timeout time.Duration, cond func() bool) bool {
	return t.journal.await(ctx, timeout, cond, t.upsertSearchAttributes)
}

// --- recording steps ---

type ticketStep struct {
	actor    refundflow.Actor
	event    string
	detail   map[string]any
	message  *ticket.Message
	slaEvent *sla.Event
	notices  []notify.Notice
}

// record writes a step: the ticket as it is now — its status, SLA and the
// event that led there — with the messages it causes (see journal).
func (t *ticketCase) record(ctx workflow.Context, s ticketStep) {
	t.journal.write(ctx, contract.RecordTicketStep, ticket.Step{
		TicketID: t.in.TicketID, Seq: t.journal.next(), At: workflow.Now(ctx), Actor: s.actor, Event: s.event, Detail: s.detail,
		Snapshot: t.snapshot(), Message: s.message, SLAEvent: s.slaEvent, Notices: s.notices,
	})
}

func (t *ticketCase) snapshot() ticket.Snapshot {
	clocks, events := t.state.Clocks, t.state.Events
	s := ticket.Snapshot{
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

// ticketAttrs are the search attributes that change while a ticket runs
// (the start sets the tier and the order or course).
type ticketAttrs struct {
	level int
	due   time.Time
}

// upsertSearchAttributes lets ops find the ticket in the Temporal UI by
// escalation level and its next deadline, in one upsert of what changed:
// only where the story is about to wait.
func (t *ticketCase) upsertSearchAttributes(ctx workflow.Context) {
	if !t.opened {
		return
	}
	now := ticketAttrs{level: t.state.EscalationLevel}
	if due, ok := sla.NextDue(t.cal, t.state.Clocks); ok {
		now.due = due
	}
	was := t.attrs
	if now == was {
		return
	}
	var updates []temporal.SearchAttributeUpdate
	if now.level != was.level {
		updates = append(updates, EscalationLevelKey.ValueSet(int64(now.level)))
	}
	if now.due != was.due {
		if now.due.IsZero() {
			updates = append(updates, SlaDeadlineKey.ValueUnset())
		} else {
			updates = append(updates, SlaDeadlineKey.ValueSet(now.due))
		}
	}
	if err := workflow.UpsertTypedSearchAttributes(ctx, updates...); err != nil {
		workflow.GetLogger(ctx).Warn("search attributes not updated", "error", err)
		return
	}
	t.attrs = now
}

// close waits for the handlers and the steps still being written, then
// ends the ticket.
func (t *ticketCase) close(ctx workflow.Context) (TicketResult, error) {
	t.journal.close(ctx)
	t.upsertSearchAttributes(ctx)
	return TicketResult{Status: t.state.Status, EscalationLevel: t.state.EscalationLevel}, nil
}
