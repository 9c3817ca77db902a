package activities

import (
	"context"
	"fmt"
	"time"

	"github.com/refundflow/refundflow"
	"github.com/refundflow/refundflow/offers"
	"github.com/refundflow/refundflow/policy"
	"github.com/refundflow/refundflow/postgres"
)

// EvaluateInput asks for a case's decision as of Now (the workflow's clock,
// so that a replayed history decides the same).
type EvaluateInput struct {
	RefundID string
	Now      time.Time
}

// EvaluateResult is the decision and the facts the workflow needs later.
type EvaluateResult struct {
	Decision   policy.Decision
	Refundable int64
	OrderID    string
	ProductID  string
	LearnerID  string
}

// Evaluate gathers the facts of a case from PostgreSQL and decides it with
// the policy version pinned on the order. It writes nothing: the workflow
// records the decision as a step.
func (a *Activities) Evaluate(ctx context.Context, in EvaluateInput) (EvaluateResult, error) {
	facts, err := a.DB.LoadRefundFacts(ctx, in.RefundID, in.Now)
	if err != nil {
		return EvaluateResult{}, refusal(err)
	}
	name, version, err := policy.ParseRef(facts.Policy)
	if err != nil {
		return EvaluateResult{}, refusal(err)
	}
	p, err := a.DB.Policy(ctx, name, version)
	if err != nil {
		return EvaluateResult{}, refusal(err)
	}
	cals, err := a.DB.CalendarRegistry(ctx)
	if err != nil {
		return EvaluateResult{}, err
	}
	d, err := policy.Evaluate(p, facts.Facts, cals)
	if err != nil {
		return EvaluateResult{}, refusal(fmt.Errorf("refund %s: %w", in.RefundID, err))
	}
	return EvaluateResult{
		Decision:   d,
		Refundable: facts.Order.Amount - facts.Order.RefundedAmount,
		OrderID:    facts.Order.ID,
		ProductID:  facts.Product.ID,
		LearnerID:  facts.Order.LearnerID,
	}, nil
}

// MakeOffersInput asks for the retention offers of a case.
type MakeOffersInput struct {
	RefundID  string
	ExpiresAt time.Time
}

// MakeOffers chooses the offers that fit the case's reason and product and
// records them. Running it again records nothing new.
func (a *Activities) MakeOffers(ctx context.Context, in MakeOffersInput) ([]refundflow.Offer, error) {
	return a.recordOffers(ctx, in.RefundID, func(c *postgres.RefundCase, order *refundflow.Order, product *refundflow.Product) ([]refundflow.Offer, error) {
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
	})
}

// recordOffers records the offers choose makes for the case, from its
// order and product; a case that has its offers already keeps them (the
// activity ran before).
func (a *Activities) recordOffers(ctx context.Context, refundID string,
	choose func(*postgres.RefundCase, *refundflow.Order, *refundflow.Product) ([]refundflow.Offer, error)) ([]refundflow.Offer, error) {
	c, err := a.DB.GetRefund(ctx, refundID)
	if err != nil {
		return nil, refusal(err)
	}
	if len(c.Offers) > 0 {
		return c.Offers, nil
	}
	order, err := a.DB.GetOrder(ctx, c.OrderID)
	if err != nil {
		return nil, refusal(err)
	}
	product, err := a.DB.GetProduct(ctx, c.ProductID)
	if err != nil {
		return nil, refusal(err)
	}
	made, err := choose(c, order, product)
	if err != nil {
		return nil, err
	}
	if err := a.DB.InsertOffers(ctx, refundID, made); err != nil {
		return nil, err
	}
	return made, nil
}

// RecordStep writes one step of a case to the read model.
func (a *Activities) RecordStep(ctx context.Context, s postgres.Step) error {
	return a.DB.RecordStep(ctx, s)
}
