package refund

import (
	"fmt"
	"time"

	"github.com/refundflow/refundflow"
	"github.com/refundflow/refundflow/notify"
)

// Attempt is one try at moving a case's money through Stripe (SPEC 4.6):
// its business idempotency key is written, and the amount held as in
// flight on the order, before Stripe is called.
type Attempt struct {
	RefundID       string
	OrderID        string
	N              int
	IdempotencyKey string
	PaymentIntent  string
	Amount         int64
	Currency       string
	// Status is reserved until Stripe answers, then Stripe's refund status.
	Status           string
	ProviderRefundID string
	FailureReason    string
	// Connect: the order paid a creator through a connected account.
	ReverseTransfer      bool
	RefundApplicationFee bool
	// ReservedAt is when the attempt and its key were written: a key older
	// than Stripe's window may no longer protect a retry. SettledAt is when
	// it last changed.
	ReservedAt time.Time
	SettledAt  time.Time
}

// Attempt statuses besides Stripe's own (pending, requires_action,
// succeeded, failed, canceled).
const AttemptReserved = "reserved"

// Settled reports whether the attempt's money has left the hold: to
// refunded, or back to the order.
func (a Attempt) Settled() bool { return Final(a.Status) }

// Final reports whether a Stripe refund status is one it never leaves.
func Final(status string) bool {
	return status == "succeeded" || status == "failed" || status == "canceled"
}

// IdempotencyKey is the business idempotency key of attempt n of a case.
func IdempotencyKey(refundID string, n int) string {
	return fmt.Sprintf("refund/%s/attempt/%d", refundID, n)
}

// Settlement is where an attempt ended, with what Stripe reported about
// the refund for the ledger.
type Settlement struct {
	RefundID         string
	Attempt          int
	Status           string
	ProviderRefundID string
	FailureReason    string
	// ProviderCreated is when Stripe created the refund.
	ProviderCreated time.Time
	// TransferReversal is the creator's share the refund pulled back.
	TransferReversal int64
	// ApplicationFeeRefunded is how much of the charge's application fee
	// Stripe has returned so far, over all its refunds.
	ApplicationFeeRefunded int64
	// ChargeFee is Stripe's processing fee on the charge.
	ChargeFee int64
}

// Payment outcomes: what one attempt came to.
const (
	PaymentSucceeded = "succeeded"
	// PaymentPending: Stripe took the refund and will say later how it
	// ended (a webhook, or a poll).
	PaymentPending = "pending"
	PaymentFailed  = "failed"
	// PaymentKeySpent: Stripe answers the attempt's key only with a saved
	// error and holds no refund of the case; another attempt, with a new
	// key, follows.
	PaymentKeySpent = "key_spent"
)

// PaymentStep is the step that records what an attempt came to, after
// base — the case as it was when the money was asked for. The payment
// activity writes it in the transaction that settles the attempt, and the
// workflow takes the case's state from it, so both say the same.
//
// A failure carries a code (why, for finance and the platform) and the
// attempt that the next one follows (key spent).
func PaymentStep(base Snapshot, seq int, at time.Time, outcome string, att Attempt, code string) Step {
	s := Step{RefundID: att.RefundID, Seq: seq, At: at, Actor: refundflow.Actor{Kind: "stripe"}, Snapshot: base}
	snap := &s.Snapshot
	switch outcome {
	case PaymentSucceeded:
		amount := att.Amount
		snap.Status, snap.ClosedAt = refundflow.StatusRefunded, &s.At
		snap.ProviderRefundID, snap.PaymentStatus, snap.PaymentAmount = att.ProviderRefundID, att.Status, &amount
		s.Event = "refunded"
		s.Detail = map[string]any{"stripe_refund": att.ProviderRefundID, "amount": att.Amount}
		// Access is revoked only now that the money has actually moved.
		s.Notices = []notify.Notice{notify.ToLearner(notify.KindRefunded), notify.ToPlatform(notify.EventRefundSucceeded)}
	case PaymentPending:
		amount := att.Amount
		snap.ProviderRefundID, snap.PaymentStatus, snap.PaymentAmount = att.ProviderRefundID, att.Status, &amount
		s.Event = "payment_pending"
		s.Detail = map[string]any{"stripe_refund": att.ProviderRefundID, "stripe_status": att.Status}
	case PaymentKeySpent:
		s.Actor = refundflow.SystemActor
		s.Event = "payment_retried"
		s.Detail = map[string]any{"attempt": att.N, "code": code, "next_attempt": att.N + 1}
	default:
		snap.Status, snap.ClosedAt, snap.PaymentStatus = refundflow.StatusFailed, &s.At, "failed"
		if att.ProviderRefundID != "" {
			snap.ProviderRefundID = att.ProviderRefundID
		}
		s.Actor = refundflow.SystemActor
		s.Event = "payment_failed"
		s.Detail = map[string]any{"code": code, "message": FailureMessage(code)}
		// The money did not move: access is kept, and finance must act.
		s.Notices = []notify.Notice{notify.ToLearner(notify.KindFailed), notify.ToPlatform(notify.EventRefundFailed), notify.ToStaff("finance", "refund_failed")}
	}
	return s
}

// FailureMessage says in words why money could not be moved, for the
// timeline the platform and staff read; the raw error stays in the logs.
func FailureMessage(code string) string {
	if m, ok := failureMessages[code]; ok {
		return m
	}
	return "Stripe did not complete the refund; finance has been asked to look at it."
}

var failureMessages = map[string]string{
	"exceeds_paid":              "The refund would take the order above what was paid.",
	"already_refunded":          "Stripe says the charge is refunded already.",
	"disputed":                  "The payment is disputed; the dispute process decides about the money.",
	"amount_too_large":          "Stripe refused the amount as more than the charge allows.",
	"no_such_payment":           "Stripe does not know the order's payment.",
	"stripe_key_spent":          "Stripe kept failing the refund; finance has been asked to complete it.",
	"stripe_failed":             "Stripe reported the refund failed (the card or bank refused it).",
	"stripe_canceled":           "The refund was canceled at Stripe.",
	"charge_expired_for_refund": "The charge is too old for Stripe to refund.",
}

// Progress orders a refund's statuses the way Stripe moves them
// (requires_action, pending, succeeded, then failed or canceled; a
// succeeded refund can still fail, a failed one never succeeds). Webhooks
// come late and out of order: one whose status is not further along than
// what is known already is old news.
func Progress(status string) int {
	switch status {
	case "requires_action":
		return 1
	case "pending":
		return 2
	case "succeeded":
		return 3
	case "failed", "canceled":
		return 4
	}
	return 0
}
