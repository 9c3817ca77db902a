-- The event log and the delivery log: the platform events of the outbox
-- (webhook_deliveries), as the platform reads them back and as staff see
-- and replay their delivery.

-- name: ListEvents :many
-- The event log in the order it was written, after the position
-- (@after_txid, @after_seq) when one is given. Only rows older than every
-- transaction still running are read (see 00010_event_log.sql), so a row
-- committed later never lands before a position already handed out.
SELECT * FROM webhook_deliveries
WHERE txid < pg_snapshot_xmin(pg_current_snapshot())::text::bigint
  AND (sqlc.narg(type)::text IS NULL OR type = sqlc.narg(type))
  AND (sqlc.narg(created_after)::timestamptz IS NULL OR created_at >= sqlc.narg(created_after))
  AND (sqlc.narg(after_txid)::bigint IS NULL OR (txid, seq) > (sqlc.narg(after_txid)::bigint, sqlc.narg(after_seq)::bigint))
ORDER BY txid, seq
LIMIT @max_rows;

-- name: EventPosition :one
-- Where an event stands in the log (a cursor names its page's last event).
SELECT txid, seq FROM webhook_deliveries WHERE id = @id;

-- name: ListDeliveries :many
-- Deliveries newest first; the cursor is the last row's (created_at, id).
-- failing is a pending delivery whose last try failed.
SELECT * FROM webhook_deliveries
WHERE (sqlc.narg(status)::text IS NULL
       OR (CASE WHEN status = 'pending' AND last_error <> '' THEN 'failing' ELSE status END) = sqlc.narg(status))
  AND (sqlc.narg(event_id)::text IS NULL OR id = sqlc.narg(event_id))
  AND (sqlc.narg(cursor_at)::timestamptz IS NULL OR (created_at, id) < (sqlc.narg(cursor_at)::timestamptz, sqlc.narg(cursor_id)::text))
ORDER BY created_at DESC, id DESC
LIMIT @max_rows;

-- name: ListDeliveryAttempts :many
SELECT * FROM webhook_attempts WHERE delivery_id = ANY(@delivery_ids::text[]) ORDER BY delivery_id, attempt;

-- name: GetDelivery :one
SELECT * FROM webhook_deliveries WHERE seq = @seq;

-- name: Redeliver :one
-- Sends a delivery again, now: a dead one, a failing one (without waiting
-- out its backoff) or a delivered one. Its tries so far stay (last_error
-- is the last try's: none has failed since); it gets a fresh day of
-- retries.
UPDATE webhook_deliveries
SET status = 'pending', next_attempt_at = @now, redelivered_at = @now, delivered_at = NULL, last_error = ''
WHERE seq = @seq AND (status IN ('dead', 'delivered') OR (status = 'pending' AND last_error <> ''))
RETURNING *;

-- name: RedeliverFailedSince :execrows
-- Redeliver for every dead or failing delivery of an event that happened
-- at or after @since.
UPDATE webhook_deliveries
SET status = 'pending', next_attempt_at = @now, redelivered_at = @now, last_error = ''
WHERE created_at >= @since AND (status = 'dead' OR (status = 'pending' AND last_error <> ''));
