package contract

import (
	"time"

	"github.com/refundflow/refundflow/refund"
)

// PaymentInput asks for attempt Attempt of a case's refund through Stripe.
type PaymentInput struct {
	RefundID string
	Attempt  int
	Amount   int64
	// Case is the case as it stands when the money is asked for. Step Seq
	// records the request, step Seq+1 how it went.
	Case refund.Snapshot
	Seq  int
	At   time.Time
}

// PaymentResult is what the attempt came to (refund.PaymentSucceeded,
// PaymentPending, PaymentFailed, PaymentKeySpent) and the step that
// recorded it: the workflow carries on from that step's snapshot.
type PaymentResult struct {
	Outcome string
	Step    refund.Step
	// Refund is Stripe's refund, when it made one: a pending one is
	// settled from it once Stripe says how it ended.
	Refund StripeRefund
}

// StripeRefund is what the workflow keeps of a Stripe refund.
type StripeRefund struct {
	ID            string
	Status        string
	FailureReason string
	Amount        int64
	Created       time.Time
	// What the ledger needs: the creator's share pulled back, the
	// application fee returned so far, Stripe's fee on the charge.
	TransferReversal       int64
	ApplicationFeeRefunded int64
	ChargeFee              int64
}

// ErrStripeKeySpent says the attempt's idempotency key can no longer make
// the refund: Stripe saved a 5xx under it and answers every retry with
// that, and no refund of the case exists. The workflow moves on to a new
// attempt with a new key.
const ErrStripeKeySpent = "stripe_key_spent"

// SettleInput ends an attempt that waited for Stripe: Refund is how it
// ended; Case and Seq are the case before it and the step that records it.
type SettleInput struct {
	RefundID string
	Attempt  int
	Refund   StripeRefund
	Case     refund.Snapshot
	Seq      int
}

// ReverseInput names a refund Stripe failed after it had succeeded.
type ReverseInput struct {
	RefundID         string
	ProviderRefundID string
	FailureReason    string
	// At is when the workflow learnt of it (its clock).
	At time.Time
}

// ReverseResult says whether there was a booking to reverse.
type ReverseResult struct {
	Reversed bool
	Amount   int64
}

// Terminal reports whether Stripe will not change the refund's status any
// more (a succeeded refund can still fail later; a webhook says so).
func (r StripeRefund) Terminal() bool { return refund.Final(r.Status) }

// Settlement is where an attempt that made r ends.
func (r StripeRefund) Settlement(refundID string, attempt int) refund.Settlement {
	return refund.Settlement{
		RefundID: refundID, Attempt: attempt, Status: r.Status, ProviderRefundID: r.ID, FailureReason: r.FailureReason,
		ProviderCreated: r.Created, TransferReversal: r.TransferReversal,
		ApplicationFeeRefunded: r.ApplicationFeeRefunded, ChargeFee: r.ChargeFee,
	}
}
