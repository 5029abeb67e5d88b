-- +goose Up
-- Live stock (stockChanged) is notified by the database itself, whichever
-- statement changes a product's available units (stock - held): the
-- reservation, the coalesced batch, line updates, checkout, the reaper,
-- payments, adjustments, stock sync, cancellations. Before this, each
-- statement carried its own pg_notify CTE, which PostgreSQL runs only if
-- the statement's final SELECT reads it, so a statement could forget it
-- (or drop it from its SELECT) and live stock silently stopped for that
-- path.
--
-- As before, only watched products notify (see 00005_watches.sql: the
-- commits of notifying transactions are serialised), the payload is the
-- product's id, and the notification is sent at commit of the changing
-- transaction. pg_notify drops a repeat of the same payload within one
-- transaction, so a product changed by several statements of one
-- transaction is notified once. The WHEN clause is evaluated for each
-- updated row without calling a function: a change of stock and held by
-- the same amount (a sale of held units) changes nothing a subscriber sees
-- and notifies nobody.
-- +goose StatementBegin
CREATE FUNCTION products_notify_stock() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('holdfast_stock', w.id)
    FROM watches w
    WHERE w.channel = 'holdfast_stock' AND w.id = NEW.id::text AND w.until > now();
    RETURN NULL;
END;
$$;
-- +goose StatementEnd
CREATE TRIGGER products_notify_stock
    AFTER UPDATE OF stock, held ON products
    FOR EACH ROW
    WHEN (OLD.stock - OLD.held IS DISTINCT FROM NEW.stock - NEW.held)
    EXECUTE FUNCTION products_notify_stock();

-- +goose Down
DROP TRIGGER products_notify_stock ON products;
DROP FUNCTION products_notify_stock();
