package workflows

import (
	"go.temporal.io/sdk/workflow"

	"github.com/refundflow/refundflow"
	"github.com/refundflow/refundflow/activities/contract"
	"github.com/refundflow/refundflow/notify"
	"github.com/refundflow/refundflow/policy"
	"github.com/refundflow/refundflow/refund"
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
//  5. Notification: every step writes the messages it causes — to the
//     learner, the platform and staff — in its own transaction, rendered
//     from what is true at that step (the outbox delivers them).
//
// The learner may withdraw at any time before money moves.
//
// Each step costs what it must (SPEC 7): the database work of a step runs
// as local activities in the workflow task that takes it, the Stripe call
// is the one regular activity, and the search attributes change once per
// wait. An automatic refund is the start, one workflow task of local
// activities, the Stripe call and two upserts.
func Refund(ctx workflow.Context, in RefundInput) (RefundResult, error) {
	r, err := newRefundCase(ctx, in)
	if err != nil {
		return RefundResult{}, err
	}
	return r.run(ctx)
}

func (r *refundCase) run(ctx workflow.Context) (RefundResult, error) {
	if decided := r.decideEligibility(ctx); !decided {
		return r.close(ctx)
	}

	if r.decision.Outcome == policy.OutcomeNone {
		// The policy says no; the learner may still ask a person.
		if appealed := r.rejectAndAwaitAppeal(ctx, refundflow.SystemActor); !appealed {
			return r.close(ctx)
		}
	} else if r.offersRetention() {
		if keepGoing := r.offerRetention(ctx); !keepGoing {
			return r.close(ctx)
		}
	}

	if approved := r.obtainApproval(ctx); !approved {
		return r.close(ctx)
	}

	r.reversePayment(ctx)
	return r.close(ctx)
}

// decideEligibility evaluates the pinned policy and records the decision;
// the learner hears the request is in, the platform that it was
// submitted. It returns false when the case ends here: withdrawn
// meanwhile, or the policy could not decide it.
func (r *refundCase) decideEligibility(ctx workflow.Context) bool {
	var res contract.DecideResult
	err := workflow.ExecuteLocalActivity(localCtx(ctx), contract.DecideRefund, contract.DecideInput{
		RefundID: r.in.RefundID, Now: workflow.Now(ctx),
	}).Get(ctx, &res)
	if err != nil {
		r.failCase(ctx, refund.FailedUnevaluable, err)
		return false
	}
	if r.state.Status != refundflow.StatusEvaluating {
		return false // withdrawn while we were deciding
	}
	r.decision = res.Decision
	r.state.Decision = &r.decision
	r.state.Refundable = res.Refundable
	r.orderID, r.currency = res.OrderID, string(res.Currency)
	if res.Decision.Outcome == policy.OutcomeFull || res.Decision.Outcome == policy.OutcomePartial {
		amount := res.Decision.Amount
		r.state.Amount = &amount
	}
	detail := map[string]any{"outcome": r.decision.Outcome, "rule": r.decision.Rule, "policy": r.decision.Policy, "amount": r.decision.Amount}
	if r.in.StartedBy != "" {
		detail["started_by"] = r.in.StartedBy
	}
	r.record(ctx, stepSpec{
		actor: refundflow.SystemActor, event: "evaluated", decision: &r.decision,
		detail:  detail,
		notices: []notify.Notice{notify.ToLearner(notify.KindReceived), notify.ToPlatform(notify.EventRefundSubmitted)},
	})
	return true
}

// offersRetention reports whether the case makes a retention offer: when
// its rule allows one and the learner did not opt out, or — whatever the
// rule — when an outage remediation in offer mode opened it: the learner
// may choose more time instead of the money (SPEC 4.9).
func (r *refundCase) offersRetention() bool {
	return r.in.ExtensionOffer || r.decision.Retention && !r.in.SkipRetention
}

// offerRetention makes the offers and waits for the learner's answer or
// the end of the window. It returns false when the case ends here
// (retained or withdrawn).
func (r *refundCase) offerRetention(ctx workflow.Context) bool {
	expires := workflow.Now(ctx).Add(r.in.OfferWindow)
	var made []refundflow.Offer
	err := workflow.ExecuteLocalActivity(localCtx(ctx), contract.ChooseOffers, contract.ChooseOffersInput{
		RefundID: r.in.RefundID, ExpiresAt: expires, Extension: r.in.ExtensionOffer,
	}).Get(ctx, &made)
	if err != nil || len(made) == 0 || r.state.Status != refundflow.StatusEvaluating {
		// Nothing to offer (or no way to choose): the learner's interest
		// comes first, so the case goes on to the refund.
		return r.state.Status == refundflow.StatusEvaluating
	}
	r.state.Offers = made
	r.state.OfferExpiresAt = &expires
	r.state.Status = refundflow.StatusOffered
	r.record(ctx, stepSpec{actor: refundflow.SystemActor, event: "offered", offers: made,
		detail:  map[string]any{"offers": len(made), "expires_at": expires},
		notices: []notify.Notice{notify.ToLearner(notify.KindOffer), notify.ToPlatform(notify.EventRefundOffered)}})

	answered := r.await(ctx, r.in.OfferWindow, func() bool {
		return r.state.Status != refundflow.StatusOffered
	})
	if !answered {
		// Silence is not a yes: the refund goes ahead.
		r.state.Status = r.statusAfterOffer()
		r.record(ctx, stepSpec{actor: refundflow.SystemActor, event: "offer_expired", offerAnswer: &refund.OfferAnswer{Others: "expired"}})
		return true
	}
	// Accepted (the learner is retained) or withdrawn end the case; a
	// decline goes on to the refund.
	return r.state.Status != refundflow.StatusRetained && r.state.Status != refundflow.StatusWithdrawn
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
			r.record(ctx, stepSpec{actor: refundflow.SystemActor, event: "auto_approved", detail: map[string]any{"amount": *r.state.Amount},
				notices: []notify.Notice{notify.ToPlatform(notify.EventRefundApproved)}})
			return true
		}
		switch r.awaitApprover(ctx) {
		case refundflow.StatusRefunding:
			return true // the approval told the learner and the platform
		case refundflow.StatusRejected, refundflow.StatusAwaitingApproval:
			// Rejected — or rejected and appealed at once, while the
			// rejection was being recorded.
			if appealed := r.awaitAppeal(ctx); !appealed {
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
	if r.state.Appealed && r.state.Status != refundflow.StatusAwaitingApproval {
		// An approver (or the learner, withdrawing) answered the appeal
		// while it was being acknowledged: the decision stands.
		return r.state.Status
	}
	cal := approvalCalendar()
	clocks := []sla.Clock{sla.NewClock(sla.Approval, r.in.ApprovalSLA, approvalMarks, workflow.Now(ctx))}
	due, _ := clocks[0].DueAt(cal)
	r.state.Status = refundflow.StatusAwaitingApproval
	r.state.SLADueAt = &due
	r.record(ctx, stepSpec{actor: refundflow.SystemActor, event: "awaiting_approval",
		detail:  map[string]any{"due_at": due, "level": r.state.EscalationLevel},
		notices: []notify.Notice{notify.ToStaff("approver", "approval_requested")}})

	round := r.state.EscalationLevel
	decided := func() bool {
		return r.state.Status != refundflow.StatusAwaitingApproval || r.state.Appealed && r.state.EscalationLevel != round
	}
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
				r.record(ctx, stepSpec{actor: refundflow.SystemActor, event: "approval_reminder", detail: map[string]any{"due_at": due},
					notices: []notify.Notice{notify.ToStaff("approver", "approval_reminder")}})
				continue
			}
			r.state.EscalationLevel++
			r.state.SLADueAt = nil
			if _, next, ok := clocks[0].Next(cal); ok {
				r.state.SLADueAt = &next
			}
			r.record(ctx, stepSpec{actor: refundflow.SystemActor, event: "escalated", detail: map[string]any{"level": r.state.EscalationLevel},
				notices: []notify.Notice{notify.ToStaff("admin", "approval_escalated")}})
		}
	}
}

// rejectAndAwaitAppeal records the policy's refusal — the learner hears
// why and how to appeal, until when — and waits for the appeal.
func (r *refundCase) rejectAndAwaitAppeal(ctx workflow.Context, by refundflow.Actor) bool {
	r.state.Status = refundflow.StatusRejected
	r.rejection = &rejection{by: by}
	r.openAppealWindow(ctx)
	r.record(ctx, stepSpec{actor: by, event: "rejected", detail: map[string]any{"rule": r.decision.Rule},
		notices: []notify.Notice{notify.ToPlatform(notify.EventRefundRejected), notify.ToLearner(notify.KindRejected)}})
	return r.awaitAppeal(ctx)
}

// openAppealWindow lets the rejected learner appeal, from the rejection
// on: an appeal that comes at once is not refused.
func (r *refundCase) openAppealWindow(ctx workflow.Context) {
	until := workflow.Now(ctx).Add(r.in.AppealWindow)
	r.state.AppealUntil = &until
}

// awaitAppeal waits for a rejected learner's appeal until the window
// closes. It returns true when the learner appealed — now, or at once,
// while the rejection was being recorded — and the case goes back to
// approval one level up; false when the case ends rejected or withdrawn.
func (r *refundCase) awaitAppeal(ctx workflow.Context) bool {
	if r.state.Status == refundflow.StatusRejected {
		if r.state.Appealed {
			return false // the one appeal is used up; the rejection said it is final
		}
		until := *r.state.AppealUntil
		r.record(ctx, stepSpec{actor: refundflow.SystemActor, event: "appeal_window_opened", detail: map[string]any{"appeal_until": until}})
		appealed := r.await(ctx, max(until.Sub(workflow.Now(ctx)), 0), func() bool {
			return r.state.Status != refundflow.StatusRejected
		})
		if !appealed {
			r.state.AppealUntil = nil
			r.record(ctx, stepSpec{actor: refundflow.SystemActor, event: "appeal_window_closed"})
			return false
		}
	}
	if r.state.Status == refundflow.StatusWithdrawn {
		return false
	}
	r.openAppealTicket(ctx)
	return true
}

// openAppealTicket opens the appeal's ticket (SPEC 4.8): support tracks the
// complaint at level 2; the ticket's workflow outlives the case. A ticket
// that cannot be opened does not hold up the appeal.
func (r *refundCase) openAppealTicket(ctx workflow.Context) {
	var id string
	err := workflow.ExecuteLocalActivity(localCtx(ctx), contract.OpenAppealTicket, contract.AppealTicketInput{
		RefundID: r.in.RefundID, OrderID: r.orderID, Note: r.appealRequest.Note, By: r.appealRequest.By, At: workflow.Now(ctx),
	}).Get(ctx, &id)
	if err != nil {
		workflow.GetLogger(ctx).Error("could not open the appeal's ticket", "refund", r.in.RefundID, "error", err)
		return
	}
	r.record(ctx, stepSpec{actor: refundflow.SystemActor, event: "ticket_opened", detail: map[string]any{"ticket_id": id, "level": 2}})
}

// failCase ends a case that cannot go on (the policy could not decide it):
// it becomes failed, which frees the order for a new request, and staff and
// the platform hear why. The error itself stays in the logs.
func (r *refundCase) failCase(ctx workflow.Context, code string, err error) {
	workflow.GetLogger(ctx).Error("refund case failed", "refund", r.in.RefundID, "code", code, "error", err)
	r.state.Status = refundflow.StatusFailed
	r.state.SLADueAt = nil
	now := workflow.Now(ctx)
	r.journal.write(ctx, contract.RecordRefundStep, refund.FailedStep(r.in.RefundID, r.journal.next(), now, r.snapshot(now), code, nil))
}
