package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/refundflow/refundflow"
	"github.com/refundflow/refundflow/calendar"
	"github.com/refundflow/refundflow/notify"
	"github.com/refundflow/refundflow/postgres/sqlgen"
	"github.com/refundflow/refundflow/sla"
	"github.com/refundflow/refundflow/ticket"
)

// --- SLA policies ---

// SLAPolicy returns the current policy of a tier; ENOTFOUND "unknown_tier"
// for a tier that does not exist.
func (db *DB) SLAPolicy(ctx context.Context, tier sla.Tier) (sla.Policy, error) {
	row, err := db.q.GetSLAPolicy(ctx, string(tier))
	if isNoRows(err) {
		return sla.Policy{}, refundflow.Errorf(refundflow.ENOTFOUND, "unknown_tier", "%q is not a tier: use free, paid or vip", tier)
	}
	if err != nil {
		return sla.Policy{}, err
	}
	return policyFromRow(row), nil
}

// PutSLAPolicy replaces a tier's policy (checked by sla.ParsePolicy). Open
// tickets keep the policy they were opened with.
func (db *DB) PutSLAPolicy(ctx context.Context, p sla.Policy, by string) (sla.Policy, error) {
	row, err := db.q.UpsertSLAPolicy(ctx, sqlgen.UpsertSLAPolicyParams{
		Tier: string(p.Tier), Calendar: p.Calendar, FirstResponseNs: int64(p.FirstResponse),
		ResolutionNs: int64(p.Resolution), WarnAt: p.WarnAt, UpdatedBy: by,
	})
	if err != nil {
		return sla.Policy{}, fmt.Errorf("store SLA policy %s: %w", p.Tier, err)
	}
	return policyFromRow(row), nil
}

func policyFromRow(r sqlgen.SlaPolicy) sla.Policy {
	return sla.Policy{
		Tier: sla.Tier(r.Tier), Calendar: r.Calendar, FirstResponse: time.Duration(r.FirstResponseNs),
		Resolution: time.Duration(r.ResolutionNs), WarnAt: r.WarnAt,
	}
}

// --- tickets ---

// Ticket is a ticket as the read model holds it.
type Ticket struct {
	ID           string
	Status       refundflow.TicketStatus
	Tier         sla.Tier
	Priority     sla.Priority
	LearnerID    string
	LearnerEmail string
	Locale       refundflow.Locale
	OrderID      string
	RefundID     string
	Subject      string
	OpenedBy     refundflow.Actor
	OpenedAt     time.Time
	// Policy is the tier's policy pinned when the ticket opened, priority
	// applied.
	Policy    sla.Policy
	SLA       sla.Status
	SLAState  string
	CreatedAt time.Time
	UpdatedAt time.Time
	ClosedAt  *time.Time

	// Filled by GetTicket only.
	Messages []TicketMessage
	Timeline []TicketTimelineEntry
	CSAT     *CSAT
}

// TicketMessage is one message of the conversation.
type TicketMessage struct {
	Seq    int                      `json:"seq"`
	Author refundflow.MessageAuthor `json:"author"`
	By     refundflow.Actor         `json:"by"`
	Body   string                   `json:"body"`
	At     time.Time                `json:"at"`
}

// TicketTimelineEntry is one step of a ticket: who, when, what.
type TicketTimelineEntry struct {
	Seq    int                     `json:"seq"`
	At     time.Time               `json:"at"`
	Actor  refundflow.Actor        `json:"actor"`
	Event  string                  `json:"event"`
	Status refundflow.TicketStatus `json:"status"`
	Detail map[string]any          `json:"detail"`
}

// CSAT is the learner's rating of the help, 1 (very poor) to 5.
type CSAT struct {
	Score   int       `json:"score"`
	Comment string    `json:"comment"`
	RatedAt time.Time `json:"rated_at"`
}

// NewTicket is a ticket to open. Without a learner, the linked order's
// learner is taken (and the refund's order without an order); email and
// locale default to the order's.
type NewTicket struct {
	ID           string
	Tier         sla.Tier
	Priority     sla.Priority
	LearnerID    string
	LearnerEmail string
	Locale       refundflow.Locale
	OrderID      string
	RefundID     string
	Subject      string
	// Body is the learner's first message.
	Body     string
	OpenedBy refundflow.Actor
	OpenedAt time.Time
	// Level is the escalation level the ticket starts at (1, or 2 for the
	// appeal of a refund).
	Level int
}

// OpenTicket records a new ticket with the tier's policy pinned, its clocks
// started at OpenedAt, and the learner's first message. Opening the same id
// again returns the ticket as it is. Links that do not resolve are
// EUNPROCESSABLE errors naming the field.
func (db *DB) OpenTicket(ctx context.Context, n NewTicket) (*Ticket, error) {
	if err := db.completeLinks(ctx, &n); err != nil {
		return nil, err
	}
	// The workflow starts the clocks from opened_at as stored, to the
	// microsecond: the deadlines shown now must be the ones it keeps.
	n.OpenedAt = n.OpenedAt.Truncate(time.Microsecond)
	pol, err := db.SLAPolicy(ctx, n.Tier)
	if err != nil {
		return nil, err
	}
	pol = pol.For(n.Priority)
	cals, err := db.CalendarRegistry(ctx)
	if err != nil {
		return nil, err
	}
	cal, ok := cals.Get(pol.Calendar)
	if !ok {
		return nil, fmt.Errorf("SLA policy %s names calendar %q, which is not known", pol.Tier, pol.Calendar)
	}
	clocks := pol.TicketClocks(n.OpenedAt)
	status, err := json.Marshal(sla.Describe(cal, pol, clocks, n.Level, nil))
	if err != nil {
		return nil, err
	}
	policy, err := json.Marshal(pol)
	if err != nil {
		return nil, err
	}
	actor, err := json.Marshal(n.OpenedBy)
	if err != nil {
		return nil, err
	}
	detail, err := json.Marshal(map[string]any{"tier": n.Tier, "priority": n.Priority, "level": n.Level})
	if err != nil {
		return nil, err
	}
	var next *time.Time
	if due, ok := sla.NextDue(cal, clocks); ok {
		next = &due
	}
	err = db.InTx(ctx, func(q *sqlgen.Queries) error {
		inserted, err := q.InsertTicket(ctx, sqlgen.InsertTicketParams{
			ID: n.ID, Tier: string(n.Tier), Priority: string(n.Priority), LearnerID: n.LearnerID,
			LearnerEmail: n.LearnerEmail, Locale: string(n.Locale), OrderID: emptyNil(n.OrderID),
			RefundID: emptyNil(n.RefundID), Subject: n.Subject, OpenedBy: actor, OpenedAt: n.OpenedAt,
			Policy: policy, EscalationLevel: int32(n.Level), Sla: status, NextDueAt: next,
		})
		if err != nil || inserted == 0 {
			return err
		}
		if err := q.InsertTicketMessage(ctx, sqlgen.InsertTicketMessageParams{
			TicketID: n.ID, Seq: 0, Author: string(refundflow.AuthorCustomer), Actor: actor, Body: n.Body, At: n.OpenedAt,
		}); err != nil {
			return err
		}
		return q.InsertTicketTimelineEntry(ctx, sqlgen.InsertTicketTimelineEntryParams{
			TicketID: n.ID, Seq: 0, At: n.OpenedAt, Actor: actor, Event: "opened", Status: string(refundflow.TicketOpen),
			Detail: detail,
		})
	})
	if err != nil {
		return nil, fmt.Errorf("open ticket %s: %w", n.ID, err)
	}
	return db.GetTicket(ctx, n.ID)
}

// completeLinks checks the order and refund a ticket links to and fills in
// what they imply.
func (db *DB) completeLinks(ctx context.Context, n *NewTicket) error {
	if n.RefundID != "" {
		rc, err := db.q.GetRefund(ctx, n.RefundID)
		if isNoRows(err) {
			return &refundflow.Error{Kind: refundflow.EUNPROCESSABLE, Code: "unknown_refund", Field: "refund_id",
				Message: fmt.Sprintf("refund %q is not known", n.RefundID)}
		}
		if err != nil {
			return err
		}
		switch {
		case n.OrderID == "":
			n.OrderID = rc.OrderID
		case n.OrderID != rc.OrderID:
			return &refundflow.Error{Kind: refundflow.EUNPROCESSABLE, Code: "refund_order_mismatch", Field: "refund_id",
				Message: fmt.Sprintf("refund %s is about order %s, not %s", rc.ID, rc.OrderID, n.OrderID)}
		}
	}
	if n.OrderID != "" {
		o, err := db.GetOrder(ctx, n.OrderID)
		if refundflow.ErrorKind(err) == refundflow.ENOTFOUND {
			return &refundflow.Error{Kind: refundflow.EUNPROCESSABLE, Code: "unknown_order", Field: "order_id",
				Message: fmt.Sprintf("order %q is not known", n.OrderID)}
		}
		if err != nil {
			return err
		}
		switch {
		case n.LearnerID == "":
			n.LearnerID = o.LearnerID
		case n.LearnerID != o.LearnerID:
			return &refundflow.Error{Kind: refundflow.EUNPROCESSABLE, Code: "learner_mismatch", Field: "learner_id",
				Message: fmt.Sprintf("order %s belongs to another learner", o.ID)}
		}
		if n.LearnerEmail == "" {
			n.LearnerEmail = o.LearnerEmail
		}
		if n.Locale == "" {
			n.Locale = o.Locale
		}
	}
	if n.LearnerID == "" {
		return refundflow.FieldError("learner_id", "missing_field", "is required unless the ticket links to an order or a refund")
	}
	if n.Locale == "" {
		n.Locale = refundflow.LocaleZhCN
	}
	return nil
}

// GetTicket returns a ticket with its messages, timeline and rating.
func (db *DB) GetTicket(ctx context.Context, id string) (*Ticket, error) {
	row, err := db.q.GetTicket(ctx, id)
	if err != nil {
		return nil, notFound(err, "ticket %q not found", id)
	}
	t, err := ticketFromRow(row)
	if err != nil {
		return nil, err
	}
	msgs, err := db.q.ListTicketMessages(ctx, id)
	if err != nil {
		return nil, err
	}
	for _, m := range msgs {
		tm := TicketMessage{Seq: int(m.Seq), Author: refundflow.MessageAuthor(m.Author), Body: m.Body, At: m.At.UTC()}
		if err := json.Unmarshal(m.Actor, &tm.By); err != nil {
			return nil, fmt.Errorf("ticket %s message %d actor: %w", id, m.Seq, err)
		}
		t.Messages = append(t.Messages, tm)
	}
	timeline, err := db.q.ListTicketTimeline(ctx, id)
	if err != nil {
		return nil, err
	}
	for _, e := range timeline {
		te := TicketTimelineEntry{Seq: int(e.Seq), At: e.At.UTC(), Event: e.Event, Status: refundflow.TicketStatus(e.Status)}
		if err := json.Unmarshal(e.Actor, &te.Actor); err != nil {
			return nil, fmt.Errorf("ticket %s timeline actor: %w", id, err)
		}
		if err := json.Unmarshal(e.Detail, &te.Detail); err != nil {
			return nil, fmt.Errorf("ticket %s timeline detail: %w", id, err)
		}
		t.Timeline = append(t.Timeline, te)
	}
	csat, err := db.q.GetTicketCSAT(ctx, id)
	switch {
	case err == nil:
		t.CSAT = &CSAT{Score: int(csat.Score), Comment: csat.Comment, RatedAt: csat.RatedAt.UTC()}
	case !isNoRows(err):
		return nil, err
	}
	return t, nil
}

// TicketCalendar returns the business calendar a ticket's clocks run on,
// as data the workflow can rebuild it from.
func (db *DB) TicketCalendar(ctx context.Context, t *Ticket) (calendar.Definition, error) {
	cals, err := db.CalendarRegistry(ctx)
	if err != nil {
		return calendar.Definition{}, err
	}
	cal, ok := cals.Get(t.Policy.Calendar)
	if !ok {
		return calendar.Definition{}, fmt.Errorf("ticket %s runs on calendar %q, which is not known", t.ID, t.Policy.Calendar)
	}
	return cal.Definition(), nil
}

// TicketFilter narrows a list of tickets.
type TicketFilter struct {
	Status    refundflow.TicketStatus
	Tier      sla.Tier
	Level     int
	SLAState  string
	LearnerID string
	OrderID   string
	RefundID  string
	// After is the (created_at, id) of the last ticket of the previous page.
	AfterAt *time.Time
	AfterID string
	Limit   int
}

// ListTickets returns tickets newest first, without messages and timeline.
func (db *DB) ListTickets(ctx context.Context, f TicketFilter) ([]*Ticket, error) {
	p := sqlgen.ListTicketsParams{
		Status: emptyNil(string(f.Status)), Tier: emptyNil(string(f.Tier)), SlaState: emptyNil(f.SLAState),
		LearnerID: emptyNil(f.LearnerID), OrderID: emptyNil(f.OrderID), RefundID: emptyNil(f.RefundID),
		CursorAt: f.AfterAt, MaxRows: int32(f.Limit),
	}
	if f.Level != 0 {
		level := int32(f.Level)
		p.Level = &level
	}
	if f.AfterAt != nil {
		p.CursorID = &f.AfterID
	}
	rows, err := db.q.ListTickets(ctx, p)
	if err != nil {
		return nil, err
	}
	return fromRows(rows, ticketFromRow)
}

func ticketFromRow(r sqlgen.Ticket) (*Ticket, error) {
	t := &Ticket{
		ID: r.ID, Status: refundflow.TicketStatus(r.Status), Tier: sla.Tier(r.Tier), Priority: sla.Priority(r.Priority),
		LearnerID: r.LearnerID, LearnerEmail: r.LearnerEmail, Locale: refundflow.Locale(r.Locale), Subject: r.Subject,
		OpenedAt: r.OpenedAt.UTC(), SLAState: r.SlaState, CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC(),
		ClosedAt: utcPtr(r.ClosedAt),
	}
	if r.OrderID != nil {
		t.OrderID = *r.OrderID
	}
	if r.RefundID != nil {
		t.RefundID = *r.RefundID
	}
	if err := json.Unmarshal(r.OpenedBy, &t.OpenedBy); err != nil {
		return nil, fmt.Errorf("ticket %s opened_by: %w", r.ID, err)
	}
	if err := json.Unmarshal(r.Policy, &t.Policy); err != nil {
		return nil, fmt.Errorf("ticket %s policy: %w", r.ID, err)
	}
	if err := json.Unmarshal(r.Sla, &t.SLA); err != nil {
		return nil, fmt.Errorf("ticket %s sla: %w", r.ID, err)
	}
	return t, nil
}

// rewindTicket makes a ticket's read model follow its workflow where a
// step recorded with s.Seq is not s — one whose update the Temporal server
// lost before it stored it (see rewindRefund): the steps from s.Seq on are
// forgotten, with their messages and SLA events.
func rewindTicket(ctx context.Context, q *sqlgen.Queries, s ticket.Step, actor []byte) error {
	held, err := q.GetTicketTimelineEntry(ctx, sqlgen.GetTicketTimelineEntryParams{TicketID: s.TicketID, Seq: int32(s.Seq)})
	if isNoRows(err) {
		return nil
	}
	if err != nil || held.Event == s.Event && held.Status == string(s.Snapshot.Status) && sameJSON(held.Actor, actor) {
		return err
	}
	from := int32(s.Seq)
	if err := q.DeleteTicketTimelineFrom(ctx, sqlgen.DeleteTicketTimelineFromParams{TicketID: s.TicketID, Seq: from}); err != nil {
		return err
	}
	if err := q.DeleteTicketMessagesFrom(ctx, sqlgen.DeleteTicketMessagesFromParams{TicketID: s.TicketID, Seq: from}); err != nil {
		return err
	}
	if err := q.DeleteSLAEventsFrom(ctx, sqlgen.DeleteSLAEventsFromParams{TicketID: s.TicketID, Seq: from}); err != nil {
		return err
	}
	return q.RewindTicketTo(ctx, sqlgen.RewindTicketToParams{ID: s.TicketID, LastSeq: from - 1})
}

// RecordTicketStep writes a step of a ticket and what it sends in one
// transaction. It is idempotent (a step is keyed by its sequence number,
// its messages by their ids) and order-proof (an older step never
// overwrites the snapshot of a newer one).
func (db *DB) RecordTicketStep(ctx context.Context, s ticket.Step, out notify.Outbox) error {
	detail, err := json.Marshal(nonNilMap(s.Detail))
	if err != nil {
		return err
	}
	actor, err := json.Marshal(s.Actor)
	if err != nil {
		return err
	}
	snap := s.Snapshot
	status, err := json.Marshal(snap.SLA)
	if err != nil {
		return err
	}
	p := sqlgen.RecordTicketStepParams{
		ID: s.TicketID, Status: string(snap.Status), EscalationLevel: int32(snap.EscalationLevel), Sla: status,
		SlaState: snap.SLAState, SlaPaused: snap.SLA.Paused, NextDueAt: snap.NextDueAt,
		FirstResponseAt: snap.FirstResponseAt, FirstResponseBusinessNs: nanos(snap.FirstResponseBusiness),
		ResolvedAt: snap.ResolvedAt, ResolutionBusinessNs: nanos(snap.ResolutionBusiness),
		AgentMessages: int32(snap.AgentMessages), Reopens: int32(snap.Reopens), ClosedAt: snap.ClosedAt,
		LastSeq: int32(s.Seq), At: s.At,
	}
	if a := snap.FirstResponder; a != nil {
		p.FirstResponderID, p.FirstResponderName = &a.ID, &a.Name
	}
	if a := snap.Resolver; a != nil {
		p.ResolverID = &a.ID
	}
	return db.InTx(ctx, func(q *sqlgen.Queries) error {
		if err := rewindTicket(ctx, q, s, actor); err != nil {
			return err
		}
		if _, err := q.RecordTicketStep(ctx, p); err != nil {
			return fmt.Errorf("record step %d of ticket %s: %w", s.Seq, s.TicketID, err)
		}
		if err := q.InsertTicketTimelineEntry(ctx, sqlgen.InsertTicketTimelineEntryParams{
			TicketID: s.TicketID, Seq: int32(s.Seq), At: s.At, Actor: actor, Event: s.Event, Status: string(snap.Status), Detail: detail,
		}); err != nil {
			return err
		}
		if m := s.Message; m != nil {
			by, err := json.Marshal(m.By)
			if err != nil {
				return err
			}
			if err := q.InsertTicketMessage(ctx, sqlgen.InsertTicketMessageParams{
				TicketID: s.TicketID, Seq: int32(s.Seq), Author: string(m.Author), Actor: by, Body: m.Body, At: s.At,
			}); err != nil {
				return err
			}
		}
		if e := s.SLAEvent; e != nil {
			if err := q.InsertSLAEvent(ctx, sqlgen.InsertSLAEventParams{
				TicketID: s.TicketID, Seq: int32(s.Seq), Kind: string(e.Kind), Target: string(e.Target),
				At: e.At, DueAt: e.DueAt, Level: int32(e.Level),
			}); err != nil {
				return err
			}
		}
		return writeOutbox(ctx, q, out)
	})
}

func nanos(d *time.Duration) *int64 {
	if d == nil {
		return nil
	}
	n := int64(*d)
	return &n
}

// SLAEvents lists a ticket's warnings and breaches in order.
func (db *DB) SLAEvents(ctx context.Context, ticketID string) ([]sla.Event, error) {
	rows, err := db.q.ListSLAEvents(ctx, ticketID)
	if err != nil {
		return nil, err
	}
	out := make([]sla.Event, 0, len(rows))
	for _, r := range rows {
		out = append(out, sla.Event{Kind: sla.EventKind(r.Kind), Target: sla.Target(r.Target), At: r.At.UTC(), DueAt: r.DueAt.UTC(), Level: int(r.Level)})
	}
	return out, nil
}

// RateTicket stores the learner's rating of a resolved or closed ticket;
// a new rating replaces the previous one. ECONFLICT "not_resolved" while
// the ticket is still being worked on.
func (db *DB) RateTicket(ctx context.Context, ticketID string, c CSAT, by string) (*CSAT, error) {
	t, err := db.q.GetTicket(ctx, ticketID)
	if err != nil {
		return nil, notFound(err, "ticket %q not found", ticketID)
	}
	row, err := db.q.UpsertTicketCSAT(ctx, sqlgen.UpsertTicketCSATParams{
		TicketID: ticketID, Score: int32(c.Score), Comment: c.Comment, RatedBy: by, RatedAt: c.RatedAt,
	})
	if isNoRows(err) {
		return nil, refundflow.Errorf(refundflow.ECONFLICT, "not_resolved", "ticket %s is %s; it can be rated once it is resolved", ticketID, t.Status)
	}
	if err != nil {
		return nil, err
	}
	return &CSAT{Score: int(row.Score), Comment: row.Comment, RatedAt: row.RatedAt.UTC()}, nil
}

// SLAReportRow is one group of the SLA report: a tier, or the agent who
// answered first ("" when nobody did). Times are business time.
type SLAReportRow struct {
	Group                   string // "tier" or "agent"
	Key                     string
	Name                    string
	Tickets                 int
	Breached                int
	Responded               int
	FirstResponseP50        time.Duration
	FirstResponseP90        time.Duration
	Resolved                int
	ResolutionP50           time.Duration
	ResolutionP90           time.Duration
	FirstContactResolutions int
	CSATCount               int
	CSATAverage             float64
}

// SLAReport measures the tickets opened in [from, to), by tier then by agent.
func (db *DB) SLAReport(ctx context.Context, from, to time.Time) ([]SLAReportRow, error) {
	rows, err := db.q.SLAReport(ctx, sqlgen.SLAReportParams{FromAt: from, ToAt: to})
	if err != nil {
		return nil, err
	}
	out := make([]SLAReportRow, 0, len(rows))
	for _, r := range rows {
		out = append(out, SLAReportRow{
			Group: r.Grouping, Key: r.Key, Name: r.Name, Tickets: int(r.Tickets), Breached: int(r.Breached),
			Responded: int(r.Responded), FirstResponseP50: time.Duration(r.FirstResponseP50Ns), FirstResponseP90: time.Duration(r.FirstResponseP90Ns),
			Resolved: int(r.Resolved), ResolutionP50: time.Duration(r.ResolutionP50Ns), ResolutionP90: time.Duration(r.ResolutionP90Ns),
			FirstContactResolutions: int(r.FirstContactResolutions), CSATCount: int(r.CsatCount), CSATAverage: r.CsatAverage,
		})
	}
	return out, nil
}

// DeleteUnstartedTicket removes a ticket whose workflow never started.
func (db *DB) DeleteUnstartedTicket(ctx context.Context, id string) error {
	return db.q.DeleteUnstartedTicket(ctx, id)
}
