-- +goose Up
-- Stock in several locations (docs/locations.md).
--
-- products.stock stays the sellable total and the reservation's arbiter
-- (UPDATE products SET held = held + n WHERE ... AND stock - held >= n is
-- unchanged). inventory_levels splits that total over the locations:
--
--   products.stock = sum of the product's levels        (inventory_levels_sum)
--   every level >= 0                                     (CHECK)
--   a level = sum of its ledger movements                (inventoryAudit)
--   an inactive location's levels are 0                  (inventoryAudit)
--   a PLACED order line's allocations sum to its quantity (inventoryAudit)
--
-- Every writer of a level holds the product's row lock first (lock order:
-- location rows, when taken, then products in ascending id, then levels), so
-- a level changes only under the lock of the product whose total it splits.

CREATE TABLE locations (
    id         bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name       text        NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    priority   integer     NOT NULL DEFAULT 0,
    active     boolean     NOT NULL DEFAULT true,
    -- The location the migration creates: operations that name no location
    -- act on it. It cannot be deactivated.
    is_default boolean     NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT locations_default_active CHECK (active OR NOT is_default)
);
CREATE UNIQUE INDEX locations_one_default ON locations (is_default) WHERE is_default;

INSERT INTO locations (id, name, priority, is_default) OVERRIDING SYSTEM VALUE VALUES (1, 'Default', 0, true);
SELECT setval(pg_get_serial_sequence('locations', 'id'), 1);

-- +goose StatementBegin
CREATE FUNCTION default_location_id() RETURNS bigint
LANGUAGE sql STABLE AS $$
    SELECT id FROM locations WHERE is_default
$$;
-- +goose StatementEnd

CREATE TABLE inventory_levels (
    product_id  bigint  NOT NULL REFERENCES products (id),
    location_id bigint  NOT NULL REFERENCES locations (id),
    stock       integer NOT NULL CONSTRAINT inventory_levels_stock_nonnegative CHECK (stock >= 0),
    PRIMARY KEY (product_id, location_id)
);
-- Deactivating a location reads the levels that hold units there.
CREATE INDEX inventory_levels_location_idx ON inventory_levels (location_id) WHERE stock > 0;

INSERT INTO inventory_levels (product_id, location_id, stock)
SELECT id, 1, stock FROM products;

-- Every product has a level at the default location from its creation,
-- holding its opening stock (whatever inserts the product).
-- +goose StatementBegin
CREATE FUNCTION products_default_level() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO inventory_levels (product_id, location_id, stock)
    VALUES (NEW.id, default_location_id(), NEW.stock);
    RETURN NULL;
END;
$$;
-- +goose StatementEnd
CREATE TRIGGER products_default_level
    AFTER INSERT ON products
    FOR EACH ROW EXECUTE FUNCTION products_default_level();

-- At commit, a product whose levels changed has stock = the sum of its
-- levels: a writer that moved a level without the total (or the reverse,
-- in the same transaction) fails whole.
-- +goose StatementBegin
CREATE FUNCTION inventory_levels_sum() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    total bigint;
    levels bigint;
BEGIN
    SELECT stock INTO total FROM products WHERE id = NEW.product_id;
    SELECT COALESCE(sum(stock), 0) INTO levels FROM inventory_levels WHERE product_id = NEW.product_id;
    IF total IS DISTINCT FROM levels THEN
        RAISE EXCEPTION 'product % stock % differs from the sum of its levels %', NEW.product_id, total, levels
            USING ERRCODE = 'check_violation', CONSTRAINT = 'inventory_levels_sum';
    END IF;
    RETURN NULL;
END;
$$;
-- +goose StatementEnd
CREATE CONSTRAINT TRIGGER inventory_levels_sum
    AFTER INSERT OR UPDATE ON inventory_levels
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION inventory_levels_sum();

-- INVENTORY_LEVEL_CHANGED for webhooks, from every statement that moves a
-- level (allocation, cancellation, adjustStock, setStock, deactivation), in
-- its transaction, keyed by product so it is delivered in order with the
-- product's other events. webhook_enqueue does nothing when no endpoint
-- subscribes.
-- +goose StatementBegin
CREATE FUNCTION inventory_levels_event() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    old_stock integer := 0;
BEGIN
    IF TG_OP = 'UPDATE' THEN
        old_stock := OLD.stock;
    END IF;
    PERFORM webhook_enqueue('INVENTORY_LEVEL_CHANGED', jsonb_build_object(
        'productId', NEW.product_id::text,
        'sku', (SELECT sku FROM products WHERE id = NEW.product_id),
        'locationId', NEW.location_id::text,
        'locationName', (SELECT name FROM locations WHERE id = NEW.location_id),
        'stock', NEW.stock,
        'delta', NEW.stock - old_stock));
    RETURN NULL;
END;
$$;
-- +goose StatementEnd
CREATE TRIGGER inventory_levels_event_update
    AFTER UPDATE ON inventory_levels
    FOR EACH ROW WHEN (OLD.stock IS DISTINCT FROM NEW.stock)
    EXECUTE FUNCTION inventory_levels_event();
CREATE TRIGGER inventory_levels_event_insert
    AFTER INSERT ON inventory_levels
    FOR EACH ROW WHEN (NEW.stock <> 0)
    EXECUTE FUNCTION inventory_levels_event();

-- The ledger's rows gain their location; every existing row is the default
-- location's (the constant default fills them without a rewrite). Rows
-- written without one (a product's opening stock) are the default
-- location's.
ALTER TABLE inventory_movements ADD COLUMN location_id bigint NOT NULL DEFAULT 1 REFERENCES locations (id);
ALTER TABLE inventory_movements ALTER COLUMN location_id SET DEFAULT default_location_id();
CREATE INDEX inventory_movements_product_location_idx ON inventory_movements (product_id, location_id);

-- Where a placed order's units were taken from: written in the transaction
-- that sells the order, kept after a cancellation (which returns the units
-- to these locations).
CREATE TABLE order_line_allocations (
    order_id    text    NOT NULL,
    product_id  bigint  NOT NULL,
    location_id bigint  NOT NULL REFERENCES locations (id),
    quantity    integer NOT NULL CHECK (quantity > 0),
    PRIMARY KEY (order_id, product_id, location_id),
    FOREIGN KEY (order_id, product_id) REFERENCES order_lines (order_id, product_id)
);
CREATE INDEX order_line_allocations_product_idx ON order_line_allocations (product_id);
-- The audit reads a product's order lines.
CREATE INDEX order_lines_product_idx ON order_lines (product_id);

-- Orders placed before locations were sold from the default location.
INSERT INTO order_line_allocations (order_id, product_id, location_id, quantity)
SELECT l.order_id, l.product_id, 1, l.quantity
FROM order_lines l
JOIN orders o ON o.id = l.order_id
WHERE o.status = 'PLACED';

-- +goose Down
DROP TABLE order_line_allocations;
DROP INDEX order_lines_product_idx;
DROP INDEX inventory_movements_product_location_idx;
ALTER TABLE inventory_movements DROP COLUMN location_id;
DROP TRIGGER inventory_levels_event_insert ON inventory_levels;
DROP TRIGGER inventory_levels_event_update ON inventory_levels;
DROP FUNCTION inventory_levels_event();
DROP TRIGGER inventory_levels_sum ON inventory_levels;
DROP FUNCTION inventory_levels_sum();
DROP TRIGGER products_default_level ON products;
DROP FUNCTION products_default_level();
DROP TABLE inventory_levels;
DROP FUNCTION default_location_id();
DROP TABLE locations;
