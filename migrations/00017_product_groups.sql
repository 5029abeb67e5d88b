-- +goose Up
-- Product variants (issue 22). Every stock-keeping unit stays a product row:
-- its sku, price, stock and held, and the one conditional UPDATE that
-- reserves it. A product group gathers the variants of one article and says
-- what they vary by; it is display and catalog structure and holds no
-- count of its own (its available is summed from its variants when read).
--
-- The option rules are the database's, not only the Go code's:
--
--   * products.selected_options is the variant's combination as a jsonb
--     object {"Size": "M", "Colour": "Blue"}. jsonb compares canonically
--     (key order does not matter), so the unique index
--     products_group_options_key (group_id, selected_options) refuses two
--     variants of one group with the same combination, also when two
--     admins race to create it (the second waits on the first's index
--     entry, then fails).
--   * products_variant_options (a constraint trigger on products) checks
--     that a grouped product names exactly the group's options, each with
--     one of its values, and has the group's currency;
--     product_groups_options_check (on product_groups) checks, when the
--     options change, that every variant still does. Both first lock the
--     group row and then read with a fresh snapshot (READ COMMITTED, one
--     per statement of a volatile function), so an options change and a
--     new variant of the same group take turns and the second sees the
--     first: neither can slip past the other's check.
--   * products_group_pair: group_id and selected_options are both set or
--     both NULL.
--
-- None of this touches what a reservation writes: the triggers on products
-- fire only for group_id, selected_options, currency, price_cents, sku and
-- name, so UPDATE products SET held = ... stays a HOT update that fires
-- nothing new.
--
-- The group row carries what its listings sort and search by, kept by
-- triggers: the lowest and highest variant price (sortKey PRICE is the
-- lowest), and a search document of its title, description and its
-- variants' skus and names, like products.search_vector (00012).

CREATE TABLE product_groups (
    id              bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    handle          text        COLLATE "C" NOT NULL CONSTRAINT product_groups_handle_key UNIQUE,
    title           text        NOT NULL,
    description     text,
    -- [{"name": "Size", "values": ["S", "M", "L"]}, ...] in display order.
    options         jsonb       NOT NULL DEFAULT '[]',
    -- 0 while the group has no variants.
    min_price_cents bigint      NOT NULL DEFAULT 0,
    max_price_cents bigint      NOT NULL DEFAULT 0,
    currency        text,
    search_text     text        NOT NULL DEFAULT '',
    search_vector   tsvector    NOT NULL DEFAULT ''::tsvector,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT product_groups_handle_format CHECK (length(handle) <= 255 AND handle ~ '^[a-z0-9]+(-[a-z0-9]+)*$'),
    CONSTRAINT product_groups_options_array CHECK (jsonb_typeof(options) = 'array')
);

CREATE INDEX product_groups_title_id_idx ON product_groups (title, id);
CREATE INDEX product_groups_price_id_idx ON product_groups (min_price_cents, id);
CREATE INDEX product_groups_created_id_idx ON product_groups (created_at, id);
CREATE INDEX product_groups_search_vector_idx ON product_groups USING gin (search_vector);
CREATE INDEX product_groups_search_trgm_idx ON product_groups USING gin (search_text gin_trgm_ops);

CREATE TABLE product_group_images (
    group_id bigint  NOT NULL REFERENCES product_groups (id) ON DELETE CASCADE,
    position integer NOT NULL CHECK (position >= 1),
    url      text    NOT NULL,
    alt_text text,
    PRIMARY KEY (group_id, position)
);

-- No ON DELETE action: deleteProductGroup ungroups the variants first
-- (both columns, in one statement), so a group is never deleted from under
-- its variants.
ALTER TABLE products
    ADD COLUMN group_id bigint CONSTRAINT products_group_id_fkey REFERENCES product_groups (id),
    ADD COLUMN selected_options jsonb,
    ADD CONSTRAINT products_group_pair CHECK ((group_id IS NULL) = (selected_options IS NULL));
CREATE UNIQUE INDEX products_group_options_key ON products (group_id, selected_options) WHERE group_id IS NOT NULL;

-- Whether selected names exactly the options, each with one of its values.
-- +goose StatementBegin
CREATE FUNCTION variant_options_valid(options jsonb, selected jsonb) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT jsonb_typeof(selected) = 'object'
       AND (SELECT count(*) FROM jsonb_object_keys(selected)) = jsonb_array_length(options)
       AND NOT EXISTS (
           SELECT 1
           FROM jsonb_each(selected) s
           WHERE jsonb_typeof(s.value) <> 'string'
              OR NOT EXISTS (
                  SELECT 1
                  FROM jsonb_array_elements(options) o
                  WHERE o->>'name' = s.key AND o->'values' @> jsonb_build_array(s.value)))
$$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE FUNCTION product_groups_derive() RETURNS trigger
LANGUAGE plpgsql
AS $$
DECLARE
    variants text;
BEGIN
    SELECT coalesce(string_agg(sku || ' ' || name, ' ' ORDER BY id), ''), coalesce(min(price_cents), 0), coalesce(max(price_cents), 0), min(currency)
    INTO variants, NEW.min_price_cents, NEW.max_price_cents, NEW.currency
    FROM products
    WHERE group_id = NEW.id;
    NEW.search_text := NEW.title || ' ' || coalesce(NEW.description, '') || ' ' || variants;
    NEW.search_vector := setweight(to_tsvector('simple', NEW.title || ' ' || variants) || to_tsvector('english', NEW.title || ' ' || variants), 'A')
        || setweight(to_tsvector('simple', coalesce(NEW.description, '')) || to_tsvector('english', coalesce(NEW.description, '')), 'B');
    RETURN NEW;
END
$$;
-- +goose StatementEnd

CREATE TRIGGER product_groups_derive
    BEFORE INSERT OR UPDATE ON product_groups
    FOR EACH ROW EXECUTE FUNCTION product_groups_derive();

-- Options changed: every variant must still name them all with a known
-- value. The UPDATE holds the group row's lock, so no variant of the group
-- is written meanwhile; this statement's snapshot sees those written before.
-- +goose StatementBegin
CREATE FUNCTION product_groups_options_check() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM products WHERE group_id = NEW.id AND NOT variant_options_valid(NEW.options, selected_options)) THEN
        RAISE EXCEPTION 'a variant of product group % uses an option or value no longer offered', NEW.id
            USING ERRCODE = 'check_violation', CONSTRAINT = 'products_variant_options';
    END IF;
    RETURN NULL;
END
$$;
-- +goose StatementEnd

CREATE CONSTRAINT TRIGGER product_groups_options_check
    AFTER UPDATE OF options ON product_groups
    FOR EACH ROW EXECUTE FUNCTION product_groups_options_check();

-- A variant written: lock its group (the UPDATE also re-derives the
-- group's prices and search document), then check it against the group's
-- options and currency as they are now. The old group of a product that
-- left one, or was deleted, is re-derived too.
-- +goose StatementBegin
CREATE FUNCTION products_group_sync() RETURNS trigger
LANGUAGE plpgsql
AS $$
DECLARE
    opts jsonb;
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') AND OLD.group_id IS NOT NULL
       AND (TG_OP = 'DELETE' OR OLD.group_id IS DISTINCT FROM NEW.group_id) THEN
        UPDATE product_groups SET updated_at = updated_at WHERE id = OLD.group_id;
    END IF;
    IF TG_OP = 'DELETE' OR NEW.group_id IS NULL THEN
        RETURN NULL;
    END IF;
    UPDATE product_groups SET updated_at = updated_at WHERE id = NEW.group_id RETURNING options INTO opts;
    IF NOT variant_options_valid(opts, NEW.selected_options) THEN
        RAISE EXCEPTION 'product % does not name each option of group % with one of its values', NEW.id, NEW.group_id
            USING ERRCODE = 'check_violation', CONSTRAINT = 'products_variant_options';
    END IF;
    IF EXISTS (SELECT 1 FROM products WHERE group_id = NEW.group_id AND currency <> NEW.currency) THEN
        RAISE EXCEPTION 'product % is priced in another currency than group %', NEW.id, NEW.group_id
            USING ERRCODE = 'check_violation', CONSTRAINT = 'products_group_currency';
    END IF;
    RETURN NULL;
END
$$;
-- +goose StatementEnd

CREATE CONSTRAINT TRIGGER products_group_sync_insert
    AFTER INSERT ON products
    FOR EACH ROW
    WHEN (NEW.group_id IS NOT NULL)
    EXECUTE FUNCTION products_group_sync();
CREATE CONSTRAINT TRIGGER products_group_sync_update
    AFTER UPDATE OF group_id, selected_options, currency, price_cents, sku, name ON products
    FOR EACH ROW
    WHEN (OLD.group_id IS NOT NULL OR NEW.group_id IS NOT NULL)
    EXECUTE FUNCTION products_group_sync();
CREATE TRIGGER products_group_sync_delete
    AFTER DELETE ON products
    FOR EACH ROW
    WHEN (OLD.group_id IS NOT NULL)
    EXECUTE FUNCTION products_group_sync();

-- Product events (sold out, back in stock, low stock) carry the variant's
-- groupId (null when ungrouped), so a partner can tell the article.
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION products_stock_events() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    was integer := OLD.stock - OLD.held;
    now_available integer := NEW.stock - NEW.held;
    data jsonb := jsonb_build_object(
        'productId', NEW.id::text, 'sku', NEW.sku,
        'stock', NEW.stock, 'held', NEW.held, 'available', now_available,
        'previousAvailable', was, 'lowStockThreshold', NEW.low_stock_threshold,
        'groupId', NEW.group_id::text);
BEGIN
    IF was > 0 AND now_available = 0 THEN
        PERFORM webhook_enqueue('PRODUCT_SOLD_OUT', data);
    ELSIF was = 0 AND now_available > 0 THEN
        PERFORM webhook_enqueue('PRODUCT_BACK_IN_STOCK', data);
    END IF;
    IF NEW.low_stock_threshold IS NOT NULL AND was > NEW.low_stock_threshold
       AND now_available <= NEW.low_stock_threshold THEN
        PERFORM webhook_enqueue('STOCK_LOW', data);
    END IF;
    RETURN NULL;
END;
$$;
-- +goose StatementEnd

-- +goose Down
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION products_stock_events() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    was integer := OLD.stock - OLD.held;
    now_available integer := NEW.stock - NEW.held;
    data jsonb := jsonb_build_object(
        'productId', NEW.id::text, 'sku', NEW.sku,
        'stock', NEW.stock, 'held', NEW.held, 'available', now_available,
        'previousAvailable', was, 'lowStockThreshold', NEW.low_stock_threshold);
BEGIN
    IF was > 0 AND now_available = 0 THEN
        PERFORM webhook_enqueue('PRODUCT_SOLD_OUT', data);
    ELSIF was = 0 AND now_available > 0 THEN
        PERFORM webhook_enqueue('PRODUCT_BACK_IN_STOCK', data);
    END IF;
    IF NEW.low_stock_threshold IS NOT NULL AND was > NEW.low_stock_threshold
       AND now_available <= NEW.low_stock_threshold THEN
        PERFORM webhook_enqueue('STOCK_LOW', data);
    END IF;
    RETURN NULL;
END;
$$;
-- +goose StatementEnd

DROP TRIGGER products_group_sync_delete ON products;
DROP TRIGGER products_group_sync_update ON products;
DROP TRIGGER products_group_sync_insert ON products;
DROP FUNCTION products_group_sync();
DROP INDEX products_group_options_key;
ALTER TABLE products
    DROP CONSTRAINT products_group_pair,
    DROP COLUMN selected_options,
    DROP COLUMN group_id;
DROP TABLE product_group_images;
DROP TABLE product_groups;
DROP FUNCTION product_groups_options_check();
DROP FUNCTION product_groups_derive();
DROP FUNCTION variant_options_valid(jsonb, jsonb);
