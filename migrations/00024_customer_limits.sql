-- +goose Up
-- Per-customer limits (issue 24), kept by the database itself.
--
-- customer_product_limits.used (00019) is the units of a limited product
-- that a customer holds in their carts plus those in their PENDING_PAYMENT
-- and PLACED orders. Triggers keep it: every change of a customer cart's
-- line, of a customer order's lines and of a customer order's status moves
-- it by the units concerned, so every path that holds, releases, sells or
-- cancels (addToCart and its batches, line updates, the reaper, checkout,
-- payment expiry, cancellation, a merge at sign-in) keeps it exact without
-- knowing about it, and products without a limit pay one primary-key read
-- of their own (already locked) row.
--
-- Taking units is one conditional statement on the counter row:
--   INSERT ... ON CONFLICT DO UPDATE SET used = used + n WHERE used + n <= limit
-- never a count read first. At READ COMMITTED a concurrent writer of the
-- same row is waited for and the WHERE re-evaluated on its newest version,
-- so no interleaving of any number of processes passes the limit. The
-- refusal raises check_violation on customer_product_limits_within, with the
-- customer's remaining allowance as the error's DETAIL (storage maps it to
-- PER_CUSTOMER_LIMIT with available). A guest cart adding units of a limited
-- product raises customer_required.
--
-- AFTER ROW triggers run at the end of their statement, so the counter row
-- is locked after the product rows the statement locked: every writer of a
-- (customer, product) counter holds the product's row lock first, the one
-- lock order (cart, products, counters).

-- +goose StatementBegin
CREATE FUNCTION customer_limit_take(cust bigint, pid bigint, lim integer, n integer) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    left_over integer;
BEGIN
    IF n <= lim THEN
        INSERT INTO customer_product_limits AS c (customer_id, product_id, used)
        VALUES (cust, pid, n)
        ON CONFLICT (customer_id, product_id)
        DO UPDATE SET used = c.used + EXCLUDED.used
        WHERE c.used + EXCLUDED.used <= lim;
        IF FOUND THEN
            RETURN;
        END IF;
    END IF;
    SELECT lim - used INTO left_over FROM customer_product_limits WHERE customer_id = cust AND product_id = pid;
    RAISE EXCEPTION 'per-customer limit reached'
        USING ERRCODE = 'check_violation', CONSTRAINT = 'customer_product_limits_within',
              DETAIL = GREATEST(COALESCE(left_over, lim), 0)::text;
END
$$;
-- +goose StatementEnd

-- +goose StatementBegin
-- customer_limit_give moves a counter by n without a limit: a release (n <
-- 0; the row exists) or units that are counted already elsewhere (n > 0,
-- checkout). A counter going below 0 fails customer_product_limits_used_check:
-- the books would be wrong.
CREATE FUNCTION customer_limit_give(cust bigint, pid bigint, n integer) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    IF n < 0 THEN
        UPDATE customer_product_limits SET used = used + n WHERE customer_id = cust AND product_id = pid;
        IF NOT FOUND THEN
            INSERT INTO customer_product_limits (customer_id, product_id, used) VALUES (cust, pid, n);
        END IF;
    ELSIF n > 0 THEN
        INSERT INTO customer_product_limits AS c (customer_id, product_id, used)
        VALUES (cust, pid, n)
        ON CONFLICT (customer_id, product_id) DO UPDATE SET used = c.used + EXCLUDED.used;
    END IF;
END
$$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE FUNCTION cart_lines_customer_limit() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    pid   bigint;
    cid   text;
    delta integer;
    lim   integer;
    cust  bigint;
BEGIN
    IF TG_OP = 'DELETE' THEN
        pid := OLD.product_id; cid := OLD.cart_id; delta := -OLD.quantity;
    ELSIF TG_OP = 'INSERT' THEN
        pid := NEW.product_id; cid := NEW.cart_id; delta := NEW.quantity;
    ELSE
        pid := NEW.product_id; cid := NEW.cart_id; delta := NEW.quantity - OLD.quantity;
    END IF;
    IF delta = 0 THEN
        RETURN NULL;
    END IF;
    SELECT limit_per_customer INTO lim FROM products WHERE id = pid;
    IF lim IS NULL THEN
        RETURN NULL;
    END IF;
    SELECT customer_id INTO cust FROM carts WHERE id = cid;
    IF cust IS NULL THEN
        IF delta > 0 THEN
            RAISE EXCEPTION 'a limited product needs a customer cart'
                USING ERRCODE = 'check_violation', CONSTRAINT = 'customer_product_limits_customer_required';
        END IF;
        RETURN NULL;
    END IF;
    IF delta > 0 THEN
        PERFORM customer_limit_take(cust, pid, lim, delta);
    ELSE
        PERFORM customer_limit_give(cust, pid, delta);
    END IF;
    RETURN NULL;
END
$$;
-- +goose StatementEnd

CREATE TRIGGER cart_lines_customer_limit
    AFTER INSERT OR UPDATE OF quantity OR DELETE ON cart_lines
    FOR EACH ROW EXECUTE FUNCTION cart_lines_customer_limit();

-- An order's lines count while the order is PENDING_PAYMENT or PLACED.
-- Units moving from a cart to an order (checkout) or back (an abandoned
-- checkout) keep the count; they are never refused on the order's side
-- (a late payment re-selling an expired order's units is not refused for
-- the limit either: it was paid).
-- +goose StatementBegin
CREATE FUNCTION order_lines_customer_limit() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    l     order_lines;
    delta integer;
    lim   integer;
    cust  bigint;
BEGIN
    IF TG_OP = 'DELETE' THEN l := OLD; delta := -OLD.quantity; ELSE l := NEW; delta := NEW.quantity; END IF;
    SELECT limit_per_customer INTO lim FROM products WHERE id = l.product_id;
    IF lim IS NULL THEN
        RETURN NULL;
    END IF;
    SELECT customer_id INTO cust FROM orders WHERE id = l.order_id AND status IN ('PENDING_PAYMENT', 'PLACED');
    IF cust IS NOT NULL THEN
        PERFORM customer_limit_give(cust, l.product_id, delta);
    END IF;
    RETURN NULL;
END
$$;
-- +goose StatementEnd

CREATE TRIGGER order_lines_customer_limit
    AFTER INSERT OR DELETE ON order_lines
    FOR EACH ROW EXECUTE FUNCTION order_lines_customer_limit();

-- +goose StatementBegin
CREATE FUNCTION orders_customer_limit() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    was_counted boolean := OLD.status IN ('PENDING_PAYMENT', 'PLACED');
    is_counted  boolean := NEW.status IN ('PENDING_PAYMENT', 'PLACED');
BEGIN
    IF was_counted = is_counted THEN
        RETURN NULL;
    END IF;
    PERFORM customer_limit_give(NEW.customer_id, ol.product_id,
                                CASE WHEN is_counted THEN ol.quantity ELSE -ol.quantity END)
    FROM order_lines ol
    JOIN products p ON p.id = ol.product_id AND p.limit_per_customer IS NOT NULL
    WHERE ol.order_id = NEW.id
    ORDER BY ol.product_id;
    RETURN NULL;
END
$$;
-- +goose StatementEnd

CREATE TRIGGER orders_customer_limit
    AFTER UPDATE OF status ON orders
    FOR EACH ROW WHEN (NEW.customer_id IS NOT NULL)
    EXECUTE FUNCTION orders_customer_limit();

-- Setting, changing or removing a product's limit recounts its counters
-- from the carts and orders (so the count is exact from then on; a limit
-- lowered below what a customer holds keeps their units and refuses more).
-- +goose StatementBegin
CREATE FUNCTION products_customer_limit() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM customer_product_limits WHERE product_id = NEW.id;
    IF NEW.limit_per_customer IS NOT NULL THEN
        INSERT INTO customer_product_limits (customer_id, product_id, used)
        SELECT customer_id, NEW.id, sum(quantity)::integer
        FROM (
            SELECT c.customer_id, cl.quantity
            FROM cart_lines cl JOIN carts c ON c.id = cl.cart_id
            WHERE cl.product_id = NEW.id AND c.customer_id IS NOT NULL
            UNION ALL
            SELECT o.customer_id, ol.quantity
            FROM order_lines ol JOIN orders o ON o.id = ol.order_id
            WHERE ol.product_id = NEW.id AND o.customer_id IS NOT NULL AND o.status IN ('PENDING_PAYMENT', 'PLACED')
        ) units
        GROUP BY customer_id;
    END IF;
    RETURN NULL;
END
$$;
-- +goose StatementEnd

CREATE TRIGGER products_customer_limit
    AFTER UPDATE OF limit_per_customer ON products
    FOR EACH ROW WHEN (OLD.limit_per_customer IS DISTINCT FROM NEW.limit_per_customer)
    EXECUTE FUNCTION products_customer_limit();

-- +goose Down
DROP TRIGGER products_customer_limit ON products;
DROP FUNCTION products_customer_limit();
DROP TRIGGER orders_customer_limit ON orders;
DROP FUNCTION orders_customer_limit();
DROP TRIGGER order_lines_customer_limit ON order_lines;
DROP FUNCTION order_lines_customer_limit();
DROP TRIGGER cart_lines_customer_limit ON cart_lines;
DROP FUNCTION cart_lines_customer_limit();
DROP FUNCTION customer_limit_give(bigint, bigint, integer);
DROP FUNCTION customer_limit_take(bigint, bigint, integer, integer);
