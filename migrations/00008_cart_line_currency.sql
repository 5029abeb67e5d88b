-- +goose Up
-- One currency per cart, enforced by the database. Each line records the
-- currency it was priced in, and two foreign keys tie it to both sides:
--   (cart_id, currency) -> carts (id, currency): every line of a cart has
--     the cart's currency, so a cart cannot hold two;
--   (product_id, currency) -> products (id, currency): the line's currency
--     is its product's, and a product's currency cannot change while a
--     line holds it.
-- Both checks take the same row locks the reservation already holds (cart,
-- then product), so no interleaving gets past them. The storage statements
-- guard the currency in their WHERE clauses first and refuse cleanly; these
-- keys are the backstop.
--
-- The column is nullable only for rows written outside Holdfast's storage
-- package (cmd/holdbench's raw baseline inserts bare lines), which the keys
-- then do not check; every statement in storage/ sets it.
ALTER TABLE cart_lines ADD COLUMN currency text;

-- Lines of carts that already mix currencies (the race of issue 9) keep
-- NULL: they leave with their cart's checkout or expiry.
UPDATE cart_lines cl
SET currency = p.currency
FROM products p, carts c
WHERE p.id = cl.product_id AND c.id = cl.cart_id AND c.currency = p.currency;

ALTER TABLE products ADD CONSTRAINT products_id_currency_key UNIQUE (id, currency);
ALTER TABLE carts ADD CONSTRAINT carts_id_currency_key UNIQUE (id, currency);
ALTER TABLE cart_lines
    ADD CONSTRAINT cart_lines_cart_currency_fkey FOREIGN KEY (cart_id, currency) REFERENCES carts (id, currency),
    ADD CONSTRAINT cart_lines_product_currency_fkey FOREIGN KEY (product_id, currency) REFERENCES products (id, currency);

-- +goose Down
ALTER TABLE cart_lines
    DROP CONSTRAINT cart_lines_product_currency_fkey,
    DROP CONSTRAINT cart_lines_cart_currency_fkey;
ALTER TABLE carts DROP CONSTRAINT carts_id_currency_key;
ALTER TABLE products DROP CONSTRAINT products_id_currency_key;
ALTER TABLE cart_lines DROP COLUMN currency;
