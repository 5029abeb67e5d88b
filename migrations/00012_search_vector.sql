-- +goose Up
-- Search reads a stored document instead of computing one per row (issue
-- 20): the expression index of 00010 found the matching rows, but ranking
-- them called to_tsvector on every match, so a search cost time in
-- proportion to what it matched.
--
-- The document (search_vector) lives in a table of its own, product_search,
-- kept by triggers, not in products and not as a generated column:
-- reservations update products all the time, and PostgreSQL 15 recomputes
-- a stored generated column on every UPDATE of the row. The products
-- triggers fire only when sku, name or description change, so a
-- reservation's UPDATE never touches the document or its GIN index.
--
-- A table of its own, because a reservation is fast partly because it is a
-- HOT update, which needs room for the new row version on the row's page:
-- the row's inline size matters. TOAST starts only when a row passes ~2 KB
-- (TOAST_TUPLE_THRESHOLD), so a document in the row stayed inline in every
-- row under that: 60-byte descriptions made rows of 256 -> 653 bytes,
-- 500-byte ones 687 -> 1574. And once TOAST starts it stops, by default,
-- when the row is under ~2 KB: a 2 KB description stayed compressed inline
-- (a ~1.4 KB row), with or without the document. toast_tuple_target = 512
-- makes TOAST, once it starts, move the description out too: that row is
-- ~150-220 bytes (128 would also push out names and handles of 25 bytes or
-- more, to be fetched back on every read).
--
-- Measured (issue 21) on 1000 products, 400 with 60-byte descriptions and
-- 600 with 2 KB of prose (or 500 bytes), 4 clients reserving and releasing
-- 24000 times, spread over all products and on one: HOT updates / updates,
-- and the heap's pages after.
--   2 KB descriptions                     spread   one    pages
--     document in the row                 93.2%   79.4%   2368
--     in the row, toast_tuple_target 512  99.1%   97.8%    198
--     own table                           91.8%   79.6%   2614
--     own table, toast_tuple_target 512   99.5%   97.4%    190  (this)
--   500-byte descriptions (no TOAST)
--     no document (before)                98.9%   89.5%    756
--     document in the row                 96.3%   74.5%   3293
--     own table, toast_tuple_target 512   99.2%   90.0%    691  (this)
--   (in the row, with 10-byte names: fillfactor 80 99.1% / 79.4%; STORAGE
--   EXTERNAL alone changes nothing; STORAGE MAIN 73.0% / 48.6%)
-- The search finds the document's matches in product_search, once per
-- statement, and the products primary key finds them by id, alongside the
-- trigram index's substring matches on products (storage/catalog.go). It
-- costs a lookup by id per match and per ranked candidate: a relevance
-- search matching 559 of those 1000 products read 3113 buffers instead of
-- 693 with the document in the row, 4.8 ms instead of 4.0.
--
-- The document holds every word twice over: as written ('simple': lower
-- case, no stemming, no stop words), which word prefixes match ("be" finds
-- "bet", "a" finds "apple"), and stemmed ('english'), which whole words
-- match in their other forms ("stories" finds "story"). sku and name weigh
-- above description.

-- +goose StatementBegin
CREATE FUNCTION product_search_vector(sku text, name text, description text) RETURNS tsvector
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT setweight(to_tsvector('simple', sku || ' ' || name) || to_tsvector('english', sku || ' ' || name), 'A')
        || setweight(to_tsvector('simple', coalesce(description, '')) || to_tsvector('english', coalesce(description, '')), 'B')
$$;
-- +goose StatementEnd

-- product_search holds a product's document; its trigger computes it from
-- the product, whoever writes the row. The products triggers write the row
-- when sku, name or description change.
CREATE TABLE product_search (
    product_id    bigint   PRIMARY KEY REFERENCES products (id) ON DELETE CASCADE,
    search_vector tsvector NOT NULL
);

-- +goose StatementBegin
CREATE FUNCTION product_search_compute() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
    SELECT product_search_vector(p.sku, p.name, p.description) INTO NEW.search_vector
    FROM products p WHERE p.id = NEW.product_id;
    RETURN NEW;
END
$$;
-- +goose StatementEnd
CREATE TRIGGER product_search_compute
    BEFORE INSERT OR UPDATE ON product_search
    FOR EACH ROW EXECUTE FUNCTION product_search_compute();

-- +goose StatementBegin
CREATE FUNCTION products_set_search_vector() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
    INSERT INTO product_search (product_id, search_vector) VALUES (NEW.id, '')
    ON CONFLICT (product_id) DO UPDATE SET search_vector = '';
    RETURN NULL;
END
$$;
-- +goose StatementEnd

ALTER TABLE products SET (toast_tuple_target = 512);
-- The target applies to new row versions, and TOAST starts only for a row
-- over ~2 KB: rows whose description is stored compressed inline are
-- written anew with it whole, so TOAST moves it out. Before the triggers:
-- nothing the search reads changes.
UPDATE products SET description = description || ''
WHERE pg_column_size(description) < octet_length(description) AND pg_column_size(description) > 512;
INSERT INTO product_search (product_id, search_vector) SELECT id, '' FROM products;

CREATE TRIGGER products_search_vector_insert
    AFTER INSERT ON products
    FOR EACH ROW EXECUTE FUNCTION products_set_search_vector();
CREATE TRIGGER products_search_vector_update
    AFTER UPDATE OF sku, name, description ON products
    FOR EACH ROW
    WHEN (OLD.sku IS DISTINCT FROM NEW.sku OR OLD.name IS DISTINCT FROM NEW.name
          OR OLD.description IS DISTINCT FROM NEW.description)
    EXECUTE FUNCTION products_set_search_vector();

CREATE INDEX product_search_vector_idx ON product_search USING gin (search_vector);

-- The expression index it replaces, and its function.
DROP INDEX products_search_idx;
DROP FUNCTION product_search_document(text, text, text);

-- +goose Down
-- +goose StatementBegin
CREATE FUNCTION product_search_document(sku text, name text, description text) RETURNS tsvector
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT setweight(to_tsvector('english', sku), 'A')
        || setweight(to_tsvector('english', name), 'A')
        || setweight(to_tsvector('english', coalesce(description, '')), 'B')
$$;
-- +goose StatementEnd
CREATE INDEX products_search_idx ON products USING gin (product_search_document(sku, name, description));
DROP TRIGGER products_search_vector_update ON products;
DROP TRIGGER products_search_vector_insert ON products;
DROP TABLE product_search;
ALTER TABLE products RESET (toast_tuple_target);
DROP FUNCTION products_set_search_vector();
DROP FUNCTION product_search_compute();
DROP FUNCTION product_search_vector(text, text, text);
