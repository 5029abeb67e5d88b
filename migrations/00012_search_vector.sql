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
-- and stays a HOT update. The price: the row carries the document (inline
-- until the row passes ~2 KB, when TOAST moves the largest values out), so
-- fewer rows fit a page and a reservation finds no room for a HOT update on
-- its page a little more often. A table of its own would avoid that, but
-- the trigram substring match would then be a second query of the search.
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
DROP FUNCTION products_set_search_vector();
DROP FUNCTION product_search_vector(text, text, text);
