package workflows

import (
	"time"

	"github.com/refundflow/refundflow"
	"github.com/refundflow/refundflow/sla"
)

// TicketInput starts a ticket's workflow.
type TicketInput struct {
	// TicketID is a ticket its opener recorded (the API, an appeal, a
	// course review) before it started the workflow.
	TicketID string
	// Acknowledged: the learner has already been told their message was
	// received (an appeal's appeal_received), so no ticket_received.
	Acknowledged bool
	// ReopenWindow is how long a resolved ticket may be reopened; zero
	// means DefaultReopenWindow.
	ReopenWindow time.Duration
}

// DefaultReopenWindow is how long after its resolution a ticket can be
// reopened before it closes (SPEC 4.8).
const DefaultReopenWindow = 7 * 24 * time.Hour

// MaxEscalationLevel is the top of the ladder: L1 agent, L2 team lead,
// L3 manager / complaints desk.
const MaxEscalationLevel = 3

// TicketResult is how a ticket ended.
type TicketResult struct {
	Status          refundflow.TicketStatus
	EscalationLevel int
}

// TicketState is the live state of a ticket (the ticket-state query).
type TicketState struct {
	Status          refundflow.TicketStatus `json:"status"`
	EscalationLevel int                     `json:"escalation_level"`
	Clocks          []sla.Clock             `json:"clocks"`
	// Events are the warnings and breaches so far, in order.
	Events        []sla.Event `json:"events"`
	AgentMessages int         `json:"agent_messages"`
	Reopens       int         `json:"reopens"`
	// ReopenUntil is when a resolved ticket closes unless reopened.
	ReopenUntil *time.Time `json:"reopen_until"`
}

// TicketMessageRequest is the ticket-message update: an agent's answer or
// the learner's message (through the platform).
type TicketMessageRequest struct {
	Author refundflow.MessageAuthor
	By     refundflow.Actor
	Body   string
}

// TicketStatusRequest is the ticket-status update.
type TicketStatusRequest struct {
	Status refundflow.TicketStatus
	By     refundflow.Actor
}

// TicketUpdateResult answers every update of a ticket.
type TicketUpdateResult struct {
	Status          refundflow.TicketStatus `json:"status"`
	EscalationLevel int                     `json:"escalation_level"`
}
