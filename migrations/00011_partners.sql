-- +goose Up
-- Partner integrations (issue 14): webhooks through a transactional outbox,
-- low-stock thresholds, and an orders feed that partners resume by
-- updated_at.

-- A product whose available units (stock - held) fall to this or below
-- fires STOCK_LOW once per crossing; NULL: no alert.
ALTER TABLE products ADD COLUMN low_stock_threshold integer
    CONSTRAINT products_low_stock_threshold_check CHECK (low_stock_threshold >= 0);

-- Every change of an order row bumps updated_at, whoever makes it (checkout,
-- cancellation, payment transitions): a trigger, so no statement can forget.
-- It is the writing transaction's now(), i.e. its start: the orders feed
-- relies on that (see storage/orderfeed.go).
ALTER TABLE orders ADD COLUMN updated_at timestamptz NOT NULL DEFAULT now();
UPDATE orders SET updated_at = COALESCE(cancelled_at, created_at);
CREATE INDEX orders_updated_idx ON orders (updated_at, seq);

-- +goose StatementBegin
CREATE FUNCTION orders_touch() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.updated_at := now();
    RETURN NEW;
END;
$$;
-- +goose StatementEnd
CREATE TRIGGER orders_touch BEFORE UPDATE ON orders
    FOR EACH ROW EXECUTE FUNCTION orders_touch();

-- Webhook endpoints. The secret signs deliveries (shown to the admin once).
CREATE TABLE webhook_endpoints (
    id                   bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    url                  text        NOT NULL,
    topics               text[]      NOT NULL CHECK (cardinality(topics) > 0),
    secret               text        NOT NULL,
    created_at           timestamptz NOT NULL DEFAULT now(),
    disabled_at          timestamptz,
    -- Deliveries that failed for good in a row; reset by any success.
    consecutive_failures integer     NOT NULL DEFAULT 0
);

-- The outbox: one row per event, written in the transaction of the change
-- it describes (by webhook_enqueue, from Go or from the products trigger).
-- key orders events: one product's or one order's events are delivered to
-- an endpoint in id order, which is their commit order because each is
-- written while its transaction holds the product's or order's row lock.
CREATE TABLE webhook_events (
    id         bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    topic      text        NOT NULL,
    key        text        NOT NULL,
    data       jsonb       NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

-- One delivery per (event, endpoint subscribed when the event was written).
-- PENDING deliveries are claimed by dispatchers with FOR UPDATE SKIP
-- LOCKED; a claim pushes next_attempt_at past the attempt's timeout (a
-- lease), so a dispatcher that dies mid-attempt only delays the retry.
CREATE TABLE webhook_deliveries (
    id               bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    event_id         bigint      NOT NULL REFERENCES webhook_events (id) ON DELETE CASCADE,
    endpoint_id      bigint      NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    key              text        NOT NULL,
    status           text        NOT NULL DEFAULT 'PENDING'
                                 CONSTRAINT webhook_deliveries_status_known CHECK (status IN ('PENDING', 'DELIVERED', 'FAILED')),
    attempts         integer     NOT NULL DEFAULT 0,
    next_attempt_at  timestamptz NOT NULL DEFAULT now(),
    -- Retries stop (FAILED) once WEBHOOK_RETRY_FOR has passed since this.
    retry_since      timestamptz NOT NULL DEFAULT now(),
    last_status_code integer,
    last_error       text,
    delivered_at     timestamptz,
    created_at       timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT webhook_deliveries_once UNIQUE (event_id, endpoint_id)
);
CREATE INDEX webhook_deliveries_due_idx ON webhook_deliveries (next_attempt_at) WHERE status = 'PENDING';
CREATE INDEX webhook_deliveries_key_idx ON webhook_deliveries (endpoint_id, key, event_id) WHERE status = 'PENDING';
CREATE INDEX webhook_deliveries_endpoint_idx ON webhook_deliveries (endpoint_id, id);
-- Finished deliveries are purged after WEBHOOK_RETENTION.
CREATE INDEX webhook_deliveries_done_idx ON webhook_deliveries (created_at) WHERE status <> 'PENDING';

-- webhook_enqueue writes an event and its deliveries, in the caller's
-- transaction, if any live endpoint subscribes to the topic (else nothing:
-- with no partners an event costs one index-less look at a tiny table).
-- key is 'order:<orderId>' or 'product:<productId>' from data. Returns the
-- event's id, or NULL.
-- +goose StatementBegin
CREATE FUNCTION webhook_enqueue(p_topic text, p_data jsonb) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    ev  bigint;
    k   text;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM webhook_endpoints WHERE disabled_at IS NULL AND p_topic = ANY (topics)) THEN
        RETURN NULL;
    END IF;
    k := COALESCE('order:' || (p_data ->> 'orderId'), 'product:' || (p_data ->> 'productId'), p_topic);
    INSERT INTO webhook_events (topic, key, data) VALUES (p_topic, k, p_data) RETURNING id INTO ev;
    INSERT INTO webhook_deliveries (event_id, endpoint_id, key)
    SELECT ev, e.id, k
    FROM webhook_endpoints e
    WHERE e.disabled_at IS NULL AND p_topic = ANY (e.topics);
    RETURN ev;
END;
$$;
-- +goose StatementEnd

-- Sold out, back in stock and low stock, fired by the database itself on
-- the crossing, whichever statement moves stock or held (the reservation,
-- the coalesced batch, checkout, the reaper, adjustments). The trigger's
-- WHEN clause is evaluated for each updated row without calling any
-- function; the function runs only on a crossing, in the same transaction.
-- +goose StatementBegin
CREATE FUNCTION products_stock_events() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    was integer := OLD.stock - OLD.held;
    now_available integer := NEW.stock - NEW.held;
    data jsonb := jsonb_build_object(
        'productId', NEW.id::text, 'sku', NEW.sku,
        'stock', NEW.stock, 'held', NEW.held, 'available', now_available,
        'previousAvailable', was, 'lowStockThreshold', NEW.low_stock_threshold);
BEGIN
    IF was > 0 AND now_available = 0 THEN
        PERFORM webhook_enqueue('PRODUCT_SOLD_OUT', data);
    ELSIF was = 0 AND now_available > 0 THEN
        PERFORM webhook_enqueue('PRODUCT_BACK_IN_STOCK', data);
    END IF;
    IF NEW.low_stock_threshold IS NOT NULL AND was > NEW.low_stock_threshold
       AND now_available <= NEW.low_stock_threshold THEN
        PERFORM webhook_enqueue('STOCK_LOW', data);
    END IF;
    RETURN NULL;
END;
$$;
-- +goose StatementEnd
CREATE TRIGGER products_stock_events
    AFTER UPDATE OF stock, held ON products
    FOR EACH ROW
    WHEN ((OLD.stock - OLD.held > 0) <> (NEW.stock - NEW.held > 0)
       OR (NEW.low_stock_threshold IS NOT NULL
           AND OLD.stock - OLD.held > NEW.low_stock_threshold
           AND NEW.stock - NEW.held <= NEW.low_stock_threshold))
    EXECUTE FUNCTION products_stock_events();

-- +goose Down
DROP TRIGGER products_stock_events ON products;
DROP FUNCTION products_stock_events();
DROP FUNCTION webhook_enqueue(text, jsonb);
DROP TABLE webhook_deliveries;
DROP TABLE webhook_events;
DROP TABLE webhook_endpoints;
DROP TRIGGER orders_touch ON orders;
DROP FUNCTION orders_touch();
DROP INDEX orders_updated_idx;
ALTER TABLE orders DROP COLUMN updated_at;
ALTER TABLE products DROP COLUMN low_stock_threshold;
