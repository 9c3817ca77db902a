-- +goose Up
-- Bulk and scheduled work (SPEC 4.9): outage remediation runs and the case
-- each affected order got, the renewal date a membership order announces and
-- the reminders sent for it, and the refund-rate monitor's course figures and
-- flags.

-- One remediation per outage. total is the number of affected orders when
-- it started (made exact once every case is open); next_order_id is where
-- the next page of orders starts, so a canceled run resumes there.
CREATE TABLE remediation_runs (
    outage_id     text PRIMARY KEY REFERENCES outages (id),
    mode          text NOT NULL CHECK (mode IN ('refund', 'offer')),
    status        text NOT NULL CHECK (status IN ('running', 'completed', 'canceled')),
    total         integer NOT NULL DEFAULT 0 CHECK (total >= 0),
    next_order_id text NOT NULL DEFAULT '',
    all_opened    boolean NOT NULL DEFAULT false,
    -- The API key that started it; it stands as the requester of its cases.
    started_by    text NOT NULL,
    started_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    finished_at   timestamptz
);

-- The case an affected order got. The key makes opening a page of cases
-- idempotent: a retried or resumed page finds its cases instead of opening
-- new ones. refund_id is the remediation's own case, or the case the
-- learner had already opened for the order.
CREATE TABLE remediation_items (
    outage_id  text NOT NULL REFERENCES remediation_runs (outage_id),
    order_id   text NOT NULL REFERENCES orders (id),
    refund_id  text NOT NULL REFERENCES refunds (id),
    adopted    boolean NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (outage_id, order_id)
);
CREATE INDEX remediation_items_refund_idx ON remediation_items (refund_id);

-- A membership order may announce when it renews automatically; NULL means
-- it does not (or no longer does: the learner turned auto-renewal off).
ALTER TABLE orders ADD COLUMN next_renewal_at timestamptz;
CREATE INDEX orders_next_renewal_idx ON orders (next_renewal_at) WHERE next_renewal_at IS NOT NULL;

-- The reminders refundflow sent, one per learner, membership and renewal
-- date: a date that moves gets its own reminder; two orders announcing the
-- same renewal get one. sent_at is set once the email is out.
CREATE TABLE renewal_reminders (
    learner_id text NOT NULL,
    product_id text NOT NULL REFERENCES products (id),
    renews_at  timestamptz NOT NULL,
    order_id   text NOT NULL REFERENCES orders (id),
    sent_at    timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (learner_id, product_id, renews_at)
);

-- The monitor's latest figures per course (replaced by each run).
CREATE TABLE course_analytics (
    course_id        text PRIMARY KEY REFERENCES products (id),
    window_start     timestamptz NOT NULL,
    window_end       timestamptz NOT NULL,
    orders           integer NOT NULL,
    refunds          integer NOT NULL,
    refund_rate      double precision NOT NULL,
    median_rate      double precision NOT NULL,
    -- {"reason": count} over the refunds.
    reasons          jsonb NOT NULL,
    -- [{"currency", "amount"}]: what learners kept by taking an offer.
    retained_revenue jsonb NOT NULL,
    computed_at      timestamptz NOT NULL
);

-- A course the monitor flagged for the content team: at most once per
-- course within one window length (see the monitor), with the figures that
-- made it stand out. ticket_id is the course-review ticket once one is open.
CREATE TABLE course_flags (
    id           text PRIMARY KEY,
    course_id    text NOT NULL REFERENCES products (id),
    kinds        text[] NOT NULL,
    window_start timestamptz NOT NULL,
    window_end   timestamptz NOT NULL,
    figures      jsonb NOT NULL,
    flagged_at   timestamptz NOT NULL,
    ticket_id    text
);
CREATE INDEX course_flags_course_idx ON course_flags (course_id, window_end DESC);

-- +goose Down
DROP TABLE course_flags;
DROP TABLE course_analytics;
DROP TABLE renewal_reminders;
DROP INDEX orders_next_renewal_idx;
ALTER TABLE orders DROP COLUMN next_renewal_at;
DROP TABLE remediation_items;
DROP TABLE remediation_runs;
