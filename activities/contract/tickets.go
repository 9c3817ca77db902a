package contract

import (
	"time"

	"github.com/refundflow/refundflow/calendar"
	"github.com/refundflow/refundflow/sla"
)

// OpenTicketInput asks for a ticket's pinned SLA.
type OpenTicketInput struct {
	TicketID string
	// Acknowledged: the learner knows already (an appeal's
	// appeal_received, a course review for the content team); otherwise
	// they are told the ticket is open.
	Acknowledged bool
}

// OpenedTicket is what the ticket's workflow runs on: the policy pinned
// when it opened and the calendar its clocks count on.
type OpenedTicket struct {
	TicketID string
	Tier     sla.Tier
	OrderID  string
	RefundID string
	OpenedAt time.Time
	Level    int
	Policy   sla.Policy
	Calendar calendar.Definition
}
