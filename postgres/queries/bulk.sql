-- Bulk and scheduled work (SPEC 4.9): outage remediation, renewal
-- reminders, the refund-rate monitor.

-- name: InsertRemediationRun :one
-- Starts the remediation of an outage; total is the number of orders it
-- affects now: bought before it ended, of a product it hit (none named:
-- every product), not fully refunded.
INSERT INTO remediation_runs (outage_id, mode, status, total, started_by)
SELECT @outage_id::text, @mode::text, 'running', count(*)::int, @started_by::text
FROM orders o
WHERE (cardinality(@product_ids::text[]) = 0 OR o.product_id = ANY (@product_ids::text[]))
  AND o.purchased_at < @ended_at::timestamptz
  AND o.refunded_amount < o.amount
ON CONFLICT (outage_id) DO NOTHING
RETURNING *;

-- name: GetRemediationRun :one
SELECT * FROM remediation_runs WHERE outage_id = @outage_id;

-- name: LockRemediationRun :one
SELECT * FROM remediation_runs WHERE outage_id = @outage_id FOR UPDATE;

-- name: ResumeRemediationRun :one
UPDATE remediation_runs SET status = 'running', finished_at = NULL, updated_at = now()
WHERE outage_id = @outage_id AND status = 'canceled'
RETURNING *;

-- name: CancelRemediationRun :one
UPDATE remediation_runs SET status = 'canceled', finished_at = now(), updated_at = now()
WHERE outage_id = @outage_id AND status = 'running'
RETURNING *;

-- name: AdvanceRemediationRun :exec
-- Records where the next page starts; once every case is open, total
-- becomes the exact number of cases.
UPDATE remediation_runs SET
    next_order_id = @next_order_id,
    all_opened = @all_opened,
    total = CASE WHEN @all_opened::boolean
        THEN (SELECT count(*) FROM remediation_items i WHERE i.outage_id = @outage_id)::int
        ELSE GREATEST(total, (SELECT count(*) FROM remediation_items i WHERE i.outage_id = @outage_id)::int) END,
    updated_at = now()
WHERE outage_id = @outage_id;

-- name: CompleteRemediationRun :execrows
UPDATE remediation_runs SET status = 'completed', finished_at = @at, updated_at = now()
WHERE outage_id = @outage_id AND status = 'running' AND all_opened;

-- name: AffectedOrdersPage :many
-- The next page of affected orders, by id. An order that has its case from
-- this remediation already stays in its page even if it was refunded since,
-- so a retried page is the same page.
SELECT o.id, o.learner_id, o.product_id, o.currency FROM orders o
WHERE o.id > @after_id::text
  AND (cardinality(@product_ids::text[]) = 0 OR o.product_id = ANY (@product_ids::text[]))
  AND o.purchased_at < @ended_at::timestamptz
  AND (o.refunded_amount < o.amount
       OR EXISTS (SELECT 1 FROM remediation_items i WHERE i.outage_id = @outage_id::text AND i.order_id = o.id))
ORDER BY o.id
LIMIT @max_rows;

-- name: InsertRemediationRefund :execrows
-- Opens the remediation's case for an order. Nothing happens when the case
-- exists already (a retried page) or when the order has an open case of
-- its own (the one-open-case-per-order index).
INSERT INTO refunds (
    id, order_id, learner_id, product_id, reason, description, submitted_by, request_hash, status, currency
) VALUES (
    @id, @order_id, @learner_id, @product_id, 'technical_failure', @description, @submitted_by, @request_hash, 'evaluating', @currency
)
ON CONFLICT DO NOTHING;

-- name: RefundExists :one
SELECT EXISTS (SELECT 1 FROM refunds WHERE id = @id);

-- name: InsertRemediationItem :exec
INSERT INTO remediation_items (outage_id, order_id, refund_id, adopted)
VALUES (@outage_id, @order_id, @refund_id, @adopted)
ON CONFLICT (outage_id, order_id) DO NOTHING;

-- name: GetRemediationItem :one
SELECT * FROM remediation_items WHERE outage_id = @outage_id AND order_id = @order_id;

-- name: RemediationProgress :many
-- Where the cases of the outages' remediations stand, from the read model,
-- one row per outage that has opened any. Active cases are those the
-- engine still works on before the money moves; cases waiting for a
-- learner or a person are not active.
SELECT
    i.outage_id,
    count(*)::int AS opened,
    (count(*) FILTER (WHERE r.status NOT IN ('evaluating', 'offered', 'awaiting_approval', 'refunding')))::int AS done,
    (count(*) FILTER (WHERE r.status = 'refunded'))::int AS refunded,
    (count(*) FILTER (WHERE r.status = 'retained'))::int AS retained,
    (count(*) FILTER (WHERE r.status = 'failed'))::int AS failed,
    (count(*) FILTER (WHERE r.status IN ('evaluating', 'refunding')))::int AS active
FROM remediation_items i JOIN refunds r ON r.id = i.refund_id
WHERE i.outage_id = ANY(@outage_ids::text[])
GROUP BY i.outage_id;

-- name: ListRemediationRuns :many
SELECT * FROM remediation_runs WHERE outage_id = ANY(@outage_ids::text[]);

-- name: DueRenewals :many
-- Membership renewals still ahead whose reminder is due by @due_before and
-- not sent yet, one per learner, membership and date.
SELECT DISTINCT ON (o.learner_id, o.product_id, o.next_renewal_at)
    o.id, o.learner_id, o.product_id, o.next_renewal_at::timestamptz AS renews_at
FROM orders o JOIN products p ON p.id = o.product_id
WHERE p.type = 'membership'
  AND o.next_renewal_at > @now::timestamptz
  AND o.next_renewal_at <= @due_before::timestamptz
  AND NOT EXISTS (
      SELECT 1 FROM renewal_reminders r
      WHERE r.learner_id = o.learner_id AND r.product_id = o.product_id
        AND r.renews_at = o.next_renewal_at AND r.sent_at IS NOT NULL)
ORDER BY o.learner_id, o.product_id, o.next_renewal_at, o.purchased_at DESC
LIMIT @max_rows;

-- name: ClaimRenewalReminder :one
-- Records the reminder before it is sent (or finds the one a previous try
-- recorded).
INSERT INTO renewal_reminders (learner_id, product_id, renews_at, order_id)
VALUES (@learner_id, @product_id, @renews_at, @order_id)
ON CONFLICT (learner_id, product_id, renews_at) DO UPDATE SET order_id = renewal_reminders.order_id
RETURNING *;

-- name: MarkRenewalReminderSent :one
UPDATE renewal_reminders SET sent_at = COALESCE(sent_at, @sent_at::timestamptz)
WHERE learner_id = @learner_id AND product_id = @product_id AND renews_at = @renews_at
RETURNING *;

-- name: RecordReminderOnRenewals :execrows
-- A renewal order the platform pushed before the reminder went out gets it
-- now; orders pushed later get it when they are stored (UpsertOrder).
UPDATE orders SET renewal_reminder_sent_at = @sent_at, updated_at = now()
WHERE learner_id = @learner_id AND product_id = @product_id
  AND renewal_period_start = @renews_at AND renewal_reminder_sent_at IS NULL;

-- name: ListRenewalReminders :many
SELECT * FROM renewal_reminders
WHERE learner_id = @learner_id AND product_id = @product_id
ORDER BY renews_at;

-- name: CohortOrders :many
-- Orders per course placed in the window.
SELECT o.product_id, count(*)::int AS orders
FROM orders o JOIN products p ON p.id = o.product_id
WHERE p.type IN ('recorded_course', 'live_course')
  AND o.purchased_at >= @window_start AND o.purchased_at < @window_end
GROUP BY o.product_id
ORDER BY o.product_id;

-- name: CohortRefundReasons :many
-- Of those orders, the ones refunded, by the reason of their first refund.
-- Cases opened by an outage remediation are the platform's fault, not the
-- course's, and are left out.
SELECT f.product_id, f.reason, count(*)::int AS refunds
FROM (
    SELECT DISTINCT ON (r.order_id) o.product_id, r.reason
    FROM refunds r JOIN orders o ON o.id = r.order_id
    WHERE r.status = 'refunded'
      AND o.purchased_at >= @window_start AND o.purchased_at < @window_end
      AND NOT EXISTS (SELECT 1 FROM remediation_items i WHERE i.refund_id = r.id)
    ORDER BY r.order_id, r.created_at
) f
GROUP BY f.product_id, f.reason
ORDER BY f.product_id, f.reason;

-- name: CohortRetained :many
-- What learners of those orders kept by accepting an offer instead of the
-- refund they were due.
SELECT o.product_id, r.currency, sum(r.amount)::bigint AS amount
FROM refunds r JOIN orders o ON o.id = r.order_id
WHERE r.status = 'retained' AND r.amount IS NOT NULL
  AND o.purchased_at >= @window_start AND o.purchased_at < @window_end
GROUP BY o.product_id, r.currency
ORDER BY o.product_id, r.currency;

-- name: ClearCourseAnalytics :exec
DELETE FROM course_analytics;

-- name: InsertCourseAnalytics :exec
INSERT INTO course_analytics (
    course_id, window_start, window_end, orders, refunds, refund_rate, median_rate, reasons, retained_revenue, computed_at
) VALUES (
    @course_id, @window_start, @window_end, @orders, @refunds, @refund_rate, @median_rate, @reasons, @retained_revenue, @computed_at
);

-- name: InsertCourseFlag :one
-- Flags a course unless a flag of it covers part of this window already.
INSERT INTO course_flags (id, course_id, kinds, window_start, window_end, figures, flagged_at)
SELECT @id, @course_id, @kinds, @window_start, @window_end, @figures, @flagged_at
WHERE NOT EXISTS (
    SELECT 1 FROM course_flags f WHERE f.course_id = @course_id AND f.window_end > @window_start)
ON CONFLICT (id) DO NOTHING
RETURNING *;

-- name: GetCourseFlag :one
SELECT * FROM course_flags WHERE id = @id;

-- name: ListCourseAnalytics :many
-- The latest figures with each course's flag in that window, if any (the
-- windows of a course's flags never overlap, so there is one at most).
SELECT a.*, p.title,
    f.id AS flag_id, f.kinds AS flag_kinds, f.flagged_at AS flagged_at, f.ticket_id AS flag_ticket_id
FROM course_analytics a
JOIN products p ON p.id = a.course_id
LEFT JOIN course_flags f ON f.course_id = a.course_id AND f.window_end > a.window_start
ORDER BY a.refund_rate DESC, a.course_id;

-- name: LinkCourseFlagTicket :exec
-- The course-review ticket a flag opened; set once.
UPDATE course_flags SET ticket_id = @ticket_id WHERE id = @id AND ticket_id IS NULL;
