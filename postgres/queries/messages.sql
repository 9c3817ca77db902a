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

-- name: InsertStaffNotification :exec
INSERT INTO staff_notifications (id, audience, kind, refund_id, ticket_id, subject, body)
VALUES (@id, @audience, @kind, sqlc.narg(refund_id), sqlc.narg(ticket_id), @subject, @body)
ON CONFLICT (id) DO NOTHING;

-- name: ListStaffNotifications :many
SELECT * FROM staff_notifications WHERE audience = @audience ORDER BY created_at DESC LIMIT @max_rows;

-- name: ListStaffEmails :many
-- Addresses of the active keys of a role, for staff notifications.
SELECT DISTINCT email FROM api_keys WHERE role = @role AND revoked_at IS NULL AND email <> '';
