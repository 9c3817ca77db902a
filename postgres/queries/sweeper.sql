-- name: ListUnstartedRefunds :many
-- Cases that have recorded nothing since they were opened before @before:
-- their workflow may never have started (Temporal was down, or the API
-- died between the row and the start).
SELECT * FROM refunds
WHERE status = 'evaluating' AND last_seq = 0 AND created_at < @before
ORDER BY created_at, id
LIMIT @max_rows;

-- name: CountUnsettledAttempts :one
-- Payment attempts of a case that Stripe may still act on: their amount
-- is held on the order until they settle.
SELECT count(*) FROM payment_attempts
WHERE refund_id = @refund_id AND status IN ('reserved', 'pending', 'requires_action');
