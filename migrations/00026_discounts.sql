-- +goose Up
-- Discount codes, whose uses are held like stock (docs/discounts.md).
--
-- A code's uses are counted on its own row: uses_held (carts and orders
-- awaiting payment that hold a use) and uses_count (uses consumed by placed
-- orders). Their sum never passes usage_limit (discount_codes_uses_within).
--
-- Every use is a row of discount_uses, 'held' or 'consumed'; a released use
-- is a deleted row. A trigger on discount_uses moves the code's counters
-- with every insert, state change and delete, and an insert (the only way
-- to take a use) runs ONE conditional UPDATE of the code's row:
--   UPDATE discount_codes SET uses_held = uses_held + 1
--   WHERE id = $1 AND (usage_limit IS NULL OR uses_held + uses_count < usage_limit)
-- never a count read first: at READ COMMITTED a concurrent writer of the row
-- is waited for and the WHERE re-evaluated on its newest version, so no
-- interleaving of any number of processes passes the limit. A refusal raises
-- check_violation on discount_codes_uses_within (DISCOUNT_CODE_EXHAUSTED).
--
-- oncePerCustomer is the unique index discount_uses_once_per_customer: a
-- customer has at most one held or consumed use of such a code.
--
-- The transitions of carts and orders move the uses without storage having
-- to remember them (triggers below): a cart that expires or is merged
-- releases its use; an order that is paid consumes it, one whose payment
-- expires or that is cancelled releases it, and a late payment of an
-- expired order takes a use again (refused when none is free: the order
-- then needs a refund, as for stock that is gone).
--
-- Lock order: the code's row is locked after the product rows of the same
-- transaction (AFTER ROW triggers run at the end of their statement, and
-- storage changes discount_uses only after it locked its products, if it
-- locks any): carts, products, discount codes.

CREATE TABLE discount_codes (
    id                     bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    code                   text        NOT NULL CHECK (length(code) BETWEEN 1 AND 64),
    kind                   text        NOT NULL CHECK (kind IN ('PERCENTAGE', 'FIXED_AMOUNT')),
    -- PERCENTAGE: basis points (15% = 1500).
    percent_bp             integer,
    -- FIXED_AMOUNT: minor units of currency.
    amount_cents           bigint,
    currency               text        CHECK (currency ~ '^[A-Z]{3}$'),
    minimum_subtotal_cents bigint      CHECK (minimum_subtotal_cents > 0),
    starts_at              timestamptz,
    ends_at                timestamptz,
    usage_limit            integer     CHECK (usage_limit >= 0),
    once_per_customer      boolean     NOT NULL DEFAULT false,
    uses_held              integer     NOT NULL DEFAULT 0,
    uses_count             integer     NOT NULL DEFAULT 0,
    active                 boolean     NOT NULL DEFAULT true,
    created_at             timestamptz NOT NULL DEFAULT now(),
    updated_at             timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT discount_codes_uses_within CHECK (
        uses_held >= 0 AND uses_count >= 0
        AND (usage_limit IS NULL OR uses_held + uses_count <= usage_limit)),
    CONSTRAINT discount_codes_value CHECK (
        (kind = 'PERCENTAGE' AND percent_bp BETWEEN 1 AND 10000 AND amount_cents IS NULL)
        OR (kind = 'FIXED_AMOUNT' AND amount_cents > 0 AND currency IS NOT NULL AND percent_bp IS NULL)),
    CONSTRAINT discount_codes_minimum_currency CHECK (minimum_subtotal_cents IS NULL OR currency IS NOT NULL),
    CONSTRAINT discount_codes_period CHECK (starts_at IS NULL OR ends_at IS NULL OR starts_at < ends_at)
);

-- Codes are matched case-insensitively and stored as given.
CREATE UNIQUE INDEX discount_codes_code_key ON discount_codes (lower(code));

-- A code's scope: none of these rows means every product.
CREATE TABLE discount_code_products (
    discount_code_id bigint NOT NULL REFERENCES discount_codes (id) ON DELETE CASCADE,
    product_id       bigint NOT NULL REFERENCES products (id) ON DELETE CASCADE,
    PRIMARY KEY (discount_code_id, product_id)
);

CREATE TABLE discount_code_groups (
    discount_code_id bigint NOT NULL REFERENCES discount_codes (id) ON DELETE CASCADE,
    group_id         bigint NOT NULL REFERENCES product_groups (id) ON DELETE CASCADE,
    PRIMARY KEY (discount_code_id, group_id)
);

CREATE TABLE discount_code_collections (
    discount_code_id bigint NOT NULL REFERENCES discount_codes (id) ON DELETE CASCADE,
    collection_id    bigint NOT NULL REFERENCES collections (id) ON DELETE CASCADE,
    PRIMARY KEY (discount_code_id, collection_id)
);

-- A use of a code: held by a cart (order_id NULL) or by the cart's order
-- awaiting payment, consumed by a placed order. One code per cart.
CREATE TABLE discount_uses (
    id               bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    discount_code_id bigint      NOT NULL REFERENCES discount_codes (id),
    cart_id          text        NOT NULL CONSTRAINT discount_uses_cart_key UNIQUE REFERENCES carts (id),
    order_id         text        REFERENCES orders (id) ON DELETE SET NULL,
    -- Set for a oncePerCustomer code only.
    customer_id      bigint      REFERENCES customers (id),
    state            text        NOT NULL CHECK (state IN ('held', 'consumed')),
    created_at       timestamptz NOT NULL DEFAULT now(),
    CHECK (state = 'held' OR order_id IS NOT NULL)
);

CREATE UNIQUE INDEX discount_uses_once_per_customer ON discount_uses (discount_code_id, customer_id)
    WHERE customer_id IS NOT NULL;
CREATE INDEX discount_uses_order_idx ON discount_uses (order_id) WHERE order_id IS NOT NULL;
CREATE INDEX discount_uses_code_idx ON discount_uses (discount_code_id);

-- The discount an order got: written by checkout and beginCheckout when the
-- code applied; its lines carry their shares (order_lines.discount_cents).
CREATE TABLE order_discounts (
    order_id         text        PRIMARY KEY REFERENCES orders (id) ON DELETE CASCADE,
    discount_code_id bigint      NOT NULL REFERENCES discount_codes (id),
    code             text        NOT NULL,
    customer_id      bigint      REFERENCES customers (id),
    amount_cents     bigint      NOT NULL CHECK (amount_cents >= 0),
    created_at       timestamptz NOT NULL DEFAULT now()
);

ALTER TABLE order_lines
    ADD COLUMN discount_cents bigint NOT NULL DEFAULT 0,
    ADD CONSTRAINT order_lines_discount_within
        CHECK (discount_cents >= 0 AND discount_cents::numeric <= unit_price_cents::numeric * quantity);

-- +goose StatementBegin
CREATE FUNCTION discount_uses_count() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        -- Taking a use: the one guarded UPDATE.
        UPDATE discount_codes
        SET uses_held = uses_held + (NEW.state = 'held')::integer,
            uses_count = uses_count + (NEW.state = 'consumed')::integer
        WHERE id = NEW.discount_code_id
          AND (usage_limit IS NULL OR uses_held + uses_count < usage_limit);
        IF NOT FOUND THEN
            RAISE EXCEPTION 'the discount code has no use left'
                USING ERRCODE = 'check_violation', CONSTRAINT = 'discount_codes_uses_within';
        END IF;
    ELSIF TG_OP = 'UPDATE' THEN
        UPDATE discount_codes
        SET uses_held = uses_held - (OLD.state = 'held')::integer + (NEW.state = 'held')::integer,
            uses_count = uses_count - (OLD.state = 'consumed')::integer + (NEW.state = 'consumed')::integer
        WHERE id = NEW.discount_code_id;
    ELSE
        UPDATE discount_codes
        SET uses_held = uses_held - (OLD.state = 'held')::integer,
            uses_count = uses_count - (OLD.state = 'consumed')::integer
        WHERE id = OLD.discount_code_id;
    END IF;
    RETURN NULL;
END
$$;
-- +goose StatementEnd

CREATE TRIGGER discount_uses_count
    AFTER INSERT OR UPDATE OF state OR DELETE ON discount_uses
    FOR EACH ROW EXECUTE FUNCTION discount_uses_count();

-- A cart that expires or is merged into a customer's cart gives its use back.
-- +goose StatementBegin
CREATE FUNCTION carts_discount_release() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM discount_uses WHERE cart_id = NEW.id AND order_id IS NULL AND state = 'held';
    RETURN NULL;
END
$$;
-- +goose StatementEnd

CREATE TRIGGER carts_discount_release
    AFTER UPDATE OF status ON carts
    FOR EACH ROW WHEN (OLD.status = 'ACTIVE' AND NEW.status IN ('EXPIRED', 'MERGED'))
    EXECUTE FUNCTION carts_discount_release();

-- An order's status moves its use:
--   PENDING_PAYMENT -> PLACED                 held -> consumed
--   PENDING_PAYMENT -> PAYMENT_EXPIRED/CANCELLED  released
--   PLACED -> CANCELLED                       released (given back)
--   PAYMENT_EXPIRED -> PLACED                 taken again, consumed (refused when none is free)
-- +goose StatementBegin
CREATE FUNCTION orders_discount_use() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.status = 'PENDING_PAYMENT' AND NEW.status = 'PLACED' THEN
        UPDATE discount_uses SET state = 'consumed' WHERE order_id = NEW.id AND state = 'held';
    ELSIF OLD.status IN ('PENDING_PAYMENT', 'PLACED') THEN
        DELETE FROM discount_uses WHERE order_id = NEW.id;
    ELSIF OLD.status = 'PAYMENT_EXPIRED' AND NEW.status = 'PLACED' THEN
        INSERT INTO discount_uses (discount_code_id, cart_id, order_id, customer_id, state)
        SELECT d.discount_code_id, NEW.cart_id, NEW.id, d.customer_id, 'consumed'
        FROM order_discounts d
        WHERE d.order_id = NEW.id;
    END IF;
    RETURN NULL;
END
$$;
-- +goose StatementEnd

CREATE TRIGGER orders_discount_use
    AFTER UPDATE OF status ON orders
    FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status)
    EXECUTE FUNCTION orders_discount_use();

-- +goose Down
DROP TRIGGER orders_discount_use ON orders;
DROP FUNCTION orders_discount_use();
DROP TRIGGER carts_discount_release ON carts;
DROP FUNCTION carts_discount_release();
DROP TRIGGER discount_uses_count ON discount_uses;
DROP FUNCTION discount_uses_count();
ALTER TABLE order_lines DROP CONSTRAINT order_lines_discount_within, DROP COLUMN discount_cents;
DROP TABLE order_discounts;
DROP TABLE discount_uses;
DROP TABLE discount_code_collections;
DROP TABLE discount_code_groups;
DROP TABLE discount_code_products;
DROP TABLE discount_codes;
