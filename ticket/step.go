// Package ticket is the vocabulary of a support ticket as its workflow
// tells it and the read model keeps it: a ticket moves in numbered steps,
// each with the ticket's snapshot after it, the message or SLA event it
// added, and the notices it causes.
package ticket

import (
	"time"

	"github.com/refundflow/refundflow"
	"github.com/refundflow/refundflow/notify"
	"github.com/refundflow/refundflow/sla"
)

// Snapshot is the changing part of a ticket as of one step.
type Snapshot struct {
	Status          refundflow.TicketStatus
	EscalationLevel int
	SLA             sla.Status
	SLAState        string
	NextDueAt       *time.Time
	// The first response: when, how much business time it took, by whom.
	FirstResponseAt       *time.Time
	FirstResponseBusiness *time.Duration
	FirstResponder        *refundflow.Actor
	// The last resolution: when, how much business time it took, by whom.
	ResolvedAt         *time.Time
	ResolutionBusiness *time.Duration
	Resolver           *refundflow.Actor
	AgentMessages      int
	Reopens            int
	ClosedAt           *time.Time
}

// Step is one step of a ticket: the timeline entry, the snapshot after
// it, the message or SLA event it added, and the notices it causes.
type Step struct {
	TicketID string
	Seq      int
	At       time.Time
	Actor    refundflow.Actor
	Event    string
	Detail   map[string]any
	Snapshot Snapshot
	Message  *Message
	SLAEvent *sla.Event
	Notices  []notify.Notice
}

// Message is one message of a ticket's conversation.
type Message struct {
	Author refundflow.MessageAuthor
	By     refundflow.Actor
	Body   string
}
