package refundflow

// TicketStatus is a ticket's public status (SPEC 4.8).
type TicketStatus string

const (
	TicketOpen TicketStatus = "open"
	// TicketWaitingOnCustomer pauses the SLA clocks until the learner answers.
	TicketWaitingOnCustomer TicketStatus = "waiting_on_customer"
	// TicketResolved asks the learner to rate the help; the ticket can be
	// reopened for a while, then it closes.
	TicketResolved TicketStatus = "resolved"
	TicketClosed   TicketStatus = "closed"
)

// TicketStatuses lists every status in the order a ticket meets them.
var TicketStatuses = []TicketStatus{TicketOpen, TicketWaitingOnCustomer, TicketResolved, TicketClosed}

// Valid reports whether s is a known status.
func (s TicketStatus) Valid() bool {
	for _, x := range TicketStatuses {
		if s == x {
			return true
		}
	}
	return false
}

// ticketMoves is the ticket state machine: open ⇄ waiting_on_customer,
// either → resolved, resolved → open (reopen) or closed.
var ticketMoves = map[TicketStatus][]TicketStatus{
	TicketOpen:              {TicketWaitingOnCustomer, TicketResolved},
	TicketWaitingOnCustomer: {TicketOpen, TicketResolved},
	TicketResolved:          {TicketOpen, TicketClosed},
}

// CanBecome reports whether the state machine allows s → to.
func (s TicketStatus) CanBecome(to TicketStatus) bool {
	for _, x := range ticketMoves[s] {
		if x == to {
			return true
		}
	}
	return false
}

// SettableBy reports whether a key of role may move a ticket to s. The
// platform speaks for the learner, who may only take a ticket back to open
// (reopen it after it was resolved, or answer one waiting on them); pausing
// the clocks, resolving and closing are the desk's judgement, and a
// learner's "resolved" would meet the agents' SLA targets with nobody
// having answered. Agents set every status.
func (s TicketStatus) SettableBy(role Role) bool {
	switch role {
	case RoleAgent:
		return s.Valid()
	case RolePlatform:
		return s == TicketOpen
	}
	return false
}

// MessageAuthor says who wrote a ticket message.
type MessageAuthor string

const (
	AuthorAgent    MessageAuthor = "agent"
	AuthorCustomer MessageAuthor = "customer"
)

// Valid reports whether a is agent or customer.
func (a MessageAuthor) Valid() bool { return a == AuthorAgent || a == AuthorCustomer }

// WritableBy reports whether a key of role may write a message as a: the
// platform writes for the learner only; an agent answers, and may record
// what a learner said on the phone.
func (a MessageAuthor) WritableBy(role Role) bool {
	switch role {
	case RoleAgent:
		return a.Valid()
	case RolePlatform:
		return a == AuthorCustomer
	}
	return false
}

// ContentTeam is the queue that course-review tickets are opened for: it
// stands where a learner stands on other tickets, so the team reads the
// ticket's messages there and has no email address to be mailed at.
const ContentTeam = "team:content"
