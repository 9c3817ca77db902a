package activities

import (
	"context"
	"fmt"
	"strings"

	"github.com/refundflow/refundflow"
	"github.com/refundflow/refundflow/activities/contract"
	"github.com/refundflow/refundflow/offers"
	"github.com/refundflow/refundflow/policy"
	"github.com/refundflow/refundflow/postgres"
	"github.com/refundflow/refundflow/refund"
	"github.com/refundflow/refundflow/sla"
)

// DecideRefund gathers the facts of a case from PostgreSQL and decides it
// with the policy version pinned on the order. It writes nothing: the
// workflow records the decision as the case's first step.
func (a *Activities) DecideRefund(ctx context.Context, in contract.DecideInput) (contract.DecideResult, error) {
	facts, err := a.DB.LoadRefundFacts(ctx, in.RefundID, in.Now)
	if err != nil {
		return contract.DecideResult{}, refusal(err)
	}
	name, version, err := policy.ParseRef(facts.Policy)
	if err != nil {
		return contract.DecideResult{}, refusal(err)
	}
	p, err := a.DB.Policy(ctx, name, version)
	if err != nil {
		return contract.DecideResult{}, refusal(err)
	}
	cals, err := a.DB.CalendarRegistry(ctx)
	if err != nil {
		return contract.DecideResult{}, err
	}
	d, err := policy.Evaluate(p, facts.Facts, cals)
	if err != nil {
		return contract.DecideResult{}, refusal(fmt.Errorf("refund %s: %w", in.RefundID, err))
	}
	return contract.DecideResult{
		Decision:   d,
		Refundable: facts.Order.Amount - facts.Order.RefundedAmount,
		OrderID:    facts.Order.ID,
		ProductID:  facts.Product.ID,
		Currency:   facts.Order.Currency,
	}, nil
}

// ChooseOffers chooses the offers that fit the case's reason and product;
// it writes nothing (the step that makes them records them). A case whose
// offers were recorded already gets those again.
func (a *Activities) ChooseOffers(ctx context.Context, in contract.ChooseOffersInput) ([]refundflow.Offer, error) {
	made, err := a.DB.Offers(ctx, in.RefundID)
	if err != nil || len(made) > 0 {
		return made, err
	}
	c, err := a.DB.GetRefund(ctx, in.RefundID)
	if err != nil {
		return nil, refusal(err)
	}
	order, err := a.DB.GetOrder(ctx, c.OrderID)
	if err != nil {
		return nil, refusal(err)
	}
	product, err := a.DB.GetProduct(ctx, c.ProductID)
	if err != nil {
		return nil, refusal(err)
	}
	if in.Extension {
		return []refundflow.Offer{extensionOffer(product.Type, order.Locale, in.ExpiresAt)}, nil
	}
	req := offers.Request{Reason: c.Reason, Product: *product, Locale: order.Locale, ExpiresAt: in.ExpiresAt}
	for _, id := range product.Alternatives {
		alt, err := a.DB.GetProduct(ctx, id)
		if refundflow.ErrorKind(err) == refundflow.ENOTFOUND {
			continue // the platform named a product it never sent
		}
		if err != nil {
			return nil, err
		}
		req.Alternatives = append(req.Alternatives, *alt)
	}
	return offers.For(req), nil
}

// RecordRefundStep writes one step of a case — the timeline entry, the
// snapshot, what it decided — and the messages it causes, rendered from
// the step, in one transaction. Writing a step again changes nothing.
func (a *Activities) RecordRefundStep(ctx context.Context, s refund.Step) error {
	out, err := a.refundOutbox(ctx, s)
	if err != nil {
		return err
	}
	return a.DB.RecordStep(ctx, s, out)
}

// VerifyApproval takes the intent for the update and reads its key.
func (a *Activities) VerifyApproval(ctx context.Context, in contract.VerifyApprovalInput) (contract.VerifiedApproval, error) {
	refused := func(code, format string, args ...any) (contract.VerifiedApproval, error) {
		return contract.VerifiedApproval{Refusal: code, Message: fmt.Sprintf(format, args...)}, nil
	}
	intent, err := a.DB.UseApprovalIntent(ctx, in.IntentID, in.UpdateID)
	if code := refundflow.ErrorCode(err); code == "approval_intent_unknown" || code == "approval_intent_used" {
		return refused(code, "%v", err)
	}
	if err != nil {
		return contract.VerifiedApproval{}, err
	}
	switch {
	case intent.RefundID != in.RefundID || intent.Action != in.Action:
		return refused("approval_intent_mismatch", "approval request %s is not a %s of case %s", intent.ID, in.Action, in.RefundID)
	case a.now().Sub(intent.CreatedAt) > refund.IntentTTL:
		return refused("approval_intent_expired", "approval request %s is older than %s; send the approval again", intent.ID, refund.IntentTTL)
	}
	k, err := a.DB.APIKey(ctx, intent.KeyID)
	if refundflow.ErrorKind(err) == refundflow.ENOTFOUND {
		return refused("approver_unknown", "no API key %s", intent.KeyID)
	}
	if err != nil {
		return contract.VerifiedApproval{}, err
	}
	switch {
	case k.RevokedAt != nil:
		return refused("approver_revoked", "API key %s was revoked", k.ID)
	case k.Role != refundflow.RoleApprover && k.Role != refundflow.RoleAdmin:
		return refused("not_an_approver", "API key %s is a %s key; approvals need an approver or admin key", k.ID, k.Role)
	}
	v := contract.VerifiedApproval{Actor: refundflow.ActorFor(k), Amount: intent.Amount, Note: intent.Note}
	if limit, ok := k.ApprovalLimit(in.Currency); ok {
		v.Limit = &limit
	}
	return v, nil
}

// AppealTicketID is the id of the ticket a refund's appeal opens.
func AppealTicketID(refundID string) string { return "tk_appeal_" + refundID }

// OpenAppealTicket opens a ticket linked to the case at level 2 (SPEC 4.8):
// the appeal is a complaint, and support tracks it on the paid tier's SLA
// (the learner paid for the order). The row first, then its workflow,
// which outlives the case; both are idempotent. It returns the ticket's id.
func (a *Activities) OpenAppealTicket(ctx context.Context, in contract.AppealTicketInput) (string, error) {
	id := AppealTicketID(in.RefundID)
	body := strings.TrimSpace(in.Note)
	if body == "" {
		body = "The learner appealed the rejection of refund " + in.RefundID + " without a note."
	}
	if _, err := a.DB.OpenTicket(ctx, postgres.NewTicket{
		ID: id, Tier: sla.Paid, Priority: sla.Normal, RefundID: in.RefundID, OrderID: in.OrderID,
		Subject: "Appeal of refund " + in.RefundID + " / 退款 " + in.RefundID + " 二次申诉",
		Body:    body, OpenedBy: in.By, OpenedAt: in.At, Level: 2,
	}); err != nil {
		return "", refusal(err)
	}
	// The learner was told already (appeal_received).
	err := a.Engine.StartTicket(ctx, contract.TicketStart{TicketID: id, Tier: string(sla.Paid), Level: 2, OrderID: in.OrderID, Acknowledged: true})
	return id, err
}
