-- What /metrics reports from the read model, read at scrape time
-- (postgres/metrics.go): counts, never rows.

-- name: MetricsRefundsByStatus :many
SELECT status, count(*)::bigint AS cases FROM refunds GROUP BY status;

-- name: MetricsPaymentAttempts :many
-- Attempt numbers are bounded (a case makes at most 20), so they can label.
SELECT status, attempt, count(*)::bigint AS attempts FROM payment_attempts GROUP BY status, attempt;

-- name: MetricsBreachedTickets :many
-- Open tickets (their clocks running) that have missed an SLA target.
SELECT tier, count(*)::bigint AS tickets FROM tickets WHERE status = 'open' AND sla_state = 'breached' GROUP BY tier;

-- name: MetricsBreachedApprovals :one
-- Cases waiting for approval that went past their approval deadline: the
-- breach escalated them (a timeline step "escalated").
SELECT count(*)::bigint AS cases FROM refunds r
WHERE r.status = 'awaiting_approval'
  AND EXISTS (SELECT 1 FROM refund_timeline t WHERE t.refund_id = r.id AND t.event = 'escalated');
