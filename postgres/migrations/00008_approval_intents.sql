-- +goose Up
-- What an approver asked for, written by the API (or the console) for the
-- key it authenticated, before the approval goes to the case's workflow as
-- an update. The workflow acts on this row — the key as it stands now and
-- what it asked — never on what the update carries, so an update sent
-- around the API (from the Temporal UI, say) cannot approve anything.
CREATE TABLE approval_intents (
    id         text PRIMARY KEY,
    refund_id  text NOT NULL REFERENCES refunds (id),
    key_id     text NOT NULL REFERENCES api_keys (id),
    action     text NOT NULL CHECK (action IN ('approve', 'reject')),
    amount     bigint CHECK (amount > 0),
    note       text NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL DEFAULT now(),
    -- The update that acted on it: an intent is used once.
    used_by    text
);
CREATE INDEX approval_intents_refund_idx ON approval_intents (refund_id);

-- +goose Down
DROP TABLE approval_intents;
