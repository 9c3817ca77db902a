package activities

import (
	"context"
	"fmt"
	"strings"

	"github.com/refundflow/refundflow/activities/contract"
	"github.com/refundflow/refundflow/ledger"
	"github.com/refundflow/refundflow/payments"
	"github.com/refundflow/refundflow/postgres"
)

// reconcilePageSize is Stripe's largest list page.
const reconcilePageSize = 100

// StartReconciliation records the run (idempotent).
func (a *Activities) StartReconciliation(ctx context.Context, run contract.ReconcileRun) error {
	_, err := a.DB.StartReconciliation(ctx, run.RunID, run.Trigger, run.From, run.To)
	return err
}

// ReconcileStripePage compares one page of Stripe's refunds with the
// ledger (payments task queue: one Stripe call). Refunds made by hand in
// the dashboard are adopted onto their orders and flagged. Running a page
// again records nothing twice.
func (a *Activities) ReconcileStripePage(ctx context.Context, in contract.ReconcilePageInput) (contract.ReconcilePageResult, error) {
	defer heartbeat(ctx)()
	page, err := a.Stripe.ListPage(ctx, in.Run.From, in.Run.To, in.StartingAfter, reconcilePageSize)
	if err != nil {
		return contract.ReconcilePageResult{}, stripeError(ctx, err)
	}
	for _, r := range page.Refunds {
		if _, err := a.DB.ReconcileStripeRefund(ctx, in.Run.RunID, stripeRefund(r)); err != nil {
			return contract.ReconcilePageResult{}, err
		}
	}
	out := contract.ReconcilePageResult{HasMore: page.HasMore, Seen: len(page.Refunds)}
	if n := len(page.Refunds); n > 0 {
		out.Last = page.Refunds[n-1].ID
	}
	return out, nil
}

// ReconcileLedgerSide looks at the refunds the ledger holds money for,
// created at Stripe within the window, that Stripe's list did not show:
// each is read from Stripe by id — it may have been created just outside
// the window — and recorded missing in Stripe when Stripe has no such
// refund. It returns how many it looked at.
func (a *Activities) ReconcileLedgerSide(ctx context.Context, run contract.ReconcileRun) (int, error) {
	defer heartbeat(ctx)()
	seen := 0
	for {
		rows, err := a.DB.LedgerRefundsNotSeen(ctx, run.RunID, run.From, run.To, reconcilePageSize)
		if err != nil || len(rows) == 0 {
			return seen, err
		}
		for _, l := range rows {
			r, err := a.Stripe.Get(ctx, l.ProviderRefundID)
			if _, code := payments.Classify(err); err != nil && code == "no_such_payment" {
				if err := a.DB.MissingInStripe(ctx, run.RunID, l); err != nil {
					return seen, err
				}
				seen++
				continue
			}
			if err != nil {
				return seen, stripeError(ctx, err)
			}
			if _, err := a.DB.ReconcileStripeRefund(ctx, run.RunID, stripeRefund(r)); err != nil {
				return seen, err
			}
			seen++
		}
	}
}

// FinishReconciliation counts what the run found and closes it.
func (a *Activities) FinishReconciliation(ctx context.Context, runID string) (*ledger.ReconciliationRun, error) {
	run, err := a.DB.FinishReconciliation(ctx, runID)
	if err != nil {
		return nil, fmt.Errorf("finish reconciliation %s: %w", runID, err)
	}
	return run, nil
}

func stripeRefund(r payments.Refund) postgres.StripeRefund {
	return postgres.StripeRefund{
		ID: r.ID, Status: r.Status, Amount: r.Amount, Currency: strings.ToUpper(r.Currency), PaymentIntent: r.PaymentIntent,
		Created: r.Created, RefundID: r.RefundID(), Attempt: r.Metadata[payments.MetaAttempt],
		TransferReversal: r.TransferReversalAmount, ApplicationFeeRefunded: r.ApplicationFeeRefunded, ChargeFee: r.ChargeFee,
	}
}
