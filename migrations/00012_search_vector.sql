-- +goose Up
-- Search reads a stored document instead of computing one per row (issue
-- 20): the expression index of 00010 found the matching rows, but ranking
-- them called to_tsvector on every match, so a search cost time in
-- proportion to what it matched.
--
-- search_vector is kept by triggers, not as a generated column: PostgreSQL
-- 15 recomputes a stored generated column on every UPDATE of the row, and
-- reservations update products all the time. The triggers fire only when
-- sku, name or description change (or someone writes search_vector), so a
-- reservation's UPDATE leaves the column, and the GIN index on it, alone
-- and stays a HOT update.
--
-- A HOT update needs room for the new row version on the row's page, so the
-- row's inline size matters. TOAST starts only when a row passes ~2 KB
-- (TOAST_TUPLE_THRESHOLD) and then, by default, stops once it is under
-- ~2 KB: a product with a 2 KB description kept it compressed inline, a
-- ~1.4 KB row, with or without this document (whose ~3.6 KB goes out of
-- line first). toast_tuple_target = 512 makes TOAST, once it starts, move
-- the description out too: that row is ~220 bytes (128 would also push out
-- names and handles of 25 bytes or more, to be fetched back on every read).
-- toast_tuple_target never starts TOAST: a row under ~2 KB keeps its
-- document inline (a short product 256 -> 653 bytes; one with a 500-byte
-- description 687 -> 1574).
-- Measured (issue 21) on 1000 products (400 with 60-byte descriptions, 600
-- with 2 KB of prose), 4 clients reserving and releasing 24000 times: HOT
-- updates / updates, spread over all products and on one product, and the
-- heap's pages after:
--   in the row (2 KB)                   spread 93.2%  one 79.4%  2368 pages
--   in the row, toast_tuple_target 512  spread 99.1%  one 97.8%   198 pages
--   a table of its own                  spread 91.8%  one 79.6%  2614 pages
--   a table of its own, target 128      spread 99.5%  one 98.0%   145 pages
--   (with 10-byte names, in the row: fillfactor 80 99.1% / 79.4%; STORAGE
--   EXTERNAL alone changes nothing; STORAGE MAIN 73.0% / 48.6%)
-- With 500-byte descriptions instead of 2 KB ones (no TOAST at all):
--   before this migration               spread 98.9%  one 89.5%   756 pages
--   in the row                          spread 96.3%  one 74.5%  3293 pages
--   a table of its own                  spread 99.1%  one 90.0%   725 pages
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

-- +goose StatementBegin
CREATE FUNCTION products_set_search_vector() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
    NEW.search_vector := product_search_vector(NEW.sku, NEW.name, NEW.description);
    RETURN NEW;
END
$$;
-- +goose StatementEnd

-- Before the backfill, which writes every row anew: the target applies to
-- new row versions.
ALTER TABLE products SET (toast_tuple_target = 512);
ALTER TABLE products ADD COLUMN search_vector tsvector;
UPDATE products SET search_vector = product_search_vector(sku, name, description);
ALTER TABLE products ALTER COLUMN search_vector SET NOT NULL;

CREATE TRIGGER products_search_vector_insert
    BEFORE INSERT ON products
    FOR EACH ROW EXECUTE FUNCTION products_set_search_vector();
CREATE TRIGGER products_search_vector_update
    BEFORE UPDATE OF sku, name, description, search_vector ON products
    FOR EACH ROW
    WHEN (OLD.sku IS DISTINCT FROM NEW.sku OR OLD.name IS DISTINCT FROM NEW.name
          OR OLD.description IS DISTINCT FROM NEW.description
          OR OLD.search_vector IS DISTINCT FROM NEW.search_vector)
    EXECUTE FUNCTION products_set_search_vector();

CREATE INDEX products_search_vector_idx ON products USING gin (search_vector);

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
DROP INDEX products_search_vector_idx;
DROP TRIGGER products_search_vector_update ON products;
DROP TRIGGER products_search_vector_insert ON products;
ALTER TABLE products DROP COLUMN search_vector;
ALTER TABLE products RESET (toast_tuple_target);
DROP FUNCTION products_set_search_vector();
DROP FUNCTION product_search_vector(text, text, text);
