package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/refundflow/refundflow"
	"github.com/refundflow/refundflow/ledger"
	"github.com/refundflow/refundflow/money"
	"github.com/refundflow/refundflow/postgres/sqlgen"
)

// PaymentAttempt is one try at moving a case's money through Stripe.
type PaymentAttempt struct {
	RefundID         string
	OrderID          string
	Attempt          int
	IdempotencyKey   string
	PaymentIntent    string
	Amount           int64
	Currency         string
	Status           string
	ProviderRefundID string
	// Connect: the order paid a creator through a connected account.
	ReverseTransfer      bool
	RefundApplicationFee bool
	// ReservedAt is when the attempt and its key were written: a key older
	// than Stripe's window may no longer protect a retry.
	ReservedAt time.Time
}

// IdempotencyKey is the business idempotency key of attempt n of a case
// (SPEC 4.6).
func IdempotencyKey(refundID string, attempt int) string {
	return fmt.Sprintf("refund/%s/attempt/%d", refundID, attempt)
}

// ReservePayment writes the attempt — with its idempotency key — and holds
// the amount as in flight on the order, in one transaction, before any call
// to Stripe. A second call for the same attempt returns the first one. An
// amount that would take refunded + in flight above what was paid is
// refused by PostgreSQL itself.
func (db *DB) ReservePayment(ctx context.Context, refundID string, attempt int, amount int64) (*PaymentAttempt, error) {
	var out *PaymentAttempt
	err := db.InTx(ctx, func(q *sqlgen.Queries) error {
		c, err := q.GetRefund(ctx, refundID)
		if err != nil {
			return notFound(err, "refund %q not found", refundID)
		}
		order, err := q.LockOrder(ctx, c.OrderID)
		if err != nil {
			return err
		}
		product, err := q.GetProduct(ctx, order.ProductID)
		if err != nil {
			return err
		}
		row, err := q.InsertPaymentAttempt(ctx, sqlgen.InsertPaymentAttemptParams{
			RefundID: refundID, Attempt: int32(attempt), IdempotencyKey: IdempotencyKey(refundID, attempt),
			PaymentIntent: order.PaymentIntent, Amount: amount, Currency: order.Currency,
		})
		switch {
		case isNoRows(err): // reserved by an earlier run of this activity
			if row, err = q.GetPaymentAttempt(ctx, sqlgen.GetPaymentAttemptParams{RefundID: refundID, Attempt: int32(attempt)}); err != nil {
				return err
			}
		case err != nil:
			return err
		default:
			if _, err := q.ReserveOrderAmount(ctx, sqlgen.ReserveOrderAmountParams{ID: order.ID, Amount: amount}); err != nil {
				if constraintName(err) == "orders_refunds_within_paid" {
					return &refundflow.Error{Kind: refundflow.EUNPROCESSABLE, Code: "exceeds_paid",
						Message: fmt.Sprintf("refunding %d would take order %s above the %d paid (refunded %d, in flight %d)",
							amount, order.ID, order.Amount, order.RefundedAmount, order.InFlightAmount)}
				}
				return err
			}
		}
		out = attemptFromRow(row, order.ID)
		// Connect: the creator was paid through a connected account.
		out.ReverseTransfer = product.CreatorAccount != ""
		out.RefundApplicationFee = order.ApplicationFeeAmount > 0
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reserve payment of refund %s: %w", refundID, err)
	}
	return out, nil
}

// Settlement is where a payment attempt ended, with what Stripe reported
// about the refund for the ledger.
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

// SettlePayment records where an attempt ended. Money leaves the in-flight
// hold exactly once: to refunded when Stripe succeeded, back to the order
// when it failed or was canceled. pending and requires_action only update
// the attempt. Settling an attempt that is already settled changes nothing.
//
// The ledger is written in the same transaction: the refund with its
// creator clawback, fee return and unrecovered Stripe fee when it
// succeeded; only what Connect moved anyway when it failed.
func (db *DB) SettlePayment(ctx context.Context, s Settlement) (*PaymentAttempt, error) {
	var out *PaymentAttempt
	err := db.InTx(ctx, func(q *sqlgen.Queries) error {
		c, err := q.GetRefund(ctx, s.RefundID)
		if err != nil {
			return notFound(err, "refund %q not found", s.RefundID)
		}
		order, err := q.LockOrder(ctx, c.OrderID)
		if err != nil {
			return err
		}
		row, err := q.GetPaymentAttempt(ctx, sqlgen.GetPaymentAttemptParams{RefundID: s.RefundID, Attempt: int32(s.Attempt)})
		if err != nil {
			return notFound(err, "refund %s has no payment attempt %d", s.RefundID, s.Attempt)
		}
		if settled(row.Status) {
			out = attemptFromRow(row, c.OrderID)
			return nil
		}
		row, err = q.UpdatePaymentAttempt(ctx, sqlgen.UpdatePaymentAttemptParams{
			RefundID: s.RefundID, Attempt: int32(s.Attempt), Status: s.Status,
			ProviderRefundID: emptyNil(s.ProviderRefundID), FailureReason: s.FailureReason,
		})
		if err != nil {
			return err
		}
		out = attemptFromRow(row, c.OrderID)
		var refunded int64
		switch s.Status {
		case "succeeded":
			refunded = row.Amount
		case "failed", "canceled":
		default:
			return nil
		}
		if _, err := q.SettleOrderAmount(ctx, sqlgen.SettleOrderAmountParams{ID: c.OrderID, Amount: row.Amount, Refunded: refunded}); err != nil {
			return err
		}
		return bookAttempt(ctx, q, order, row, s)
	})
	if err != nil {
		return nil, fmt.Errorf("settle payment of refund %s: %w", s.RefundID, err)
	}
	return out, nil
}

// bookAttempt writes the ledger transaction of a settled attempt. order
// is the order as it was before the settlement.
func bookAttempt(ctx context.Context, q *sqlgen.Queries, order sqlgen.Order, att sqlgen.PaymentAttempt, s Settlement) error {
	r, err := stripeEffects(ctx, q, order, s.TransferReversal, s.ApplicationFeeRefunded)
	if err != nil {
		return err
	}
	entry := ledgerEntry{
		OrderID: order.ID, RefundID: &att.RefundID, Attempt: &att.Attempt, ProviderRefundID: s.ProviderRefundID,
		ProviderCreated: s.ProviderCreated,
	}
	if s.Status != "succeeded" {
		tx, moved, err := ledger.RefundFailed(r)
		if err != nil || !moved {
			return err
		}
		entry.Key, entry.Tx, entry.Memo = attemptKey(att)+"/failed", tx, "refund "+s.Status+": "+s.FailureReason
		return insertLedger(ctx, q, entry)
	}
	r.Amount = att.Amount
	r.UnrecoveredFee = ledger.UnrecoveredFee(s.ChargeFee, order.Amount, order.RefundedAmount, att.Amount)
	tx, err := ledger.RefundSucceeded(r)
	if err != nil {
		return err
	}
	entry.Key, entry.Tx, entry.RefundType = attemptKey(att), tx, refundType(order, att.Amount)
	return insertLedger(ctx, q, entry)
}

// stripeEffects is the Connect part of a refund of order: the creator's
// share pulled back, and the application fee returned by it — Stripe's
// running total less what the ledger already holds for the order.
func stripeEffects(ctx context.Context, q *sqlgen.Queries, order sqlgen.Order, reversal, feeRefundedTotal int64) (ledger.Refund, error) {
	r := ledger.Refund{Currency: money.Currency(order.Currency), TransferReversal: max(reversal, 0)}
	if r.TransferReversal > 0 {
		product, err := q.GetProduct(ctx, order.ProductID)
		if err != nil {
			return r, err
		}
		r.Creator = product.CreatorAccount
		if r.Creator == "" {
			// Stripe reversed a transfer for a product that no longer names
			// its creator: the clawback is still booked, for finance to place.
			r.Creator = "unknown"
		}
	}
	if feeRefundedTotal > 0 {
		booked, err := q.BookedApplicationFeeReturns(ctx, order.ID)
		if err != nil {
			return r, err
		}
		r.ApplicationFeeReturned = max(feeRefundedTotal-booked, 0)
	}
	return r, nil
}

// refundType says whether amount, after what order had refunded already,
// refunds the whole order.
func refundType(order sqlgen.Order, amount int64) string {
	if order.RefundedAmount+amount >= order.Amount {
		return "full"
	}
	return "partial"
}

func attemptKey(att sqlgen.PaymentAttempt) string {
	return IdempotencyKey(att.RefundID, int(att.Attempt))
}

func settled(status string) bool {
	return status == "succeeded" || status == "failed" || status == "canceled"
}

func attemptFromRow(r sqlgen.PaymentAttempt, orderID string) *PaymentAttempt {
	a := &PaymentAttempt{
		RefundID: r.RefundID, OrderID: orderID, Attempt: int(r.Attempt), IdempotencyKey: r.IdempotencyKey,
		PaymentIntent: r.PaymentIntent, Amount: r.Amount, Currency: r.Currency, Status: r.Status,
		ReservedAt: r.CreatedAt,
	}
	if r.ProviderRefundID != nil {
		a.ProviderRefundID = *r.ProviderRefundID
	}
	return a
}
