package workflows

import (
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/refundflow/refundflow"
	"github.com/refundflow/refundflow/activities"
	"github.com/refundflow/refundflow/policy"
	"github.com/refundflow/refundflow/postgres"
)

// refundCase is one running case: its state, and the answers that update
// handlers bring in while the story in refund.go waits for them.
type refundCase struct {
	in    RefundInput
	acts  *activities.Activities // method values only: activity names
	state RefundState

	decision  policy.Decision
	orderID   string
	productID string
	rejection *rejection
	// appealRequest is the learner's appeal; it opens a ticket.
	appealRequest LearnerRequest
	// seq numbers the case's steps; the read model keys the timeline by it.
	seq int
	// recording counts steps being written right now. An update handler
	// changes the state at once and then records it; the story waits for
	// the record before it acts on the change (see await).
	recording int
	// pending holds notification activities still running; the case waits
	// for them before it completes.
	pending []workflow.Future
	// stripeUpdates carries Stripe's webhooks about this case's refund.
	stripeUpdates workflow.ReceiveChannel
}

type rejection struct {
	by     refundflow.Actor
	reason string
}

func newRefundCase(ctx workflow.Context, in RefundInput) (*refundCase, error) {
	if in.AppealWindow == 0 {
		in.AppealWindow = DefaultAppealWindow
	}
	r := &refundCase{
		in:            in,
		state:         RefundState{Status: refundflow.StatusEvaluating, EscalationLevel: 1},
		stripeUpdates: workflow.GetSignalChannel(ctx, StripeRefundSignal),
	}
	if err := workflow.SetQueryHandler(ctx, RefundStateQuery, func() (RefundState, error) { return r.state, nil }); err != nil {
		return nil, err
	}
	for _, h := range []struct {
		name               string
		handler, validator any
	}{
		{AcceptOfferUpdate, r.acceptOffer, r.validateAcceptOffer},
		{DeclineOfferUpdate, r.declineOffer, r.validateDeclineOffer},
		{ApproveUpdate, r.approve, r.validateApprove},
		{RejectUpdate, r.reject, r.validateReject},
		{AppealUpdate, r.appeal, r.validateAppeal},
		{WithdrawUpdate, r.withdraw, r.validateWithdraw},
	} {
		if err := workflow.SetUpdateHandlerWithOptions(ctx, h.name, h.handler, workflow.UpdateHandlerOptions{Validator: h.validator}); err != nil {
			return nil, err
		}
	}
	return r, nil
}

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
	r.step(ctx, stepSpec{actor: req.By, event: "offer_accepted", detail: map[string]any{"offer_id": req.OfferID},
		offerAnswer: &offerAnswer{accepted: req.OfferID, others: "declined"}})
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
	r.step(ctx, stepSpec{actor: req.By, event: "offer_declined", detail: map[string]any{"note": req.Note},
		offerAnswer: &offerAnswer{others: "declined"}})
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
	if err := r.checkApprover(req.Approver); err != nil {
		return err
	}
	for _, v := range r.state.Approvals {
		if v.Approver.ID == req.Approver.Actor.ID {
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
func (r *refundCase) checkApprover(a Approver) error {
	if a.Actor.ID == r.in.SubmittedBy {
		return refuse(refundflow.EFORBIDDEN, "approver_is_requester", "the key that submitted a case cannot decide it")
	}
	if r.state.Appealed && r.rejection != nil && r.rejection.by.ID == a.Actor.ID {
		return refuse(refundflow.EFORBIDDEN, "appeal_needs_another_approver", "you rejected this case; its appeal goes to another approver")
	}
	return nil
}

func (r *refundCase) approve(ctx workflow.Context, req ApproveRequest) (UpdateResult, error) {
	amount := r.proposedAmount(req)
	vote := ApprovalVote{Approver: req.Approver.Actor, Amount: amount, At: workflow.Now(ctx)}
	r.state.Approvals = append(r.state.Approvals, vote)
	approval := &postgres.Approval{Action: "approve", Approver: req.Approver.Actor, Amount: &amount, Note: req.Note, Level: r.state.EscalationLevel}

	overLimit := req.Approver.Limit != nil && amount > *req.Approver.Limit
	if len(r.state.Approvals) == 1 && overLimit {
		// Above this approver's limit: a second, distinct approver must agree.
		r.step(ctx, stepSpec{actor: req.Approver.Actor, event: "approval_recorded", approval: approval,
			detail: map[string]any{"amount": amount, "limit": *req.Approver.Limit, "approvals_needed": 1}})
		res := r.result()
		res.ApprovalsNeeded = 1
		return res, nil
	}
	r.state.Amount = &amount
	r.state.SLADueAt = nil
	r.state.Status = refundflow.StatusRefunding
	r.step(ctx, stepSpec{actor: req.Approver.Actor, event: "approved", approval: approval, detail: map[string]any{"amount": amount}})
	return r.result(), nil
}

// proposedAmount is what an approval approves: the amount sent, else what
// the first approver set, else the decision's amount.
func (r *refundCase) proposedAmount(req ApproveRequest) int64 {
	switch {
	case req.Amount != nil:
		return *req.Amount
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
	return r.checkApprover(req.Approver)
}

func (r *refundCase) reject(ctx workflow.Context, req RejectRequest) (UpdateResult, error) {
	r.state.Status = refundflow.StatusRejected
	r.state.SLADueAt = nil
	r.rejection = &rejection{by: req.Approver.Actor, reason: req.Reason}
	r.step(ctx, stepSpec{actor: req.Approver.Actor, event: "rejected", detail: map[string]any{"reason": req.Reason},
		approval: &postgres.Approval{Action: "reject", Approver: req.Approver.Actor, Note: req.Reason, Level: r.state.EscalationLevel}})
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
	r.step(ctx, stepSpec{actor: req.By, event: "appealed", detail: map[string]any{"note": req.Note, "level": r.state.EscalationLevel}})
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
	spec := stepSpec{actor: req.By, event: "withdrawn", detail: map[string]any{"note": req.Note}}
	if len(r.state.Offers) > 0 {
		spec.offerAnswer = &offerAnswer{others: "declined"}
	}
	r.step(ctx, spec)
	return r.result(), nil
}

func (r *refundCase) result() UpdateResult { return UpdateResult{Status: r.state.Status} }

// await waits until cond holds or the timeout passes (no timeout when it is
// negative), then until every step being recorded is in the read model, and
// reports whether cond holds. Every transition changes the state before it
// yields, so a timer and an update arriving together never both win.
func (r *refundCase) await(ctx workflow.Context, timeout time.Duration, cond func() bool) bool {
	switch {
	case timeout < 0:
		_ = workflow.Await(ctx, cond)
	case timeout > 0:
		_, _ = workflow.AwaitWithTimeout(ctx, timeout, cond)
	}
	_ = workflow.Await(ctx, func() bool { return r.recording == 0 })
	return cond()
}

// forever is await's timeout for waits without a deadline.
const forever = -1

// --- recording steps ---

type offerAnswer struct{ accepted, others string }

type stepSpec struct {
	actor       refundflow.Actor
	event       string
	detail      map[string]any
	decision    *policy.Decision
	approval    *postgres.Approval
	offerAnswer *offerAnswer
}

// step records the case as it is now — its status and the event that led
// there — in the read model and in the search attributes. Steps are
// numbered in the order the workflow takes them, so the read model can
// apply them in any order and each exactly once.
func (r *refundCase) step(ctx workflow.Context, s stepSpec) {
	r.recording++
	defer func() { r.recording-- }()
	r.seq++
	now := workflow.Now(ctx)
	rec := postgres.Step{
		RefundID: r.in.RefundID, Seq: r.seq, At: now, Actor: s.actor, Event: s.event, Detail: s.detail,
		Snapshot: r.snapshot(now), Decision: s.decision, Approval: s.approval,
	}
	if s.offerAnswer != nil {
		rec.OfferAnswer = &postgres.OfferAnswer{AcceptedOffer: s.offerAnswer.accepted, OthersAnswer: s.offerAnswer.others}
	}
	if err := workflow.ExecuteActivity(dbCtx(ctx), r.acts.RecordStep, rec).Get(ctx, nil); err != nil {
		// The read model retries until PostgreSQL is back; only a bug ends
		// here, and the workflow's history still holds the step.
		workflow.GetLogger(ctx).Error("could not record step", "refund", r.in.RefundID, "event", s.event, "error", err)
	}
	r.upsertSearchAttributes(ctx)
}

func (r *refundCase) snapshot(now time.Time) postgres.CaseSnapshot {
	s := postgres.CaseSnapshot{
		Status: r.state.Status, Amount: r.state.Amount, EscalationLevel: r.state.EscalationLevel,
		SLADueAt: r.state.SLADueAt, OfferExpiresAt: r.state.OfferExpiresAt, AppealUntil: r.state.AppealUntil,
		Appealed: r.state.Appealed, ProviderRefundID: r.state.ProviderRefundID, PaymentStatus: r.state.PaymentStatus,
	}
	if r.state.ProviderRefundID != "" {
		s.PaymentAmount = r.state.Amount
	}
	if r.state.Status == refundflow.StatusOffered {
		s.OfferExpiresAt = r.state.OfferExpiresAt
	} else {
		s.OfferExpiresAt = nil
	}
	if !r.state.Status.Open() && r.state.Status != refundflow.StatusRejected {
		s.ClosedAt = &now
	}
	return s
}

func (r *refundCase) upsertSearchAttributes(ctx workflow.Context) {
	updates := []temporal.SearchAttributeUpdate{
		RefundStatusKey.ValueSet(string(r.state.Status)),
		EscalationLevelKey.ValueSet(int64(r.state.EscalationLevel)),
	}
	if r.decision.Currency != "" {
		updates = append(updates, CurrencyKey.ValueSet(string(r.decision.Currency)))
	}
	if r.state.Amount != nil {
		updates = append(updates, RefundAmountKey.ValueSet(*r.state.Amount))
	}
	if r.state.SLADueAt != nil {
		updates = append(updates, SlaDeadlineKey.ValueSet(*r.state.SLADueAt))
	} else {
		updates = append(updates, SlaDeadlineKey.ValueUnset())
	}
	if err := workflow.UpsertTypedSearchAttributes(ctx, updates...); err != nil {
		workflow.GetLogger(ctx).Warn("search attributes not updated", "error", err)
	}
}

// --- telling people ---

// tellLearner sends the learner the message for this step (email in their
// language and the in-app message list).
func (r *refundCase) tellLearner(ctx workflow.Context, kind string) {
	r.track(workflow.ExecuteActivity(notifyCtx(ctx, 24*time.Hour), r.acts.NotifyLearner, activities.LearnerNotice{
		ID: noticeID(r.in.RefundID, r.seq, kind), RefundID: r.in.RefundID, Kind: kind, At: workflow.Now(ctx),
	}))
}

// tellPlatform sends the platform a signed webhook.
func (r *refundCase) tellPlatform(ctx workflow.Context, eventType string) {
	r.track(workflow.ExecuteActivity(notifyCtx(ctx, 24*time.Hour), r.acts.SendWebhook, activities.WebhookEvent{
		ID: fmt.Sprintf("evt_%s_%d_%s", r.in.RefundID, r.seq, eventType), Type: eventType, RefundID: r.in.RefundID,
	}))
}

// tellStaff notifies approvers, ops or finance about the case.
func (r *refundCase) tellStaff(ctx workflow.Context, audience, kind string) {
	r.track(workflow.ExecuteActivity(notifyCtx(ctx, 24*time.Hour), r.acts.NotifyStaff, activities.StaffNotice{
		ID: noticeID(r.in.RefundID, r.seq, kind), Audience: audience, Kind: kind, RefundID: r.in.RefundID,
	}))
}

func (r *refundCase) track(f workflow.Future) { r.pending = append(r.pending, f) }

// noticeID names a notice after the step it is about; the zero-padded step
// keeps a case's notices in order when they are sorted by id.
func noticeID(refundID string, seq int, kind string) string {
	return fmt.Sprintf("%s/%04d/%s", refundID, seq, kind)
}

// close waits for the handlers and the notifications still in flight, then
// ends the case with its final status.
func (r *refundCase) close(ctx workflow.Context, err error) (RefundResult, error) {
	_ = workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) })
	for _, f := range r.pending {
		if ferr := f.Get(ctx, nil); ferr != nil {
			workflow.GetLogger(ctx).Warn("notification not delivered", "refund", r.in.RefundID, "error", ferr)
		}
	}
	if err != nil {
		return RefundResult{}, err
	}
	res := RefundResult{Status: r.state.Status, ProviderRefundID: r.state.ProviderRefundID}
	if r.state.Amount != nil {
		res.Amount = *r.state.Amount
	}
	return res, nil
}
