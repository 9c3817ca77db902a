-- +goose Up
-- The facts the platform pushes (SPEC 4.1) and the API keys that let it.

CREATE TABLE products (
    id                  text PRIMARY KEY,
    type                text NOT NULL CHECK (type IN ('recorded_course', 'live_course', 'membership', 'consultation')),
    title               text NOT NULL,
    lessons_total       integer NOT NULL DEFAULT 0 CHECK (lessons_total >= 0),
    sessions_total      integer NOT NULL DEFAULT 0 CHECK (sessions_total >= 0),
    sessions_held       integer NOT NULL DEFAULT 0 CHECK (sessions_held >= 0 AND sessions_held <= sessions_total),
    starts_at           timestamptz,
    appointment_at      timestamptz,
    no_refund           boolean NOT NULL DEFAULT false,
    no_refund_disclosed boolean NOT NULL DEFAULT false,
    creator_account     text NOT NULL DEFAULT '',
    alternatives        text[] NOT NULL DEFAULT '{}',
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE orders (
    id                     text PRIMARY KEY,
    learner_id             text NOT NULL,
    learner_email          text NOT NULL,
    locale                 text NOT NULL CHECK (locale IN ('zh-CN', 'en')),
    product_id             text NOT NULL REFERENCES products (id),
    amount                 bigint NOT NULL CHECK (amount > 0),
    currency               text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    purchased_at           timestamptz NOT NULL,
    payment_intent         text NOT NULL,
    application_fee_amount bigint NOT NULL DEFAULT 0 CHECK (application_fee_amount >= 0 AND application_fee_amount <= amount),
    renewal_period_start   timestamptz,
    renewal_reminder_sent_at timestamptz,
    disputed               boolean NOT NULL DEFAULT false,
    -- Money that our own refunds have moved, and money a refund is moving
    -- right now. Derived by refundflow, never taken from the platform.
    refunded_amount        bigint NOT NULL DEFAULT 0 CHECK (refunded_amount >= 0),
    in_flight_amount       bigint NOT NULL DEFAULT 0 CHECK (in_flight_amount >= 0),
    -- The refund policy version in force at purchase.
    policy_name            text NOT NULL,
    policy_version         integer NOT NULL,
    created_at             timestamptz NOT NULL DEFAULT now(),
    updated_at             timestamptz NOT NULL DEFAULT now(),
    -- Money is never refunded beyond what was paid (SPEC 4.6).
    CONSTRAINT orders_refunds_within_paid CHECK (refunded_amount + in_flight_amount <= amount)
);
CREATE INDEX orders_learner_idx ON orders (learner_id, purchased_at);
CREATE INDEX orders_product_idx ON orders (product_id, purchased_at);
CREATE INDEX orders_payment_intent_idx ON orders (payment_intent);

-- Consumption only ever grows; the upsert keeps the maximum of each figure.
CREATE TABLE progress (
    order_id          text PRIMARY KEY REFERENCES orders (id),
    watched_ratio     double precision NOT NULL DEFAULT 0 CHECK (watched_ratio >= 0 AND watched_ratio <= 1),
    lessons_completed integer NOT NULL DEFAULT 0 CHECK (lessons_completed >= 0),
    sessions_attended integer NOT NULL DEFAULT 0 CHECK (sessions_attended >= 0),
    updated_at        timestamptz NOT NULL DEFAULT now()
);

-- An outage with no product ids hit every product.
CREATE TABLE outages (
    id          text PRIMARY KEY,
    product_ids text[] NOT NULL DEFAULT '{}',
    started_at  timestamptz NOT NULL,
    ended_at    timestamptz,
    reason      text NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL DEFAULT now(),
    CHECK (ended_at IS NULL OR ended_at > started_at)
);

CREATE TABLE api_keys (
    id              text PRIMARY KEY,
    name            text NOT NULL,
    role            text NOT NULL CHECK (role IN ('platform', 'agent', 'approver', 'admin')),
    -- SHA-256 of the secret: the key itself is shown once and never stored.
    key_hash        bytea NOT NULL UNIQUE,
    -- Approval limit in minor units by currency ("*" for any currency);
    -- NULL means no limit of the key's own.
    approval_limits jsonb,
    created_at      timestamptz NOT NULL DEFAULT now(),
    revoked_at      timestamptz,
    last_used_at    timestamptz
);

-- +goose Down
DROP TABLE api_keys;
DROP TABLE outages;
DROP TABLE progress;
DROP TABLE orders;
DROP TABLE products;
