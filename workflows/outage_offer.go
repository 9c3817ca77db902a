package workflows

import "go.temporal.io/sdk/workflow"

// extensionOfferChange marks the release in which a case opened by an
// outage remediation in offer mode offers an extension before the refund.
const extensionOfferChange = "outage-extension-offer"

// offersRetention reports whether the case makes a retention offer: when
// its rule allows one and the learner did not opt out, or — whatever the
// rule — when an outage remediation in offer mode opened it: the learner
// may choose more time instead of the money (SPEC 4.9).
func (r *refundCase) offersRetention(ctx workflow.Context) bool {
	if r.in.ExtensionOffer && workflow.GetVersion(ctx, extensionOfferChange, workflow.DefaultVersion, 1) == 1 {
		return true
	}
	return r.decision.Retention && !r.in.SkipRetention
}

// offerMaker is the activity that makes the case's offers: an outage
// remediation offers the extension only.
func (r *refundCase) offerMaker() any {
	if r.in.ExtensionOffer {
		return r.acts.MakeExtensionOffer
	}
	return r.acts.MakeOffers
}
