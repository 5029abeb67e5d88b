-- +goose Up
-- What some server instance has live subscribers for. Transactions notify
-- (pg_notify, delivered at commit) only for watched products and carts:
-- PostgreSQL serialises the commits of notifying transactions, so
-- unwatched changes must not pay for it. Instances refresh their rows
-- while subscribers stay; UNLOGGED because it is rebuilt within seconds
-- after a crash.
CREATE UNLOGGED TABLE watches (
    channel text        NOT NULL,
    id      text        NOT NULL,
    until   timestamptz NOT NULL,
    PRIMARY KEY (channel, id)
);

-- +goose Down
DROP TABLE watches;
