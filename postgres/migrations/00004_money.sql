-- +goose Up
-- Money (SPEC 4.6, 4.7): Stripe's webhook events deduplicated by id, the
-- double-entry ledger, and the daily reconciliation with Stripe.

-- A refund that Stripe fails after it was booked is reversed once; this
-- says when (the attempt's status is then failed).
ALTER TABLE payment_attempts ADD COLUMN reversed_at timestamptz;

-- Every Stripe webhook event, once: a redelivery with the same id is
-- answered without acting again. processed_at stays empty until the event
-- was routed, so an event whose routing failed is routed again when Stripe
-- retries it.
CREATE TABLE stripe_events (
    id           text PRIMARY KEY,
    type         text NOT NULL,
    -- The Stripe object the event is about (a refund for refund.* events).
    object_id    text NOT NULL DEFAULT '',
    object_status text NOT NULL DEFAULT '',
    refund_id    text,
    outcome      text NOT NULL DEFAULT '',
    created_at   timestamptz NOT NULL,
    received_at  timestamptz NOT NULL DEFAULT now(),
    processed_at timestamptz
);
CREATE INDEX stripe_events_object_idx ON stripe_events (object_id);

-- The journal: one transaction per money event, in one currency, keyed so
-- that writing the same event twice is impossible.
CREATE TABLE ledger_transactions (
    id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    key                 text NOT NULL UNIQUE,
    kind                text NOT NULL CHECK (kind IN ('refund_succeeded', 'refund_failed', 'refund_reversed', 'manual_refund')),
    currency            text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    order_id            text NOT NULL REFERENCES orders (id),
    -- The case; empty for a refund made by hand in the Stripe dashboard.
    refund_id           text REFERENCES refunds (id),
    attempt             integer,
    provider_refund_id  text NOT NULL,
    -- When Stripe created the refund (reconciliation windows are Stripe's).
    provider_created_at timestamptz NOT NULL,
    -- full: the order is refunded in whole by this refund; partial: not.
    refund_type         text NOT NULL DEFAULT '' CHECK (refund_type IN ('', 'full', 'partial')),
    memo                text NOT NULL DEFAULT '',
    occurred_at         timestamptz NOT NULL DEFAULT now(),
    UNIQUE (id, currency)
);
CREATE INDEX ledger_transactions_occurred_idx ON ledger_transactions (occurred_at);
CREATE INDEX ledger_transactions_provider_idx ON ledger_transactions (provider_refund_id);
CREATE INDEX ledger_transactions_provider_created_idx ON ledger_transactions (provider_created_at);
CREATE INDEX ledger_transactions_order_idx ON ledger_transactions (order_id);

-- Postings: each one side of one account, in the transaction's currency
-- (the foreign key on (transaction_id, currency) makes mixing impossible).
CREATE TABLE ledger_postings (
    transaction_id bigint NOT NULL,
    line           integer NOT NULL CHECK (line > 0),
    account        text NOT NULL CHECK (account IN ('refunds', 'stripe_balance', 'creator_payable',
                                                    'application_fees', 'stripe_fees', 'stripe_fees_unrecovered')),
    -- The counterparty within the account: the creator's connected account
    -- for creator_payable, empty otherwise.
    party          text NOT NULL DEFAULT '',
    currency       text NOT NULL,
    debit          bigint NOT NULL DEFAULT 0 CHECK (debit >= 0),
    credit         bigint NOT NULL DEFAULT 0 CHECK (credit >= 0),
    CHECK ((debit > 0) <> (credit > 0)),
    PRIMARY KEY (transaction_id, line),
    FOREIGN KEY (transaction_id, currency) REFERENCES ledger_transactions (id, currency)
);
CREATE INDEX ledger_postings_account_idx ON ledger_postings (account, party);

-- Append-only: corrections are new transactions, never edits.
-- +goose StatementBegin
CREATE FUNCTION ledger_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the ledger is append-only: % on % is not allowed', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'restrict_violation';
END;
$$;
-- +goose StatementEnd
CREATE TRIGGER ledger_transactions_append_only BEFORE UPDATE OR DELETE ON ledger_transactions
    FOR EACH ROW EXECUTE FUNCTION ledger_append_only();
CREATE TRIGGER ledger_transactions_no_truncate BEFORE TRUNCATE ON ledger_transactions
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_append_only();
CREATE TRIGGER ledger_postings_append_only BEFORE UPDATE OR DELETE ON ledger_postings
    FOR EACH ROW EXECUTE FUNCTION ledger_append_only();
CREATE TRIGGER ledger_postings_no_truncate BEFORE TRUNCATE ON ledger_postings
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_append_only();

-- Every transaction balances, checked at commit (its postings are written
-- one by one): at least two postings, debits equal to credits.
-- +goose StatementBegin
CREATE FUNCTION ledger_check_balanced() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    tx bigint;
    n integer;
    dr bigint;
    cr bigint;
BEGIN
    IF TG_TABLE_NAME = 'ledger_transactions' THEN
        tx := NEW.id;
    ELSE
        tx := NEW.transaction_id;
    END IF;
    SELECT count(*), COALESCE(sum(debit), 0), COALESCE(sum(credit), 0) INTO n, dr, cr
    FROM ledger_postings WHERE transaction_id = tx;
    IF n < 2 OR dr <> cr THEN
        RAISE EXCEPTION 'ledger transaction % does not balance: % postings, debits %, credits %', tx, n, dr, cr
            USING ERRCODE = 'check_violation', CONSTRAINT = 'ledger_balanced';
    END IF;
    RETURN NULL;
END;
$$;
-- +goose StatementEnd
CREATE CONSTRAINT TRIGGER ledger_transactions_balanced AFTER INSERT ON ledger_transactions
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION ledger_check_balanced();
CREATE CONSTRAINT TRIGGER ledger_postings_balanced AFTER INSERT ON ledger_postings
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION ledger_check_balanced();

-- One reconciliation of Stripe's refunds created in [window_from, window_to)
-- with the ledger; the id is the workflow's id.
CREATE TABLE reconciliation_runs (
    id             text PRIMARY KEY,
    trigger        text NOT NULL CHECK (trigger IN ('schedule', 'manual')),
    window_from    timestamptz NOT NULL,
    window_to      timestamptz NOT NULL,
    status         text NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'finished')),
    stripe_refunds integer NOT NULL DEFAULT 0,
    matched        integer NOT NULL DEFAULT 0,
    pending        integer NOT NULL DEFAULT 0,
    findings       integer NOT NULL DEFAULT 0,
    adopted        integer NOT NULL DEFAULT 0,
    started_at     timestamptz NOT NULL DEFAULT now(),
    finished_at    timestamptz,
    CHECK (window_to > window_from)
);
CREATE INDEX reconciliation_runs_started_idx ON reconciliation_runs (started_at DESC);

-- Every Stripe refund a run looked at and what it made of it.
CREATE TABLE reconciliation_items (
    run_id             text NOT NULL REFERENCES reconciliation_runs (id),
    provider_refund_id text NOT NULL,
    outcome            text NOT NULL CHECK (outcome IN ('matched', 'pending', 'in_flight', 'finding')),
    PRIMARY KEY (run_id, provider_refund_id)
);

-- What a person must look at (or was told about: adopted manual refunds).
CREATE TABLE reconciliation_findings (
    run_id             text NOT NULL REFERENCES reconciliation_runs (id),
    provider_refund_id text NOT NULL,
    kind               text NOT NULL CHECK (kind IN ('missing_in_ledger', 'missing_in_stripe', 'amount_mismatch',
                                                     'manual_refund_adopted', 'manual_refund_pending',
                                                     'manual_refund_unmatched', 'adoption_refused')),
    refund_id          text NOT NULL DEFAULT '',
    order_id           text NOT NULL DEFAULT '',
    payment_intent     text NOT NULL DEFAULT '',
    currency           text NOT NULL DEFAULT '',
    stripe_status      text NOT NULL DEFAULT '',
    -- What moved according to Stripe (NULL: Stripe has no such refund) and
    -- what the ledger holds as refunded for it.
    stripe_amount      bigint,
    ledger_amount      bigint NOT NULL DEFAULT 0,
    detail             text NOT NULL DEFAULT '',
    created_at         timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (run_id, provider_refund_id)
);

-- +goose Down
DROP TABLE reconciliation_findings;
DROP TABLE reconciliation_items;
DROP TABLE reconciliation_runs;
DROP TABLE ledger_postings;
DROP TABLE ledger_transactions;
DROP FUNCTION ledger_check_balanced();
DROP FUNCTION ledger_append_only();
DROP TABLE stripe_events;
ALTER TABLE payment_attempts DROP COLUMN reversed_at;
