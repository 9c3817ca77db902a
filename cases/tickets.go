package cases

import (
	"context"
	"fmt"

	"github.com/refundflow/refundflow"
	"github.com/refundflow/refundflow/postgres"
	"github.com/refundflow/refundflow/workflows"
)

// PostTicketMessage adds a message to a ticket as the key's holder (the
// console uses it; the HTTP route is postTicketMessage) and returns the
// ticket as the read model holds it afterwards.
func (s *Service) PostTicketMessage(ctx context.Context, key *refundflow.APIKey, id string, author refundflow.MessageAuthor, body string) (*postgres.Ticket, error) {
	var pr refundflow.Problems
	switch {
	case !author.Valid():
		pr.Add("author", "invalid_author", "must be agent or customer")
	case !author.WritableBy(key.Role):
		return nil, &refundflow.Error{Kind: refundflow.EFORBIDDEN, Code: "author_not_allowed", Field: "author",
			Message: fmt.Sprintf("a %s key writes as the customer only", key.Role)}
	}
	refundflow.CheckRequiredText(&pr, "body", body, refundflow.MaxTicketMessageBytes)
	if err := pr.Err(); err != nil {
		return nil, err
	}
	by := refundflow.ActorFor(key)
	if author == refundflow.AuthorCustomer && key.Role == refundflow.RolePlatform {
		by = refundflow.LearnerVia(key)
	}
	return s.commandTicket(ctx, id, workflows.TicketMessageUpdate, workflows.TicketMessageRequest{Author: author, By: by, Body: body})
}

// SetTicketStatus moves a ticket to status as the key's holder; the
// ticket's workflow refuses what its state machine does not allow.
func (s *Service) SetTicketStatus(ctx context.Context, key *refundflow.APIKey, id string, status refundflow.TicketStatus) (*postgres.Ticket, error) {
	if !status.Valid() {
		return nil, refundflow.FieldError("status", "invalid_status", "must be one of open, waiting_on_customer, resolved, closed")
	}
	if !status.SettableBy(key.Role) {
		return nil, &refundflow.Error{Kind: refundflow.EFORBIDDEN, Code: "status_not_allowed", Field: "status",
			Message: fmt.Sprintf("a %s key may only take a ticket back to open; %s is an agent's to set", key.Role, status)}
	}
	return s.commandTicket(ctx, id, workflows.TicketStatusUpdate, workflows.TicketStatusRequest{Status: status, By: refundflow.ActorFor(key)})
}

// commandTicket sends an update to the ticket's workflow and returns the
// ticket as the read model holds it afterwards. A closed ticket's workflow
// has ended, so the read model refuses for it.
func (s *Service) commandTicket(ctx context.Context, id, name string, arg any) (*postgres.Ticket, error) {
	if err := refundflow.KnownID("ticket", id); err != nil {
		return nil, err
	}
	t, err := s.DB.GetTicket(ctx, id)
	if err != nil {
		return nil, err
	}
	closed := refundflow.Errorf(refundflow.ECONFLICT, "ticket_closed", "ticket %s is closed and takes no more changes; open a new one", id)
	if t.Status == refundflow.TicketClosed {
		return nil, closed
	}
	if err := s.update(ctx, workflows.TicketWorkflowID(id), name, arg, closed); err != nil {
		return nil, err
	}
	return s.DB.GetTicket(ctx, id)
}
