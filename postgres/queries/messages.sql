-- name: InsertLearnerMessage :exec
INSERT INTO learner_messages (id, learner_id, refund_id, kind, locale, subject, body, created_at)
VALUES (@id, @learner_id, sqlc.narg(refund_id), @kind, @locale, @subject, @body, @created_at)
ON CONFLICT (id) DO NOTHING;

-- name: ListLearnerMessages :many
SELECT * FROM learner_messages
WHERE learner_id = @learner_id
  AND (sqlc.narg(cursor_at)::timestamptz IS NULL OR (created_at, id) < (sqlc.narg(cursor_at)::timestamptz, sqlc.narg(cursor_id)::text))
ORDER BY created_at DESC, id DESC
LIMIT @max_rows;

-- name: InsertEmail :one
-- The row exists before the send, so a retry knows the message was meant
-- and whether it already went out.
INSERT INTO emails (id, to_address, subject, text_body, html_body, refund_id, status)
VALUES (@id, @to_address, @subject, @text_body, @html_body, sqlc.narg(refund_id), 'pending')
ON CONFLICT (id) DO UPDATE SET id = excluded.id
RETURNING *;

-- name: MarkEmail :exec
UPDATE emails SET status = @status, attempts = attempts + 1, last_error = @last_error,
    sent_at = CASE WHEN @status IN ('sent', 'sink') THEN now() ELSE sent_at END
WHERE id = @id;

-- name: ListEmails :many
SELECT * FROM emails ORDER BY created_at DESC, id DESC LIMIT @max_rows;

-- name: InsertWebhookDelivery :one
INSERT INTO webhook_deliveries (id, type, payload, status)
VALUES (@id, @type, @payload, 'pending')
ON CONFLICT (id) DO UPDATE SET id = excluded.id
RETURNING *;

-- name: MarkWebhookDelivery :exec
UPDATE webhook_deliveries SET status = @status, attempts = attempts + 1, last_error = @last_error,
    delivered_at = CASE WHEN @status = 'delivered' THEN now() ELSE delivered_at END
WHERE id = @id;

-- name: ListWebhookDeliveries :many
SELECT * FROM webhook_deliveries ORDER BY created_at DESC, id DESC LIMIT @max_rows;

-- name: InsertStaffNotification :exec
INSERT INTO staff_notifications (id, audience, kind, refund_id, subject, body)
VALUES (@id, @audience, @kind, sqlc.narg(refund_id), @subject, @body)
ON CONFLICT (id) DO NOTHING;

-- name: ListStaffNotifications :many
SELECT * FROM staff_notifications WHERE audience = @audience ORDER BY created_at DESC LIMIT @max_rows;

-- name: ListStaffEmails :many
-- Addresses of the active keys of a role, for staff notifications.
SELECT DISTINCT email FROM api_keys WHERE role = @role AND revoked_at IS NULL AND email <> '';
