-- The transactional outbox: emails and platform events written by the step
-- that causes them, delivered by the workers (package outbox).

-- name: InsertOutboxEmail :exec
INSERT INTO emails (id, to_address, subject, text_body, html_body, refund_id, ticket_id, status)
VALUES (@id, @to_address, @subject, @text_body, @html_body, sqlc.narg(refund_id), sqlc.narg(ticket_id), 'pending')
ON CONFLICT (id) DO NOTHING;

-- name: InsertOutboxEvent :exec
-- The payload is fixed here, so every delivery of the event carries the
-- same body.
INSERT INTO webhook_deliveries (id, type, payload, refund_id, ticket_id, status, created_at)
VALUES (@id, @type, @payload, sqlc.narg(refund_id), sqlc.narg(ticket_id), 'pending', @created_at)
ON CONFLICT (id) DO NOTHING;

-- name: NotifyOutbox :exec
-- Wakes the workers' delivery loops when the transaction commits.
SELECT pg_notify('refundflow_outbox', '');

-- name: ClaimEmails :many
-- Takes up to @max_rows emails that are due, for one try each: the claim
-- moves next_attempt_at to @lease_until, so a worker that dies mid-send
-- hands the email back once the lease has run out.
UPDATE emails SET next_attempt_at = @lease_until, attempts = attempts + 1
WHERE id IN (
    SELECT e.id FROM emails e
    WHERE e.status = 'pending' AND e.next_attempt_at <= @now
    ORDER BY e.next_attempt_at, e.id
    LIMIT @max_rows
    FOR UPDATE SKIP LOCKED
)
RETURNING *;

-- name: EmailSent :exec
UPDATE emails SET status = @status, sent_at = @at, last_error = ''
WHERE id = @id AND status = 'pending';

-- name: EmailFailed :exec
-- A failed try: again at @next_attempt_at, or in the dead letter.
UPDATE emails SET status = CASE WHEN @dead::boolean THEN 'dead' ELSE 'pending' END,
    next_attempt_at = @next_attempt_at, last_error = @last_error
WHERE id = @id AND status = 'pending';

-- name: ClaimEvents :many
-- As ClaimEmails, for platform events.
UPDATE webhook_deliveries SET next_attempt_at = @lease_until, attempts = attempts + 1
WHERE id IN (
    SELECT d.id FROM webhook_deliveries d
    WHERE d.status = 'pending' AND d.next_attempt_at <= @now
    ORDER BY d.next_attempt_at, d.id
    LIMIT @max_rows
    FOR UPDATE SKIP LOCKED
)
RETURNING *;

-- name: EventDelivered :exec
UPDATE webhook_deliveries SET status = @status, delivered_at = @at, last_error = ''
WHERE id = @id AND status = 'pending';

-- name: EventFailed :exec
UPDATE webhook_deliveries SET status = CASE WHEN @dead::boolean THEN 'dead' ELSE 'pending' END,
    next_attempt_at = @next_attempt_at, last_error = @last_error
WHERE id = @id AND status = 'pending';

-- name: InsertWebhookAttempt :exec
INSERT INTO webhook_attempts (delivery_id, attempt, at, http_status, latency_ms, error)
VALUES (@delivery_id, @attempt, @at, sqlc.narg(http_status), @latency_ms, @error)
ON CONFLICT (delivery_id, attempt) DO NOTHING;

-- name: NextOutboxDue :one
-- When the next pending message is due (no row when none is).
SELECT next_attempt_at AS due FROM (
    (SELECT next_attempt_at FROM emails WHERE status = 'pending' ORDER BY next_attempt_at LIMIT 1)
    UNION ALL
    (SELECT next_attempt_at FROM webhook_deliveries WHERE status = 'pending' ORDER BY next_attempt_at LIMIT 1)
) d
ORDER BY next_attempt_at LIMIT 1;

-- name: OutboxCounts :many
-- Pending and dead messages per channel, and the age of the oldest
-- pending one, for the metrics.
SELECT 'email'::text AS channel, status, count(*)::bigint AS n, min(created_at)::timestamptz AS oldest
FROM emails WHERE status IN ('pending', 'dead') GROUP BY status
UNION ALL
SELECT 'webhook'::text, status, count(*)::bigint, min(created_at)::timestamptz
FROM webhook_deliveries WHERE status IN ('pending', 'dead') GROUP BY status;

-- name: ListEmails :many
SELECT * FROM emails ORDER BY created_at DESC, id DESC LIMIT @max_rows;

-- name: ListWebhookDeliveries :many
SELECT * FROM webhook_deliveries ORDER BY created_at DESC, id DESC LIMIT @max_rows;

-- name: ListDeadEmails :many
SELECT * FROM emails WHERE status = 'dead' ORDER BY created_at DESC, id DESC LIMIT @max_rows;

-- name: ListDeadEvents :many
SELECT * FROM webhook_deliveries WHERE status = 'dead' ORDER BY created_at DESC, id DESC LIMIT @max_rows;
