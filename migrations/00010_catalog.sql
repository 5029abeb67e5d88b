-- +goose Up
-- The storefront catalog (issue 12): handles, images, collections, search
-- and the indexes the sorted listings page through.
--
-- None of it indexes what a reservation writes (held, updated_at), so the
-- reservation's UPDATE of the product row stays a HOT update and never
-- touches these indexes. That is why search uses expression indexes and not
-- a stored generated tsvector column, which PostgreSQL 15 recomputes on
-- every UPDATE of the row, and why inStock (stock - held > 0) is a filter,
-- never an index.

-- pg_trgm ships with Debian's postgresql-15 and is a trusted extension: the
-- database owner may create it without being a superuser.
CREATE EXTENSION IF NOT EXISTS pg_trgm;

-- A handle is a URL slug: lower-case ASCII letters and digits in groups
-- joined by single hyphens, at most 255 characters. COLLATE "C" makes the
-- unique index serve the prefix scans (handle LIKE 'mug-%') that pick the
-- next free suffix for a derived handle.
ALTER TABLE products ADD COLUMN handle text COLLATE "C";

-- Existing products get the slug of their name plus their id, which cannot
-- clash: the last hyphen-separated group of such a handle is its id.
UPDATE products
SET handle = COALESCE(
        NULLIF(trim(BOTH '-' FROM left(regexp_replace(lower(name), '[^a-z0-9]+', '-', 'g'), 235)), ''),
        'product') || '-' || id;

ALTER TABLE products
    ALTER COLUMN handle SET NOT NULL,
    ADD CONSTRAINT products_handle_key UNIQUE (handle),
    ADD CONSTRAINT products_handle_format CHECK (length(handle) <= 255 AND handle ~ '^[a-z0-9]+(-[a-z0-9]+)*$');

-- Keyset pagination: each sort key with id as the tie-break.
CREATE INDEX products_name_id_idx ON products (name, id);
CREATE INDEX products_price_id_idx ON products (price_cents, id);
CREATE INDEX products_created_id_idx ON products (created_at, id);

-- Search. Queries call these same functions, so the planner matches them to
-- the indexes: full-text (words and word prefixes, sku and name weighted
-- above description) and trigrams (substrings, for ILIKE).
-- +goose StatementBegin
CREATE FUNCTION product_search_document(sku text, name text, description text) RETURNS tsvector
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT setweight(to_tsvector('english', sku), 'A')
        || setweight(to_tsvector('english', name), 'A')
        || setweight(to_tsvector('english', coalesce(description, '')), 'B')
$$;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE FUNCTION product_search_text(sku text, name text, description text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT sku || ' ' || name || ' ' || coalesce(description, '')
$$;
-- +goose StatementEnd
CREATE INDEX products_search_idx ON products USING gin (product_search_document(sku, name, description));
CREATE INDEX products_search_trgm_idx ON products USING gin (product_search_text(sku, name, description) gin_trgm_ops);

-- A product's images, in order. A table of their own, so that carts, which
-- read products all the time, never carry them.
CREATE TABLE product_images (
    product_id bigint  NOT NULL REFERENCES products (id) ON DELETE CASCADE,
    position   integer NOT NULL CHECK (position >= 1),
    url        text    NOT NULL,
    alt_text   text,
    PRIMARY KEY (product_id, position)
);

CREATE TABLE collections (
    id          bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    handle      text        COLLATE "C" NOT NULL CONSTRAINT collections_handle_key UNIQUE,
    title       text        NOT NULL,
    description text,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT collections_handle_format CHECK (length(handle) <= 255 AND handle ~ '^[a-z0-9]+(-[a-z0-9]+)*$')
);

-- Membership. The primary key serves a collection's products in id order;
-- the second index a product's collections.
CREATE TABLE collection_products (
    collection_id bigint      NOT NULL REFERENCES collections (id) ON DELETE CASCADE,
    product_id    bigint      NOT NULL REFERENCES products (id) ON DELETE CASCADE,
    created_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (collection_id, product_id)
);
CREATE INDEX collection_products_product_idx ON collection_products (product_id, collection_id);

-- +goose Down
DROP TABLE collection_products;
DROP TABLE collections;
DROP TABLE product_images;
DROP INDEX products_search_trgm_idx;
DROP INDEX products_search_idx;
DROP FUNCTION product_search_text(text, text, text);
DROP FUNCTION product_search_document(text, text, text);
DROP INDEX products_created_id_idx;
DROP INDEX products_price_id_idx;
DROP INDEX products_name_id_idx;
ALTER TABLE products
    DROP CONSTRAINT products_handle_format,
    DROP CONSTRAINT products_handle_key,
    DROP COLUMN handle;
