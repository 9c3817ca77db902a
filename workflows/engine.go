package workflows

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/refundflow/refundflow"
	"github.com/refundflow/refundflow/activities/contract"
)

// Engine starts refund cases and tickets by their business ids, and says
// what became of a case's workflow (contract.Engine): the API, the
// sweeper and the activities that open cases or tickets all start them
// this way. Starting one that runs, or ran, already is not an error: the
// id is the case's or the ticket's.
type Engine struct {
	Client client.Client
}

// StartRefund starts a case's workflow.
func (s Engine) StartRefund(ctx context.Context, c contract.RefundStart) error {
	_, err := s.Client.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID:                       RefundWorkflowID(c.RefundID),
		TaskQueue:                RefundsTaskQueue,
		WorkflowIDReusePolicy:    enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		TypedSearchAttributes:    RefundStartAttributes(c.Reason, c.OrderID, c.ProductID, c.Currency),
	}, Refund, RefundInput{
		RefundID: c.RefundID, SubmittedBy: c.SubmittedBy, SkipRetention: c.SkipRetention,
		OfferWindow: c.OfferWindow, ApprovalSLA: c.ApprovalSLA, AppealWindow: DefaultAppealWindow,
		ExtensionOffer: c.ExtensionOffer, StartedBy: c.StartedBy,
	})
	return started(err)
}

// StartTicket starts a ticket's workflow.
func (s Engine) StartTicket(ctx context.Context, t contract.TicketStart) error {
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
	}, Ticket, TicketInput{TicketID: t.TicketID, Acknowledged: t.Acknowledged})
	return started(err)
}

// RefundRun says how a case's workflow stands.
func (s Engine) RefundRun(ctx context.Context, refundID string) (contract.Run, error) {
	d, err := s.Client.DescribeWorkflowExecution(ctx, RefundWorkflowID(refundID), "")
	var nf *serviceerror.NotFound
	if errors.As(err, &nf) {
		return contract.Run{Missing: true}, nil
	}
	if err != nil {
		return contract.Run{}, err
	}
	status := d.GetWorkflowExecutionInfo().GetStatus()
	if status == enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
		return contract.Run{Running: true}, nil
	}
	return contract.Run{Status: runStatus(status)}, nil
}

// EndedAbnormally lists the cases whose workflows ended other than by
// completing since then, while their search attributes said the case was
// open: a workflow terminated (from the Temporal UI, say) or failed.
func (s Engine) EndedAbnormally(ctx context.Context, since time.Time) ([]contract.EndedRun, error) {
	query := fmt.Sprintf("WorkflowType = 'Refund' AND ExecutionStatus IN ('Failed', 'Terminated', 'TimedOut', 'Canceled') "+
		"AND CloseTime >= '%s' AND RefundStatus IN ('%s', '%s', '%s', '%s')", since.UTC().Format(time.RFC3339Nano),
		refundflow.StatusEvaluating, refundflow.StatusOffered, refundflow.StatusAwaitingApproval, refundflow.StatusRefunding)
	var out []contract.EndedRun
	var token []byte
	for {
		resp, err := s.Client.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Query: query, NextPageToken: token})
		if err != nil {
			return nil, err
		}
		for _, e := range resp.GetExecutions() {
			id, ok := strings.CutPrefix(e.GetExecution().GetWorkflowId(), RefundWorkflowID(""))
			if ok {
				out = append(out, contract.EndedRun{RefundID: id, Status: runStatus(e.GetStatus())})
			}
		}
		if token = resp.GetNextPageToken(); len(token) == 0 {
			return out, nil
		}
	}
}

// runStatus names an execution status as the Temporal UI does
// (Terminated, Failed, ...).
func runStatus(s enumspb.WorkflowExecutionStatus) string {
	return strings.TrimPrefix(s.String(), "WorkflowExecutionStatus")
}

// started treats a workflow that exists already as started.
func started(err error) error {
	var already *serviceerror.WorkflowExecutionAlreadyStarted
	if err == nil || errors.As(err, &already) {
		return nil
	}
	return err
}

var _ contract.Engine = Engine{}
