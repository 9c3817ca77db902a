package postgres

import (
	"context"
	"fmt"

	"github.com/refundflow/refundflow"
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

// SettlePayment records where an attempt ended. Money leaves the in-flight
// hold exactly once: to refunded when Stripe succeeded, back to the order
// when it failed or was canceled. pending and requires_action only update
// the attempt. Settling an attempt that is already settled changes nothing.
func (db *DB) SettlePayment(ctx context.Context, refundID string, attempt int, status, providerRefundID, failureReason string) (*PaymentAttempt, error) {
	var out *PaymentAttempt
	err := db.InTx(ctx, func(q *sqlgen.Queries) error {
		c, err := q.GetRefund(ctx, refundID)
		if err != nil {
			return notFound(err, "refund %q not found", refundID)
		}
		if _, err := q.LockOrder(ctx, c.OrderID); err != nil {
			return err
		}
		row, err := q.GetPaymentAttempt(ctx, sqlgen.GetPaymentAttemptParams{RefundID: refundID, Attempt: int32(attempt)})
		if err != nil {
			return notFound(err, "refund %s has no payment attempt %d", refundID, attempt)
		}
		if settled(row.Status) {
			out = attemptFromRow(row, c.OrderID)
			return nil
		}
		row, err = q.UpdatePaymentAttempt(ctx, sqlgen.UpdatePaymentAttemptParams{
			RefundID: refundID, Attempt: int32(attempt), Status: status,
			ProviderRefundID: emptyNil(providerRefundID), FailureReason: failureReason,
		})
		if err != nil {
			return err
		}
		var refunded int64
		switch status {
		case "succeeded":
			refunded = row.Amount
		case "failed", "canceled":
		default:
			out = attemptFromRow(row, c.OrderID)
			return nil
		}
		if _, err := q.SettleOrderAmount(ctx, sqlgen.SettleOrderAmountParams{ID: c.OrderID, Amount: row.Amount, Refunded: refunded}); err != nil {
			return err
		}
		out = attemptFromRow(row, c.OrderID)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("settle payment of refund %s: %w", refundID, err)
	}
	return out, nil
}

func settled(status string) bool {
	return status == "succeeded" || status == "failed" || status == "canceled"
}

func attemptFromRow(r sqlgen.PaymentAttempt, orderID string) *PaymentAttempt {
	a := &PaymentAttempt{
		RefundID: r.RefundID, OrderID: orderID, Attempt: int(r.Attempt), IdempotencyKey: r.IdempotencyKey,
		PaymentIntent: r.PaymentIntent, Amount: r.Amount, Currency: r.Currency, Status: r.Status,
	}
	if r.ProviderRefundID != nil {
		a.ProviderRefundID = *r.ProviderRefundID
	}
	return a
}
