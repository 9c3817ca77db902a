-- +goose Up
-- Tickets and their SLAs (SPEC 4.8): the SLA policy of each tier, the
-- tickets' read model kept by the EscalationWorkflow's activities, their
-- messages and timeline, every SLA warning and breach, and the learners'
-- ratings (CSAT).

-- Targets are nanoseconds of business time on the calendar (Go durations).
CREATE TABLE sla_policies (
    tier              text PRIMARY KEY CHECK (tier IN ('free', 'paid', 'vip')),
    calendar          text NOT NULL,
    first_response_ns bigint NOT NULL CHECK (first_response_ns > 0),
    resolution_ns     bigint NOT NULL CHECK (resolution_ns > 0),
    warn_at           double precision NOT NULL CHECK (warn_at > 0 AND warn_at < 1),
    updated_by        text NOT NULL DEFAULT '',
    updated_at        timestamptz NOT NULL DEFAULT now()
);
-- The defaults of SPEC 4.8: free 24h / 72h on the cn business calendar
-- (09:00-17:30), paid 2h / 24h and vip 30m / 4h around the clock.
INSERT INTO sla_policies (tier, calendar, first_response_ns, resolution_ns, warn_at, updated_by) VALUES
    ('free', 'cn',   86400000000000, 259200000000000, 0.8, 'default'),
    ('paid', '24x7', 7200000000000,  86400000000000,  0.8, 'default'),
    ('vip',  '24x7', 1800000000000,  14400000000000,  0.8, 'default');

CREATE TABLE tickets (
    id               text PRIMARY KEY,
    status           text NOT NULL CHECK (status IN ('open', 'waiting_on_customer', 'resolved', 'closed')),
    tier             text NOT NULL CHECK (tier IN ('free', 'paid', 'vip')),
    priority         text NOT NULL CHECK (priority IN ('normal', 'urgent')),
    learner_id       text NOT NULL,
    learner_email    text NOT NULL DEFAULT '',
    locale           text NOT NULL CHECK (locale IN ('zh-CN', 'en')),
    order_id         text REFERENCES orders (id),
    refund_id        text REFERENCES refunds (id),
    subject          text NOT NULL,
    opened_by        jsonb NOT NULL,
    opened_at        timestamptz NOT NULL,
    -- The tier's policy when the ticket opened, priority applied: editing
    -- the policy later does not move this ticket's deadlines.
    policy           jsonb NOT NULL,
    escalation_level integer NOT NULL CHECK (escalation_level BETWEEN 1 AND 3),
    -- The SLA as of the last step (the API's "sla" object), and what queues
    -- filter and sort on.
    sla              jsonb NOT NULL,
    sla_state        text NOT NULL CHECK (sla_state IN ('ok', 'warning', 'breached')),
    sla_paused       boolean NOT NULL DEFAULT false,
    next_due_at      timestamptz,
    -- What the SLA report measures: business time each target took, who
    -- answered first and who resolved.
    first_response_at          timestamptz,
    first_response_business_ns bigint,
    first_responder_id         text,
    first_responder_name       text,
    resolved_at                timestamptz,
    resolution_business_ns     bigint,
    resolver_id                text,
    agent_messages   integer NOT NULL DEFAULT 0,
    reopens          integer NOT NULL DEFAULT 0,
    -- The workflow's sequence number of the last step written here: a late
    -- retry of an older step never overwrites a newer one.
    last_seq         integer NOT NULL DEFAULT 0,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    closed_at        timestamptz
);
CREATE INDEX tickets_created_idx ON tickets (created_at DESC, id DESC);
CREATE INDEX tickets_status_idx ON tickets (status, created_at DESC, id DESC);
CREATE INDEX tickets_learner_idx ON tickets (learner_id, created_at DESC, id DESC);
CREATE INDEX tickets_refund_idx ON tickets (refund_id) WHERE refund_id IS NOT NULL;
CREATE INDEX tickets_order_idx ON tickets (order_id) WHERE order_id IS NOT NULL;

-- The conversation; seq is the step that added the message (0: the
-- learner's first message, written when the ticket opens).
CREATE TABLE ticket_messages (
    ticket_id text NOT NULL REFERENCES tickets (id),
    seq       integer NOT NULL,
    author    text NOT NULL CHECK (author IN ('agent', 'customer')),
    actor     jsonb NOT NULL,
    body      text NOT NULL,
    at        timestamptz NOT NULL,
    PRIMARY KEY (ticket_id, seq)
);

-- Every step of a ticket, append-only: who, when, what.
CREATE TABLE ticket_timeline (
    ticket_id text NOT NULL REFERENCES tickets (id),
    seq       integer NOT NULL,
    at        timestamptz NOT NULL,
    actor     jsonb NOT NULL,
    event     text NOT NULL,
    status    text NOT NULL,
    detail    jsonb NOT NULL DEFAULT '{}',
    PRIMARY KEY (ticket_id, seq)
);

-- Every warning and breach, at the instant the clock reached it.
CREATE TABLE sla_events (
    ticket_id text NOT NULL REFERENCES tickets (id),
    seq       integer NOT NULL,
    kind      text NOT NULL CHECK (kind IN ('warning', 'breach')),
    target    text NOT NULL CHECK (target IN ('first_response', 'resolution')),
    at        timestamptz NOT NULL,
    due_at    timestamptz NOT NULL,
    level     integer NOT NULL,
    PRIMARY KEY (ticket_id, seq)
);
CREATE INDEX sla_events_at_idx ON sla_events (at);

-- The learner's rating after resolution; the latest one counts.
CREATE TABLE ticket_csat (
    ticket_id text PRIMARY KEY REFERENCES tickets (id),
    score     integer NOT NULL CHECK (score BETWEEN 1 AND 5),
    comment   text NOT NULL DEFAULT '',
    rated_by  text NOT NULL,
    rated_at  timestamptz NOT NULL
);

-- +goose Down
DROP TABLE ticket_csat;
DROP TABLE sla_events;
DROP TABLE ticket_timeline;
DROP TABLE ticket_messages;
DROP TABLE tickets;
DROP TABLE sla_policies;
