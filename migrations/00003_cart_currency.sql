-- +goose Up
-- A cart's currency, set by its first line. The reservation compares it with
-- the product's in O(1) instead of scanning the cart's lines under the hot
-- product row's lock.
ALTER TABLE carts ADD COLUMN currency text CHECK (currency ~ '^[A-Z]{3}$');

UPDATE carts c
SET currency = (
    SELECT p.currency
    FROM cart_lines cl
    JOIN products p ON p.id = cl.product_id
    WHERE cl.cart_id = c.id
    LIMIT 1);

-- +goose Down
ALTER TABLE carts DROP COLUMN currency;
