package activities

import (
	"context"
	"fmt"
	"time"

	"github.com/refundflow/refundflow"
	"github.com/refundflow/refundflow/offers"
	"github.com/refundflow/refundflow/postgres"
)

// OpenOutageCasesInput asks for the next page of an outage's cases.
type OpenOutageCasesInput struct {
	OutageID string
	// After is the order id the page starts after ("" for the first page).
	After string
	Limit int
}

// OpenOutageCases opens the refund cases (reason technical_failure) of the
// next page of orders an outage affected, in the read model, and returns
// them for the remediation workflow to start. A case's id follows from the
// outage and the order, and the page is opened in one transaction, so a
// retry returns the same cases and never opens a second one for an order.
func (a *Activities) OpenOutageCases(ctx context.Context, in OpenOutageCasesInput) (postgres.OutagePage, error) {
	page, err := a.DB.OpenOutageCases(ctx, in.OutageID, in.After, in.Limit)
	if err != nil {
		return postgres.OutagePage{}, refusal(err)
	}
	return page, nil
}

// RemediationPageInput says how far a remediation has started cases.
type RemediationPageInput struct {
	OutageID string
	Next     string
	Last     bool
}

// RemediationPageStarted records that every case of the pages up to Next
// has its workflow, so that a resumed remediation starts after them.
func (a *Activities) RemediationPageStarted(ctx context.Context, in RemediationPageInput) error {
	return a.DB.RemediationPageStarted(ctx, in.OutageID, in.Next, in.Last)
}

// RemediationProgress counts an outage's cases by where they stand.
func (a *Activities) RemediationProgress(ctx context.Context, outageID string) (postgres.RemediationProgress, error) {
	return a.DB.GetRemediationProgress(ctx, outageID)
}

// CompleteRemediationInput ends a remediation whose cases have all ended.
type CompleteRemediationInput struct {
	OutageID string
	At       time.Time
}

// CompleteRemediation marks the remediation completed and reports whether
// it was (false: it was canceled meanwhile).
func (a *Activities) CompleteRemediation(ctx context.Context, in CompleteRemediationInput) (bool, error) {
	return a.DB.CompleteRemediation(ctx, in.OutageID, in.At)
}

// MakeExtensionOffer makes the one offer of an outage remediation in offer
// mode — more days of access instead of the refund — and records it.
// Running it again records nothing new.
func (a *Activities) MakeExtensionOffer(ctx context.Context, in MakeOffersInput) ([]refundflow.Offer, error) {
	return a.recordOffers(ctx, in.RefundID, func(_ *postgres.RefundCase, order *refundflow.Order, product *refundflow.Product) ([]refundflow.Offer, error) {
		return []refundflow.Offer{extensionOffer(product.Type, order.Locale, in.ExpiresAt)}, nil
	})
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
