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

-- name: ListApprovalsOf :many
-- The approvals of several cases (a page of the queue), in one read.
SELECT * FROM refund_approvals WHERE refund_id = ANY(@refund_ids::text[]) ORDER BY refund_id, seq;

-- name: ListTicketBoard :many
-- The tickets board: tickets not closed (or of one status), breached
-- first, then warning, then ok, each by its next deadline.
SELECT * FROM tickets
WHERE (sqlc.narg(status)::text IS NULL AND status <> 'closed' OR status = sqlc.narg(status))
  AND (sqlc.narg(tier)::text IS NULL OR tier = sqlc.narg(tier))
  AND (sqlc.narg(level)::integer IS NULL OR escalation_level = sqlc.narg(level))
  AND (sqlc.narg(sla_state)::text IS NULL OR sla_state = sqlc.narg(sla_state))
ORDER BY CASE sla_state WHEN 'breached' THEN 0 WHEN 'warning' THEN 1 ELSE 2 END,
         next_due_at ASC NULLS LAST, created_at ASC, id ASC
LIMIT @max_rows;

-- name: CountTicketBoard :many
-- How many tickets of the board's other filters are in each SLA state.
SELECT sla_state, count(*)::bigint AS tickets FROM tickets
WHERE (sqlc.narg(status)::text IS NULL AND status <> 'closed' OR status = sqlc.narg(status))
  AND (sqlc.narg(tier)::text IS NULL OR tier = sqlc.narg(tier))
  AND (sqlc.narg(level)::integer IS NULL OR escalation_level = sqlc.narg(level))
GROUP BY sla_state;

-- name: RefundReasonsBetween :many
-- The cases opened in [@from_at, @to_at) by the reason the learner gave
-- and where they stand now.
SELECT reason, status, count(*)::bigint AS cases
FROM refunds
WHERE created_at >= @from_at AND created_at < @to_at
GROUP BY reason, status
ORDER BY reason, status;
