-- +goose Up
-- An idempotency key's scope gets a column of its own. Until now keys
-- outside carts kept their scope in cart_id as '~admin' or '~createCart'
-- (and, before setStock's keys joined the admin scope, '~setStock'); cart_id
-- is now the cart of a cart-scoped key and NULL otherwise, a real reference.
--
-- scope is one of:
--   'cart'       a cart mutation's key (addToCart, updateCartLine,
--                removeCartLine, checkout), unique per cart: cart_id set
--   'admin'      an admin mutation's key (setStock, adjustStock,
--                createProduct, ...), one namespace for all of them
--   'createCart' createCart's key, one namespace shared by every client
ALTER TABLE idempotency_keys
    ADD COLUMN scope text,
    DROP CONSTRAINT idempotency_keys_pkey,
    ALTER COLUMN cart_id DROP NOT NULL;

-- '~setStock' records are no longer read by anything; they become admin
-- records unless an admin record already holds their key (the one today's
-- code answers from). Records of other '~' scopes, and of carts that do not
-- exist, could never be claimed again: they go.
DELETE FROM idempotency_keys k
WHERE k.cart_id = '~setStock'
  AND EXISTS (SELECT 1 FROM idempotency_keys a WHERE a.cart_id = '~admin' AND a.key = k.key);
DELETE FROM idempotency_keys k
WHERE k.cart_id NOT IN ('~admin', '~createCart', '~setStock')
  AND NOT EXISTS (SELECT 1 FROM carts WHERE carts.id = k.cart_id);
UPDATE idempotency_keys
SET scope = CASE cart_id
        WHEN '~admin' THEN 'admin'
        WHEN '~setStock' THEN 'admin'
        WHEN '~createCart' THEN 'createCart'
        ELSE 'cart'
    END,
    cart_id = CASE WHEN cart_id LIKE '~%' THEN NULL ELSE cart_id END;

ALTER TABLE idempotency_keys
    ALTER COLUMN scope SET NOT NULL,
    ADD CONSTRAINT idempotency_keys_scope_check CHECK (scope IN ('cart', 'admin', 'createCart')),
    ADD CONSTRAINT idempotency_keys_cart_scope_check CHECK ((scope = 'cart') = (cart_id IS NOT NULL)),
    -- A key's record goes with its cart.
    ADD CONSTRAINT idempotency_keys_cart_id_fkey FOREIGN KEY (cart_id) REFERENCES carts (id) ON DELETE CASCADE;

-- One record per (scope, cart, key): per cart in the cart scope, per scope
-- otherwise (cart_id is NULL exactly outside the cart scope). claimRecord's
-- ON CONFLICT names these columns.
CREATE UNIQUE INDEX idempotency_keys_scope_cart_key ON idempotency_keys (scope, coalesce(cart_id, ''), key);

-- +goose Down
DROP INDEX idempotency_keys_scope_cart_key;
ALTER TABLE idempotency_keys
    DROP CONSTRAINT idempotency_keys_cart_id_fkey,
    DROP CONSTRAINT idempotency_keys_cart_scope_check,
    DROP CONSTRAINT idempotency_keys_scope_check;
UPDATE idempotency_keys SET cart_id = '~' || scope WHERE scope <> 'cart';
ALTER TABLE idempotency_keys
    ALTER COLUMN cart_id SET NOT NULL,
    ADD PRIMARY KEY (cart_id, key),
    DROP COLUMN scope;
