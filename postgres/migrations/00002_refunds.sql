-- +goose Up
-- Refund cases: the read model the API serves, kept by the workflow's
-- activities (SPEC 4.5), and the refund policy versions (SPEC 4.3).

CREATE TABLE policies (
    name       text NOT NULL,
    version    integer NOT NULL CHECK (version > 0),
    body       jsonb NOT NULL,
    -- A version is in force for purchases from this instant on.
    in_force_from timestamptz NOT NULL DEFAULT now(),
    created_by text NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (name, version)
);

CREATE TABLE calendars (
    name       text PRIMARY KEY,
    definition jsonb NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE refunds (
    id               text PRIMARY KEY,
    order_id         text NOT NULL REFERENCES orders (id),
    learner_id       text NOT NULL,
    product_id       text NOT NULL,
    reason           text NOT NULL,
    description      text NOT NULL DEFAULT '',
    evidence         text[] NOT NULL DEFAULT '{}',
    skip_retention   boolean NOT NULL DEFAULT false,
    -- The API key that submitted the case: it may never approve it.
    submitted_by     text NOT NULL,
    idempotency_key  text,
    request_hash     bytea NOT NULL,
    status           text NOT NULL CHECK (status IN ('evaluating', 'offered', 'awaiting_approval', 'refunding',
                                                    'refunded', 'retained', 'rejected', 'withdrawn', 'failed')),
    currency         text NOT NULL,
    decision         jsonb,
    -- What the case will refund: the decision's amount, or what an approver set.
    amount           bigint CHECK (amount >= 0),
    escalation_level integer NOT NULL DEFAULT 1,
    sla_due_at       timestamptz,
    offer_expires_at timestamptz,
    appeal_until     timestamptz,
    appealed         boolean NOT NULL DEFAULT false,
    provider_refund_id text,
    payment_status   text,
    payment_amount   bigint,
    -- The workflow's sequence number of the last step written here: a late
    -- retry of an older step never overwrites a newer one.
    last_seq         integer NOT NULL DEFAULT 0,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    closed_at        timestamptz,
    UNIQUE (submitted_by, idempotency_key)
);
-- One open case per order (SPEC 5: a second request gets 409).
CREATE UNIQUE INDEX refunds_one_open_case_per_order ON refunds (order_id)
    WHERE status IN ('evaluating', 'offered', 'awaiting_approval', 'refunding');
CREATE INDEX refunds_status_idx ON refunds (status, created_at DESC, id DESC);
CREATE INDEX refunds_learner_idx ON refunds (learner_id, created_at DESC, id DESC);
CREATE INDEX refunds_order_idx ON refunds (order_id, created_at DESC, id DESC);
CREATE INDEX refunds_created_idx ON refunds (created_at DESC, id DESC);

-- Every step of a case, append-only: who, when, what.
CREATE TABLE refund_timeline (
    refund_id text NOT NULL REFERENCES refunds (id),
    seq       integer NOT NULL,
    at        timestamptz NOT NULL,
    actor     jsonb NOT NULL,
    event     text NOT NULL,
    status    text NOT NULL,
    detail    jsonb NOT NULL DEFAULT '{}',
    PRIMARY KEY (refund_id, seq)
);

CREATE TABLE refund_offers (
    refund_id  text NOT NULL REFERENCES refunds (id),
    id         text NOT NULL,
    kind       text NOT NULL CHECK (kind IN ('switch_course', 'extend_access', 'coupon', 'tutoring', 'reschedule')),
    title      text NOT NULL,
    detail     text NOT NULL,
    product_id text NOT NULL DEFAULT '',
    expires_at timestamptz NOT NULL,
    answer     text CHECK (answer IN ('accepted', 'declined', 'expired')),
    answered_at timestamptz,
    position   integer NOT NULL,
    PRIMARY KEY (refund_id, id)
);

CREATE TABLE refund_approvals (
    refund_id   text NOT NULL REFERENCES refunds (id),
    seq         integer NOT NULL,
    action      text NOT NULL CHECK (action IN ('approve', 'reject')),
    approver_id text NOT NULL,
    approver_name text NOT NULL,
    amount      bigint,
    note        text NOT NULL DEFAULT '',
    level       integer NOT NULL,
    at          timestamptz NOT NULL,
    PRIMARY KEY (refund_id, seq)
);

-- What the learner sees in the platform's app (and what email also said).
CREATE TABLE learner_messages (
    id         text PRIMARY KEY,
    learner_id text NOT NULL,
    refund_id  text,
    kind       text NOT NULL,
    locale     text NOT NULL,
    subject    text NOT NULL,
    body       text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX learner_messages_learner_idx ON learner_messages (learner_id, created_at DESC, id DESC);

-- Every email: sent through SMTP, or kept here as the dev sink.
CREATE TABLE emails (
    id          text PRIMARY KEY,
    to_address  text NOT NULL,
    subject     text NOT NULL,
    text_body   text NOT NULL,
    html_body   text NOT NULL,
    refund_id   text,
    status      text NOT NULL CHECK (status IN ('pending', 'sent', 'sink', 'failed')),
    attempts    integer NOT NULL DEFAULT 0,
    last_error  text NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL DEFAULT now(),
    sent_at     timestamptz
);
CREATE INDEX emails_created_idx ON emails (created_at DESC);

-- Signed webhooks to the platform; the id is the event id the platform dedupes on.
CREATE TABLE webhook_deliveries (
    id           text PRIMARY KEY,
    type         text NOT NULL,
    payload      jsonb NOT NULL,
    status       text NOT NULL CHECK (status IN ('pending', 'delivered', 'failed', 'not_configured')),
    attempts     integer NOT NULL DEFAULT 0,
    last_error   text NOT NULL DEFAULT '',
    created_at   timestamptz NOT NULL DEFAULT now(),
    delivered_at timestamptz
);

-- Notes for staff (approvers, ops): shown in the console, emailed when a key has an address.
CREATE TABLE staff_notifications (
    id         text PRIMARY KEY,
    audience   text NOT NULL CHECK (audience IN ('approver', 'agent', 'admin', 'finance')),
    kind       text NOT NULL,
    refund_id  text,
    subject    text NOT NULL,
    body       text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX staff_notifications_idx ON staff_notifications (audience, created_at DESC);

-- One row per try at moving money for a case; the idempotency key is
-- written here before Stripe is called (SPEC 4.6).
CREATE TABLE payment_attempts (
    refund_id          text NOT NULL REFERENCES refunds (id),
    attempt            integer NOT NULL CHECK (attempt > 0),
    idempotency_key    text NOT NULL UNIQUE,
    payment_intent     text NOT NULL,
    amount             bigint NOT NULL CHECK (amount > 0),
    currency           text NOT NULL,
    status             text NOT NULL CHECK (status IN ('reserved', 'pending', 'requires_action', 'succeeded', 'failed', 'canceled')),
    provider_refund_id text,
    failure_reason     text NOT NULL DEFAULT '',
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (refund_id, attempt)
);
CREATE UNIQUE INDEX payment_attempts_provider_idx ON payment_attempts (provider_refund_id) WHERE provider_refund_id IS NOT NULL;

ALTER TABLE api_keys ADD COLUMN email text NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE api_keys DROP COLUMN email;
DROP TABLE payment_attempts;
DROP TABLE staff_notifications;
DROP TABLE webhook_deliveries;
DROP TABLE emails;
DROP TABLE learner_messages;
DROP TABLE refund_approvals;
DROP TABLE refund_offers;
DROP TABLE refund_timeline;
DROP TABLE refunds;
DROP TABLE calendars;
DROP TABLE policies;
