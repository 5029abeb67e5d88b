-- +goose Up
-- Catalog, carts and cart lines. The invariant Holdfast exists for lives here:
-- 0 <= held <= stock on every product, enforced by the database itself, so no
-- code path (or operator with psql) can oversell.
CREATE TABLE products (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    sku         text        NOT NULL CONSTRAINT products_sku_key UNIQUE,
    name        text        NOT NULL,
    description text,
    price_cents bigint      NOT NULL CHECK (price_cents >= 0),
    currency    text        NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    stock       integer     NOT NULL CHECK (stock >= 0),
    held        integer     NOT NULL DEFAULT 0,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT products_held_within_stock CHECK (held >= 0 AND held <= stock)
);

-- A cart id is a bearer secret (>= 128 random bits, URL-safe): knowing it
-- grants access to the cart.
CREATE TABLE carts (
    id         text        PRIMARY KEY,
    status     text        NOT NULL DEFAULT 'ACTIVE'
                           CHECK (status IN ('ACTIVE', 'EXPIRED', 'CHECKED_OUT')),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL
);

-- Live holds. products.held equals the sum of quantity over these rows.
CREATE TABLE cart_lines (
    cart_id    text        NOT NULL REFERENCES carts (id) ON DELETE CASCADE,
    product_id bigint      NOT NULL REFERENCES products (id),
    quantity   integer     NOT NULL CHECK (quantity > 0),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (cart_id, product_id)
);
CREATE INDEX cart_lines_product_id_idx ON cart_lines (product_id);

-- +goose Down
DROP TABLE cart_lines;
DROP TABLE carts;
DROP TABLE products;
