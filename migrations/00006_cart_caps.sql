-- +goose Up
-- Running totals on the cart row, so the anti-hoarding caps are enforced
-- by the same statement that reserves, on the locked cart row: a cap that
-- would be exceeded makes the statement write -1 here and the CHECK fails
-- it whole (see storage/carts.go).
ALTER TABLE carts
    ADD COLUMN total_quantity integer NOT NULL DEFAULT 0 CONSTRAINT carts_total_quantity_check CHECK (total_quantity >= 0),
    ADD COLUMN line_count     integer NOT NULL DEFAULT 0 CONSTRAINT carts_line_count_check CHECK (line_count >= 0);

UPDATE carts c
SET total_quantity = t.q, line_count = t.n
FROM (SELECT cart_id, sum(quantity)::integer AS q, count(*)::integer AS n FROM cart_lines GROUP BY cart_id) t
WHERE c.id = t.cart_id;

-- Admins look for the biggest holders.
CREATE INDEX carts_active_total_idx ON carts (total_quantity DESC) WHERE status = 'ACTIVE';

-- +goose Down
DROP INDEX carts_active_total_idx;
ALTER TABLE carts DROP COLUMN total_quantity, DROP COLUMN line_count;
