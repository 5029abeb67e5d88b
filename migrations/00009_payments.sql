-- +goose Up
-- Checkout with payment (issue 13). An order may now wait for its payment:
--
--   PENDING_PAYMENT  its lines are still held (products.held), not sold;
--   PLACED           sold (a 'sale' movement per line), as plain checkout;
--   PAYMENT_EXPIRED  the payment failed or its dueAt passed: holds released;
--   REFUND_REQUIRED  paid, but the units could not be had (or the order had
--                    been cancelled): the money goes back;
--   REFUNDED         the refund was issued.
--
-- Every transition is a conditional UPDATE (WHERE status = ...) on the
-- order row inside one transaction (storage/payments.go); these constraints
-- are the backstop.
ALTER TABLE orders DROP CONSTRAINT orders_status_check;
ALTER TABLE orders ADD CONSTRAINT orders_status_known CHECK (status IN
    ('PLACED', 'CANCELLED', 'PENDING_PAYMENT', 'PAYMENT_EXPIRED', 'REFUND_REQUIRED', 'REFUNDED'));
-- A cancelled order keeps its cancelled_at; an order cancelled before it was
-- paid that is paid all the same becomes REFUND_REQUIRED and keeps it too.
ALTER TABLE orders DROP CONSTRAINT orders_check;
ALTER TABLE orders ADD CONSTRAINT orders_cancelled_at_set CHECK (status <> 'CANCELLED' OR cancelled_at IS NOT NULL);

-- At most one payment per order (the primary key). amount and currency are
-- the order's total when the payment was begun; reference is the
-- provider's id (a Stripe PaymentIntent id; the manual provider's confirmed
-- reference); client_secret is what a storefront confirms the payment with.
CREATE TABLE payments (
    order_id      text        PRIMARY KEY REFERENCES orders (id) ON DELETE CASCADE,
    provider      text        NOT NULL CHECK (provider ~ '^[a-z][a-z0-9_]{0,31}$'),
    status        text        NOT NULL DEFAULT 'PENDING'
                              CONSTRAINT payments_status_known CHECK (status IN ('PENDING', 'SUCCEEDED', 'FAILED', 'EXPIRED', 'REFUNDED')),
    amount_cents  bigint      NOT NULL CHECK (amount_cents >= 0),
    currency      text        NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    reference     text,
    client_secret text,
    due_at        timestamptz NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    succeeded_at  timestamptz,
    CONSTRAINT payments_succeeded_at_set CHECK ((status IN ('SUCCEEDED', 'REFUNDED')) = (succeeded_at IS NOT NULL))
);
-- The payment reaper looks for pending payments past their due time.
CREATE INDEX payments_pending_due_idx ON payments (due_at) WHERE status = 'PENDING';

-- Provider events already applied: a redelivered event finds its id here
-- and changes nothing. Written in the transaction of the transition it
-- caused, so an event is recorded if and only if its effect committed.
CREATE TABLE payment_events (
    provider    text        NOT NULL,
    event_id    text        NOT NULL,
    order_id    text        NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    type        text        NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (provider, event_id)
);

-- Side effects at the provider that follow a committed transition (cancel
-- the PaymentIntent of an expired order, refund a paid order that cannot be
-- served): an outbox, written in the transition's transaction and worked
-- off by claimers with FOR UPDATE SKIP LOCKED, retried with backoff until
-- the provider confirms. One action of each kind per order.
CREATE TABLE payment_actions (
    id              bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    order_id        text        NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    kind            text        NOT NULL CHECK (kind IN ('cancel', 'refund')),
    state           text        NOT NULL DEFAULT 'PENDING'
                                CHECK (state IN ('PENDING', 'DONE', 'FAILED', 'MANUAL')),
    attempts        integer     NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    last_error      text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    done_at         timestamptz,
    CONSTRAINT payment_actions_once UNIQUE (order_id, kind),
    CHECK ((state = 'PENDING') = (done_at IS NULL))
);
CREATE INDEX payment_actions_due_idx ON payment_actions (next_attempt_at) WHERE state = 'PENDING';

-- Pending orders' lines are counted in products.held: the audit and the
-- reaper find them by status.
CREATE INDEX orders_pending_idx ON orders (id) WHERE status = 'PENDING_PAYMENT';

-- +goose Down
DROP INDEX orders_pending_idx;
DROP TABLE payment_actions;
DROP TABLE payment_events;
DROP TABLE payments;
ALTER TABLE orders DROP CONSTRAINT orders_cancelled_at_set;
ALTER TABLE orders DROP CONSTRAINT orders_status_known;
ALTER TABLE orders ADD CONSTRAINT orders_check CHECK ((status = 'CANCELLED') = (cancelled_at IS NOT NULL));
ALTER TABLE orders ADD CONSTRAINT orders_status_check CHECK (status IN ('PLACED', 'CANCELLED'));
