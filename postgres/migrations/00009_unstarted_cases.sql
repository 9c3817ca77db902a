-- +goose Up
-- The sweeper looks every minute for cases that recorded nothing since
-- they were opened: few rows, so a small partial index.
CREATE INDEX refunds_unstarted_idx ON refunds (created_at) WHERE status = 'evaluating' AND last_seq = 0;

-- +goose Down
DROP INDEX refunds_unstarted_idx;
