package workflows

import (
	"context"
	"errors"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/refundflow/refundflow/activities"
)

// Starter starts refund cases and tickets by their business ids (see
// activities.Starter): the API, the sweeper and the activities that open
// cases or tickets all start them this way. Starting one that runs, or
// ran, already is not an error: the id is the case's or the ticket's.
type Starter struct {
	Client client.Client
}

// StartRefund starts a case's workflow.
func (s Starter) StartRefund(ctx context.Context, c activities.RefundStart) error {
	_, err := s.Client.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID:                       RefundWorkflowID(c.RefundID),
		TaskQueue:                RefundsTaskQueue,
		WorkflowIDReusePolicy:    enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		TypedSearchAttributes:    RefundStartAttributes(c.Reason, c.OrderID, c.ProductID, c.Currency),
	}, Refund, RefundInput{
		RefundID: c.RefundID, SubmittedBy: c.SubmittedBy, SkipRetention: c.SkipRetention,
		OfferWindow: c.OfferWindow, ApprovalSLA: c.ApprovalSLA, AppealWindow: DefaultAppealWindow,
		ExtensionOffer: c.ExtensionOffer,
	})
	return started(err)
}

// StartTicket starts a ticket's workflow.
func (s Starter) StartTicket(ctx context.Context, t activities.TicketStart) error {
	attrs := []temporal.SearchAttributeUpdate{
		TicketTierKey.ValueSet(t.Tier), EscalationLevelKey.ValueSet(int64(max(t.Level, 1))),
	}
	if t.OrderID != "" {
		attrs = append(attrs, OrderIDKey.ValueSet(t.OrderID))
	}
	if t.CourseID != "" {
		attrs = append(attrs, CourseIDKey.ValueSet(t.CourseID))
	}
	_, err := s.Client.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID:                       TicketWorkflowID(t.TicketID),
		TaskQueue:                RefundsTaskQueue,
		WorkflowIDReusePolicy:    enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		TypedSearchAttributes:    temporal.NewSearchAttributes(attrs...),
	}, Escalation, TicketInput{TicketID: t.TicketID, Acknowledged: t.Acknowledged})
	return started(err)
}

// started treats a workflow that exists already as started.
func started(err error) error {
	var already *serviceerror.WorkflowExecutionAlreadyStarted
	if err == nil || errors.As(err, &already) {
		return nil
	}
	return err
}

var _ activities.Starter = Starter{}
