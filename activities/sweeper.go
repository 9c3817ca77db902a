package activities

import (
	"context"

	"github.com/refundflow/refundflow"

	"github.com/refundflow/refundflow/activities/contract"
	"github.com/refundflow/refundflow/postgres"
	"github.com/refundflow/refundflow/refund"
)

// SweptBy is who starts a case its API request could not: the timeline's
// first entry says so.
const SweptBy = "sweeper"

// SweepCases keeps every case's row and workflow together (SPEC 4.5): a
// case opened over Grace ago that recorded nothing and has no workflow —
// Temporal was down, or the API died between the row and the start — is
// started now; a case still open whose workflow ended (terminated from
// the Temporal UI, failed, timed out) is closed as failed, with a
// timeline entry and staff and the platform told, and its order is free
// for a new case. Either is safe to repeat.
func (a *Activities) SweepCases(ctx context.Context, in contract.SweepInput) (contract.SweepResult, error) {
	var res contract.SweepResult
	now := a.now()
	unstarted, err := a.DB.UnstartedRefunds(ctx, now.Add(-in.Grace), in.Limit)
	if err != nil {
		return res, err
	}
	for _, c := range unstarted {
		run, err := a.Engine.RefundRun(ctx, c.ID)
		if err != nil {
			return res, err
		}
		switch {
		case run.Missing:
			start := RefundStartOf(c, a.OfferWindow, a.ApprovalSLA)
			start.StartedBy = SweptBy
			if err := a.Engine.StartRefund(ctx, start); err != nil {
				return res, err
			}
			res.Started = append(res.Started, c.ID)
		case run.Running:
			// Started and waiting for a worker: late, not lost.
		default:
			if closed, err := a.closeEndedCase(ctx, c.ID, run.Status); err != nil {
				return res, err
			} else if closed {
				res.Closed = append(res.Closed, c.ID)
			}
		}
	}
	ended, err := a.Engine.EndedAbnormally(ctx, now.Add(-in.LookBack))
	if err != nil {
		return res, err
	}
	for _, e := range ended {
		closed, err := a.closeEndedCase(ctx, e.RefundID, e.Status)
		if err != nil {
			return res, err
		}
		if closed {
			res.Closed = append(res.Closed, e.RefundID)
		}
	}
	return res, nil
}

// closeEndedCase fails case id, whose workflow ended with runStatus, if
// the case is still open; it reports whether it did.
func (a *Activities) closeEndedCase(ctx context.Context, id, runStatus string) (bool, error) {
	c, err := a.DB.GetRefund(ctx, id)
	if refundflow.ErrorKind(err) == refundflow.ENOTFOUND {
		return false, nil // a workflow of another deployment's database
	}
	if err != nil || !c.Status.Open() {
		return false, err
	}
	unsettled, err := a.DB.UnsettledAttempts(ctx, id)
	if err != nil {
		return false, err
	}
	step := refund.WorkflowEndedStep(id, c.LastSeq+1, a.now(), snapshotOf(c), runStatus, unsettled > 0)
	out, err := a.refundOutbox(ctx, step)
	if err != nil {
		return false, err
	}
	return true, a.DB.RecordStep(ctx, step, out)
}

// snapshotOf is the snapshot a case's row holds.
func snapshotOf(c *postgres.RefundCase) refund.Snapshot {
	return refund.Snapshot{
		Status: c.Status, Amount: c.Amount, EscalationLevel: c.EscalationLevel, SLADueAt: c.SLADueAt,
		OfferExpiresAt: c.OfferExpiresAt, AppealUntil: c.AppealUntil, Appealed: c.Appealed,
		ProviderRefundID: c.ProviderRefundID, PaymentStatus: c.PaymentStatus, PaymentAmount: c.PaymentAmount,
		ClosedAt: c.ClosedAt,
	}
}
