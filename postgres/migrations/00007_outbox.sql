-- +goose Up
-- The transactional outbox (SPEC 4.5 step 5): a step writes its emails and
-- platform events in its own transaction; the workers deliver them apart,
-- at least once, with backoff, and a message that keeps failing ends in a
-- visible dead letter. A claim moves next_attempt_at forward by a lease, so
-- a worker killed in the middle of a send gives the message back when the
-- lease runs out.

UPDATE emails SET status = 'dead' WHERE status = 'failed';
ALTER TABLE emails DROP CONSTRAINT emails_status_check;
ALTER TABLE emails ADD CONSTRAINT emails_status_check CHECK (status IN ('pending', 'sent', 'sink', 'dead'));
ALTER TABLE emails ADD COLUMN next_attempt_at timestamptz NOT NULL DEFAULT now();
ALTER TABLE emails ADD COLUMN ticket_id text;
CREATE INDEX emails_due_idx ON emails (next_attempt_at) WHERE status = 'pending';
CREATE INDEX emails_dead_idx ON emails (created_at DESC) WHERE status = 'dead';

UPDATE webhook_deliveries SET status = 'dead' WHERE status = 'failed';
ALTER TABLE webhook_deliveries DROP CONSTRAINT webhook_deliveries_status_check;
ALTER TABLE webhook_deliveries ADD CONSTRAINT webhook_deliveries_status_check
    CHECK (status IN ('pending', 'delivered', 'not_configured', 'dead'));
ALTER TABLE webhook_deliveries ADD COLUMN next_attempt_at timestamptz NOT NULL DEFAULT now();
-- The case or ticket the event is about.
ALTER TABLE webhook_deliveries ADD COLUMN refund_id text;
ALTER TABLE webhook_deliveries ADD COLUMN ticket_id text;
CREATE INDEX webhook_deliveries_due_idx ON webhook_deliveries (next_attempt_at) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_dead_idx ON webhook_deliveries (created_at DESC) WHERE status = 'dead';
CREATE INDEX webhook_deliveries_refund_idx ON webhook_deliveries (refund_id) WHERE refund_id IS NOT NULL;

-- Every try at delivering a platform event: when, what the receiver
-- answered, how long it took.
CREATE TABLE webhook_attempts (
    delivery_id text NOT NULL REFERENCES webhook_deliveries (id),
    attempt     integer NOT NULL,
    at          timestamptz NOT NULL,
    http_status integer,
    latency_ms  integer NOT NULL,
    error       text NOT NULL DEFAULT '',
    PRIMARY KEY (delivery_id, attempt)
);

ALTER TABLE staff_notifications ADD COLUMN ticket_id text;

-- +goose Down
ALTER TABLE staff_notifications DROP COLUMN ticket_id;
DROP TABLE webhook_attempts;
DROP INDEX webhook_deliveries_refund_idx;
DROP INDEX webhook_deliveries_dead_idx;
DROP INDEX webhook_deliveries_due_idx;
ALTER TABLE webhook_deliveries DROP COLUMN ticket_id;
ALTER TABLE webhook_deliveries DROP COLUMN refund_id;
ALTER TABLE webhook_deliveries DROP COLUMN next_attempt_at;
ALTER TABLE webhook_deliveries DROP CONSTRAINT webhook_deliveries_status_check;
UPDATE webhook_deliveries SET status = 'failed' WHERE status = 'dead';
ALTER TABLE webhook_deliveries ADD CONSTRAINT webhook_deliveries_status_check
    CHECK (status IN ('pending', 'delivered', 'failed', 'not_configured'));
DROP INDEX emails_dead_idx;
DROP INDEX emails_due_idx;
ALTER TABLE emails DROP COLUMN ticket_id;
ALTER TABLE emails DROP COLUMN next_attempt_at;
ALTER TABLE emails DROP CONSTRAINT emails_status_check;
UPDATE emails SET status = 'failed' WHERE status = 'dead';
ALTER TABLE emails ADD CONSTRAINT emails_status_check CHECK (status IN ('pending', 'sent', 'sink', 'failed'));
