package workflows

import (
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/refundflow/refundflow"
	"github.com/refundflow/refundflow/activities/contract"
	"github.com/refundflow/refundflow/notify"
	"github.com/refundflow/refundflow/policy"
	"github.com/refundflow/refundflow/refund"
)

// refundCase is one running case: its state, and the answers that update
// handlers bring in while the story in refund.go waits for them.
type refundCase struct {
	in      RefundInput
	state   RefundState
	journal journal

	decision  policy.Decision
	orderID   string
	currency  string
	rejection *rejection
	// appealRequest is the learner's appeal; it opens a ticket.
	appealRequest LearnerRequest
	// stripeUpdates carries Stripe's webhooks about this case's refund.
	stripeUpdates workflow.ReceiveChannel
	// attrs are the search attributes as last set (at the start, or by
	// the last upsert).
	attrs refundAttrs
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
	r.attrs = r.currentAttrs()
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

// --- recording steps ---

// stepSpec is what a step of the story says; record adds the rest.
type stepSpec struct {
	actor       refundflow.Actor
	event       string
	detail      map[string]any
	decision    *policy.Decision
	offers      []refundflow.Offer
	approval    *refund.Approval
	offerAnswer *refund.OfferAnswer
	notices     []notify.Notice
}

// record writes a step: the case as it is now — its status and the event
// that led there — with what the step decided and the messages it causes,
// rendered from it (see journal).
func (r *refundCase) record(ctx workflow.Context, s stepSpec) {
	now := workflow.Now(ctx)
	r.journal.write(ctx, contract.RecordRefundStep, refund.Step{
		RefundID: r.in.RefundID, Seq: r.journal.next(), At: now, Actor: s.actor, Event: s.event, Detail: s.detail,
		Snapshot: r.snapshot(now), Decision: s.decision, Offers: s.offers, Approval: s.approval,
		OfferAnswer: s.offerAnswer, Notices: s.notices,
	})
}

func (r *refundCase) snapshot(now time.Time) refund.Snapshot {
	s := refund.Snapshot{
		Status: r.state.Status, Amount: r.state.Amount, EscalationLevel: r.state.EscalationLevel,
		SLADueAt: r.state.SLADueAt, AppealUntil: r.state.AppealUntil, Appealed: r.state.Appealed,
		ProviderRefundID: r.state.ProviderRefundID, PaymentStatus: r.state.PaymentStatus,
	}
	if r.state.ProviderRefundID != "" {
		s.PaymentAmount = r.state.Amount
	}
	if r.state.Status == refundflow.StatusOffered {
		s.OfferExpiresAt = r.state.OfferExpiresAt
	}
	if !r.state.Status.Open() && r.state.Status != refundflow.StatusRejected {
		s.ClosedAt = &now
	}
	return s
}

// adopt takes the case's state from a step an activity recorded (the
// payment's outcome), so that the workflow and the read model say the
// same.
func (r *refundCase) adopt(s refund.Step) {
	r.journal.seq = max(r.journal.seq, s.Seq)
	snap := s.Snapshot
	r.state.Status, r.state.Amount = snap.Status, snap.Amount
	r.state.ProviderRefundID, r.state.PaymentStatus = snap.ProviderRefundID, snap.PaymentStatus
}

// await waits for cond (see journal.await), with the case's search
// attributes up to date while it waits.
func (r *refundCase) await(ctx workflow.Context, timeout time.Duration, cond func() bool) bool {
	return r.journal.await(ctx, timeout, cond, r.upsertSearchAttributes)
}

// --- search attributes ---

// refundAttrs are the search attributes that change while a case runs
// (the start sets the rest: reason, order, course, currency).
type refundAttrs struct {
	status string
	level  int
	amount int64 // 0: not decided
	due    time.Time
}

func (r *refundCase) currentAttrs() refundAttrs {
	a := refundAttrs{status: string(r.state.Status), level: r.state.EscalationLevel}
	if r.state.Amount != nil {
		a.amount = *r.state.Amount
	}
	if r.state.SLADueAt != nil {
		a.due = *r.state.SLADueAt
	}
	return a
}

// upsertSearchAttributes brings what ops filter on in the Temporal UI up to
// date, in one upsert of what changed: the story calls it only where it is
// about to wait, so a workflow task has at most one.
func (r *refundCase) upsertSearchAttributes(ctx workflow.Context) {
	now := r.currentAttrs()
	was := r.attrs
	if now == was {
		return
	}
	var updates []temporal.SearchAttributeUpdate
	if now.status != was.status {
		updates = append(updates, RefundStatusKey.ValueSet(now.status))
	}
	if now.level != was.level {
		updates = append(updates, EscalationLevelKey.ValueSet(int64(now.level)))
	}
	if now.amount != was.amount {
		updates = append(updates, RefundAmountKey.ValueSet(now.amount))
	}
	if now.due != was.due {
		if now.due.IsZero() {
			updates = append(updates, SlaDeadlineKey.ValueUnset())
		} else {
			updates = append(updates, SlaDeadlineKey.ValueSet(now.due))
		}
	}
	if err := workflow.UpsertTypedSearchAttributes(ctx, updates...); err != nil {
		workflow.GetLogger(ctx).Warn("search attributes not updated", "error", err)
		return
	}
	r.attrs = now
}

// close waits for the handlers and the steps still being written, then
// ends the case with its final status.
func (r *refundCase) close(ctx workflow.Context) (RefundResult, error) {
	r.journal.close(ctx)
	r.upsertSearchAttributes(ctx)
	res := RefundResult{Status: r.state.Status, ProviderRefundID: r.state.ProviderRefundID}
	if r.state.Amount != nil {
		res.Amount = *r.state.Amount
	}
	return res, nil
}

func (r *refundCase) result() UpdateResult { return UpdateResult{Status: r.state.Status} }
