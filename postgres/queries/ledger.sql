-- Money: the ledger, payment attempts after Stripe's word, Stripe webhook
-- events, reconciliation runs and the finance reports.

-- name: GetPaymentAttemptByProvider :one
SELECT * FROM payment_attempts WHERE provider_refund_id = @provider_refund_id;

-- name: ReverseSucceededAttempt :one
-- A refund Stripe failed after it was booked: the attempt ends failed,
-- once (only a succeeded attempt matches).
UPDATE payment_attempts SET status = 'failed', failure_reason = @failure_reason, reversed_at = @at, updated_at = @at
WHERE refund_id = @refund_id AND attempt = @attempt AND status = 'succeeded'
RETURNING *;

-- name: UnbookOrderRefund :execrows
UPDATE orders SET refunded_amount = refunded_amount - @amount, updated_at = now() WHERE id = @id;

-- name: BookOrderRefund :execrows
-- A refund made outside refundflow (the Stripe dashboard) counts as
-- refunded too; the CHECK on orders refuses it above what was paid.
UPDATE orders SET refunded_amount = refunded_amount + @amount, updated_at = now() WHERE id = @id;

-- name: LockOrderByPaymentIntent :one
SELECT * FROM orders WHERE payment_intent = @payment_intent ORDER BY id LIMIT 1 FOR UPDATE;

-- name: LockRefund :one
SELECT * FROM refunds WHERE id = @id FOR UPDATE;

-- name: InsertLedgerTransaction :one
-- The key makes a money event impossible to book twice: a second insert
-- returns no row.
-- Without Stripe's creation time (a case settled before it was recorded),
-- the booking time stands in for it.
INSERT INTO ledger_transactions (key, kind, currency, order_id, refund_id, attempt, provider_refund_id,
                                 provider_created_at, refund_type, memo)
VALUES (@key, @kind, @currency, @order_id, sqlc.narg(refund_id), sqlc.narg(attempt), @provider_refund_id,
        COALESCE(sqlc.narg(provider_created_at)::timestamptz, now()), @refund_type, @memo)
ON CONFLICT (key) DO NOTHING
RETURNING id;

-- name: InsertLedgerPosting :exec
INSERT INTO ledger_postings (transaction_id, line, account, party, currency, debit, credit)
VALUES (@transaction_id, @line, @account, @party, @currency, @debit, @credit);

-- name: GetLedgerTransactionByKey :one
SELECT * FROM ledger_transactions WHERE key = @key;

-- name: ListLedgerPostings :many
SELECT * FROM ledger_postings WHERE transaction_id = @transaction_id ORDER BY line;

-- name: BookedApplicationFeeReturns :one
-- What the ledger says the platform has given back of an order's
-- application fee so far.
SELECT COALESCE(sum(p.debit - p.credit), 0)::bigint
FROM ledger_transactions t JOIN ledger_postings p ON p.transaction_id = t.id
WHERE t.order_id = @order_id AND p.account = 'application_fees';

-- name: BookedRefund :one
-- What the ledger holds as refunded for one Stripe refund, and in how many
-- transactions.
SELECT COALESCE(sum(p.debit - p.credit) FILTER (WHERE p.account = 'refunds'), 0)::bigint AS refunded,
       count(DISTINCT t.id)::bigint AS transactions
FROM ledger_transactions t JOIN ledger_postings p ON p.transaction_id = t.id
WHERE t.provider_refund_id = @provider_refund_id;

-- name: LedgerBalances :many
-- Every account's balance (debits minus credits) per currency and party.
SELECT p.currency, p.account, p.party, sum(p.debit)::bigint AS debit, sum(p.credit)::bigint AS credit
FROM ledger_postings p
GROUP BY p.currency, p.account, p.party
ORDER BY p.currency, p.account, p.party;

-- name: UnbalancedLedgerTransactions :many
SELECT t.id FROM ledger_transactions t LEFT JOIN ledger_postings p ON p.transaction_id = t.id
GROUP BY t.id HAVING count(p.line) < 2 OR COALESCE(sum(p.debit), 0) <> COALESCE(sum(p.credit), 0);

-- name: InsertStripeEvent :one
-- The first delivery of an event inserts it; later ones return nothing.
INSERT INTO stripe_events (id, type, object_id, object_status, created_at)
VALUES (@id, @type, @object_id, @object_status, @created_at)
ON CONFLICT (id) DO NOTHING
RETURNING *;

-- name: GetStripeEvent :one
SELECT * FROM stripe_events WHERE id = @id;

-- name: MarkStripeEventProcessed :exec
UPDATE stripe_events SET outcome = @outcome, refund_id = sqlc.narg(refund_id), processed_at = now()
WHERE id = @id;

-- name: InsertReconciliationRun :one
INSERT INTO reconciliation_runs (id, trigger, window_from, window_to)
VALUES (@id, @trigger, @window_from, @window_to)
ON CONFLICT (id) DO UPDATE SET id = excluded.id
RETURNING *;

-- name: GetReconciliationRun :one
SELECT * FROM reconciliation_runs WHERE id = @id;

-- name: LatestReconciliationRun :one
SELECT * FROM reconciliation_runs ORDER BY started_at DESC, id DESC LIMIT 1;

-- name: InsertReconciliationItem :exec
INSERT INTO reconciliation_items (run_id, provider_refund_id, outcome)
VALUES (@run_id, @provider_refund_id, @outcome)
ON CONFLICT (run_id, provider_refund_id) DO NOTHING;

-- name: InsertReconciliationFinding :exec
INSERT INTO reconciliation_findings (run_id, provider_refund_id, kind, refund_id, order_id, payment_intent,
                                     currency, stripe_status, stripe_amount, ledger_amount, detail)
VALUES (@run_id, @provider_refund_id, @kind, @refund_id, @order_id, @payment_intent,
        @currency, @stripe_status, sqlc.narg(stripe_amount), @ledger_amount, @detail)
ON CONFLICT (run_id, provider_refund_id) DO NOTHING;

-- name: ListReconciliationFindings :many
SELECT * FROM reconciliation_findings WHERE run_id = @run_id ORDER BY kind, provider_refund_id;

-- name: FinishReconciliationRun :one
UPDATE reconciliation_runs SET
    status = 'finished',
    stripe_refunds = (SELECT count(*) FROM reconciliation_items i WHERE i.run_id = @id),
    matched = (SELECT count(*) FROM reconciliation_items i WHERE i.run_id = @id AND i.outcome = 'matched'),
    pending = (SELECT count(*) FROM reconciliation_items i WHERE i.run_id = @id AND i.outcome IN ('pending', 'in_flight')),
    findings = (SELECT count(*) FROM reconciliation_findings f WHERE f.run_id = @id AND f.kind <> 'manual_refund_adopted'),
    adopted = (SELECT count(*) FROM reconciliation_findings f WHERE f.run_id = @id AND f.kind = 'manual_refund_adopted'),
    finished_at = COALESCE(finished_at, now())
WHERE id = @id
RETURNING *;

-- name: LedgerRefundsNotSeen :many
-- Refunds the ledger holds money for, created at Stripe within the run's
-- window, that the run did not meet in Stripe's list.
SELECT t.provider_refund_id,
       COALESCE(sum(p.debit - p.credit) FILTER (WHERE p.account = 'refunds'), 0)::bigint AS refunded,
       max(t.currency)::text AS currency, max(t.order_id)::text AS order_id, COALESCE(max(t.refund_id), '')::text AS refund_id
FROM ledger_transactions t JOIN ledger_postings p ON p.transaction_id = t.id
WHERE t.provider_created_at >= @window_from AND t.provider_created_at < @window_to
  AND NOT EXISTS (SELECT 1 FROM reconciliation_items i WHERE i.run_id = @run_id AND i.provider_refund_id = t.provider_refund_id)
GROUP BY t.provider_refund_id
HAVING COALESCE(sum(p.debit - p.credit) FILTER (WHERE p.account = 'refunds'), 0) <> 0
ORDER BY t.provider_refund_id
LIMIT @max_rows;

-- name: LedgerReport :many
-- Postings per day (in the report's time zone), currency, account and party.
SELECT to_char(t.occurred_at AT TIME ZONE sqlc.arg(tz)::text, 'YYYY-MM-DD')::text AS day,
       t.currency, p.account, p.party,
       sum(p.debit)::bigint AS debit, sum(p.credit)::bigint AS credit, count(*)::bigint AS postings
FROM ledger_transactions t JOIN ledger_postings p ON p.transaction_id = t.id
WHERE t.occurred_at >= @from_at AND t.occurred_at < @to_at
GROUP BY 1, t.currency, p.account, p.party
ORDER BY 1, t.currency, p.account, p.party;

-- name: RefundLedgerReport :many
-- Booked refunds per day, currency, kind, full/partial and creator, with
-- what each moved on every account.
WITH tx AS (
    SELECT t.id, to_char(t.occurred_at AT TIME ZONE sqlc.arg(tz)::text, 'YYYY-MM-DD') AS day,
           t.currency, t.kind, t.refund_type,
           COALESCE(max(p.party) FILTER (WHERE p.account = 'creator_payable'), '') AS creator,
           COALESCE(sum(p.debit - p.credit) FILTER (WHERE p.account = 'refunds'), 0) AS refunded,
           COALESCE(sum(p.credit - p.debit) FILTER (WHERE p.account = 'creator_payable'), 0) AS clawback,
           COALESCE(sum(p.debit - p.credit) FILTER (WHERE p.account = 'application_fees'), 0) AS fees_returned,
           COALESCE(sum(p.debit - p.credit) FILTER (WHERE p.account = 'stripe_fees_unrecovered'), 0) AS fees_unrecovered
    FROM ledger_transactions t JOIN ledger_postings p ON p.transaction_id = t.id
    WHERE t.occurred_at >= @from_at AND t.occurred_at < @to_at
    GROUP BY t.id
)
SELECT day::text AS day, currency, kind, refund_type, creator::text AS creator, count(*)::bigint AS transactions,
       sum(refunded)::bigint AS refunded, sum(clawback)::bigint AS clawback,
       sum(fees_returned)::bigint AS fees_returned, sum(fees_unrecovered)::bigint AS fees_unrecovered
FROM tx
GROUP BY day, currency, kind, refund_type, creator
ORDER BY day, currency, kind, refund_type, creator;

-- name: RetainedReport :many
-- Cases a retention offer kept, per day closed: the revenue the refund
-- would have returned.
SELECT to_char(closed_at AT TIME ZONE sqlc.arg(tz)::text, 'YYYY-MM-DD')::text AS day, currency,
       count(*)::bigint AS cases,
       COALESCE(sum(COALESCE(amount, (decision ->> 'amount')::bigint, 0)), 0)::bigint AS amount
FROM refunds
WHERE status = 'retained' AND closed_at >= @from_at AND closed_at < @to_at
GROUP BY 1, currency
ORDER BY 1, currency;

-- name: AttemptReport :many
-- Money still on its way (per day reserved) and refunds that failed before
-- they were booked (per day failed). An attempt that failed and was
-- followed by another (its idempotency key was spent) is not a failed
-- refund: the case went on.
SELECT to_char(CASE WHEN a.status IN ('failed', 'canceled') THEN a.updated_at ELSE a.created_at END AT TIME ZONE sqlc.arg(tz)::text,
               'YYYY-MM-DD')::text AS day,
       a.currency,
       (CASE WHEN a.status IN ('failed', 'canceled') THEN 'failed' ELSE 'pending' END)::text AS state,
       count(*)::bigint AS attempts, COALESCE(sum(a.amount), 0)::bigint AS amount
FROM payment_attempts a
WHERE ((a.status IN ('reserved', 'pending', 'requires_action') AND a.created_at >= @from_at AND a.created_at < @to_at)
    OR (a.status IN ('failed', 'canceled') AND a.reversed_at IS NULL AND a.updated_at >= @from_at AND a.updated_at < @to_at
        AND NOT EXISTS (SELECT 1 FROM payment_attempts later WHERE later.refund_id = a.refund_id AND later.attempt > a.attempt)))
GROUP BY 1, a.currency, 3
ORDER BY 1, a.currency, 3;
