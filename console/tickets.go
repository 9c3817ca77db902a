package console

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"

	"github.com/refundflow/refundflow"
	"github.com/refundflow/refundflow/postgres"
	"github.com/refundflow/refundflow/sla"
	"github.com/refundflow/refundflow/workflows"
)

// boardLimit is how many tickets the board shows per request: a desk
// works the top of it.
const boardLimit = 300

// boardStates are the board's columns, the most urgent first.
var boardStates = []string{"breached", "warning", "ok"}

type ticketBoardPage struct {
	Filter  postgres.TicketBoard
	Columns []ticketColumn
	Total   int
	// States links to each SLA state (and all) with its count, keeping
	// the other filters.
	States   []stateLink
	Statuses []refundflow.TicketStatus
	Tiers    []sla.Tier
	Levels   []int
}

type stateLink struct {
	State, Href string
	Count       int
	Active      bool
}

// ticketColumn is the tickets of one SLA state.
type ticketColumn struct {
	State   string
	Tickets []ticketCard
}

type ticketCard struct {
	*postgres.Ticket
	Next nextDeadline
}

// nextDeadline is the first deadline still counting down, if any.
type nextDeadline struct {
	Target sla.Target
	DueAt  *time.Time
	Paused bool
}

func nextDue(t *postgres.Ticket) nextDeadline {
	n := nextDeadline{Paused: t.SLA.Paused}
	for _, c := range t.SLA.Clocks {
		if c.State == "running" && c.DueAt != nil && (n.DueAt == nil || c.DueAt.Before(*n.DueAt)) {
			n.Target, n.DueAt = c.Target, c.DueAt
		}
	}
	return n
}

// ticketBoard shows the tickets by SLA state, breached first, each column
// by its next deadline; filters narrow it by state, tier, level and
// status.
func (s *Server) ticketBoard(w http.ResponseWriter, r *http.Request, sess *session) {
	q := r.URL.Query()
	f := postgres.TicketBoard{Limit: boardLimit}
	if v := refundflow.TicketStatus(q.Get("status")); v.Valid() {
		f.Status = v
	}
	if v := sla.Tier(q.Get("tier")); v.Valid() {
		f.Tier = v
	}
	if n, err := strconv.Atoi(q.Get("level")); err == nil && n >= 1 && n <= workflows.MaxEscalationLevel {
		f.Level = n
	}
	if v := q.Get("sla_state"); slices.Contains(sla.States, v) {
		f.SLAState = v
	}
	ctx := r.Context()
	tickets, err := s.DB.ListTicketBoard(ctx, f)
	if err != nil {
		s.failPage(w, r, err)
		return
	}
	counts, err := s.DB.CountTicketBoard(ctx, f)
	if err != nil {
		s.failPage(w, r, err)
		return
	}
	page := ticketBoardPage{Filter: f, Total: len(tickets), Statuses: refundflow.TicketStatuses, Tiers: sla.Tiers}
	for l := 1; l <= workflows.MaxEscalationLevel; l++ {
		page.Levels = append(page.Levels, l)
	}
	for _, state := range boardStates {
		if f.SLAState != "" && f.SLAState != state {
			continue
		}
		col := ticketColumn{State: state}
		for _, t := range tickets {
			if t.SLAState == state {
				col.Tickets = append(col.Tickets, ticketCard{Ticket: t, Next: nextDue(t)})
			}
		}
		page.Columns = append(page.Columns, col)
	}
	keep := url.Values{}
	if f.Status != "" {
		keep.Set("status", string(f.Status))
	}
	if f.Tier != "" {
		keep.Set("tier", string(f.Tier))
	}
	if f.Level != 0 {
		keep.Set("level", strconv.Itoa(f.Level))
	}
	all := 0
	for _, state := range sla.States {
		all += counts[state]
	}
	page.States = append(page.States, stateLink{Href: boardLink(keep, ""), Count: all, Active: f.SLAState == ""})
	for _, state := range boardStates {
		page.States = append(page.States, stateLink{State: state, Href: boardLink(keep, state), Count: counts[state], Active: f.SLAState == state})
	}
	s.render(w, r, sess, http.StatusOK, "tickets", page)
}

func boardLink(filters url.Values, state string) string {
	q := url.Values{}
	for k, v := range filters {
		q[k] = v
	}
	if state != "" {
		q.Set("sla_state", state)
	}
	if len(q) == 0 {
		return "/console/tickets"
	}
	return "/console/tickets?" + q.Encode()
}

type ticketPage struct {
	Ticket        *postgres.Ticket
	Next          nextDeadline
	Moves         []refundflow.TicketStatus
	TemporalUIURL string
	Flash         *flash
}

func (s *Server) ticketPage(w http.ResponseWriter, r *http.Request, sess *session) {
	id := r.PathValue("id")
	t, err := s.ticket(r, id)
	if refundflow.ErrorKind(err) == refundflow.ENOTFOUND {
		s.render(w, r, sess, http.StatusNotFound, "error", errorPage{Title: "not_found", Message: "ticket_not_found"})
		return
	}
	if err != nil {
		s.failPage(w, r, err)
		return
	}
	page := ticketPage{Ticket: t, Next: nextDue(t), TemporalUIURL: s.temporalUIURL(workflows.TicketWorkflowID(t.ID)),
		Flash: readFlash(language(r), r.URL.Query(), "", ticketDone)}
	for _, to := range refundflow.TicketStatuses {
		if t.Status.CanBecome(to) {
			page.Moves = append(page.Moves, to)
		}
	}
	s.render(w, r, sess, http.StatusOK, "ticket", page)
}

// ticket reads a ticket; an id no ticket can have is not found.
func (s *Server) ticket(r *http.Request, id string) (*postgres.Ticket, error) {
	if err := refundflow.KnownID("ticket", id); err != nil {
		return nil, err
	}
	return s.DB.GetTicket(r.Context(), id)
}

func (s *Server) replyToTicket(w http.ResponseWriter, r *http.Request, sess *session) {
	id := r.PathValue("id")
	_, err := s.Commands.PostTicketMessage(r.Context(), sess.key, id, refundflow.AuthorAgent, r.PostFormValue("body"))
	s.backToTicket(w, r, id, "replied", err)
}

func (s *Server) setTicketStatus(w http.ResponseWriter, r *http.Request, sess *session) {
	id := r.PathValue("id")
	status := refundflow.TicketStatus(r.PostFormValue("status"))
	_, err := s.Commands.SetTicketStatus(r.Context(), sess.key, id, status)
	s.backToTicket(w, r, id, "moved_"+string(status), err)
}

// backToTicket answers a form post by sending the browser back to the
// ticket with what happened.
func (s *Server) backToTicket(w http.ResponseWriter, r *http.Request, id, done string, err error) {
	s.redirectAfterPost(w, r, "/console/tickets/"+url.PathEscape(id), url.Values{}, done, err)
}
