package workflows

import (
	"strings"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/refundflow/refundflow"
	"github.com/refundflow/refundflow/activities"
	"github.com/refundflow/refundflow/policy"
	"github.com/refundflow/refundflow/postgres"
	"github.com/refundflow/refundflow/sla"
)

// Refund carries one refund case from the learner's request to the money
// back (SPEC 4.5), in five steps:
//
//  1. Eligibility: decide the case with the policy pinned on the order.
//  2. Retention offer: when the rule allows it, offer something instead of
//     the money; the learner accepts, declines, or lets the window pass.
//  3. Approval: automatic when the decision allows it, otherwise a person
//     approves or rejects within the approval SLA; a rejected learner may
//     appeal once, which takes the case back to approval one level up.
//  4. Payment reversal: refund through Stripe, exactly once.
//  5. Notification: the learner hears at every step, the platform gets a
//     signed webhook, staff hear of cases waiting for them.
//
// The learner may withdraw at any time before money moves.
func Refund(ctx workflow.Context, in RefundInput) (RefundResult, error) {
	r, err := newRefundCase(ctx, in)
	if err != nil {
		return RefundResult{}, err
	}
	return r.run(ctx)
}

func (r *refundCase) run(ctx workflow.Context) (RefundResult, error) {
	r.tellLearner(ctx, "received")
	r.tellPlatform(ctx, "refund.submitted")

	decided, err := r.decideEligibility(ctx)
	if err != nil || !decided {
		return r.close(ctx, err)
	}

	if r.decision.Outcome == policy.OutcomeNone {
		// The policy says no; the learner may still ask a person.
		if !r.rejectAndAwaitAppeal(ctx, refundflow.SystemActor, "") {
			return r.close(ctx, nil)
		}
	} else if r.offersRetention(ctx) {
		if keepGoing := r.offerRetention(ctx); !keepGoing {
			return r.close(ctx, nil)
		}
	}

	if approved := r.obtainApproval(ctx); !approved {
		return r.close(ctx, nil)
	}

	r.reversePayment(ctx)
	return r.close(ctx, nil)
}

// decideEligibility evaluates the pinned policy and records the decision.
// It returns false when the learner withdrew meanwhile.
func (r *refundCase) decideEligibility(ctx workflow.Context) (bool, error) {
	var res activities.EvaluateResult
	err := workflow.ExecuteActivity(dbCtx(ctx), r.acts.Evaluate, activities.EvaluateInput{
		RefundID: r.in.RefundID, Now: workflow.Now(ctx),
	}).Get(ctx, &res)
	if err != nil {
		return false, err
	}
	if r.state.Status != refundflow.StatusEvaluating {
		return false, nil // withdrawn while we were deciding
	}
	r.decision = res.Decision
	r.state.Decision = &r.decision
	r.state.Refundable = res.Refundable
	r.orderID, r.productID = res.OrderID, res.ProductID
	if res.Decision.Outcome == policy.OutcomeFull || res.Decision.Outcome == policy.OutcomePartial {
		amount := res.Decision.Amount
		r.state.Amount = &amount
	}
	r.step(ctx, stepSpec{
		actor: refundflow.SystemActor, event: "evaluated", decision: &r.decision,
		detail: map[string]any{"outcome": r.decision.Outcome, "rule": r.decision.Rule, "policy": r.decision.Policy, "amount": r.decision.Amount},
	})
	return true, nil
}

// offerRetention makes the offers and waits for the learner's answer or
// the end of the window. It returns false when the case ends here
// (retained or withdrawn).
func (r *refundCase) offerRetention(ctx workflow.Context) bool {
	expires := workflow.Now(ctx).Add(r.in.OfferWindow)
	var made []refundflow.Offer
	err := workflow.ExecuteActivity(dbCtx(ctx), r.offerMaker(), activities.MakeOffersInput{
		RefundID: r.in.RefundID, ExpiresAt: expires,
	}).Get(ctx, &made)
	if err != nil || len(made) == 0 || r.state.Status != refundflow.StatusEvaluating {
		// Nothing to offer (or no way to record it): the learner's interest
		// comes first, so the case goes on to the refund.
		return r.state.Status == refundflow.StatusEvaluating
	}
	r.state.Offers = made
	r.state.OfferExpiresAt = &expires
	r.state.Status = refundflow.StatusOffered
	r.step(ctx, stepSpec{actor: refundflow.SystemActor, event: "offered", detail: map[string]any{"offers": len(made), "expires_at": expires}})
	r.tellLearner(ctx, "offer")
	r.tellPlatform(ctx, "refund.offered")

	answered := r.await(ctx, r.in.OfferWindow, func() bool {
		return r.state.Status != refundflow.StatusOffered
	})
	if !answered {
		// Silence is not a yes: the refund goes ahead.
		r.state.Status = r.statusAfterOffer()
		r.step(ctx, stepSpec{actor: refundflow.SystemActor, event: "offer_expired", offerAnswer: &offerAnswer{others: "expired"}})
		return true
	}
	switch r.state.Status {
	case refundflow.StatusRetained:
		r.tellLearner(ctx, "retained")
		r.tellPlatform(ctx, "offer.accepted")
		return false
	case refundflow.StatusWithdrawn:
		return false
	}
	return true // declined
}

// obtainApproval gets the case approved, automatically or by people, and
// handles rejection and the one appeal. It returns false when the case
// ends without a refund.
func (r *refundCase) obtainApproval(ctx workflow.Context) bool {
	for {
		if r.decision.AutoApprove && !r.state.Appealed {
			if r.state.Status == refundflow.StatusWithdrawn {
				return false
			}
			r.state.Status = refundflow.StatusRefunding
			r.step(ctx, stepSpec{actor: refundflow.SystemActor, event: "auto_approved", detail: map[string]any{"amount": *r.state.Amount}})
			r.tellPlatform(ctx, "refund.approved")
			return true
		}
		switch r.awaitApprover(ctx) {
		case refundflow.StatusRefunding:
			r.tellLearner(ctx, "approved")
			r.tellPlatform(ctx, "refund.approved")
			return true
		case refundflow.StatusRejected:
			if !r.rejectAndAwaitAppeal(ctx, r.rejection.by, r.rejection.reason) {
				return false
			}
		default: // withdrawn
			return false
		}
	}
}

// awaitApprover puts the case in the approvers' queue and waits for their
// decision on the approval SLA's clock (see slaclock.go): reminding them
// at 80 %, escalating one level at 100 % and again at 200 %.
func (r *refundCase) awaitApprover(ctx workflow.Context) refundflow.RefundStatus {
	if r.state.Appealed {
		if workflow.GetVersion(ctx, appealDecidedEarlyChange, workflow.DefaultVersion, 1) == workflow.DefaultVersion {
			r.state.Approvals = nil // the release before set the queue up afresh here
		} else if r.state.Status != refundflow.StatusAwaitingApproval {
			// An approver (or the learner, withdrawing) answered the
			// appeal while it was being acknowledged: the decision stands.
			return r.state.Status
		}
	}
	cal := approvalCalendar()
	clocks := []sla.Clock{sla.NewClock(sla.Approval, r.in.ApprovalSLA, approvalMarks, workflow.Now(ctx))}
	due, _ := clocks[0].DueAt(cal)
	r.state.Status = refundflow.StatusAwaitingApproval
	r.state.SLADueAt = &due
	r.step(ctx, stepSpec{actor: refundflow.SystemActor, event: "awaiting_approval", detail: map[string]any{"due_at": due, "level": r.state.EscalationLevel}})
	r.tellStaff(ctx, "approver", "approval_requested")

	decided := func() bool { return r.state.Status != refundflow.StatusAwaitingApproval }
	for {
		reached, done := awaitMarks(ctx, cal, clocks, r.await, decided)
		if done {
			return r.state.Status
		}
		for i, ev := range reached {
			// Marks passed together (a worker was down) are taken one at a
			// time: a decision recorded meanwhile ends the wait.
			if i > 0 && r.await(ctx, 0, decided) {
				return r.state.Status
			}
			if ev.Kind == sla.Warning {
				r.step(ctx, stepSpec{actor: refundflow.SystemActor, event: "approval_reminder", detail: map[string]any{"due_at": due}})
				r.tellStaff(ctx, "approver", "approval_reminder")
				continue
			}
			r.state.EscalationLevel++
			r.state.SLADueAt = nil
			if _, next, ok := clocks[0].Next(cal); ok {
				r.state.SLADueAt = &next
			}
			r.step(ctx, stepSpec{actor: refundflow.SystemActor, event: "escalated", detail: map[string]any{"level": r.state.EscalationLevel}})
			r.tellStaff(ctx, "admin", "approval_escalated")
		}
	}
}

// appealDecidedEarlyChange versions keeping what approvers (or the
// learner) did about an appeal before the case was back in the approvers'
// queue: before it, the queue was set up again over a decision or a first
// approval, and the case waited for another one.
const appealDecidedEarlyChange = "appeal-decided-early"

// rejectAndAwaitAppeal tells the learner why the case was rejected and how
// to appeal, then waits for the appeal until the window closes. It returns
// true when the learner appealed (the case goes back to approval one level
// up), false when the case ends rejected or withdrawn.
func (r *refundCase) rejectAndAwaitAppeal(ctx workflow.Context, by refundflow.Actor, reason string) bool {
	if r.state.Status != refundflow.StatusRejected {
		// A policy refusal is recorded here; a person's rejection was
		// recorded by the reject update already.
		r.state.Status = refundflow.StatusRejected
		r.rejection = &rejection{by: by, reason: reason}
		r.step(ctx, stepSpec{actor: by, event: "rejected", detail: map[string]any{"rule": r.decision.Rule}})
	}
	r.tellPlatform(ctx, "refund.rejected")
	if r.state.Appealed {
		r.tellLearner(ctx, "rejected_final")
		return false // the one appeal is used up
	}
	until := workflow.Now(ctx).Add(r.in.AppealWindow)
	r.state.AppealUntil = &until
	r.step(ctx, stepSpec{actor: refundflow.SystemActor, event: "appeal_window_opened", detail: map[string]any{"appeal_until": until}})
	r.tellLearner(ctx, "rejected")

	appealed := r.await(ctx, r.in.AppealWindow, func() bool {
		return r.state.Status != refundflow.StatusRejected
	})
	if !appealed {
		r.state.AppealUntil = nil
		r.step(ctx, stepSpec{actor: refundflow.SystemActor, event: "appeal_window_closed"})
		return false
	}
	if r.state.Status == refundflow.StatusWithdrawn {
		return false
	}
	r.tellLearner(ctx, "appeal_received")
	r.openAppealTicket(ctx)
	return true
}

// appealTicketChange versions the ticket an appeal opens: cases that were
// appealed before it existed replay without one.
const appealTicketChange = "appeal-opens-ticket"

// openAppealTicket opens a ticket linked to the case at level 2 (SPEC 4.8):
// the appeal is a complaint, and support tracks it on the paid tier's SLA
// (the learner paid for the order). The ticket is a child workflow that
// outlives the case; the learner was told already (appeal_received). A
// ticket that cannot be opened does not hold up the appeal.
func (r *refundCase) openAppealTicket(ctx workflow.Context) {
	if workflow.GetVersion(ctx, appealTicketChange, workflow.DefaultVersion, 1) == workflow.DefaultVersion {
		return
	}
	id := AppealTicketID(r.in.RefundID)
	body := strings.TrimSpace(r.appealRequest.Note)
	if body == "" {
		body = "The learner appealed the rejection of refund " + r.in.RefundID + " without a note."
	}
	cctx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{
		WorkflowID:        TicketWorkflowID(id),
		TaskQueue:         RefundsTaskQueue,
		ParentClosePolicy: enumspb.PARENT_CLOSE_POLICY_ABANDON,
		TypedSearchAttributes: temporal.NewSearchAttributes(
			TicketTierKey.ValueSet(string(sla.Paid)), EscalationLevelKey.ValueSet(2), OrderIDKey.ValueSet(r.orderID),
		),
	})
	child := workflow.ExecuteChildWorkflow(cctx, Escalation, TicketInput{
		TicketID: id, Acknowledged: true,
		New: &postgres.NewTicket{
			ID: id, Tier: sla.Paid, Priority: sla.Normal, RefundID: r.in.RefundID, OrderID: r.orderID,
			Subject: "Appeal of refund " + r.in.RefundID + " / 退款 " + r.in.RefundID + " 二次申诉",
			Body:    body, OpenedBy: r.appealRequest.By, OpenedAt: workflow.Now(ctx), Level: 2,
		},
	})
	if err := child.GetChildWorkflowExecution().Get(ctx, nil); err != nil {
		workflow.GetLogger(ctx).Error("could not open the appeal's ticket", "refund", r.in.RefundID, "error", err)
		return
	}
	r.step(ctx, stepSpec{actor: refundflow.SystemActor, event: "ticket_opened", detail: map[string]any{"ticket_id": id, "level": 2}})
}

// reversePayment moves the money (see refund_payment.go) and tells
// everyone how it went.
func (r *refundCase) reversePayment(ctx workflow.Context) {
	if r.refundThroughStripe(ctx) {
		r.tellLearner(ctx, "refunded")
		// Access is revoked only now that the money has actually moved.
		r.tellPlatform(ctx, "refund.succeeded")
		return
	}
	r.tellLearner(ctx, "failed")
	r.tellPlatform(ctx, "refund.failed")
	r.tellStaff(ctx, "finance", "refund_failed")
}
