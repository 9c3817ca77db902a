-- name: InsertAPIKey :one
INSERT INTO api_keys (id, name, role, key_hash, approval_limits)
VALUES (@id, @name, @role, @key_hash, @approval_limits)
RETURNING *;

-- name: GetActiveAPIKeyByHash :one
SELECT * FROM api_keys WHERE key_hash = @key_hash AND revoked_at IS NULL;

-- name: ListAPIKeys :many
SELECT * FROM api_keys ORDER BY created_at, id;

-- name: RevokeAPIKey :execrows
UPDATE api_keys SET revoked_at = now() WHERE id = @id AND revoked_at IS NULL;

-- name: TouchAPIKey :exec
-- Recorded at most once a minute per key, to keep writes off the hot path.
UPDATE api_keys SET last_used_at = now()
WHERE id = @id AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute');

-- name: GetAPIKey :one
SELECT * FROM api_keys WHERE id = @id;
