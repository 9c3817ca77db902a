package workflows_test

import (
	"context"
	"encoding/json"
	"slices"
	"strconv"
	"testing"
	"time"

	"go.temporal.io/sdk/testsuite"

	"github.com/refundflow/refundflow"
	"github.com/refundflow/refundflow/activities"
	"github.com/refundflow/refundflow/activities/contract"
	"github.com/refundflow/refundflow/internal/casetest"
	"github.com/refundflow/refundflow/policy"
	"github.com/refundflow/refundflow/postgres"
	"github.com/refundflow/refundflow/postgres/sqlgen"
	"github.com/refundflow/refundflow/sla"
	"github.com/refundflow/refundflow/workflows"
)

var (
	shanghai = mustZone("Asia/Shanghai")
	ada      = refundflow.Actor{Kind: "agent", ID: "key_ada", Name: "Ada"}
	customer = refundflow.Actor{Kind: "learner", ID: platformKey, Name: "via platform"}
)

func mustZone(name string) *time.Location {
	l, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return l
}

// local is a wall-clock time in Shanghai, where the cn calendar counts.
func local(year int, month time.Month, day, hour, minute int) time.Time {
	return time.Date(year, month, day, hour, minute, 0, 0, shanghai)
}

// ticketRun is one ticket in the time-skipping test environment, opened as
// the API opens it (the read model first, at the workflow clock's start),
// with the real activities against PostgreSQL.
type ticketRun struct {
	t      *testing.T
	w      *casetest.World
	env    *testsuite.TestWorkflowEnvironment
	id     string
	opened time.Time
	// acknowledged: the learner knows of the ticket already.
	acknowledged bool
}

func newTicket(t *testing.T, w *casetest.World, id string, tier sla.Tier, priority sla.Priority, opened time.Time) *ticketRun {
	t.Helper()
	if _, err := w.DB.OpenTicket(context.Background(), postgres.NewTicket{
		ID: id, Tier: tier, Priority: priority, LearnerID: "learner-" + id, LearnerEmail: id + "@example.com",
		Subject: "视频无法播放", Body: "Lesson 3 does not play.", OpenedBy: customer, OpenedAt: opened, Level: 1,
	}); err != nil {
		t.Fatal(err)
	}
	return ticketOpened(t, w, id, opened)
}

// ticketOpened is a ticket someone opened already (its row is written),
// to run its workflow from the instant it opened.
func ticketOpened(t *testing.T, w *casetest.World, id string, opened time.Time) *ticketRun {
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestWorkflowEnvironment()
	env.SetStartTime(opened)
	env.RegisterWorkflow(workflows.Ticket)
	env.RegisterActivity(w.Acts)
	return &ticketRun{t: t, w: w, env: env, id: id, opened: opened}
}

func (r *ticketRun) run() workflows.TicketResult {
	r.t.Helper()
	r.env.ExecuteWorkflow(workflows.Ticket, workflows.TicketInput{TicketID: r.id, Acknowledged: r.acknowledged})
	if !r.env.IsWorkflowCompleted() {
		r.t.Fatal("the ticket did not complete")
	}
	if err := r.env.GetWorkflowError(); err != nil {
		r.t.Fatalf("the ticket failed: %v", err)
	}
	var res workflows.TicketResult
	if err := r.env.GetWorkflowResult(&res); err != nil {
		r.t.Fatal(err)
	}
	r.w.Deliver()
	return res
}

// update sends a ticket update at an instant; the outcome fills in when the
// workflow answers.
func (r *ticketRun) update(at time.Time, name string, arg any) *updateOutcome {
	out := &updateOutcome{}
	r.env.RegisterDelayedCallback(func() {
		r.env.UpdateWorkflow(name, name+at.String(), &testsuite.TestUpdateCallback{
			OnAccept: func() {},
			OnReject: func(err error) { out.err, out.done = err, true },
			OnComplete: func(_ any, err error) {
				out.done, out.err = true, err
			},
		}, arg)
	}, at.Sub(r.opened))
	return out
}

func (r *ticketRun) agentSays(at time.Time, body string) *updateOutcome {
	return r.update(at, workflows.TicketMessageUpdate, workflows.TicketMessageRequest{Author: refundflow.AuthorAgent, By: ada, Body: body})
}

func (r *ticketRun) customerSays(at time.Time, body string) *updateOutcome {
	return r.update(at, workflows.TicketMessageUpdate, workflows.TicketMessageRequest{Author: refundflow.AuthorCustomer, By: customer, Body: body})
}

func (r *ticketRun) status(at time.Time, s refundflow.TicketStatus) *updateOutcome {
	return r.update(at, workflows.TicketStatusUpdate, workflows.TicketStatusRequest{Status: s, By: ada})
}

// stateAt queries the workflow at an instant.
func (r *ticketRun) stateAt(at time.Time) *workflows.TicketState {
	st := &workflows.TicketState{}
	r.env.RegisterDelayedCallback(func() {
		v, err := r.env.QueryWorkflow(workflows.TicketStateQuery)
		if err != nil {
			r.t.Error(err)
			return
		}
		if err := v.Get(st); err != nil {
			r.t.Error(err)
		}
	}, at.Sub(r.opened))
	return st
}

// readAt reads the ticket from the read model at an instant.
func (r *ticketRun) readAt(at time.Time) **postgres.Ticket {
	var tk *postgres.Ticket
	r.env.RegisterDelayedCallback(func() { tk = r.ticket() }, at.Sub(r.opened))
	return &tk
}

func (r *ticketRun) ticket() *postgres.Ticket {
	r.t.Helper()
	tk, err := r.w.DB.GetTicket(context.Background(), r.id)
	if err != nil {
		r.t.Fatal(err)
	}
	return tk
}

func (r *ticketRun) events() []string {
	var out []string
	for _, e := range r.ticket().Timeline {
		out = append(out, e.Event)
	}
	return out
}

func (r *ticketRun) slaEvents() []sla.Event {
	r.t.Helper()
	ev, err := r.w.DB.SLAEvents(context.Background(), r.id)
	if err != nil {
		r.t.Fatal(err)
	}
	return ev
}

// timelineAt returns when the first step of an event was recorded.
func (r *ticketRun) timelineAt(event string) time.Time {
	r.t.Helper()
	for _, e := range r.ticket().Timeline {
		if e.Event == event {
			return e.At
		}
	}
	r.t.Fatalf("no %s in %v", event, r.events())
	return time.Time{}
}

type wantEvent struct {
	kind   sla.EventKind
	target sla.Target
	at     time.Time
	level  int
}

func checkSLAEvents(t *testing.T, got []sla.Event, want ...wantEvent) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("SLA events %+v, want %d", got, len(want))
	}
	for i, w := range want {
		g := got[i]
		if g.Kind != w.kind || g.Target != w.target || !g.At.Equal(w.at) || g.Level != w.level {
			t.Errorf("event %d: %s %s at %s level %d, want %s %s at %s level %d", i,
				g.Target, g.Kind, g.At.In(shanghai), g.Level, w.target, w.kind, w.at.In(shanghai), w.level)
		}
	}
}

func staffKinds(t *testing.T, w *casetest.World, audience string) []string {
	t.Helper()
	rows, err := w.DB.Queries().ListStaffNotifications(context.Background(), sqlgen.ListStaffNotificationsParams{Audience: audience, MaxRows: 100})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for i := len(rows) - 1; i >= 0; i-- {
		out = append(out, rows[i].Kind)
	}
	return out
}

// webhooks lists the ticket's platform events as "type:level".
func webhooks(w *casetest.World, ticketID string) []string {
	var out []string
	for _, e := range w.Platform.Events() {
		var d struct {
			TicketID string `json:"ticket_id"`
			ID       string `json:"id"`
			Level    int    `json:"level"`
		}
		_ = json.Unmarshal(e.Data, &d)
		if d.TicketID == ticketID || d.ID == ticketID {
			out = append(out, e.Type+":"+strconv.Itoa(d.Level))
		}
	}
	return out
}

// --- clock paths ---

// A free ticket opened at 17:00 on the Friday before Qingming (4–6 April)
// has half an hour of business time that day, then nothing until Tuesday
// 09:00. Nobody answers: it warns and breaches on business time, climbing
// the ladder to L3, each step told to the right people.
func TestFreeTicketOpenedFridayBeforeAHolidayClimbsTheLadderOnBusinessTime(t *testing.T) {
	w := casetest.New(t)
	opened := local(2026, 4, 3, 17, 0)
	r := newTicket(t, w, "tk-qingming", sla.Free, sla.Normal, opened)
	frDue, resDue := local(2026, 4, 9, 15, 30), local(2026, 4, 17, 12, 30)
	atOpen := r.readAt(opened.Add(time.Minute))
	beforeBreach := r.stateAt(frDue.Add(-time.Second))
	afterBreach := r.stateAt(frDue.Add(time.Second))
	r.status(local(2026, 4, 20, 10, 0), refundflow.TicketResolved)

	res := r.run()

	if got := (*atOpen).SLA; !got.FirstResponseDueAt.Equal(frDue) || !got.ResolutionDueAt.Equal(resDue) || got.Calendar != "cn" {
		t.Fatalf("deadlines shown at open: %+v", got)
	}
	if beforeBreach.EscalationLevel != 1 || afterBreach.EscalationLevel != 2 {
		t.Fatalf("level %d a second before the first-response deadline, %d a second after", beforeBreach.EscalationLevel, afterBreach.EscalationLevel)
	}
	checkSLAEvents(t, r.slaEvents(),
		wantEvent{sla.Warning, sla.FirstResponse, local(2026, 4, 9, 10, 42), 0},
		wantEvent{sla.Breach, sla.FirstResponse, frDue, 2},
		wantEvent{sla.Warning, sla.Resolution, local(2026, 4, 15, 15, 6), 0},
		wantEvent{sla.Breach, sla.Resolution, resDue, 3},
	)
	if res.Status != refundflow.TicketClosed || res.EscalationLevel != 3 {
		t.Fatalf("result %+v", res)
	}
	tk := r.ticket()
	if tk.SLA.EscalationLevel != 3 || tk.SLAState != "breached" || len(tk.SLA.Warnings) != 2 || len(tk.SLA.Breaches) != 2 || tk.ClosedAt == nil {
		t.Fatalf("ticket %+v", tk.SLA)
	}
	wantEvents(t, r.events(), "opened", "sla_warning", "sla_breached", "escalated", "sla_warning", "sla_breached", "escalated", "resolved", "closed")
	if got := staffKinds(t, w, "agent"); !slices.Equal(got, []string{"ticket_sla_warning", "ticket_escalated", "ticket_sla_warning"}) {
		t.Fatalf("agents heard %v", got)
	}
	if got := staffKinds(t, w, "admin"); !slices.Equal(got, []string{"ticket_escalated"}) {
		t.Fatalf("the complaints desk heard %v", got)
	}
	// Deliveries run concurrently: compare what arrived, not in which order.
	if got := webhooks(w, r.id); !slices.Equal(slices.Sorted(slices.Values(got)), []string{"sla.breached:2", "sla.breached:3", "ticket.escalated:2", "ticket.escalated:3"}) {
		t.Fatalf("platform heard %v", got)
	}
}

// Saturday 14 February 2026 is worked before the Spring Festival: a free
// ticket opened on Thursday warns and breaches on that Saturday.
func TestMakeUpSaturdayCountsAsABusinessDay(t *testing.T) {
	w := casetest.New(t)
	opened := local(2026, 2, 12, 10, 0)
	r := newTicket(t, w, "tk-makeup", sla.Free, sla.Normal, opened)
	r.agentSays(local(2026, 2, 24, 9, 30), "请清除缓存后重试。")
	r.status(local(2026, 2, 24, 10, 0), refundflow.TicketResolved)

	r.run()

	checkSLAEvents(t, r.slaEvents(),
		wantEvent{sla.Warning, sla.FirstResponse, local(2026, 2, 14, 12, 12), 0},
		wantEvent{sla.Breach, sla.FirstResponse, local(2026, 2, 14, 17, 0), 2},
	)
	row, err := w.DB.Queries().GetTicket(context.Background(), r.id)
	if err != nil {
		t.Fatal(err)
	}
	// Thu 7.5h + Fri 8.5h + the make-up Saturday 8.5h + Tue 24 Feb 0.5h.
	if got := time.Duration(*row.FirstResponseBusinessNs); got != 25*time.Hour {
		t.Fatalf("first response took %s of business time, want 25h", got)
	}
}

// Waiting on the customer over a weekend pauses the clocks: the paid
// tier's 24 hours (24x7) do not run out while the learner is away.
func TestPauseAcrossAWeekendKeepsTheTimeUsed(t *testing.T) {
	w := casetest.New(t)
	opened := time.Date(2026, 3, 6, 10, 0, 0, 0, time.UTC) // Friday
	r := newTicket(t, w, "tk-weekend", sla.Paid, sla.Normal, opened)
	r.agentSays(opened.Add(time.Hour), "Which browser do you use?")
	waiting := r.status(opened.Add(time.Hour), refundflow.TicketWaitingOnCustomer)
	saturday := r.readAt(time.Date(2026, 3, 7, 12, 0, 0, 0, time.UTC))
	monday := time.Date(2026, 3, 9, 9, 0, 0, 0, time.UTC)
	r.customerSays(monday, "Safari 17.")
	resumed := r.readAt(monday.Add(time.Minute))
	r.status(monday.Add(11*time.Hour), refundflow.TicketResolved)

	r.run()

	accepted(t, waiting)
	if s := (*saturday).SLA; !s.Paused || s.ResolutionDueAt != nil || (*saturday).Status != refundflow.TicketWaitingOnCustomer {
		t.Fatalf("on Saturday: status %s, sla %+v", (*saturday).Status, s)
	}
	want := time.Date(2026, 3, 10, 8, 0, 0, 0, time.UTC) // Monday 09:00 + the 23h left
	if s := (*resumed).SLA; s.Paused || !s.ResolutionDueAt.Equal(want) || (*resumed).Status != refundflow.TicketOpen {
		t.Fatalf("after the learner answered: status %s, sla %+v", (*resumed).Status, s)
	}
	if ev := r.slaEvents(); len(ev) != 0 {
		t.Fatalf("the weekend counted: %+v", ev)
	}
	wantEvents(t, r.events(), "first_response", "waiting_on_customer", "customer_replied", "resolved")
	row, _ := w.DB.Queries().GetTicket(context.Background(), r.id)
	if got := time.Duration(*row.ResolutionBusinessNs); got != 12*time.Hour {
		t.Fatalf("resolution took %s on the clock, want 12h (1h before the weekend, 11h after)", got)
	}
}

// The first agent message stops the first-response clock: no warning for
// it later, and the learner reads the reply.
func TestFirstAgentMessageStopsTheFirstResponseClock(t *testing.T) {
	w := casetest.New(t)
	opened := start
	r := newTicket(t, w, "tk-answered", sla.VIP, sla.Normal, opened)
	r.agentSays(opened.Add(20*time.Minute), "We are on it.")
	later := r.stateAt(opened.Add(time.Hour))
	r.agentSays(opened.Add(2*time.Hour), "Fixed: please try again.")
	r.status(opened.Add(2*time.Hour+time.Minute), refundflow.TicketResolved)

	r.run()

	fr := later.Clocks[0]
	if !fr.Met() || fr.Used != 20*time.Minute || later.AgentMessages != 1 {
		t.Fatalf("first-response clock an hour in: %+v", fr)
	}
	if ev := r.slaEvents(); len(ev) != 0 {
		t.Fatalf("SLA events %+v", ev)
	}
	tk := r.ticket()
	if len(tk.Messages) != 3 || tk.Messages[1].Author != refundflow.AuthorAgent || tk.Messages[1].By.Name != "Ada" {
		t.Fatalf("messages %+v", tk.Messages)
	}
	if got := w.LearnerKinds("learner-" + r.id); !slices.Equal(got, []string{"ticket_received", "ticket_reply", "ticket_reply", "ticket_resolved"}) {
		t.Fatalf("learner heard %v", got)
	}
	row, _ := w.DB.Queries().GetTicket(context.Background(), r.id)
	if *row.FirstResponderID != "key_ada" || row.AgentMessages != 2 {
		t.Fatalf("first responder %v, agent messages %d", *row.FirstResponderID, row.AgentMessages)
	}
}

// Warnings and breaches land exactly at their instants (80 % and 100 % of
// the target), in the SLA events and the timeline alike; urgent tickets
// get half the time.
func TestWarningAndBreachHappenExactlyAtTheirInstants(t *testing.T) {
	for _, tc := range []struct {
		priority sla.Priority
		target   time.Duration
	}{{sla.Normal, 30 * time.Minute}, {sla.Urgent, 15 * time.Minute}} {
		t.Run(string(tc.priority), func(t *testing.T) {
			w := casetest.New(t)
			opened := start
			r := newTicket(t, w, "tk-exact-"+string(tc.priority), sla.VIP, tc.priority, opened)
			warnAt, breachAt := opened.Add(tc.target*8/10), opened.Add(tc.target)
			justBefore := r.stateAt(warnAt.Add(-time.Second))
			r.agentSays(breachAt.Add(time.Minute), "Sorry for the wait.")
			r.status(breachAt.Add(2*time.Minute), refundflow.TicketResolved)

			r.run()

			if len(justBefore.Events) != 0 {
				t.Fatalf("events a second before the warning: %+v", justBefore.Events)
			}
			checkSLAEvents(t, r.slaEvents(),
				wantEvent{sla.Warning, sla.FirstResponse, warnAt, 0},
				wantEvent{sla.Breach, sla.FirstResponse, breachAt, 2},
			)
			if got := r.timelineAt("sla_warning"); !got.Equal(warnAt) {
				t.Fatalf("warning recorded at %s, want %s", got, warnAt)
			}
			if got := r.timelineAt("sla_breached"); !got.Equal(breachAt) {
				t.Fatalf("breach recorded at %s, want %s", got, breachAt)
			}
		})
	}
}

// A learner who says the problem is not solved reopens the ticket within
// seven days; the resolution clock counts on from what it had used. After
// the second resolution nobody reopens it, and it closes seven days later.
func TestReopenWithinSevenDaysResumesTheResolutionClock(t *testing.T) {
	w := casetest.New(t)
	opened := start
	r := newTicket(t, w, "tk-reopen", sla.Paid, sla.Normal, opened)
	r.agentSays(opened.Add(30*time.Minute), "Please update the app.")
	r.status(opened.Add(5*time.Hour), refundflow.TicketResolved)
	reopen := r.customerSays(opened.Add(72*time.Hour), "Still broken after the update.")
	reopened := r.stateAt(opened.Add(72*time.Hour + time.Minute))
	r.agentSays(opened.Add(73*time.Hour), "Fixed on our side.")
	r.status(opened.Add(74*time.Hour), refundflow.TicketResolved)
	tooLate := r.customerSays(opened.Add(74*time.Hour+workflows.DefaultReopenWindow+time.Hour), "Hello?")

	res := r.run()

	accepted(t, reopen)
	if reopened.Status != refundflow.TicketOpen || reopened.Reopens != 1 || !reopened.Clocks[1].Running() || reopened.Clocks[1].Used != 5*time.Hour {
		t.Fatalf("after the reopen: %+v", reopened)
	}
	if res.Status != refundflow.TicketClosed || tooLate.done {
		t.Fatalf("result %+v; a message after the close was answered: %v", res, tooLate.done)
	}
	tk := r.ticket()
	if want := opened.Add(74*time.Hour + workflows.DefaultReopenWindow); tk.ClosedAt == nil || !tk.ClosedAt.Equal(want) {
		t.Fatalf("closed at %v, want %s", tk.ClosedAt, want)
	}
	wantEvents(t, r.events(), "first_response", "resolved", "reopened", "agent_message", "resolved", "closed")
	row, _ := w.DB.Queries().GetTicket(context.Background(), r.id)
	if row.Reopens != 1 || time.Duration(*row.ResolutionBusinessNs) != 7*time.Hour {
		t.Fatalf("reopens %d, resolution %s on the clock, want 7h", row.Reopens, time.Duration(*row.ResolutionBusinessNs))
	}
	if got := w.LearnerKinds("learner-" + r.id); !slices.Equal(got, []string{"ticket_received", "ticket_reply", "ticket_resolved", "ticket_reply", "ticket_resolved"}) {
		t.Fatalf("learner heard %v", got)
	}
}

// The state machine refuses what it does not allow, with a code, and a
// refused change changes nothing.
func TestIllegalStatusChangesAreRefusedAndChangeNothing(t *testing.T) {
	w := casetest.New(t)
	opened := start
	r := newTicket(t, w, "tk-illegal", sla.Paid, sla.Normal, opened)
	toClosed := r.status(opened.Add(time.Minute), refundflow.TicketClosed)
	toOpen := r.status(opened.Add(2*time.Minute), refundflow.TicketOpen)
	unknown := r.status(opened.Add(3*time.Minute), "pending")
	badAuthor := r.update(opened.Add(4*time.Minute), workflows.TicketMessageUpdate, workflows.TicketMessageRequest{Author: "bot", By: ada, Body: "hi"})
	empty := r.agentSays(opened.Add(5*time.Minute), "  ")
	// The platform's key speaks for the learner only, and may only take a
	// ticket back to open: around the API too.
	asAgent := r.update(opened.Add(5*time.Minute+time.Second), workflows.TicketMessageUpdate, workflows.TicketMessageRequest{Author: refundflow.AuthorAgent, By: customer, Body: "resolved, 100% satisfied"})
	platformResolves := r.update(opened.Add(5*time.Minute+2*time.Second), workflows.TicketStatusUpdate, workflows.TicketStatusRequest{Status: refundflow.TicketResolved, By: refundflow.Actor{Kind: "platform", ID: platformKey}})
	r.status(opened.Add(6*time.Minute), refundflow.TicketWaitingOnCustomer)
	r.status(opened.Add(7*time.Minute), refundflow.TicketResolved)
	backToWaiting := r.status(opened.Add(8*time.Minute), refundflow.TicketWaitingOnCustomer)
	r.status(opened.Add(9*time.Minute), refundflow.TicketClosed)

	res := r.run()

	refusedWith(t, toClosed, "illegal_status_change")
	refusedWith(t, toOpen, "status_unchanged")
	refusedWith(t, unknown, "invalid_status")
	refusedWith(t, badAuthor, "invalid_author")
	refusedWith(t, empty, "missing_body")
	refusedWith(t, asAgent, "author_not_allowed")
	refusedWith(t, platformResolves, "status_not_allowed")
	refusedWith(t, backToWaiting, "illegal_status_change")
	if e, _ := workflows.AsRefusal(toClosed.err); e.Kind != refundflow.ECONFLICT {
		t.Fatalf("an illegal change is a conflict, got %s", e.Kind)
	}
	if res.Status != refundflow.TicketClosed {
		t.Fatalf("result %+v", res)
	}
	if got := r.events(); !slices.Equal(got, []string{"opened", "waiting_on_customer", "resolved", "closed"}) {
		t.Fatalf("timeline %v", got)
	}
}

// A learner's appeal of a rejected refund opens a ticket linked to the
// case, at L2, on the paid tier's clock; unanswered, it climbs to L3.
func TestAppealOfARejectedRefundOpensALinkedTicketAtLevel2(t *testing.T) {
	w := casetest.New(t)
	recordedCourse(w)
	o := order(w, "o20", "go-basics", 19900, 20*24*time.Hour)
	c := newCase(t, w, "o20", policy.ReasonQualityIssue)
	c.reject(time.Hour, c.alice, "the course matches its description")
	c.update(2*time.Hour, workflows.AppealUpdate, workflows.LearnerRequest{By: learn, Note: "lesson 3 is missing"})
	c.approve(5*time.Hour, c.bob, nil, "")

	if res := c.run(false); res.Status != refundflow.StatusRefunded {
		t.Fatalf("result %+v", res)
	}

	wantEvents(t, w.Events(c.id), "appealed", "ticket_opened", "awaiting_approval", "approved")
	id := activities.AppealTicketID(c.id)
	if len(w.Starts.Tickets) != 1 || w.Starts.Tickets[0] != (contract.TicketStart{TicketID: id, Tier: "paid", Level: 2, OrderID: "o20", Acknowledged: true}) {
		t.Fatalf("tickets started %+v", w.Starts.Tickets)
	}
	// The ticket's workflow, started by the appeal, runs on its own; the
	// agents resolve it later that day.
	tr := ticketOpened(t, w, id, start.Add(2*time.Hour))
	tr.acknowledged = true
	tr.status(start.Add(10*time.Hour), refundflow.TicketResolved)
	tr.run()
	tk, err := w.DB.GetTicket(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	if tk.RefundID != c.id || tk.OrderID != "o20" || tk.LearnerID != o.LearnerID || tk.Tier != sla.Paid || tk.LearnerEmail != o.LearnerEmail {
		t.Fatalf("ticket %+v", tk)
	}
	if len(tk.Messages) != 1 || tk.Messages[0].Body != "lesson 3 is missing" || tk.Timeline[0].Detail["level"] != float64(2) {
		t.Fatalf("ticket opened with %+v, %+v", tk.Messages, tk.Timeline[0])
	}
	checkSLAEvents(t, tk.SLA.Warnings, wantEvent{sla.Warning, sla.FirstResponse, start.Add(2*time.Hour + 96*time.Minute), 0})
	checkSLAEvents(t, tk.SLA.Breaches, wantEvent{sla.Breach, sla.FirstResponse, start.Add(4 * time.Hour), 3})
	if slices.Contains(w.LearnerKinds(o.LearnerID), "ticket_received") {
		t.Fatal("the learner was told twice that the appeal was received")
	}
	if got := staffKinds(t, w, "admin"); !slices.Contains(got, "ticket_escalated") {
		t.Fatalf("the complaints desk heard %v", got)
	}
}
