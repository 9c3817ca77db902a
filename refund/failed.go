package refund

import (
	"time"

	"github.com/refundflow/refundflow"
	"github.com/refundflow/refundflow/notify"
)

// A case fails — ends as failed, its order free for a new case — when
// nothing can carry it further: the policy cannot decide it from the
// order's facts, or its workflow ended before the case did (terminated
// from the Temporal UI, say). Staff and the platform are told; the
// timeline says why with a code and a message, never a raw error.
const (
	FailedUnevaluable  = "policy_unevaluable"
	FailedWorkflowGone = "workflow_ended"
)

// FailedStep is the step that fails a case for code, after last (the
// case's snapshot as it stands). detail adds to the timeline entry.
func FailedStep(refundID string, seq int, at time.Time, last Snapshot, code string, detail map[string]any) Step {
	snap := last
	snap.Status, snap.SLADueAt, snap.OfferExpiresAt, snap.ClosedAt = refundflow.StatusFailed, nil, nil, &at
	d := map[string]any{"code": code, "message": CaseFailureMessage(code)}
	for k, v := range detail {
		d[k] = v
	}
	return Step{
		RefundID: refundID, Seq: seq, At: at, Actor: refundflow.SystemActor, Event: "case_failed", Detail: d, Snapshot: snap,
		Notices: []notify.Notice{notify.ToStaff("admin", "case_failed"), notify.ToPlatform(notify.EventRefundFailed)},
	}
}

// WorkflowEndedStep fails a case whose workflow ended with runStatus
// (Temporal's word: Terminated, Failed, TimedOut, Canceled) while the case
// was open. unsettled says a payment attempt may still be with Stripe:
// its amount stays held on the order until Stripe settles it, and finance
// is told too.
func WorkflowEndedStep(refundID string, seq int, at time.Time, last Snapshot, runStatus string, unsettled bool) Step {
	s := FailedStep(refundID, seq, at, last, FailedWorkflowGone, map[string]any{"workflow": runStatus, "payment_unsettled": unsettled})
	if unsettled {
		s.Detail["message"] = CaseFailureMessage(FailedWorkflowGone) + " " + unsettledMessage
		s.Notices = append(s.Notices, notify.ToStaff("finance", "case_failed"))
	}
	return s
}

// CaseFailureMessage says in words why a case failed.
func CaseFailureMessage(code string) string {
	if m, ok := caseFailureMessages[code]; ok {
		return m
	}
	return "The case could not be processed; support will look at it."
}

var caseFailureMessages = map[string]string{
	FailedUnevaluable:  "The refund policy could not decide this case from the order's facts; support will look at it.",
	FailedWorkflowGone: "The case's process was stopped before the case ended; support will look at it.",
}

const unsettledMessage = "A refund was already sent to Stripe: its amount stays held on the order until Stripe settles it, and finance has been asked to check it."
