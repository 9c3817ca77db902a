package bench

import (
	"context"
	"fmt"
	"net/http"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/workflowservice/v1"

	"github.com/refundflow/refundflow"
	"github.com/refundflow/refundflow/internal/billing"
	"github.com/refundflow/refundflow/workflows"
)

// What a case costs on Temporal Cloud is counted on the histories of the
// run's own cases by its billing rules (package billing): the pipeline's
// auto-approved cases, a few cases approved by a person and a few whose
// offer was declined (run here through the API), and the remediation's
// cases with their share of the remediation workflow's runs.

// costs counts the auto-approved cases (a sample of the pipeline's) and
// runs and counts cfg.Shapes cases of each path a person takes part in.
func (e *env) costs(ctx context.Context, cfg Config, auto []string, res *Results) error {
	if len(auto) > 20 {
		auto = auto[:20]
	}
	cost, err := e.averageCost(ctx, caseWorkflows(auto))
	if err != nil {
		return err
	}
	res.ActionsPerCase.Auto, res.EventsPerCase.Auto = cost.actions, cost.events
	if err := e.startWorker(ctx); err != nil {
		return err
	}
	defer e.stopWorker()
	human, err := e.humanApproved(ctx, max(cfg.Shapes, 1))
	if err != nil {
		return fmt.Errorf("approved by a person: %w", err)
	}
	if cost, err = e.averageCost(ctx, caseWorkflows(human)); err != nil {
		return err
	}
	res.ActionsPerCase.Human, res.EventsPerCase.Human = cost.actions, cost.events
	declined, err := e.offerDeclined(ctx, max(cfg.Shapes, 1))
	if err != nil {
		return fmt.Errorf("offer declined: %w", err)
	}
	if cost, err = e.averageCost(ctx, caseWorkflows(declined)); err != nil {
		return err
	}
	res.ActionsPerCase.OfferDeclined, res.EventsPerCase.OfferDeclined = cost.actions, cost.events
	return nil
}

// remediationCost counts the remediation's cases and every run of its
// own workflow, per case.
func (e *env) remediationCost(ctx context.Context, r remediated, res *Results) error {
	ids := append(caseWorkflows(r.cases), workflows.OutageWorkflowID(r.outage))
	total, err := e.totalCost(ctx, ids)
	if err != nil {
		return err
	}
	n := float64(max(len(r.cases), 1))
	res.ActionsPerCase.Remediation, res.EventsPerCase.Remediation = float64(total.Actions)/n, float64(total.Events)/n
	return nil
}

func caseWorkflows(cases []string) []string {
	out := make([]string, len(cases))
	for i, id := range cases {
		out[i] = workflows.RefundWorkflowID(id)
	}
	return out
}

type averaged struct{ actions, events float64 }

func (e *env) averageCost(ctx context.Context, workflowIDs []string) (averaged, error) {
	total, err := e.totalCost(ctx, workflowIDs)
	if err != nil || len(workflowIDs) == 0 {
		return averaged{}, err
	}
	n := float64(len(workflowIDs))
	return averaged{actions: float64(total.Actions) / n, events: float64(total.Events) / n}, nil
}

// totalCost adds up the cost of every run of the workflows.
func (e *env) totalCost(ctx context.Context, workflowIDs []string) (billing.Cost, error) {
	var total billing.Cost
	for _, id := range workflowIDs {
		runs, err := e.runs(ctx, id)
		if err != nil {
			return total, err
		}
		for _, run := range runs {
			iter := e.app.Temporal.GetWorkflowHistory(ctx, id, run, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
			var hist []*historypb.HistoryEvent
			for iter.HasNext() {
				ev, err := iter.Next()
				if err != nil {
					return total, fmt.Errorf("history of %s: %w", id, err)
				}
				hist = append(hist, ev)
			}
			total = total.Add(billing.Of(hist))
		}
	}
	return total, nil
}

// runs lists the run ids of a workflow, oldest first: a workflow that
// continued as new has several.
func (e *env) runs(ctx context.Context, workflowID string) ([]string, error) {
	resp, err := e.app.Temporal.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
		Namespace: e.appCfg.TemporalNamespace, Query: fmt.Sprintf("WorkflowId = %q", workflowID),
	})
	if err != nil {
		return nil, err
	}
	var out []string
	for _, ex := range resp.GetExecutions() {
		out = append(out, ex.GetExecution().GetRunId())
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("workflow %s has no run", workflowID)
	}
	return out, nil
}

// humanApproved runs n cases a person approves: a learner reports a
// quality issue (the policy leaves it to a person), an admin approves it,
// and the money moves.
func (e *env) humanApproved(ctx context.Context, n int) ([]string, error) {
	orders, err := e.seedOrders(ctx, "human", n, 19900, 2*24*time.Hour)
	if err != nil {
		return nil, err
	}
	ids := make([]string, n)
	for i, order := range orders {
		id, err := e.openCase(ctx, order, "quality_issue")
		if err != nil {
			return nil, err
		}
		if err := e.awaitStatus(ctx, id, refundflow.StatusAwaitingApproval); err != nil {
			return nil, err
		}
		if err := e.call(ctx, refundflow.RoleAdmin, "POST", "/v1/refunds/"+id+"/approve", map[string]any{"note": "checked"}, http.StatusOK, nil); err != nil {
			return nil, err
		}
		if err := e.awaitClosed(ctx, id); err != nil {
			return nil, err
		}
		ids[i] = id
	}
	return ids, nil
}

// offerDeclined runs n cases whose learner declines the retention offer:
// a course not as expected two days after purchase, nothing watched
// (not_as_expected: automatic, with an offer), declined, then refunded.
func (e *env) offerDeclined(ctx context.Context, n int) ([]string, error) {
	orders, err := e.seedOrders(ctx, "declined", n, 19900, 2*24*time.Hour)
	if err != nil {
		return nil, err
	}
	ids := make([]string, n)
	for i, order := range orders {
		id, err := e.openCase(ctx, order, "not_as_expected")
		if err != nil {
			return nil, err
		}
		if err := e.awaitStatus(ctx, id, refundflow.StatusOffered); err != nil {
			return nil, err
		}
		if err := e.call(ctx, refundflow.RolePlatform, "POST", "/v1/refunds/"+id+"/offers/decline", map[string]any{}, http.StatusOK, nil); err != nil {
			return nil, err
		}
		if err := e.awaitClosed(ctx, id); err != nil {
			return nil, err
		}
		ids[i] = id
	}
	return ids, nil
}

// openCase asks for a refund of the order and returns the case's id.
func (e *env) openCase(ctx context.Context, orderID, reason string) (string, error) {
	var out struct {
		ID string `json:"id"`
	}
	err := e.call(ctx, refundflow.RolePlatform, "POST", "/v1/refunds", map[string]any{"order_id": orderID, "reason": reason}, http.StatusCreated, &out)
	return out.ID, err
}

// awaitStatus polls the case until it has the status (a minute at most).
func (e *env) awaitStatus(ctx context.Context, id string, want refundflow.RefundStatus) error {
	deadline := time.Now().Add(time.Minute)
	for {
		var c struct {
			Status refundflow.RefundStatus `json:"status"`
		}
		if err := e.call(ctx, refundflow.RoleAgent, "GET", "/v1/refunds/"+id, nil, http.StatusOK, &c); err != nil {
			return err
		}
		if c.Status == want {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("case %s is %s, not %s, after a minute", id, c.Status, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// awaitClosed waits for the case's workflow to complete.
func (e *env) awaitClosed(ctx context.Context, id string) error {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	return e.app.Temporal.GetWorkflow(ctx, workflows.RefundWorkflowID(id), "").Get(ctx, nil)
}
