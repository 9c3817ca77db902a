package cases

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"github.com/refundflow/refundflow"
	"github.com/refundflow/refundflow/postgres"
	"github.com/refundflow/refundflow/refund"
	"github.com/refundflow/refundflow/workflows"
)

// CommandCase sends an update to a case's workflow and returns the case as
// the read model holds it afterwards. checks refuse early what the read
// model already rules out (a closed case no longer takes updates, so it
// cannot explain itself).
func (s *Service) CommandCase(ctx context.Context, id, name string, arg any, checks ...func(*postgres.RefundCase) error) (*postgres.RefundCase, error) {
	if err := refundflow.KnownID("case", id); err != nil {
		return nil, err
	}
	rc, err := s.DB.GetRefund(ctx, id)
	if err != nil {
		return nil, err
	}
	for _, check := range checks {
		if err := check(rc); err != nil {
			return nil, err
		}
	}
	closed := refundflow.Errorf(refundflow.ECONFLICT, "case_closed", "case %s is %s and takes no more changes", rc.ID, rc.Status)
	if err := s.update(ctx, workflows.RefundWorkflowID(id), name, arg, closed); err != nil {
		return nil, err
	}
	return s.DB.GetRefund(ctx, id)
}

// Updates wait for their workflow within updateBudget; each try waits at
// most updateTry, then asks again under the same update id: a try that
// found the update lost (the Temporal server died before it stored it)
// sends it again, and one that finds it handled gets its answer.
const (
	updateBudget = 20 * time.Second
	updateTry    = 5 * time.Second
)

// update sends a Temporal update and waits until the workflow has handled
// it. A refusal by the update's validator or handler is returned as the
// domain error it carries; a workflow that has ended answers closed; a
// workflow that does not answer within the budget is 503
// workflow_unavailable.
func (s *Service) update(ctx context.Context, workflowID, name string, arg any, closed error) error {
	ctx, cancel := context.WithTimeout(ctx, updateBudget)
	defer cancel()
	id := refundflow.NewID("upd")
	for {
		err := s.tryUpdate(ctx, workflowID, id, name, arg)
		if err == nil {
			return nil
		}
		if e, ok := workflows.AsRefusal(err); ok {
			return e
		}
		var nf *serviceerror.NotFound
		if errors.As(err, &nf) || strings.Contains(err.Error(), "workflow execution already completed") {
			if !s.running(ctx, workflowID) {
				return closed
			}
			// The workflow runs but holds no such update: it was lost.
		} else if !transient(err) {
			return err
		}
		s.Logger.Warn("update not answered yet; asking again", "workflow", workflowID, "update", id, "error", err)
		select {
		case <-ctx.Done():
			return &refundflow.Error{Kind: refundflow.EUNAVAILABLE, Code: "workflow_unavailable",
				Message: fmt.Sprintf("the case's workflow did not answer within %s; read the case to see whether the request took effect, and send it again if not", updateBudget)}
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// tryUpdate sends the update with its id once and waits up to updateTry
// for its outcome.
func (s *Service) tryUpdate(ctx context.Context, workflowID, id, name string, arg any) error {
	ctx, cancel := context.WithTimeout(ctx, updateTry)
	defer cancel()
	handle, err := s.Temporal.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
		WorkflowID: workflowID, UpdateID: id, UpdateName: name, Args: []any{arg},
		WaitForStage: client.WorkflowUpdateStageCompleted,
	})
	if err == nil {
		err = handle.Get(ctx, nil)
	}
	return err
}

// running reports whether the workflow is running (and so an update it
// does not know was lost, not refused).
func (s *Service) running(ctx context.Context, workflowID string) bool {
	d, err := s.Temporal.DescribeWorkflowExecution(ctx, workflowID, "")
	return err == nil && d.GetWorkflowExecutionInfo().GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING
}

// transient reports whether the update may still be handled: Temporal is
// busy or slow to answer. An unreachable cluster is not waited for (the
// update did not reach it; the answer is 503 temporal_unavailable at once).
func transient(err error) bool {
	var deadline *serviceerror.DeadlineExceeded
	var exhausted *serviceerror.ResourceExhausted
	return errors.As(err, &deadline) || errors.As(err, &exhausted) ||
		errors.Is(err, context.DeadlineExceeded) || strings.Contains(err.Error(), "Timeout or cancellation waiting for update")
}

// ApproveRefund approves a case as the key's holder (the console uses it;
// the HTTP route is approveRefund). What the approver asks is recorded for
// the key first: the case's workflow acts on that record and on the key as
// it stands then, never on the update's own fields. Above the key's limit
// for the case's currency the case waits for a second approver.
func (s *Service) ApproveRefund(ctx context.Context, key *refundflow.APIKey, id string, amount *int64, note string) (*postgres.RefundCase, error) {
	var pr refundflow.Problems
	if amount != nil {
		refundflow.CheckAmount(&pr, "amount", *amount)
	}
	refundflow.CheckNote(&pr, "note", note)
	if err := pr.Err(); err != nil {
		return nil, err
	}
	intent, err := s.approvalIntent(ctx, key, id, refund.Approve, amount, note)
	if err != nil {
		return nil, err
	}
	return s.CommandCase(ctx, id, workflows.ApproveUpdate, workflows.ApproveRequest{IntentID: intent, KeyID: key.ID, Amount: amount, Note: note})
}

// RejectRefund rejects a case with a reason the learner reads.
func (s *Service) RejectRefund(ctx context.Context, key *refundflow.APIKey, id, reason string) (*postgres.RefundCase, error) {
	if err := checkRejectReason(reason); err != nil {
		return nil, err
	}
	intent, err := s.approvalIntent(ctx, key, id, refund.Reject, nil, reason)
	if err != nil {
		return nil, err
	}
	return s.CommandCase(ctx, id, workflows.RejectUpdate, workflows.RejectRequest{IntentID: intent, KeyID: key.ID, Reason: reason})
}

// approvalIntent records what an approver asks of case id, for their key.
func (s *Service) approvalIntent(ctx context.Context, key *refundflow.APIKey, id, action string, amount *int64, note string) (string, error) {
	if err := refundflow.KnownID("case", id); err != nil {
		return "", err
	}
	if _, err := s.DB.GetRefund(ctx, id); err != nil {
		return "", err
	}
	in, err := s.DB.CreateApprovalIntent(ctx, refund.Intent{ID: refundflow.NewID("ai"), RefundID: id, KeyID: key.ID, Action: action, Amount: amount, Note: note})
	if err != nil {
		return "", err
	}
	return in.ID, nil
}

func checkRejectReason(reason string) error {
	if strings.TrimSpace(reason) == "" {
		return refundflow.FieldError("reason", "missing_reason", "a rejection needs a reason the learner can read")
	}
	var pr refundflow.Problems
	refundflow.CheckNote(&pr, "reason", reason)
	return pr.Err()
}
