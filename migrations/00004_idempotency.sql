-- +goose Up
-- Idempotency records: one per (cart, key), written in the same transaction
-- as the effect they guard, holding a hash of the normalised input and the
-- outcome to replay.
CREATE TABLE idempotency_keys (
    cart_id      text        NOT NULL,
    key          text        NOT NULL,
    operation    text        NOT NULL,
    request_hash bytea       NOT NULL,
    response     jsonb       NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL,
    PRIMARY KEY (cart_id, key)
);
CREATE INDEX idempotency_keys_expires_idx ON idempotency_keys (expires_at);

-- +goose Down
DROP TABLE idempotency_keys;
