-- +goose Up
-- Orders, their lines (a snapshot of what was sold) and the inventory ledger.

-- The reaper looks for active carts whose holds have run out.
CREATE INDEX carts_active_expiry_idx ON carts (expires_at) WHERE status = 'ACTIVE';

CREATE TABLE orders (
    id           text        PRIMARY KEY,
    seq          bigint      GENERATED ALWAYS AS IDENTITY CONSTRAINT orders_seq_key UNIQUE,
    cart_id      text        NOT NULL CONSTRAINT orders_cart_id_key UNIQUE REFERENCES carts (id),
    email        text        NOT NULL,
    status       text        NOT NULL DEFAULT 'PLACED' CHECK (status IN ('PLACED', 'CANCELLED')),
    currency     text        NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    cancelled_at timestamptz,
    CHECK ((status = 'CANCELLED') = (cancelled_at IS NOT NULL))
);

CREATE TABLE order_lines (
    order_id         text    NOT NULL REFERENCES orders (id),
    product_id       bigint  NOT NULL REFERENCES products (id),
    sku              text    NOT NULL,
    name             text    NOT NULL,
    unit_price_cents bigint  NOT NULL CHECK (unit_price_cents >= 0),
    currency         text    NOT NULL,
    quantity         integer NOT NULL CHECK (quantity > 0),
    PRIMARY KEY (order_id, product_id)
);

-- Append-only: a product's stock always equals the sum of its movements,
-- because every statement that changes stock writes its movement in the same
-- transaction.
CREATE TABLE inventory_movements (
    id         bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    product_id bigint      NOT NULL REFERENCES products (id),
    delta      integer     NOT NULL,
    kind       text        NOT NULL CHECK (kind IN ('initial', 'restock', 'adjustment', 'sale', 'cancellation')),
    reason     text,
    order_id   text        REFERENCES orders (id),
    created_at timestamptz NOT NULL DEFAULT now(),
    CHECK (delta <> 0 OR kind = 'initial'),
    CHECK ((kind IN ('sale', 'cancellation')) = (order_id IS NOT NULL))
);
CREATE INDEX inventory_movements_product_idx ON inventory_movements (product_id);

-- +goose StatementBegin
CREATE FUNCTION inventory_movements_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'inventory_movements is append-only';
END;
$$;
-- +goose StatementEnd
CREATE TRIGGER inventory_movements_append_only
    BEFORE UPDATE OR DELETE ON inventory_movements
    FOR EACH ROW EXECUTE FUNCTION inventory_movements_append_only();

-- +goose Down
DROP TABLE inventory_movements;
DROP FUNCTION inventory_movements_append_only();
DROP TABLE order_lines;
DROP TABLE orders;
DROP INDEX carts_active_expiry_idx;
