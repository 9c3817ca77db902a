-- name: UpsertProduct :one
INSERT INTO products (
    id, type, title, lessons_total, sessions_total, sessions_held, starts_at, appointment_at,
    no_refund, no_refund_disclosed, creator_account, alternatives
) VALUES (
    @id, @type, @title, @lessons_total, @sessions_total, @sessions_held, @starts_at, @appointment_at,
    @no_refund, @no_refund_disclosed, @creator_account, @alternatives
)
ON CONFLICT (id) DO UPDATE SET
    type = excluded.type,
    title = excluded.title,
    lessons_total = excluded.lessons_total,
    sessions_total = excluded.sessions_total,
    sessions_held = excluded.sessions_held,
    starts_at = excluded.starts_at,
    appointment_at = excluded.appointment_at,
    no_refund = excluded.no_refund,
    no_refund_disclosed = excluded.no_refund_disclosed,
    creator_account = excluded.creator_account,
    alternatives = excluded.alternatives,
    updated_at = now()
RETURNING *, (xmax = 0)::boolean AS inserted;

-- name: GetProduct :one
SELECT * FROM products WHERE id = @id;

-- name: ProductExists :one
SELECT EXISTS (SELECT 1 FROM products WHERE id = @id);

-- name: UpsertOrder :one
-- The pinned policy and the refunded amounts are ours: a re-sent order
-- never changes them.
INSERT INTO orders (
    id, learner_id, learner_email, locale, product_id, amount, currency, purchased_at,
    payment_intent, application_fee_amount, renewal_period_start, renewal_reminder_sent_at,
    disputed, policy_name, policy_version, next_renewal_at
) VALUES (
    @id, @learner_id, @learner_email, @locale, @product_id, @amount, @currency, @purchased_at,
    @payment_intent, @application_fee_amount, @renewal_period_start,
    -- A renewal refundflow reminded the learner of carries that reminder.
    COALESCE(sqlc.narg(renewal_reminder_sent_at)::timestamptz, (
        SELECT r.sent_at FROM renewal_reminders r
        WHERE r.learner_id = @learner_id AND r.product_id = @product_id AND r.renews_at = @renewal_period_start)),
    @disputed, @policy_name, @policy_version, sqlc.narg(next_renewal_at)
)
ON CONFLICT (id) DO UPDATE SET
    learner_id = excluded.learner_id,
    learner_email = excluded.learner_email,
    locale = excluded.locale,
    product_id = excluded.product_id,
    amount = excluded.amount,
    currency = excluded.currency,
    purchased_at = excluded.purchased_at,
    payment_intent = excluded.payment_intent,
    application_fee_amount = excluded.application_fee_amount,
    renewal_period_start = excluded.renewal_period_start,
    renewal_reminder_sent_at = COALESCE(orders.renewal_reminder_sent_at, excluded.renewal_reminder_sent_at),
    disputed = excluded.disputed,
    next_renewal_at = excluded.next_renewal_at,
    updated_at = now()
RETURNING *, (xmax = 0)::boolean AS inserted;

-- name: GetOrder :one
SELECT * FROM orders WHERE id = @id;

-- name: LockOrder :one
SELECT * FROM orders WHERE id = @id FOR UPDATE;

-- name: OrderHasRefund :one
-- Any case at all, open or closed: its decision and its money were made
-- on the order's facts.
SELECT EXISTS (SELECT 1 FROM refunds WHERE order_id = @order_id);

-- name: UpsertProgress :one
-- Each figure keeps its maximum: a late or replayed report never lowers it.
INSERT INTO progress (order_id, watched_ratio, lessons_completed, sessions_attended)
VALUES (@order_id, @watched_ratio, @lessons_completed, @sessions_attended)
ON CONFLICT (order_id) DO UPDATE SET
    watched_ratio = GREATEST(progress.watched_ratio, excluded.watched_ratio),
    lessons_completed = GREATEST(progress.lessons_completed, excluded.lessons_completed),
    sessions_attended = GREATEST(progress.sessions_attended, excluded.sessions_attended),
    updated_at = now()
RETURNING *;

-- name: GetProgress :one
SELECT * FROM progress WHERE order_id = @order_id;

-- name: InsertOutage :one
INSERT INTO outages (id, product_ids, started_at, ended_at, reason)
VALUES (@id, @product_ids, @started_at, @ended_at, @reason)
ON CONFLICT (id) DO NOTHING
RETURNING *;

-- name: GetOutage :one
SELECT * FROM outages WHERE id = @id;

-- name: ListOutages :many
SELECT * FROM outages ORDER BY started_at DESC LIMIT @max_rows;

-- name: OtherOrderOfPaymentIntent :one
-- Another order paid with the same PaymentIntent (a cart of several
-- courses), if there is one, to check that they agree on who paid in
-- which currency.
SELECT id, learner_id, currency FROM orders
WHERE payment_intent = @payment_intent AND id <> @id
ORDER BY id
LIMIT 1;
