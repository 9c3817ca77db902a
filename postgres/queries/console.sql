-- name: InsertConsoleSession :exec
INSERT INTO console_sessions (token_hash, key_id, expires_at) VALUES (@token_hash, @key_id, @expires_at);

-- name: GetConsoleSessionKey :one
-- The key behind a live session; a revoked key ends its sessions too.
SELECT k.* FROM console_sessions s JOIN api_keys k ON k.id = s.key_id
WHERE s.token_hash = @token_hash AND s.expires_at > now() AND k.revoked_at IS NULL;

-- name: DeleteConsoleSession :exec
DELETE FROM console_sessions WHERE token_hash = @token_hash OR expires_at < now();

-- name: ListApprovalQueue :many
-- Cases waiting for a person, the most urgent deadline first.
SELECT * FROM refunds WHERE status = 'awaiting_approval'
ORDER BY sla_due_at ASC NULLS LAST, created_at ASC
LIMIT @max_rows;
