package postgres

import (
	"context"
	"fmt"

	"github.com/refundflow/refundflow"
	"github.com/refundflow/refundflow/ledger"
	"github.com/refundflow/refundflow/money"
	"github.com/refundflow/refundflow/notify"
	"github.com/refundflow/refundflow/postgres/sqlgen"
	"github.com/refundflow/refundflow/refund"
)

// ReservePayment writes attempt n of a case — with its idempotency key —
// holds the amount as in flight on the order, and records the step that
// says so (made by step from the attempt), in one transaction, before any
// call to Stripe. A second call for
// the same attempt returns the first one and records nothing new. An amount
// that would take refunded + in flight above what was paid is refused by
// PostgreSQL itself (EUNPROCESSABLE exceeds_paid).
func (db *DB) ReservePayment(ctx context.Context, refundID string, n int, amount int64, step func(refund.Attempt) refund.Step) (*refund.Attempt, error) {
	var out *refund.Attempt
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
			RefundID: refundID, Attempt: int32(n), IdempotencyKey: refund.IdempotencyKey(refundID, n),
			PaymentIntent: order.PaymentIntent, Amount: amount, Currency: order.Currency,
		})
		switch {
		case isNoRows(err): // reserved by an earlier try
			if row, err = q.GetPaymentAttempt(ctx, sqlgen.GetPaymentAttemptParams{RefundID: refundID, Attempt: int32(n)}); err != nil {
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
			if err := recordStep(ctx, q, step(*attemptFromRow(row, order.ID))); err != nil {
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

// SettlePayment records where an attempt ended, and the step that says so
// with what it sends, in one transaction. Money leaves the in-flight hold
// exactly once: to refunded when Stripe succeeded, back to the order when
// it failed or was canceled; pending and requires_action only update the
// attempt. The ledger is written in the same transaction: the refund with
// its creator clawback, fee return and unrecovered Stripe fee when it
// succeeded; only what Connect moved anyway when it failed.
//
// Settling an attempt that is settled already changes nothing and returns
// it as it is, with applied false (the step of its first settlement
// stands).
func (db *DB) SettlePayment(ctx context.Context, s refund.Settlement, step refund.Step, out notify.Outbox) (att *refund.Attempt, applied bool, err error) {
	err = db.InTx(ctx, func(q *sqlgen.Queries) error {
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
		if refund.Final(row.Status) {
			att = attemptFromRow(row, c.OrderID)
			return nil
		}
		row, err = q.UpdatePaymentAttempt(ctx, sqlgen.UpdatePaymentAttemptParams{
			RefundID: s.RefundID, Attempt: int32(s.Attempt), Status: s.Status,
			ProviderRefundID: emptyNil(s.ProviderRefundID), FailureReason: s.FailureReason,
		})
		if err != nil {
			return err
		}
		att, applied = attemptFromRow(row, c.OrderID), true
		if err := recordStep(ctx, q, step); err != nil {
			return err
		}
		if err := writeOutbox(ctx, q, out); err != nil {
			return err
		}
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
		return nil, false, fmt.Errorf("settle payment of refund %s: %w", s.RefundID, err)
	}
	return att, applied, nil
}

// bookAttempt writes the ledger transaction of a settled attempt. order
// is the order as it was before the settlement.
func bookAttempt(ctx context.Context, q *sqlgen.Queries, order sqlgen.Order, att sqlgen.PaymentAttempt, s refund.Settlement) error {
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
	return refund.IdempotencyKey(att.RefundID, int(att.Attempt))
}

func attemptFromRow(r sqlgen.PaymentAttempt, orderID string) *refund.Attempt {
	a := &refund.Attempt{
		RefundID: r.RefundID, OrderID: orderID, N: int(r.Attempt), IdempotencyKey: r.IdempotencyKey,
		PaymentIntent: r.PaymentIntent, Amount: r.Amount, Currency: r.Currency, Status: r.Status,
		FailureReason: r.FailureReason, ReservedAt: r.CreatedAt.UTC(), SettledAt: r.UpdatedAt.UTC(),
	}
	if r.ProviderRefundID != nil {
		a.ProviderRefundID = *r.ProviderRefundID
	}
	return a
}
