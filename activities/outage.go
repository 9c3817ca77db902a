package activities

import (
	"context"
	"fmt"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/refundflow/refundflow"
	"github.com/refundflow/refundflow/activities/contract"
	"github.com/refundflow/refundflow/offers"
	"github.com/refundflow/refundflow/policy"
)

// OpenOutageCases opens the refund cases (reason technical_failure) of the
// next page of orders an outage affected, starts each case's workflow, and
// records that the page is started, so that a resumed remediation goes on
// after it. A case's id follows from the outage and the order, and the
// page is opened in one transaction, so a retry returns the same cases and
// never opens a second one for an order; starting a case's workflow again
// finds the one that runs.
//
// The cases are started from here, not as child workflows: one workflow
// start each (a child costs two actions), independent of the remediation,
// which may end or continue as new while they run.
func (a *Activities) OpenOutageCases(ctx context.Context, in contract.OpenOutageCasesInput) (contract.OutagePageResult, error) {
	page, err := a.DB.OpenOutageCases(ctx, in.OutageID, in.After, in.Limit)
	if err != nil {
		return contract.OutagePageResult{}, refusal(err)
	}
	if page.Canceled {
		return contract.OutagePageResult{Canceled: true}, nil
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(startConcurrency)
	started := 0
	for _, c := range page.Cases {
		if c.Adopted {
			continue // the learner's own case, with its own workflow
		}
		started++
		g.Go(func() error {
			return a.Engine.StartRefund(gctx, contract.RefundStart{
				RefundID: c.RefundID, OrderID: c.OrderID, ProductID: c.ProductID, Currency: c.Currency,
				Reason: string(policy.ReasonTechnicalFailure), SubmittedBy: in.SubmittedBy,
				OfferWindow: in.OfferWindow, ApprovalSLA: in.ApprovalSLA, ExtensionOffer: in.ExtensionOffer,
			})
		})
	}
	if err := g.Wait(); err != nil {
		return contract.OutagePageResult{}, fmt.Errorf("start the cases of outage %s after %q: %w", in.OutageID, in.After, err)
	}
	if err := a.DB.RemediationPageStarted(ctx, in.OutageID, page.Next, page.Last); err != nil {
		return contract.OutagePageResult{}, err
	}
	return contract.OutagePageResult{Started: started, Next: page.Next, Last: page.Last}, nil
}

// startConcurrency is how many case workflows a page starts at once.
const startConcurrency = 16

// GetRemediationProgress counts an outage's cases by where they stand.
func (a *Activities) GetRemediationProgress(ctx context.Context, outageID string) (contract.RemediationProgress, error) {
	p, err := a.DB.GetRemediationProgress(ctx, outageID)
	return contract.RemediationProgress{Opened: p.Opened, Done: p.Done, Active: p.Active}, err
}

// CompleteRemediation marks the remediation completed and reports whether
// it was (false: it was canceled meanwhile).
func (a *Activities) CompleteRemediation(ctx context.Context, in contract.CompleteRemediationInput) (bool, error) {
	return a.DB.CompleteRemediation(ctx, in.OutageID, in.At)
}

// extensionOffer says, in the learner's language, that the platform failed
// them and what they may have instead of the money.
func extensionOffer(t refundflow.ProductType, l refundflow.Locale, expires time.Time) refundflow.Offer {
	days := offers.ExtensionDays
	o := refundflow.Offer{
		ID: "offer-1", Kind: refundflow.OfferExtendAccess, ExpiresAt: expires,
		Title:  fmt.Sprintf("%d more days of access", days),
		Detail: fmt.Sprintf("Our platform was down for a while and kept you from learning. Instead of the refund, you may keep the course with %d extra days of access.", days),
	}
	if t == refundflow.Membership {
		o.Title = fmt.Sprintf("%d more days of membership", days)
		o.Detail = fmt.Sprintf("Our platform was down for a while. Instead of the refund, you may keep your membership with %d extra days free.", days)
	}
	if l == refundflow.LocaleZhCN {
		o.Title = fmt.Sprintf("延长 %d 天学习期", days)
		o.Detail = fmt.Sprintf("平台故障影响了您的学习。您可以选择不退款，保留课程并额外延长 %d 天学习期。", days)
		if t == refundflow.Membership {
			o.Title = fmt.Sprintf("会员延长 %d 天", days)
			o.Detail = fmt.Sprintf("平台故障影响了您的使用。您可以选择不退款，保留会员并免费延长 %d 天。", days)
		}
	}
	return o
}
