package postgres

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/refundflow/refundflow"
	"github.com/refundflow/refundflow/ledger"
	"github.com/refundflow/refundflow/money"
	"github.com/refundflow/refundflow/notify"
	"github.com/refundflow/refundflow/postgres/sqlgen"
	"github.com/refundflow/refundflow/refund"
)

// ledgerEntry is a ledger transaction with what it is about.
type ledgerEntry struct {
	// Key names the money event; booking the same key twice books nothing.
	Key              string
	Tx               ledger.Transaction
	OrderID          string
	RefundID         *string
	Attempt          *int32
	ProviderRefundID string
	ProviderCreated  time.Time
	RefundType       string
	Memo             string
}

// insertLedger writes a transaction and its postings, unless its key was
// booked before. PostgreSQL checks the balance again at commit.
func insertLedger(ctx context.Context, q *sqlgen.Queries, e ledgerEntry) error {
	if err := e.Tx.Check(); err != nil {
		return err
	}
	var created *time.Time
	if !e.ProviderCreated.IsZero() {
		created = &e.ProviderCreated
	}
	id, err := q.InsertLedgerTransaction(ctx, sqlgen.InsertLedgerTransactionParams{
		Key: e.Key, Kind: string(e.Tx.Kind), Currency: string(e.Tx.Currency), OrderID: e.OrderID, RefundID: e.RefundID,
		Attempt: e.Attempt, ProviderRefundID: e.ProviderRefundID, ProviderCreatedAt: created,
		RefundType: e.RefundType, Memo: e.Memo,
	})
	if isNoRows(err) {
		return nil // booked before
	}
	if err != nil {
		return fmt.Errorf("book %s: %w", e.Key, err)
	}
	for i, p := range e.Tx.Postings {
		if err := q.InsertLedgerPosting(ctx, sqlgen.InsertLedgerPostingParams{
			TransactionID: id, Line: int32(i + 1), Account: string(p.Account), Party: p.Party,
			Currency: string(e.Tx.Currency), Debit: p.Debit, Credit: p.Credit,
		}); err != nil {
			return fmt.Errorf("book %s: %w", e.Key, err)
		}
	}
	return nil
}

// Reversal is what reversing the booking of a refund that failed after
// it was booked did.
type Reversal struct {
	// Reversed is false when there was nothing to reverse: the attempt
	// had failed before it was booked, or was reversed already.
	Reversed bool
	// Step is the case's step recording the reversal.
	Step     refund.Step
	Amount   int64
	Currency money.Currency
}

// ErrNotBookedYet is the code of the retryable refusal to reverse a refund
// whose case has not recorded it as refunded yet.
const ErrNotBookedYet = "refund_not_booked_yet"

// ReverseFailedRefund undoes the booking of a Stripe refund that failed
// after it succeeded (a closed card, say): the attempt ends failed, the
// order's refunded amount goes down again, the ledger gets the reversal
// and the case becomes failed with a step in its timeline and what
// compose makes that step send — in one transaction, once. While the case's workflow has not yet booked the
// refund it answers an EUNAVAILABLE error (retry later), so a failure
// that overtakes the booking is not lost; a refund the case never
// recorded and now never will (its payment ended with another) is left
// alone.
func (db *DB) ReverseFailedRefund(ctx context.Context, refundID, providerRefundID, failureReason string, at time.Time,
	compose func(refund.Step) (notify.Outbox, error)) (*Reversal, error) {
	out := &Reversal{}
	err := db.InTx(ctx, func(q *sqlgen.Queries) error {
		c, err := q.LockRefund(ctx, refundID)
		if err != nil {
			return notFound(err, "refund %q not found", refundID)
		}
		out.Currency = money.Currency(c.Currency)
		att, err := q.GetPaymentAttemptByProvider(ctx, &providerRefundID)
		if isNoRows(err) {
			if paid(refundflow.RefundStatus(c.Status)) {
				return nil // the case's payment ended with another refund: this one was never booked
			}
			return refundflow.Errorf(refundflow.EUNAVAILABLE, ErrNotBookedYet, "case %s has not recorded Stripe refund %s yet", refundID, providerRefundID)
		}
		if err != nil {
			return err
		}
		if att.RefundID != refundID {
			return refundflow.Errorf(refundflow.EUNPROCESSABLE, "refund_of_another_case", "Stripe refund %s belongs to case %s, not %s", providerRefundID, att.RefundID, refundID)
		}
		switch {
		case att.Status == "failed" || att.Status == "canceled":
			return nil
		case att.Status != "succeeded" || refundflow.RefundStatus(c.Status) != refundflow.StatusRefunded:
			return refundflow.Errorf(refundflow.EUNAVAILABLE, ErrNotBookedYet, "case %s is %s with its payment %s; it books the refund first", refundID, c.Status, att.Status)
		}
		if _, err := q.LockOrder(ctx, c.OrderID); err != nil {
			return err
		}
		if _, err := q.ReverseSucceededAttempt(ctx, sqlgen.ReverseSucceededAttemptParams{
			RefundID: refundID, Attempt: att.Attempt, FailureReason: failureReason, At: &at,
		}); err != nil {
			return err
		}
		if _, err := q.UnbookOrderRefund(ctx, sqlgen.UnbookOrderRefundParams{ID: c.OrderID, Amount: att.Amount}); err != nil {
			return err
		}
		booked := ledger.Refund{Currency: money.Currency(att.Currency), Amount: att.Amount}
		if tx, err := q.GetLedgerTransactionByKey(ctx, attemptKey(att)); err == nil {
			postings, err := q.ListLedgerPostings(ctx, tx.ID)
			if err != nil {
				return err
			}
			booked.Amount, booked.UnrecoveredFee = ledger.Booked(postingsFromRows(postings))
		} else if !isNoRows(err) {
			return err
		}
		tx, err := ledger.RefundReversed(booked)
		if err != nil {
			return err
		}
		if err := insertLedger(ctx, q, ledgerEntry{
			Key: attemptKey(att) + "/reversed", Tx: tx, OrderID: c.OrderID, RefundID: &refundID, Attempt: &att.Attempt,
			ProviderRefundID: providerRefundID, Memo: "refund failed after it succeeded: " + failureReason,
		}); err != nil {
			return err
		}
		out.Reversed, out.Amount = true, booked.Amount
		out.Step = refund.Step{
			RefundID: refundID, Seq: int(c.LastSeq) + 1, At: at, Actor: refundflow.Actor{Kind: "stripe"},
			Event:  "refund_failed_after_success",
			Detail: map[string]any{"stripe_refund": providerRefundID, "failure_reason": failureReason, "amount": booked.Amount},
			Snapshot: refund.Snapshot{
				Status: refundflow.StatusFailed, Amount: c.Amount, EscalationLevel: int(c.EscalationLevel), Appealed: c.Appealed,
				ProviderRefundID: providerRefundID, PaymentStatus: "failed", PaymentAmount: c.PaymentAmount, ClosedAt: utcPtr(c.ClosedAt),
			},
			// The money came back to the platform: the learner, the
			// platform and finance hear of it.
			Notices: []notify.Notice{notify.ToStaff("finance", "refund_failed"), notify.ToPlatform(notify.EventRefundFailed), notify.ToLearner(notify.KindFailed)},
		}
		msgs, err := compose(out.Step)
		if err != nil {
			return err
		}
		if err := recordStep(ctx, q, out.Step); err != nil {
			return err
		}
		return writeOutbox(ctx, q, msgs)
	})
	if err != nil {
		return nil, fmt.Errorf("reverse failed refund %s of case %s: %w", providerRefundID, refundID, err)
	}
	return out, nil
}

// paid reports whether a case's payment has ended: it will record no
// further Stripe refund.
func paid(s refundflow.RefundStatus) bool {
	return s == refundflow.StatusRefunded || s == refundflow.StatusFailed
}

func postingsFromRows(rows []sqlgen.LedgerPosting) []ledger.Posting {
	out := make([]ledger.Posting, len(rows))
	for i, r := range rows {
		out[i] = ledger.Posting{Account: ledger.Account(r.Account), Party: r.Party, Debit: r.Debit, Credit: r.Credit}
	}
	return out
}

// AttemptByProviderRefund returns the payment attempt that made a Stripe
// refund, or ENOTFOUND.
func (db *DB) AttemptByProviderRefund(ctx context.Context, providerRefundID string) (*refund.Attempt, error) {
	row, err := db.q.GetPaymentAttemptByProvider(ctx, &providerRefundID)
	if err != nil {
		return nil, notFound(err, "no payment attempt made Stripe refund %s", providerRefundID)
	}
	return attemptFromRow(row, ""), nil
}

// PaymentAttempt returns attempt n of a case, or ENOTFOUND.
func (db *DB) PaymentAttempt(ctx context.Context, refundID string, attempt int) (*refund.Attempt, error) {
	row, err := db.q.GetPaymentAttempt(ctx, sqlgen.GetPaymentAttemptParams{RefundID: refundID, Attempt: int32(attempt)})
	if err != nil {
		return nil, notFound(err, "refund %s has no payment attempt %d", refundID, attempt)
	}
	return attemptFromRow(row, ""), nil
}

// --- Stripe webhook events ---

// StripeEvent is a Stripe webhook event as received.
type StripeEvent struct {
	ID           string
	Type         string
	ObjectID     string
	ObjectStatus string
	Created      time.Time
	// Processed is set once the event was routed; a redelivery of a
	// processed event is only acknowledged.
	Processed bool
	Outcome   string
}

// RecordStripeEvent stores an event the first time it arrives and returns
// it as stored (Processed tells a redelivery of a handled event apart).
func (db *DB) RecordStripeEvent(ctx context.Context, e StripeEvent) (*StripeEvent, error) {
	row, err := db.q.InsertStripeEvent(ctx, sqlgen.InsertStripeEventParams{
		ID: e.ID, Type: e.Type, ObjectID: e.ObjectID, ObjectStatus: e.ObjectStatus, CreatedAt: e.Created,
	})
	if isNoRows(err) {
		row, err = db.q.GetStripeEvent(ctx, e.ID)
	}
	if err != nil {
		return nil, fmt.Errorf("record Stripe event %s: %w", e.ID, err)
	}
	return &StripeEvent{
		ID: row.ID, Type: row.Type, ObjectID: row.ObjectID, ObjectStatus: row.ObjectStatus, Created: row.CreatedAt,
		Processed: row.ProcessedAt != nil, Outcome: row.Outcome,
	}, nil
}

// MarkStripeEventProcessed records what routing an event did.
func (db *DB) MarkStripeEventProcessed(ctx context.Context, id, outcome, refundID string) error {
	return db.q.MarkStripeEventProcessed(ctx, sqlgen.MarkStripeEventProcessedParams{ID: id, Outcome: outcome, RefundID: emptyNil(refundID)})
}

// --- reconciliation ---

// StripeRefund is one refund as Stripe lists it, for reconciliation.
type StripeRefund struct {
	ID            string
	Status        string
	Amount        int64
	Currency      string
	PaymentIntent string
	Created       time.Time
	// RefundID and Attempt are refundflow's metadata; empty for a refund
	// made by hand in the Stripe dashboard.
	RefundID               string
	Attempt                string
	TransferReversal       int64
	ApplicationFeeRefunded int64
	ChargeFee              int64
}

// Finding is something a reconciliation run wants a person to see.
type Finding struct {
	ProviderRefundID string `json:"provider_refund_id"`
	Kind             string `json:"kind"`
	RefundID         string `json:"refund_id"`
	OrderID          string `json:"order_id"`
	PaymentIntent    string `json:"payment_intent"`
	Currency         string `json:"currency"`
	StripeStatus     string `json:"stripe_status"`
	// StripeAmount is what moved according to Stripe; nil when Stripe has
	// no such refund.
	StripeAmount *int64    `json:"stripe_amount"`
	LedgerAmount int64     `json:"ledger_amount"`
	Detail       string    `json:"detail"`
	CreatedAt    time.Time `json:"created_at"`
}

// StartReconciliation records a run (idempotent: a run started again is
// the same run).
func (db *DB) StartReconciliation(ctx context.Context, id, trigger string, from, to time.Time) (*ledger.ReconciliationRun, error) {
	row, err := db.q.InsertReconciliationRun(ctx, sqlgen.InsertReconciliationRunParams{ID: id, Trigger: trigger, WindowFrom: from, WindowTo: to})
	if err != nil {
		return nil, fmt.Errorf("start reconciliation %s: %w", id, err)
	}
	return reconciliationRunFromRow(row), nil
}

// FinishReconciliation counts what the run found and closes it.
func (db *DB) FinishReconciliation(ctx context.Context, id string) (*ledger.ReconciliationRun, error) {
	row, err := db.q.FinishReconciliationRun(ctx, id)
	if err != nil {
		return nil, notFound(err, "reconciliation run %q not found", id)
	}
	return reconciliationRunFromRow(row), nil
}

// ReconciliationRun returns a run with its findings; id "" means the
// latest run.
func (db *DB) ReconciliationRun(ctx context.Context, id string) (*ledger.ReconciliationRun, []Finding, error) {
	var row sqlgen.ReconciliationRun
	var err error
	if id == "" {
		row, err = db.q.LatestReconciliationRun(ctx)
	} else {
		row, err = db.q.GetReconciliationRun(ctx, id)
	}
	if err != nil {
		return nil, nil, notFound(err, "no reconciliation run %q", id)
	}
	rows, err := db.q.ListReconciliationFindings(ctx, row.ID)
	if err != nil {
		return nil, nil, err
	}
	findings := make([]Finding, len(rows))
	for i, f := range rows {
		findings[i] = Finding{
			ProviderRefundID: f.ProviderRefundID, Kind: f.Kind, RefundID: f.RefundID, OrderID: f.OrderID,
			PaymentIntent: f.PaymentIntent, Currency: f.Currency, StripeStatus: f.StripeStatus, StripeAmount: f.StripeAmount,
			LedgerAmount: f.LedgerAmount, Detail: f.Detail, CreatedAt: f.CreatedAt,
		}
	}
	return reconciliationRunFromRow(row), findings, nil
}

func reconciliationRunFromRow(r sqlgen.ReconciliationRun) *ledger.ReconciliationRun {
	return &ledger.ReconciliationRun{
		ID: r.ID, Trigger: r.Trigger, WindowFrom: r.WindowFrom, WindowTo: r.WindowTo, Status: r.Status,
		StripeRefunds: int(r.StripeRefunds), Matched: int(r.Matched), Pending: int(r.Pending), Findings: int(r.Findings),
		Adopted: int(r.Adopted), StartedAt: r.StartedAt, FinishedAt: r.FinishedAt,
	}
}

// Reconciliation outcomes of one Stripe refund.
const (
	OutcomeMatched  = "matched"
	OutcomePending  = "pending"
	OutcomeInFlight = "in_flight"
	OutcomeFinding  = "finding"
)

// ReconcileStripeRefund compares one Stripe refund with the ledger and
// records the outcome in run runID (idempotent: a refund is looked at once
// per run). A succeeded refund made by hand in the Stripe dashboard is
// adopted onto its order — booked, and counted as refunded — and flagged.
func (db *DB) ReconcileStripeRefund(ctx context.Context, runID string, r StripeRefund) (string, error) {
	var outcome string
	err := db.InTx(ctx, func(q *sqlgen.Queries) error {
		booked, err := q.BookedRefund(ctx, r.ID)
		if err != nil {
			return err
		}
		var found *Finding
		if r.RefundID == "" {
			outcome, found, err = reconcileManual(ctx, q, r, booked)
		} else {
			outcome, found, err = reconcileOurs(ctx, q, r, booked)
		}
		if err != nil {
			return err
		}
		if found != nil {
			outcome = OutcomeFinding
			if err := insertFinding(ctx, q, runID, r, *found); err != nil {
				return err
			}
		}
		return q.InsertReconciliationItem(ctx, sqlgen.InsertReconciliationItemParams{RunID: runID, ProviderRefundID: r.ID, Outcome: outcome})
	})
	if err != nil {
		return "", fmt.Errorf("reconcile Stripe refund %s: %w", r.ID, err)
	}
	return outcome, nil
}

// moved is what a Stripe refund has taken out of the balance for good.
func (r StripeRefund) moved() int64 {
	if r.Status == "succeeded" {
		return r.Amount
	}
	return 0
}

func (r StripeRefund) waiting() bool {
	return r.Status == "pending" || r.Status == "requires_action"
}

func reconcileOurs(ctx context.Context, q *sqlgen.Queries, r StripeRefund, booked sqlgen.BookedRefundRow) (string, *Finding, error) {
	if r.waiting() {
		return OutcomePending, nil, nil
	}
	attempt, err := strconv.Atoi(r.Attempt)
	if err != nil || attempt < 1 {
		attempt = 1
	}
	att, err := q.GetPaymentAttempt(ctx, sqlgen.GetPaymentAttemptParams{RefundID: r.RefundID, Attempt: int32(attempt)})
	switch {
	case err == nil && !refund.Final(att.Status):
		return OutcomeInFlight, nil, nil // the case's workflow is still on it
	case err != nil && !isNoRows(err):
		return "", nil, err
	}
	f := &Finding{RefundID: r.RefundID, LedgerAmount: booked.Refunded}
	if err == nil && att.ProviderRefundID != nil && *att.ProviderRefundID != r.ID {
		f.Detail = fmt.Sprintf("case %s settled with Stripe refund %s, not this one", r.RefundID, *att.ProviderRefundID)
	}
	switch {
	case booked.Refunded == r.moved() && f.Detail == "":
		return OutcomeMatched, nil, nil
	case booked.Refunded == 0:
		f.Kind = "missing_in_ledger"
	default:
		f.Kind = "amount_mismatch"
	}
	return OutcomeFinding, f, nil
}

func reconcileManual(ctx context.Context, q *sqlgen.Queries, r StripeRefund, booked sqlgen.BookedRefundRow) (string, *Finding, error) {
	if booked.Transactions > 0 {
		if booked.Refunded == r.moved() {
			return OutcomeMatched, nil, nil
		}
		return OutcomeFinding, &Finding{Kind: "amount_mismatch", LedgerAmount: booked.Refunded, Detail: "a refund made in the Stripe dashboard changed after it was adopted"}, nil
	}
	switch {
	case r.waiting():
		return OutcomeFinding, &Finding{Kind: "manual_refund_pending", Detail: "made in the Stripe dashboard; adopted once it succeeds (run the window again)"}, nil
	case r.Status != "succeeded":
		return OutcomeMatched, nil, nil // nothing moved, nothing to book
	}
	order, err := q.LockOrderByPaymentIntent(ctx, r.PaymentIntent)
	if isNoRows(err) {
		return OutcomeFinding, &Finding{Kind: "manual_refund_unmatched", Detail: "made in the Stripe dashboard for a payment no order names"}, nil
	}
	if err != nil {
		return "", nil, err
	}
	f := &Finding{OrderID: order.ID}
	if order.RefundedAmount+order.InFlightAmount+r.Amount > order.Amount {
		f.Kind = "adoption_refused"
		f.Detail = fmt.Sprintf("order %s paid %d, has %d refunded and %d in flight: the dashboard refund of %d does not fit",
			order.ID, order.Amount, order.RefundedAmount, order.InFlightAmount, r.Amount)
		return OutcomeFinding, f, nil
	}
	if _, err := q.BookOrderRefund(ctx, sqlgen.BookOrderRefundParams{ID: order.ID, Amount: r.Amount}); err != nil {
		return "", nil, err
	}
	lr, err := stripeEffects(ctx, q, order, r.TransferReversal, r.ApplicationFeeRefunded)
	if err != nil {
		return "", nil, err
	}
	lr.Amount = r.Amount
	lr.UnrecoveredFee = ledger.UnrecoveredFee(r.ChargeFee, order.Amount, order.RefundedAmount, r.Amount)
	tx, err := ledger.ManualRefund(lr)
	if err != nil {
		return "", nil, err
	}
	if err := insertLedger(ctx, q, ledgerEntry{
		Key: "stripe/" + r.ID, Tx: tx, OrderID: order.ID, ProviderRefundID: r.ID, ProviderCreated: r.Created,
		RefundType: refundType(order, r.Amount), Memo: "refund made in the Stripe dashboard, adopted by reconciliation",
	}); err != nil {
		return "", nil, err
	}
	f.Kind, f.LedgerAmount = "manual_refund_adopted", r.Amount
	f.Detail = "made in the Stripe dashboard without refundflow; booked onto the order and counted as refunded"
	return OutcomeFinding, f, nil
}

func insertFinding(ctx context.Context, q *sqlgen.Queries, runID string, r StripeRefund, f Finding) error {
	var stripeAmount *int64
	if r.Status != "" {
		moved := r.moved()
		stripeAmount = &moved
	}
	return q.InsertReconciliationFinding(ctx, sqlgen.InsertReconciliationFindingParams{
		RunID: runID, ProviderRefundID: r.ID, Kind: f.Kind, RefundID: firstNonEmpty(f.RefundID, r.RefundID), OrderID: f.OrderID,
		PaymentIntent: r.PaymentIntent, Currency: firstNonEmpty(r.Currency, f.Currency), StripeStatus: r.Status,
		StripeAmount: stripeAmount, LedgerAmount: f.LedgerAmount, Detail: f.Detail,
	})
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// LedgerOnlyRefund is a refund the ledger holds money for that a run did
// not meet in Stripe's list.
type LedgerOnlyRefund struct {
	ProviderRefundID string
	Refunded         int64
	Currency         string
	OrderID          string
	RefundID         string
}

// LedgerRefundsNotSeen lists up to max refunds booked for Stripe refunds
// created within the run's window that the run has not looked at.
func (db *DB) LedgerRefundsNotSeen(ctx context.Context, runID string, from, to time.Time, limit int) ([]LedgerOnlyRefund, error) {
	rows, err := db.q.LedgerRefundsNotSeen(ctx, sqlgen.LedgerRefundsNotSeenParams{RunID: runID, WindowFrom: from, WindowTo: to, MaxRows: int32(limit)})
	if err != nil {
		return nil, err
	}
	out := make([]LedgerOnlyRefund, len(rows))
	for i, r := range rows {
		out[i] = LedgerOnlyRefund{ProviderRefundID: r.ProviderRefundID, Refunded: r.Refunded, Currency: r.Currency, OrderID: r.OrderID, RefundID: r.RefundID}
	}
	return out, nil
}

// MissingInStripe records that the ledger holds money for a refund Stripe
// does not know.
func (db *DB) MissingInStripe(ctx context.Context, runID string, l LedgerOnlyRefund) error {
	return db.InTx(ctx, func(q *sqlgen.Queries) error {
		if err := q.InsertReconciliationFinding(ctx, sqlgen.InsertReconciliationFindingParams{
			RunID: runID, ProviderRefundID: l.ProviderRefundID, Kind: "missing_in_stripe", RefundID: l.RefundID, OrderID: l.OrderID,
			Currency: l.Currency, LedgerAmount: l.Refunded, Detail: "the ledger holds this refund; Stripe has no such refund",
		}); err != nil {
			return err
		}
		return q.InsertReconciliationItem(ctx, sqlgen.InsertReconciliationItemParams{RunID: runID, ProviderRefundID: l.ProviderRefundID, Outcome: OutcomeFinding})
	})
}

// --- reading the ledger ---

// Balance is one account's total in one currency.
type Balance struct {
	Currency money.Currency `json:"currency"`
	Account  ledger.Account `json:"account"`
	Party    string         `json:"party"`
	Debit    int64          `json:"debit"`
	Credit   int64          `json:"credit"`
}

// LedgerBalances returns every account's totals over the whole ledger.
func (db *DB) LedgerBalances(ctx context.Context) ([]Balance, error) {
	rows, err := db.q.LedgerBalances(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]Balance, len(rows))
	for i, r := range rows {
		out[i] = Balance{Currency: money.Currency(r.Currency), Account: ledger.Account(r.Account), Party: r.Party, Debit: r.Debit, Credit: r.Credit}
	}
	return out, nil
}

// UnbalancedLedgerTransactions lists transactions whose postings do not
// balance (PostgreSQL refuses them at commit, so this is always empty
// unless that check was bypassed).
func (db *DB) UnbalancedLedgerTransactions(ctx context.Context) ([]int64, error) {
	return db.q.UnbalancedLedgerTransactions(ctx)
}
