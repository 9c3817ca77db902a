-- name: InsertApprovalIntent :one
INSERT INTO approval_intents (id, refund_id, key_id, action, amount, note)
VALUES (@id, @refund_id, @key_id, @action, sqlc.narg(amount), @note)
RETURNING *;

-- name: UseApprovalIntent :one
-- Takes the intent for one update; the same update may take it again (a
-- retried check), another may not.
UPDATE approval_intents SET used_by = @used_by
WHERE id = @id AND (used_by IS NULL OR used_by = @used_by)
RETURNING *;

-- name: GetApprovalIntent :one
SELECT * FROM approval_intents WHERE id = @id;
