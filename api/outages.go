package api

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"github.com/refundflow/refundflow"
	"github.com/refundflow/refundflow/policy"
	"github.com/refundflow/refundflow/postgres"
	"github.com/refundflow/refundflow/workflows"
)

type outageRequest struct {
	ID         *string  `json:"id"`
	ProductIDs []string `json:"product_ids"`
	StartedAt  *string  `json:"started_at"`
	EndedAt    *string  `json:"ended_at"`
	Reason     string   `json:"reason"`
}

func (s *Server) postOutage(c *gin.Context) {
	var req outageRequest
	if err := decode(c, &req); err != nil {
		s.fail(c, err)
		return
	}
	var pr refundflow.Problems
	o := &refundflow.Outage{
		ProductIDs: req.ProductIDs,
		StartedAt:  requireTime(&pr, "started_at", req.StartedAt),
		EndedAt:    parseTime(&pr, "ended_at", req.EndedAt),
		Reason:     req.Reason,
	}
	if req.ID != nil {
		o.ID = *req.ID
	} else {
		o.ID = newID("out")
	}
	if err := validate(pr, o.Validate()); err != nil {
		s.fail(c, err)
		return
	}
	if err := o.CheckTimes(s.Now()); err != nil {
		s.fail(c, err)
		return
	}
	ctx := c.Request.Context()
	for i, id := range o.ProductIDs {
		if _, err := s.DB.GetProduct(ctx, id); err != nil {
			if refundflow.ErrorKind(err) == refundflow.ENOTFOUND {
				err = &refundflow.Error{Kind: refundflow.EUNPROCESSABLE, Code: "unknown_product",
					Field: "product_ids[" + itoa(i) + "]", Message: "product " + id + " is not known"}
			}
			s.fail(c, err)
			return
		}
	}
	if err := s.DB.CreateOutage(ctx, o); err != nil {
		s.fail(c, err)
		return
	}
	s.respondOutage(c, http.StatusCreated, o)
}

func (s *Server) getOutage(c *gin.Context) {
	o, err := s.DB.GetOutage(c.Request.Context(), c.Param("id"))
	if err != nil {
		s.fail(c, err)
		return
	}
	s.respondOutage(c, http.StatusOK, o)
}

type remediateRequest struct {
	Mode string `json:"mode"`
}

// postRemediate serves POST /v1/outages/{id}/remediate.
func (s *Server) postRemediate(c *gin.Context) {
	var req remediateRequest
	if err := decode(c, &req); err != nil {
		s.fail(c, err)
		return
	}
	o, err := s.RemediateOutage(c.Request.Context(), caller(c), c.Param("id"), req.Mode)
	if err != nil {
		s.fail(c, err)
		return
	}
	s.respondOutage(c, http.StatusAccepted, o)
}

// RemediateOutage starts the remediation of an outage (SPEC 4.9) as the
// key's holder: the run's row first, then the workflow outage/<id>. Asking
// again in the same mode leaves the running remediation as it is (and
// starts its workflow if an earlier request could not); a canceled one
// resumes where it stopped.
func (s *Server) RemediateOutage(ctx context.Context, key *refundflow.APIKey, id, mode string) (*refundflow.Outage, error) {
	if mode != refundflow.RemediateRefund && mode != refundflow.RemediateOffer {
		return nil, refundflow.FieldError("mode", "invalid_mode", "must be refund or offer")
	}
	if err := KnownID("outage", id); err != nil {
		return nil, err
	}
	o, err := s.DB.GetOutage(ctx, id)
	if err != nil {
		return nil, err
	}
	if err := Remediable(o); err != nil {
		return nil, err
	}
	run, created, err := s.DB.StartRemediation(ctx, o, mode, key.ID)
	if err != nil {
		return nil, err
	}
	if !created {
		if run, err = s.carryOn(ctx, run, mode); err != nil {
			return nil, err
		}
	}
	if err := s.startRemediation(ctx, run); err != nil {
		return nil, err
	}
	return o, nil
}

// Remediable refuses an outage that is still going on or too short for
// the policy's platform_outage rule.
func Remediable(o *refundflow.Outage) error {
	if o.EndedAt == nil {
		return refundflow.Errorf(refundflow.ECONFLICT, "outage_not_ended", "outage %s has no ended_at: only an outage that is over can be remediated", o.ID)
	}
	threshold := policy.Default().OutageThresholdHours
	if h := o.Hours(*o.EndedAt); h < float64(threshold) {
		return refundflow.Errorf(refundflow.EUNPROCESSABLE, "outage_too_short",
			"outage %s lasted %.2f h; remediation is for outages of at least %d h (rule platform_outage)", o.ID, h, threshold)
	}
	return nil
}

// carryOn decides what a second remediate request does with the run that
// exists: nothing when it runs in that mode, resume it when it was
// canceled (once its last workflow has stopped).
func (s *Server) carryOn(ctx context.Context, run *postgres.RemediationRun, mode string) (*postgres.RemediationRun, error) {
	if run.Mode != mode {
		return nil, refundflow.Errorf(refundflow.ECONFLICT, "remediation_mode_differs", "outage %s is remediated in %s mode already", run.OutageID, run.Mode)
	}
	switch run.Status {
	case refundflow.RemediationCompleted:
		return nil, refundflow.Errorf(refundflow.ECONFLICT, "remediation_completed", "the remediation of outage %s has completed", run.OutageID)
	case refundflow.RemediationCanceled:
		d, err := s.Temporal.DescribeWorkflowExecution(ctx, workflows.OutageWorkflowID(run.OutageID), "")
		var nf *serviceerror.NotFound
		switch {
		case err != nil && !errors.As(err, &nf):
			return nil, err
		case err == nil && d.GetWorkflowExecutionInfo().GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING:
			return nil, refundflow.Errorf(refundflow.ECONFLICT, "remediation_stopping", "the canceled remediation of outage %s is still stopping; try again in a moment", run.OutageID)
		}
		return s.DB.ResumeRemediation(ctx, run.OutageID)
	}
	return run, nil
}

// startRemediation starts the run's workflow from where its pages stopped;
// one that runs already is not an error.
func (s *Server) startRemediation(ctx context.Context, run *postgres.RemediationRun) error {
	opts := client.StartWorkflowOptions{
		ID:                       workflows.OutageWorkflowID(run.OutageID),
		TaskQueue:                workflows.RefundsTaskQueue,
		WorkflowIDReusePolicy:    enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
	}
	in := workflows.RemediationInput{
		OutageID: run.OutageID, Mode: run.Mode, SubmittedBy: run.StartedBy,
		OfferWindow: s.Config.OfferWindow, ApprovalSLA: s.Config.ApprovalSLA, StripeRatePerSecond: s.Config.StripeRatePerSecond,
		After: run.NextOrderID, AllOpened: run.AllOpened,
	}
	if _, err := s.Temporal.ExecuteWorkflow(ctx, opts, workflows.OutageRemediation, in); err != nil {
		s.Logger.Error("start remediation workflow", "outage", run.OutageID, "error", err)
		return refundflow.Errorf(refundflow.EUNAVAILABLE, "workflow_unavailable", "the remediation could not be started now; send the request again")
	}
	return nil
}

// postCancelRemediation serves POST /v1/outages/{id}/cancel.
func (s *Server) postCancelRemediation(c *gin.Context) {
	o, err := s.CancelRemediation(c.Request.Context(), c.Param("id"))
	if err != nil {
		s.fail(c, err)
		return
	}
	s.respondOutage(c, http.StatusOK, o)
}

// CancelRemediation stops a running remediation from opening more cases:
// the read model says so first (a page being opened finishes), then the
// workflow hears it. The cases already open go on to their end.
func (s *Server) CancelRemediation(ctx context.Context, id string) (*refundflow.Outage, error) {
	if err := KnownID("outage", id); err != nil {
		return nil, err
	}
	o, err := s.DB.GetOutage(ctx, id)
	if err != nil {
		return nil, err
	}
	run, canceled, err := s.DB.CancelRemediation(ctx, o.ID)
	if refundflow.ErrorKind(err) == refundflow.ENOTFOUND {
		err = refundflow.Errorf(refundflow.ECONFLICT, "remediation_not_started", "outage %s is not being remediated", o.ID)
	}
	if err != nil {
		return nil, err
	}
	if !canceled && run.Status == refundflow.RemediationCompleted {
		return nil, refundflow.Errorf(refundflow.ECONFLICT, "remediation_completed", "the remediation of outage %s has completed", o.ID)
	}
	if canceled {
		err := s.Temporal.SignalWorkflow(ctx, workflows.OutageWorkflowID(o.ID), "", workflows.CancelRemediationSignal, nil)
		var nf *serviceerror.NotFound
		if err != nil && !errors.As(err, &nf) {
			// The workflow reads the cancellation with its next page anyway.
			s.Logger.Warn("signal remediation cancel", "outage", o.ID, "error", err)
		}
	}
	return o, nil
}

// OutageStatus is an outage with its remediation's progress (the SPEC 5
// outage).
type OutageStatus struct {
	refundflow.Outage
	Hours       float64           `json:"hours"`
	Remediation RemediationStatus `json:"remediation"`
}

// RemediationStatus is where a remediation stands, counted from the read
// model; Status is not_started before one is asked for.
type RemediationStatus struct {
	Mode          *string    `json:"mode"`
	Status        string     `json:"status"`
	Total         int        `json:"total"`
	Done          int        `json:"done"`
	Refunded      int        `json:"refunded"`
	Retained      int        `json:"retained"`
	Failed        int        `json:"failed"`
	StartedAt     *time.Time `json:"started_at"`
	FinishedAt    *time.Time `json:"finished_at"`
	WorkflowID    string     `json:"workflow_id,omitempty"`
	TemporalUIURL string     `json:"temporal_ui_url,omitempty"`
}

// respondOutage answers with the outage and its remediation's progress.
func (s *Server) respondOutage(c *gin.Context, status int, o *refundflow.Outage) {
	out, err := s.DescribeOutage(c.Request.Context(), o)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(status, out)
}

// DescribeOutage returns the outage with its remediation's progress.
func (s *Server) DescribeOutage(ctx context.Context, o *refundflow.Outage) (*OutageStatus, error) {
	out, err := s.DescribeOutages(ctx, []*refundflow.Outage{o})
	if err != nil {
		return nil, err
	}
	return out[0], nil
}

// DescribeOutages is DescribeOutage for a list, in two queries (the
// console's outages page).
func (s *Server) DescribeOutages(ctx context.Context, list []*refundflow.Outage) ([]*OutageStatus, error) {
	ids := make([]string, len(list))
	for i, o := range list {
		ids[i] = o.ID
	}
	runs, err := s.DB.RemediationsOf(ctx, ids)
	if err != nil {
		return nil, err
	}
	progress, err := s.DB.RemediationProgressOf(ctx, ids)
	if err != nil {
		return nil, err
	}
	out := make([]*OutageStatus, len(list))
	for i, o := range list {
		st := &OutageStatus{
			Outage:      *o,
			Hours:       float64(int64(o.Hours(s.Now())*100)) / 100,
			Remediation: RemediationStatus{Status: "not_started"},
		}
		if run := runs[o.ID]; run != nil {
			prog, id := progress[o.ID], workflows.OutageWorkflowID(o.ID)
			st.Remediation = RemediationStatus{
				Mode: &run.Mode, Status: run.Status, Total: max(run.Total, prog.Opened), Done: prog.Done,
				Refunded: prog.Refunded, Retained: prog.Retained, Failed: prog.Failed,
				StartedAt: &run.StartedAt, FinishedAt: run.FinishedAt,
				WorkflowID: id, TemporalUIURL: s.temporalUIURL(id),
			}
		}
		out[i] = st
	}
	return out, nil
}
