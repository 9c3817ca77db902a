-- name: GetSLAPolicy :one
SELECT * FROM sla_policies WHERE tier = @tier;

-- name: UpsertSLAPolicy :one
INSERT INTO sla_policies (tier, calendar, first_response_ns, resolution_ns, warn_at, updated_by, updated_at)
VALUES (@tier, @calendar, @first_response_ns, @resolution_ns, @warn_at, @updated_by, now())
ON CONFLICT (tier) DO UPDATE SET
    calendar = excluded.calendar, first_response_ns = excluded.first_response_ns,
    resolution_ns = excluded.resolution_ns, warn_at = excluded.warn_at,
    updated_by = excluded.updated_by, updated_at = excluded.updated_at
RETURNING *;

-- name: InsertTicket :execrows
-- Opening a ticket twice (an API retry, a workflow retry) keeps the first.
INSERT INTO tickets (
    id, status, tier, priority, learner_id, learner_email, locale, order_id, refund_id, subject,
    opened_by, opened_at, policy, escalation_level, sla, sla_state, sla_paused, next_due_at, created_at, updated_at
) VALUES (
    @id, 'open', @tier, @priority, @learner_id, @learner_email, @locale, sqlc.narg(order_id), sqlc.narg(refund_id), @subject,
    @opened_by, @opened_at, @policy, @escalation_level, @sla, 'ok', false, sqlc.narg(next_due_at), @opened_at, @opened_at
)
ON CONFLICT (id) DO NOTHING;

-- name: GetTicket :one
SELECT * FROM tickets WHERE id = @id;

-- name: ListTickets :many
-- Keyset pagination, newest first; the cursor is the last row's (created_at, id).
SELECT * FROM tickets
WHERE (sqlc.narg(status)::text IS NULL OR status = sqlc.narg(status))
  AND (sqlc.narg(tier)::text IS NULL OR tier = sqlc.narg(tier))
  AND (sqlc.narg(level)::integer IS NULL OR escalation_level = sqlc.narg(level))
  AND (sqlc.narg(sla_state)::text IS NULL OR sla_state = sqlc.narg(sla_state))
  AND (sqlc.narg(learner_id)::text IS NULL OR learner_id = sqlc.narg(learner_id))
  AND (sqlc.narg(order_id)::text IS NULL OR order_id = sqlc.narg(order_id))
  AND (sqlc.narg(refund_id)::text IS NULL OR refund_id = sqlc.narg(refund_id))
  AND (sqlc.narg(cursor_at)::timestamptz IS NULL OR (created_at, id) < (sqlc.narg(cursor_at)::timestamptz, sqlc.narg(cursor_id)::text))
ORDER BY created_at DESC, id DESC
LIMIT @max_rows;

-- name: RecordTicketStep :execrows
-- Writes the ticket's snapshot as of step @last_seq. A retried or late
-- write of an older step changes nothing.
UPDATE tickets SET
    status = @status,
    escalation_level = @escalation_level,
    sla = @sla,
    sla_state = @sla_state,
    sla_paused = @sla_paused,
    next_due_at = sqlc.narg(next_due_at),
    first_response_at = sqlc.narg(first_response_at),
    first_response_business_ns = sqlc.narg(first_response_business_ns),
    first_responder_id = sqlc.narg(first_responder_id),
    first_responder_name = sqlc.narg(first_responder_name),
    resolved_at = sqlc.narg(resolved_at),
    resolution_business_ns = sqlc.narg(resolution_business_ns),
    resolver_id = sqlc.narg(resolver_id),
    agent_messages = @agent_messages,
    reopens = @reopens,
    closed_at = sqlc.narg(closed_at),
    last_seq = @last_seq,
    updated_at = @at
WHERE id = @id AND last_seq < @last_seq;

-- name: InsertTicketMessage :exec
INSERT INTO ticket_messages (ticket_id, seq, author, actor, body, at)
VALUES (@ticket_id, @seq, @author, @actor, @body, @at)
ON CONFLICT (ticket_id, seq) DO NOTHING;

-- name: ListTicketMessages :many
SELECT * FROM ticket_messages WHERE ticket_id = @ticket_id ORDER BY seq;

-- name: InsertTicketTimelineEntry :exec
INSERT INTO ticket_timeline (ticket_id, seq, at, actor, event, status, detail)
VALUES (@ticket_id, @seq, @at, @actor, @event, @status, @detail)
ON CONFLICT (ticket_id, seq) DO NOTHING;

-- name: GetTicketTimelineEntry :one
SELECT * FROM ticket_timeline WHERE ticket_id = @ticket_id AND seq = @seq;

-- name: DeleteTicketTimelineFrom :exec
-- Forgets the steps from @seq on (see rewindTicket), with their messages
-- and SLA events (the next two queries).
DELETE FROM ticket_timeline WHERE ticket_id = @ticket_id AND seq >= @seq;

-- name: DeleteTicketMessagesFrom :exec
DELETE FROM ticket_messages WHERE ticket_id = @ticket_id AND seq >= @seq;

-- name: DeleteSLAEventsFrom :exec
DELETE FROM sla_events WHERE ticket_id = @ticket_id AND seq >= @seq;

-- name: RewindTicketTo :exec
UPDATE tickets SET last_seq = @last_seq WHERE id = @id AND last_seq > @last_seq;

-- name: ListTicketTimeline :many
SELECT * FROM ticket_timeline WHERE ticket_id = @ticket_id ORDER BY seq;

-- name: InsertSLAEvent :exec
INSERT INTO sla_events (ticket_id, seq, kind, target, at, due_at, level)
VALUES (@ticket_id, @seq, @kind, @target, @at, @due_at, @level)
ON CONFLICT (ticket_id, seq) DO NOTHING;

-- name: ListSLAEvents :many
SELECT * FROM sla_events WHERE ticket_id = @ticket_id ORDER BY seq;

-- name: UpsertTicketCSAT :one
-- Only a resolved or closed ticket can be rated; a new rating replaces the
-- old one (the learner is asked again after a reopened ticket is resolved).
INSERT INTO ticket_csat (ticket_id, score, comment, rated_by, rated_at)
SELECT t.id, @score, @comment, @rated_by, @rated_at
FROM tickets t WHERE t.id = @ticket_id AND t.status IN ('resolved', 'closed')
ON CONFLICT (ticket_id) DO UPDATE SET
    score = excluded.score, comment = excluded.comment, rated_by = excluded.rated_by, rated_at = excluded.rated_at
RETURNING *;

-- name: GetTicketCSAT :one
SELECT * FROM ticket_csat WHERE ticket_id = @ticket_id;

-- name: SLAReport :many
-- The SLA report (SPEC 4.8) for tickets opened in [@from, @to), one row per
-- group: by tier, and by the agent who answered first (an empty key for
-- tickets nobody answered). Times are business time on each ticket's
-- calendar, in nanoseconds; first-contact resolution is a resolved ticket
-- with one agent message that was never reopened.
WITH t AS (
    SELECT tk.*, c.score
    FROM tickets tk LEFT JOIN ticket_csat c ON c.ticket_id = tk.id
    WHERE tk.opened_at >= @from_at::timestamptz AND tk.opened_at < @to_at::timestamptz
), grouped AS (
    SELECT 'tier'::text AS grouping, tier AS key, ''::text AS name, t.* FROM t
    UNION ALL
    SELECT 'agent'::text, COALESCE(first_responder_id, ''), COALESCE(first_responder_name, ''), t.* FROM t
)
SELECT grouping, key, MAX(name)::text AS name,
    count(*)::bigint AS tickets,
    count(*) FILTER (WHERE sla_state = 'breached')::bigint AS breached,
    count(first_response_business_ns)::bigint AS responded,
    COALESCE(percentile_cont(0.5) WITHIN GROUP (ORDER BY first_response_business_ns), 0)::float8 AS first_response_p50_ns,
    COALESCE(percentile_cont(0.9) WITHIN GROUP (ORDER BY first_response_business_ns), 0)::float8 AS first_response_p90_ns,
    count(resolution_business_ns)::bigint AS resolved,
    COALESCE(percentile_cont(0.5) WITHIN GROUP (ORDER BY resolution_business_ns), 0)::float8 AS resolution_p50_ns,
    COALESCE(percentile_cont(0.9) WITHIN GROUP (ORDER BY resolution_business_ns), 0)::float8 AS resolution_p90_ns,
    count(*) FILTER (WHERE resolution_business_ns IS NOT NULL AND agent_messages = 1 AND reopens = 0)::bigint AS first_contact_resolutions,
    count(score)::bigint AS csat_count,
    COALESCE(avg(score), 0)::float8 AS csat_average
FROM grouped
GROUP BY grouping, key
ORDER BY grouping DESC, key;

-- name: DeleteUnstartedTicket :exec
-- Undoes an opening whose workflow could not be started; a ticket any
-- step was recorded for is never deleted.
WITH gone AS (
    DELETE FROM tickets WHERE tickets.id = @id AND tickets.last_seq = 0 RETURNING tickets.id AS ticket_id
), messages AS (
    DELETE FROM ticket_messages m USING gone WHERE m.ticket_id = gone.ticket_id
)
DELETE FROM ticket_timeline tl USING gone WHERE tl.ticket_id = gone.ticket_id;
