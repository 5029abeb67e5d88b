-- +goose Up
-- The constraints storage/errors.go maps to refusals get names of our own:
-- the quantity CHECK of 00001 only had the one PostgreSQL generated.
ALTER TABLE cart_lines RENAME CONSTRAINT cart_lines_quantity_check TO cart_lines_quantity_positive;

-- The anti-hoarding caps, once: total + add when that is at most cap (and
-- fits the integer counters), else -1, which the counters' CHECKs
-- (cart_lines_quantity_positive, carts_total_quantity_check,
-- carts_line_count_check) reject, failing the whole statement. So a cap is
-- enforced by the statement that reserves, on the rows it has locked.
-- Arguments are bigint so that the sum itself cannot overflow. A single
-- SQL expression: PostgreSQL inlines it into the calling statement.
-- +goose StatementBegin
CREATE FUNCTION cart_cap_add(total bigint, add bigint, cap bigint) RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT CASE WHEN total + add <= LEAST(cap, 2147483647) THEN (total + add)::integer ELSE -1 END
$$;
-- +goose StatementEnd

-- +goose Down
DROP FUNCTION cart_cap_add(bigint, bigint, bigint);
ALTER TABLE cart_lines RENAME CONSTRAINT cart_lines_quantity_positive TO cart_lines_quantity_check;
