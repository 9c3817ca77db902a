-- name: LockKey :exec
-- Serialises writers of one name (a policy's versions, a calendar's years)
-- until the transaction ends; readers are never blocked.
SELECT pg_advisory_xact_lock(hashtextextended(@key::text, 0));

-- name: GetCalendar :one
SELECT * FROM calendars WHERE name = @name;

-- name: CountCasesCreatedBetween :one
SELECT count(*) FROM refunds WHERE created_at >= @from_at AND created_at < @to_at;

-- name: ListCasesForReplay :many
-- The cases created in [@from_at, @to_at), oldest first, a page after the
-- (created_at, id) cursor, with the facts the read model has for each:
-- the order, product and progress as they are now, and, as of the case's
-- creation, what earlier cases had refunded on the order, the longest
-- outage that had hit the product while the learner had it (an outage
-- still running then counts up to that instant), and the learner's
-- refunds in the 90 days before.
SELECT
    r.id, r.reason, r.created_at, r.decision,
    o.amount, o.currency, o.purchased_at, o.disputed,
    o.renewal_period_start, o.renewal_reminder_sent_at,
    o.policy_name, o.policy_version,
    p.type AS product_type, p.lessons_total, p.sessions_total, p.sessions_held,
    p.starts_at, p.appointment_at, p.no_refund, p.no_refund_disclosed,
    COALESCE(pr.watched_ratio, 0)::float8 AS watched_ratio,
    COALESCE(pr.lessons_completed, 0)::integer AS lessons_completed,
    COALESCE(pr.sessions_attended, 0)::integer AS sessions_attended,
    (SELECT COALESCE(SUM(COALESCE(e.payment_amount, e.amount, 0)), 0)
       FROM refunds e
      WHERE e.order_id = r.order_id AND e.id <> r.id AND e.status = 'refunded'
        AND e.closed_at <= r.created_at)::bigint AS refunded_before,
    (SELECT COALESCE(MAX(EXTRACT(EPOCH FROM (LEAST(COALESCE(g.ended_at, r.created_at), r.created_at) - g.started_at)) / 3600), 0)
       FROM outages g
      WHERE (g.product_ids = '{}' OR r.product_id = ANY (g.product_ids))
        AND g.started_at <= r.created_at
        AND (g.ended_at IS NULL OR g.ended_at > o.purchased_at))::float8 AS outage_hours,
    (SELECT count(*)
       FROM refunds l
      WHERE l.learner_id = r.learner_id AND l.id <> r.id AND l.status = 'refunded'
        AND l.created_at >= r.created_at - interval '90 days' AND l.created_at < r.created_at
        AND l.closed_at <= r.created_at)::integer AS learner_refunds_90d
FROM refunds r
JOIN orders o ON o.id = r.order_id
JOIN products p ON p.id = r.product_id
LEFT JOIN progress pr ON pr.order_id = r.order_id
WHERE r.created_at >= @from_at AND r.created_at < @to_at
  AND (sqlc.narg(after_at)::timestamptz IS NULL OR (r.created_at, r.id) > (sqlc.narg(after_at)::timestamptz, sqlc.narg(after_id)::text))
ORDER BY r.created_at, r.id
LIMIT @max_rows;
