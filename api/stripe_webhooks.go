package api

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/stripe/stripe-go/v76/webhook"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"github.com/refundflow/refundflow"
	"github.com/refundflow/refundflow/payments"
	"github.com/refundflow/refundflow/postgres"
	"github.com/refundflow/refundflow/refund"
	"github.com/refundflow/refundflow/workflows"
)

// stripeWebhookTolerance is how old a Stripe signature may be (Stripe's
// own default): an older one is a replay.
const stripeWebhookTolerance = 5 * time.Minute

// stripeRefundEvents carry a refund's status: refund.* on API versions
// from 2024-10-28, charge.refund.updated before.
var stripeRefundEvents = map[string]bool{
	"refund.created": true, "refund.updated": true, "refund.failed": true, "charge.refund.updated": true,
}

// Outcomes of a Stripe event, recorded with it.
const (
	eventIgnored         = "ignored"          // not about refunds
	eventNoCase          = "no_case"          // a refund made outside refundflow; reconciliation adopts it
	eventStale           = "stale"            // older than what the case knows
	eventSignalled       = "signalled"        // told the case's workflow
	eventCaseClosed      = "case_closed"      // nobody waits for it any more
	eventReversalStarted = "reversal_started" // a refund failed after it may have been booked
)

type stripeRefundObject struct {
	ID            string            `json:"id"`
	Status        string            `json:"status"`
	FailureReason string            `json:"failure_reason"`
	Metadata      map[string]string `json:"metadata"`
}

type stripeWebhookJSON struct {
	Received  bool   `json:"received"`
	Duplicate bool   `json:"duplicate"`
	Outcome   string `json:"outcome"`
}

// stripeWebhook serves POST /v1/webhooks/stripe: the signature is checked
// (a bad one changes nothing), the event is recorded once by its id, and a
// refund's news goes to its case's workflow as a signal — or, for a refund
// that failed after it succeeded, to a small workflow that reverses the
// booking. The answer comes as soon as that is done; an event whose
// routing failed is answered 503 and routed again when Stripe retries it.
func (s *Server) stripeWebhook(c *gin.Context) {
	if s.Config.StripeWebhookSecret == "" {
		// Nothing can be verified, so nothing is accepted; Stripe keeps
		// retrying for days, long enough to set the secret.
		s.Logger.Warn("a Stripe webhook arrived but STRIPE_WEBHOOK_SECRET is not set")
		s.fail(c, refundflow.Errorf(refundflow.EINVALID, "invalid_signature", "STRIPE_WEBHOOK_SECRET is not set: no Stripe signature can be verified"))
		return
	}
	body, err := io.ReadAll(c.Request.Body)
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			s.fail(c, refundflow.Errorf(refundflow.ETOOLARGE, "body_too_large", "the request body is over %d bytes", MaxBodyBytes))
			return
		}
		s.fail(c, refundflow.Errorf(refundflow.EINVALID, "unreadable_body", "the request body could not be read"))
		return
	}
	ev, err := webhook.ConstructEventWithOptions(body, c.GetHeader("Stripe-Signature"), s.Config.StripeWebhookSecret,
		webhook.ConstructEventOptions{Tolerance: stripeWebhookTolerance, IgnoreAPIVersionMismatch: true})
	if err != nil {
		s.fail(c, refundflow.Errorf(refundflow.EINVALID, "invalid_signature", "the Stripe-Signature header does not verify this body: %v", err))
		return
	}
	var obj stripeRefundObject
	if stripeRefundEvents[string(ev.Type)] {
		if ev.Data == nil || json.Unmarshal(ev.Data.Raw, &obj) != nil || obj.ID == "" {
			s.fail(c, refundflow.Errorf(refundflow.EINVALID, "malformed_event", "event %s of type %s carries no refund", ev.ID, ev.Type))
			return
		}
	}
	ctx := c.Request.Context()
	stored, err := s.DB.RecordStripeEvent(ctx, postgres.StripeEvent{
		ID: ev.ID, Type: string(ev.Type), ObjectID: obj.ID, ObjectStatus: obj.Status, Created: time.Unix(ev.Created, 0).UTC(),
	})
	if err != nil {
		s.fail(c, err)
		return
	}
	if stored.Processed {
		c.JSON(http.StatusOK, stripeWebhookJSON{Received: true, Duplicate: true, Outcome: stored.Outcome})
		return
	}
	outcome, refundID := eventIgnored, ""
	if stripeRefundEvents[string(ev.Type)] {
		if outcome, refundID, err = s.routeRefundEvent(ctx, ev.ID, obj); err != nil {
			s.fail(c, err)
			return
		}
	}
	if err := s.DB.MarkStripeEventProcessed(ctx, ev.ID, outcome, refundID); err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, stripeWebhookJSON{Received: true, Outcome: outcome})
}

// routeRefundEvent finds the case of a Stripe refund — by the payment
// attempt that made it, else by its metadata — and passes the news on.
func (s *Server) routeRefundEvent(ctx context.Context, eventID string, obj stripeRefundObject) (outcome, refundID string, err error) {
	refundID = obj.Metadata[payments.MetaRefundID]
	att, err := s.DB.AttemptByProviderRefund(ctx, obj.ID)
	switch {
	case err == nil:
		refundID = att.RefundID
	case refundflow.ErrorKind(err) == refundflow.ENOTFOUND:
		att = nil
	default:
		return "", "", err
	}
	if refundID == "" {
		return eventNoCase, "", nil
	}
	if att != nil && att.Settled() && refund.Progress(obj.Status) <= refund.Progress(att.Status) {
		return eventStale, refundID, nil
	}
	if s.Temporal == nil {
		return "", "", refundflow.Errorf(refundflow.EUNAVAILABLE, "temporal_unavailable", "Temporal is not reachable; Stripe will retry the event")
	}
	outcome = eventCaseClosed
	if obj.Status == "failed" {
		// The case may have booked the refund already, and its workflow
		// may be closed: a small workflow reverses the booking once the
		// case has made it (and does nothing if it never will).
		if err := s.startRefundFailed(ctx, refundID, eventID, obj); err != nil {
			return "", "", err
		}
		outcome = eventReversalStarted
	}
	if att == nil || !att.Settled() {
		err := s.Temporal.SignalWorkflow(ctx, workflows.RefundWorkflowID(refundID), "", workflows.StripeRefundSignal, workflows.StripeRefundUpdate{
			ProviderRefundID: obj.ID, Status: obj.Status, FailureReason: obj.FailureReason, EventID: eventID,
		})
		var nf *serviceerror.NotFound
		switch {
		case err == nil:
			if outcome == eventCaseClosed {
				outcome = eventSignalled
			}
		case !errors.As(err, &nf):
			return "", "", refundflow.Errorf(refundflow.EUNAVAILABLE, "temporal_unavailable", "could not signal case %s: %v", refundID, err)
		}
	}
	return outcome, refundID, nil
}

func (s *Server) startRefundFailed(ctx context.Context, refundID, eventID string, obj stripeRefundObject) error {
	_, err := s.Temporal.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID:                       workflows.RefundFailedWorkflowID(refundID, obj.ID),
		TaskQueue:                workflows.RefundsTaskQueue,
		WorkflowIDReusePolicy:    enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE_FAILED_ONLY,
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
	}, workflows.RefundFailedAfterSuccess, workflows.RefundFailedInput{
		RefundID: refundID, ProviderRefundID: obj.ID, FailureReason: obj.FailureReason, EventID: eventID,
	})
	var started *serviceerror.WorkflowExecutionAlreadyStarted
	if err != nil && !errors.As(err, &started) {
		return refundflow.Errorf(refundflow.EUNAVAILABLE, "temporal_unavailable", "could not start the reversal of Stripe refund %s: %v", obj.ID, err)
	}
	return nil
}
