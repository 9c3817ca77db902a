package workflows

import (
	"go.temporal.io/sdk/workflow"

	"github.com/refundflow/refundflow"
	"github.com/refundflow/refundflow/activities/contract"
	"github.com/refundflow/refundflow/notify"
	"github.com/refundflow/refundflow/refund"
)

// The updates of a refund case: each has a validator that answers at once
// from the case's state, and a handler that changes the state and records
// the step (see journal).

// --- the learner's answers to the offer ---

func (r *refundCase) validateAcceptOffer(_ workflow.Context, req AcceptOfferRequest) error {
	if r.state.Status != refundflow.StatusOffered {
		return refuse(refundflow.ECONFLICT, "no_open_offer", "the case is %s; there is no offer to accept", r.state.Status)
	}
	for _, o := range r.state.Offers {
		if o.ID == req.OfferID {
			return nil
		}
	}
	return refuse(refundflow.ENOTFOUND, "unknown_offer", "the case has no offer %q", req.OfferID)
}

func (r *refundCase) acceptOffer(ctx workflow.Context, req AcceptOfferRequest) (UpdateResult, error) {
	r.state.Status = refundflow.StatusRetained
	r.record(ctx, stepSpec{actor: req.By, event: "offer_accepted", detail: map[string]any{"offer_id": req.OfferID},
		offerAnswer: &refund.OfferAnswer{Accepted: req.OfferID, Others: "declined"},
		notices:     []notify.Notice{notify.ToLearner(notify.KindRetained), notify.ToPlatform(notify.EventOfferAccepted)}})
	return r.result(), nil
}

func (r *refundCase) validateDeclineOffer(_ workflow.Context, _ LearnerRequest) error {
	if r.state.Status != refundflow.StatusOffered {
		return refuse(refundflow.ECONFLICT, "no_open_offer", "the case is %s; there is no offer to decline", r.state.Status)
	}
	return nil
}

func (r *refundCase) declineOffer(ctx workflow.Context, req LearnerRequest) (UpdateResult, error) {
	r.state.Status = r.statusAfterOffer()
	r.record(ctx, stepSpec{actor: req.By, event: "offer_declined", detail: map[string]any{"note": req.Note},
		offerAnswer: &refund.OfferAnswer{Others: "declined"}})
	return r.result(), nil
}

// statusAfterOffer is where a case goes once the offer is answered: to the
// money when the decision approves itself, otherwise to the approvers.
func (r *refundCase) statusAfterOffer() refundflow.RefundStatus {
	if r.decision.AutoApprove {
		return refundflow.StatusRefunding
	}
	return refundflow.StatusAwaitingApproval
}

// --- the approvers ---

func (r *refundCase) validateApprove(_ workflow.Context, req ApproveRequest) error {
	if r.state.Status != refundflow.StatusAwaitingApproval {
		return refuse(refundflow.ECONFLICT, "not_awaiting_approval", "the case is %s, not awaiting approval", r.state.Status)
	}
	if err := r.checkApprover(req.KeyID); err != nil {
		return err
	}
	for _, v := range r.state.Approvals {
		if v.Approver.ID == req.KeyID {
			return refuse(refundflow.ECONFLICT, "already_approved", "you approved this case already; a second approver is needed")
		}
	}
	if req.Amount != nil {
		switch {
		case *req.Amount <= 0:
			return refuse(refundflow.EUNPROCESSABLE, "amount_not_positive", "amount must be a positive number of minor units")
		case *req.Amount > r.state.Refundable:
			return refuse(refundflow.EUNPROCESSABLE, "amount_exceeds_refundable", "amount %d is more than the %d still refundable on the order", *req.Amount, r.state.Refundable)
		case len(r.state.Approvals) > 0 && *req.Amount != r.state.Approvals[0].Amount:
			return refuse(refundflow.ECONFLICT, "amount_mismatch", "the first approver approved %d; approve that amount or reject", r.state.Approvals[0].Amount)
		}
	} else if r.state.Amount == nil && len(r.state.Approvals) == 0 {
		return refuse(refundflow.EUNPROCESSABLE, "amount_required", "a person sets the amount of this case: send amount (at most %d)", r.state.Refundable)
	}
	return nil
}

// checkApprover refuses the key that submitted the case, and on appeal the
// approver who rejected it.
func (r *refundCase) checkApprover(keyID string) error {
	if keyID == r.in.SubmittedBy {
		return refuse(refundflow.EFORBIDDEN, "approver_is_requester", "the key that submitted a case cannot decide it")
	}
	if r.state.Appealed && r.rejection != nil && r.rejection.by.ID == keyID {
		return refuse(refundflow.EFORBIDDEN, "appeal_needs_another_approver", "you rejected this case; its appeal goes to another approver")
	}
	return nil
}

// verify reads what the approver asked and their key as PostgreSQL holds
// them now: the update's own fields are only claims. The handler then
// checks the request again, as PostgreSQL holds it, against the case as it
// stands after that read.
func (r *refundCase) verify(ctx workflow.Context, intentID, action, claimedKey string) (contract.VerifiedApproval, error) {
	var v contract.VerifiedApproval
	err := workflow.ExecuteLocalActivity(localCtx(ctx), contract.VerifyApproval, contract.VerifyApprovalInput{
		IntentID: intentID, UpdateID: workflow.GetCurrentUpdateInfo(ctx).ID, RefundID: r.in.RefundID,
		Action: action, Currency: r.decision.Currency,
	}).Get(ctx, &v)
	switch {
	case err != nil:
		return v, err
	case v.Refusal != "":
		return v, refuse(refundflow.EFORBIDDEN, v.Refusal, "%s", v.Message)
	case v.Actor.ID != claimedKey:
		return v, refuse(refundflow.EFORBIDDEN, "approval_intent_mismatch", "the approval request was made by another key")
	}
	return v, nil
}

func (r *refundCase) approve(ctx workflow.Context, req ApproveRequest) (UpdateResult, error) {
	v, err := r.verify(ctx, req.IntentID, refund.Approve, req.KeyID)
	if err != nil {
		return UpdateResult{}, err
	}
	if err := r.validateApprove(ctx, ApproveRequest{KeyID: v.Actor.ID, Amount: v.Amount}); err != nil {
		return UpdateResult{}, err
	}
	amount := r.proposedAmount(v.Amount)
	r.state.Approvals = append(r.state.Approvals, ApprovalVote{Approver: v.Actor, Amount: amount, At: workflow.Now(ctx)})
	approval := &refund.Approval{Action: refund.Approve, Approver: v.Actor, Amount: &amount, Note: v.Note, Level: r.state.EscalationLevel}

	if len(r.state.Approvals) == 1 && v.Limit != nil && amount > *v.Limit {
		// Above this approver's limit: a second, distinct approver must agree.
		r.record(ctx, stepSpec{actor: v.Actor, event: "approval_recorded", approval: approval,
			detail: map[string]any{"amount": amount, "limit": *v.Limit, "approvals_needed": 1}})
		res := r.result()
		res.ApprovalsNeeded = 1
		return res, nil
	}
	r.state.Amount = &amount
	r.state.SLADueAt = nil
	r.state.Status = refundflow.StatusRefunding
	r.record(ctx, stepSpec{actor: v.Actor, event: "approved", approval: approval, detail: map[string]any{"amount": amount},
		notices: []notify.Notice{notify.ToLearner(notify.KindApproved), notify.ToPlatform(notify.EventRefundApproved)}})
	return r.result(), nil
}

// proposedAmount is what an approval approves: the amount asked for, else
// what the first approver set, else the decision's amount.
func (r *refundCase) proposedAmount(asked *int64) int64 {
	switch {
	case asked != nil:
		return *asked
	case len(r.state.Approvals) > 0:
		return r.state.Approvals[0].Amount
	}
	return *r.state.Amount
}

func (r *refundCase) validateReject(_ workflow.Context, req RejectRequest) error {
	if r.state.Status != refundflow.StatusAwaitingApproval {
		return refuse(refundflow.ECONFLICT, "not_awaiting_approval", "the case is %s, not awaiting approval", r.state.Status)
	}
	if req.Reason == "" {
		return refuse(refundflow.EINVALID, "missing_reason", "a rejection needs a reason the learner can read")
	}
	return r.checkApprover(req.KeyID)
}

func (r *refundCase) reject(ctx workflow.Context, req RejectRequest) (UpdateResult, error) {
	v, err := r.verify(ctx, req.IntentID, refund.Reject, req.KeyID)
	if err != nil {
		return UpdateResult{}, err
	}
	if err := r.validateReject(ctx, RejectRequest{KeyID: v.Actor.ID, Reason: v.Note}); err != nil {
		return UpdateResult{}, err
	}
	r.state.Status = refundflow.StatusRejected
	r.state.SLADueAt = nil
	r.rejection = &rejection{by: v.Actor, reason: v.Note}
	notices := []notify.Notice{notify.ToPlatform(notify.EventRefundRejected)}
	if r.state.Appealed {
		// The one appeal is decided: the learner hears it is final.
		notices = append(notices, notify.ToLearner(notify.KindRejectedFinal))
	} else {
		// The learner hears why, and until when they may appeal.
		r.openAppealWindow(ctx)
		notices = append(notices, notify.ToLearner(notify.KindRejected))
	}
	r.record(ctx, stepSpec{actor: v.Actor, event: "rejected", detail: map[string]any{"reason": v.Note}, notices: notices,
		approval: &refund.Approval{Action: refund.Reject, Approver: v.Actor, Note: v.Note, Level: r.state.EscalationLevel}})
	return r.result(), nil
}

// --- the learner: appeal and withdraw ---

func (r *refundCase) validateAppeal(_ workflow.Context, _ LearnerRequest) error {
	switch {
	case r.state.Appealed:
		return refuse(refundflow.ECONFLICT, "appeal_used", "the case was appealed once already; an appeal is possible once")
	case r.state.Status != refundflow.StatusRejected:
		return refuse(refundflow.ECONFLICT, "not_rejected", "the case is %s; only a rejected case can be appealed", r.state.Status)
	case r.state.AppealUntil == nil:
		return refuse(refundflow.ECONFLICT, "appeal_window_closed", "the time to appeal this case has passed")
	}
	return nil
}

func (r *refundCase) appeal(ctx workflow.Context, req LearnerRequest) (UpdateResult, error) {
	r.state.Appealed = true
	r.appealRequest = req
	r.state.Approvals = nil // the appeal is decided afresh
	r.state.AppealUntil = nil
	r.state.EscalationLevel++
	r.state.Status = refundflow.StatusAwaitingApproval
	r.record(ctx, stepSpec{actor: req.By, event: "appealed", detail: map[string]any{"note": req.Note, "level": r.state.EscalationLevel},
		notices: []notify.Notice{notify.ToLearner(notify.KindAppealReceived)}})
	return r.result(), nil
}

func (r *refundCase) validateWithdraw(_ workflow.Context, _ LearnerRequest) error {
	if !r.state.Status.Withdrawable() {
		return refuse(refundflow.ECONFLICT, "not_withdrawable", "the case is %s; it can be withdrawn only before money starts to move", r.state.Status)
	}
	return nil
}

func (r *refundCase) withdraw(ctx workflow.Context, req LearnerRequest) (UpdateResult, error) {
	r.state.Status = refundflow.StatusWithdrawn
	r.state.SLADueAt = nil
	r.state.AppealUntil = nil
	spec := stepSpec{actor: req.By, event: "withdrawn", detail: map[string]any{"note": req.Note},
		notices: []notify.Notice{notify.ToLearner(notify.KindWithdrawn)}}
	if len(r.state.Offers) > 0 {
		spec.offerAnswer = &refund.OfferAnswer{Others: "declined"}
	}
	r.record(ctx, spec)
	return r.result(), nil
}
