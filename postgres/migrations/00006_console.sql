-- +goose Up
-- Console sign-ins: the cookie holds a random token; only its hash is kept.
CREATE TABLE console_sessions (
    token_hash bytea PRIMARY KEY,
    key_id     text NOT NULL REFERENCES api_keys (id),
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL
);
CREATE INDEX console_sessions_expiry_idx ON console_sessions (expires_at);

-- +goose Down
DROP TABLE console_sessions;
