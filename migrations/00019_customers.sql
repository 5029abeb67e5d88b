-- +goose Up
-- Customer accounts. A customer signs in with an email and a password
-- (Argon2id, PHC string in password_hash) and gets a bearer token; only the
-- token's SHA-256 is stored, as for reset tokens.
--
-- Emails are stored lowercased (customers_email_lower), so the unique
-- constraint refuses two accounts differing only in case, also when two
-- sign-ups race.
CREATE TABLE customers (
    id            bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    email         text        NOT NULL CONSTRAINT customers_email_key UNIQUE,
    password_hash text        NOT NULL,
    first_name    text,
    last_name     text,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT customers_email_lower CHECK (email = lower(email) AND length(email) BETWEEN 3 AND 254)
);
CREATE INDEX customers_created_id_idx ON customers (created_at, id);

-- Access tokens: sha256(token) only. Expired rows are refused when read
-- (expires_at > now()) and deleted by the reaper.
CREATE TABLE customer_tokens (
    token_hash  bytea       PRIMARY KEY CHECK (length(token_hash) = 32),
    customer_id bigint      NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL
);
CREATE INDEX customer_tokens_customer_id_idx ON customer_tokens (customer_id);

-- Password reset tokens: single-use (used_at), valid an hour.
CREATE TABLE customer_reset_tokens (
    token_hash  bytea       PRIMARY KEY CHECK (length(token_hash) = 32),
    customer_id bigint      NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL,
    used_at     timestamptz
);
CREATE INDEX customer_reset_tokens_customer_id_idx ON customer_reset_tokens (customer_id);

-- A cart made or attached by a signed-in customer belongs to them. MERGED:
-- the guest cart whose lines moved into the customer's cart at sign-in.
ALTER TABLE carts
    ADD COLUMN customer_id bigint CONSTRAINT carts_customer_id_fkey REFERENCES customers (id),
    ADD COLUMN merged_into text CONSTRAINT carts_merged_into_fkey REFERENCES carts (id);
ALTER TABLE carts DROP CONSTRAINT carts_status_check;
ALTER TABLE carts ADD CONSTRAINT carts_status_check CHECK (status IN ('ACTIVE', 'EXPIRED', 'CHECKED_OUT', 'MERGED'));
ALTER TABLE carts ADD CONSTRAINT carts_merged_into_set CHECK ((status = 'MERGED') = (merged_into IS NOT NULL));
CREATE INDEX carts_customer_active_idx ON carts (customer_id, updated_at DESC) WHERE customer_id IS NOT NULL AND status = 'ACTIVE';

ALTER TABLE orders ADD COLUMN customer_id bigint CONSTRAINT orders_customer_id_fkey REFERENCES customers (id);
CREATE INDEX orders_customer_id_idx ON orders (customer_id, seq DESC) WHERE customer_id IS NOT NULL;

-- At most this many units per customer, over their carts and their pending
-- and placed orders. NULL: no limit (and the reservation path is the
-- unchanged one).
ALTER TABLE products
    ADD COLUMN limit_per_customer integer CONSTRAINT products_limit_per_customer_positive CHECK (limit_per_customer > 0);

-- The per-customer count of a limited product: units held in the
-- customer's live carts plus those in their PENDING_PAYMENT and PLACED
-- orders. Taken by one conditional UPDATE (used + n <= the product's limit)
-- in the reservation's transaction, released where the holds are released,
-- kept when an order is placed. Rows exist only for limited products.
CREATE TABLE customer_product_limits (
    customer_id bigint  NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    product_id  bigint  NOT NULL REFERENCES products (id) ON DELETE CASCADE,
    used        integer NOT NULL DEFAULT 0 CONSTRAINT customer_product_limits_used_check CHECK (used >= 0),
    PRIMARY KEY (customer_id, product_id)
);
CREATE INDEX customer_product_limits_product_id_idx ON customer_product_limits (product_id);

-- +goose Down
DROP TABLE customer_product_limits;
ALTER TABLE products DROP COLUMN limit_per_customer;
ALTER TABLE orders DROP COLUMN customer_id;
ALTER TABLE carts DROP CONSTRAINT carts_merged_into_set;
ALTER TABLE carts DROP CONSTRAINT carts_status_check;
UPDATE carts SET status = 'CHECKED_OUT' WHERE status = 'MERGED';
ALTER TABLE carts ADD CONSTRAINT carts_status_check CHECK (status IN ('ACTIVE', 'EXPIRED', 'CHECKED_OUT'));
ALTER TABLE carts DROP COLUMN merged_into, DROP COLUMN customer_id;
DROP TABLE customer_reset_tokens;
DROP TABLE customer_tokens;
DROP TABLE customers;
