-- name: InsertRefund :one
-- The learner, product and currency are the order's as it stands: the row
-- is read FOR SHARE, so an upsert of the order's money facts either
-- commits first (and the case takes the new ones) or waits and then finds
-- the case (and refuses to change them).
INSERT INTO refunds (
    id, order_id, learner_id, product_id, reason, description, evidence, skip_retention,
    submitted_by, idempotency_key, request_hash, status, currency
)
SELECT @id, o.id, o.learner_id, o.product_id, @reason, @description, @evidence, @skip_retention,
    @submitted_by, sqlc.narg(idempotency_key), @request_hash, 'evaluating', o.currency
FROM orders o WHERE o.id = @order_id
FOR SHARE
RETURNING *;

-- name: GetRefund :one
SELECT * FROM refunds WHERE id = @id;

-- name: GetRefundByIdempotencyKey :one
SELECT * FROM refunds WHERE submitted_by = @submitted_by AND idempotency_key = @idempotency_key;

-- name: GetOpenRefundForOrder :one
SELECT * FROM refunds
WHERE order_id = @order_id AND status IN ('evaluating', 'offered', 'awaiting_approval', 'refunding');

-- name: ListRefunds :many
-- Keyset pagination, newest first; the cursor is the last row's (created_at, id).
SELECT * FROM refunds
WHERE (sqlc.narg(status)::text IS NULL OR status = sqlc.narg(status))
  AND (sqlc.narg(order_id)::text IS NULL OR order_id = sqlc.narg(order_id))
  AND (sqlc.narg(learner_id)::text IS NULL OR learner_id = sqlc.narg(learner_id))
  AND (sqlc.narg(cursor_at)::timestamptz IS NULL OR (created_at, id) < (sqlc.narg(cursor_at)::timestamptz, sqlc.narg(cursor_id)::text))
ORDER BY created_at DESC, id DESC
LIMIT @max_rows;

-- name: RecordRefundStep :execrows
-- Writes the case's snapshot as of step @last_seq. A retried or late write
-- of an older step changes nothing.
UPDATE refunds SET
    status = @status,
    decision = COALESCE(sqlc.narg(decision), decision),
    amount = @amount,
    escalation_level = @escalation_level,
    sla_due_at = sqlc.narg(sla_due_at),
    offer_expires_at = sqlc.narg(offer_expires_at),
    appeal_until = sqlc.narg(appeal_until),
    appealed = @appealed,
    provider_refund_id = sqlc.narg(provider_refund_id),
    payment_status = sqlc.narg(payment_status),
    payment_amount = sqlc.narg(payment_amount),
    closed_at = sqlc.narg(closed_at),
    last_seq = @last_seq,
    updated_at = @at
WHERE id = @id AND last_seq < @last_seq;

-- name: InsertTimelineEntry :exec
INSERT INTO refund_timeline (refund_id, seq, at, actor, event, status, detail)
VALUES (@refund_id, @seq, @at, @actor, @event, @status, @detail)
ON CONFLICT (refund_id, seq) DO NOTHING;

-- name: GetTimelineEntry :one
SELECT * FROM refund_timeline WHERE refund_id = @refund_id AND seq = @seq;

-- name: DeleteTimelineFrom :many
-- Forgets the steps from @seq on (see RewindRefund), oldest first.
DELETE FROM refund_timeline WHERE refund_id = @refund_id AND seq >= @seq
RETURNING seq, event, at;

-- name: DeleteApprovalsFrom :exec
DELETE FROM refund_approvals WHERE refund_id = @refund_id AND seq >= @seq;

-- name: ReopenOffersAnsweredSince :exec
UPDATE refund_offers SET answer = NULL, answered_at = NULL
WHERE refund_id = @refund_id AND answered_at >= @since;

-- name: RewindRefundTo :exec
-- Sets the case's last step back (see RewindRefund); the step written
-- next is then newer.
UPDATE refunds SET last_seq = @last_seq WHERE id = @id AND last_seq > @last_seq;

-- name: ListTimeline :many
SELECT * FROM refund_timeline WHERE refund_id = @refund_id ORDER BY seq;

-- name: InsertOffer :exec
INSERT INTO refund_offers (refund_id, id, kind, title, detail, product_id, expires_at, position)
VALUES (@refund_id, @id, @kind, @title, @detail, @product_id, @expires_at, @position)
ON CONFLICT (refund_id, id) DO NOTHING;

-- name: AnswerOffers :exec
-- Records the learner's answer: the accepted offer (if any) and the others.
UPDATE refund_offers SET
    answer = CASE WHEN id = @accepted_id THEN 'accepted' ELSE @others_answer END,
    answered_at = @at
WHERE refund_id = @refund_id AND answer IS NULL;

-- name: ListOffers :many
SELECT * FROM refund_offers WHERE refund_id = @refund_id ORDER BY position;

-- name: InsertApproval :exec
INSERT INTO refund_approvals (refund_id, seq, action, approver_id, approver_name, amount, note, level, at)
VALUES (@refund_id, @seq, @action, @approver_id, @approver_name, sqlc.narg(amount), @note, @level, @at)
ON CONFLICT (refund_id, seq) DO NOTHING;

-- name: ListApprovals :many
SELECT * FROM refund_approvals WHERE refund_id = @refund_id ORDER BY seq;

-- name: CountLearnerRefundsSince :one
-- Refunds that moved money for the learner since @since, other than this case.
SELECT count(*) FROM refunds
WHERE learner_id = @learner_id AND id <> @refund_id AND status = 'refunded' AND created_at >= @since;

-- name: LongestOutageHours :one
-- The longest platform outage that hit the product while the learner had it.
SELECT COALESCE(MAX(EXTRACT(EPOCH FROM (COALESCE(ended_at, @now::timestamptz) - started_at)) / 3600), 0)::float8 AS hours
FROM outages
WHERE (product_ids = '{}' OR @product_id::text = ANY (product_ids))
  AND started_at <= @now::timestamptz
  AND (ended_at IS NULL OR ended_at > @purchased_at::timestamptz);

-- name: GetPolicy :one
SELECT * FROM policies WHERE name = @name AND version = @version;

-- name: GetPolicyInForce :one
SELECT * FROM policies WHERE name = @name AND in_force_from <= @at ORDER BY version DESC LIMIT 1;

-- name: GetLatestPolicy :one
SELECT * FROM policies WHERE name = @name ORDER BY version DESC LIMIT 1;

-- name: ListPolicyVersions :many
SELECT * FROM policies WHERE name = @name ORDER BY version;

-- name: InsertPolicy :one
INSERT INTO policies (name, version, body, in_force_from, created_by)
VALUES (@name, @version, @body, @in_force_from, @created_by)
ON CONFLICT (name, version) DO NOTHING
RETURNING *;

-- name: ListCalendars :many
SELECT * FROM calendars ORDER BY name;

-- name: UpsertCalendar :exec
INSERT INTO calendars (name, definition) VALUES (@name, @definition)
ON CONFLICT (name) DO UPDATE SET definition = excluded.definition, updated_at = now();

-- name: GetCaseForMessages :one
-- What a step's messages say about the case besides the step itself.
SELECT r.id, r.order_id, r.learner_id, r.product_id, r.reason, r.currency, r.decision,
       o.learner_email, o.locale, p.title AS product_title
FROM refunds r
JOIN orders o ON o.id = r.order_id
JOIN products p ON p.id = r.product_id
WHERE r.id = @id;

-- name: LastRejectionNote :one
-- The reason the latest rejection of a case gave, if its latest approval
-- is one.
SELECT a.note FROM refund_approvals a WHERE a.refund_id = @refund_id AND a.action = 'reject'
  AND a.seq = (SELECT max(b.seq) FROM refund_approvals b WHERE b.refund_id = @refund_id);
