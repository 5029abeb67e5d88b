-- +goose Up
-- Gift cards, whose balances are held like stock (docs/giftcards.md).
--
-- A card's balance_cents is what it is worth; held_cents is what orders
-- awaiting payment hold of it (held_cents <= balance_cents, both >= 0:
-- gift_cards_held_within). Every movement of a balance is a row of
-- gift_card_movements: balance = initial + sum of movements.
--
-- What an order takes of a card is a row of order_gift_cards, whose state
-- moves as the order's does (triggers below):
--   held      taken by beginCheckout: held_cents + amount
--   captured  taken by checkout, or the payment succeeded: balance - amount
--   released  the payment failed or expired, or the unpaid order was cancelled
--   credited  the placed order was cancelled: balance + amount
-- Taking an amount (a row inserted, or a late payment's capture) is ONE
-- conditional UPDATE of the card's row:
--   UPDATE gift_cards SET held_cents = held_cents + $2 WHERE id = $1 AND balance_cents - held_cents >= $2
-- refused (check_violation on gift_cards_held_within, GIFT_CARD_EMPTY)
-- when the card no longer has it. Lock order: carts, products, discount
-- codes, gift cards (ascending id).

CREATE TABLE gift_cards (
    id                  bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- SHA-256 of the code (upper-case, without spaces and dashes); the code
    -- itself is shown once, at creation.
    code_hash           bytea       NOT NULL CONSTRAINT gift_cards_code_hash_key UNIQUE CHECK (length(code_hash) = 32),
    last_characters     text        NOT NULL CHECK (length(last_characters) = 4),
    currency            text        NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    initial_value_cents bigint      NOT NULL CHECK (initial_value_cents > 0),
    balance_cents       bigint      NOT NULL,
    held_cents          bigint      NOT NULL DEFAULT 0,
    expires_at          timestamptz,
    disabled            boolean     NOT NULL DEFAULT false,
    created_at          timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT gift_cards_held_within CHECK (balance_cents >= 0 AND held_cents >= 0 AND held_cents <= balance_cents)
);

CREATE TABLE gift_card_movements (
    id           bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    gift_card_id bigint      NOT NULL REFERENCES gift_cards (id),
    delta_cents  bigint      NOT NULL CHECK (delta_cents <> 0),
    kind         text        NOT NULL CHECK (kind IN ('adjustment', 'capture', 'credit')),
    order_id     text        REFERENCES orders (id),
    reason       text,
    created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX gift_card_movements_card_idx ON gift_card_movements (gift_card_id);

-- Cards a shopper applied to a cart: nothing is reserved until checkout.
CREATE TABLE cart_gift_cards (
    cart_id      text        NOT NULL REFERENCES carts (id),
    gift_card_id bigint      NOT NULL REFERENCES gift_cards (id),
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (cart_id, gift_card_id)
);

CREATE TABLE order_gift_cards (
    order_id     text        NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    gift_card_id bigint      NOT NULL REFERENCES gift_cards (id),
    amount_cents bigint      NOT NULL CHECK (amount_cents > 0),
    state        text        NOT NULL CHECK (state IN ('held', 'captured', 'released', 'credited')),
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (order_id, gift_card_id)
);
CREATE INDEX order_gift_cards_card_idx ON order_gift_cards (gift_card_id);

-- +goose StatementBegin
CREATE FUNCTION gift_card_take(card bigint, amount bigint, hold boolean) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE gift_cards
    SET held_cents = held_cents + CASE WHEN hold THEN amount ELSE 0 END,
        balance_cents = balance_cents - CASE WHEN hold THEN 0 ELSE amount END
    WHERE id = card AND balance_cents - held_cents >= amount;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'the gift card does not have that much left'
            USING ERRCODE = 'check_violation', CONSTRAINT = 'gift_cards_held_within';
    END IF;
END
$$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE FUNCTION order_gift_cards_move() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        IF NEW.state = 'held' THEN
            PERFORM gift_card_take(NEW.gift_card_id, NEW.amount_cents, true);
        ELSIF NEW.state = 'captured' THEN
            PERFORM gift_card_take(NEW.gift_card_id, NEW.amount_cents, false);
            INSERT INTO gift_card_movements (gift_card_id, delta_cents, kind, order_id)
            VALUES (NEW.gift_card_id, -NEW.amount_cents, 'capture', NEW.order_id);
        ELSE
            RAISE EXCEPTION 'order_gift_cards: a new row is held or captured';
        END IF;
    ELSIF TG_OP = 'DELETE' THEN
        -- An abandoned checkout (the order is deleted): its hold goes.
        IF OLD.state = 'held' THEN
            UPDATE gift_cards SET held_cents = held_cents - OLD.amount_cents WHERE id = OLD.gift_card_id;
        END IF;
    ELSIF OLD.state = 'held' AND NEW.state = 'captured' THEN
        UPDATE gift_cards
        SET held_cents = held_cents - NEW.amount_cents, balance_cents = balance_cents - NEW.amount_cents
        WHERE id = NEW.gift_card_id;
        INSERT INTO gift_card_movements (gift_card_id, delta_cents, kind, order_id)
        VALUES (NEW.gift_card_id, -NEW.amount_cents, 'capture', NEW.order_id);
    ELSIF OLD.state = 'held' AND NEW.state = 'released' THEN
        UPDATE gift_cards SET held_cents = held_cents - NEW.amount_cents WHERE id = NEW.gift_card_id;
    ELSIF OLD.state = 'released' AND NEW.state = 'captured' THEN
        PERFORM gift_card_take(NEW.gift_card_id, NEW.amount_cents, false);
        INSERT INTO gift_card_movements (gift_card_id, delta_cents, kind, order_id)
        VALUES (NEW.gift_card_id, -NEW.amount_cents, 'capture', NEW.order_id);
    ELSIF OLD.state = 'captured' AND NEW.state = 'credited' THEN
        UPDATE gift_cards SET balance_cents = balance_cents + NEW.amount_cents WHERE id = NEW.gift_card_id;
        INSERT INTO gift_card_movements (gift_card_id, delta_cents, kind, order_id)
        VALUES (NEW.gift_card_id, NEW.amount_cents, 'credit', NEW.order_id);
    ELSIF OLD.state IS DISTINCT FROM NEW.state THEN
        RAISE EXCEPTION 'order_gift_cards: no move from % to %', OLD.state, NEW.state;
    END IF;
    RETURN NULL;
END
$$;
-- +goose StatementEnd

CREATE TRIGGER order_gift_cards_move
    AFTER INSERT OR UPDATE OF state OR DELETE ON order_gift_cards
    FOR EACH ROW EXECUTE FUNCTION order_gift_cards_move();

-- An order's status moves what it took of its cards (in ascending card id).
-- +goose StatementBegin
CREATE FUNCTION orders_gift_cards() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    from_state text;
    to_state   text;
BEGIN
    IF OLD.status = 'PENDING_PAYMENT' AND NEW.status = 'PLACED' THEN
        from_state := 'held'; to_state := 'captured';
    ELSIF OLD.status = 'PENDING_PAYMENT' THEN
        from_state := 'held'; to_state := 'released';
    ELSIF OLD.status = 'PLACED' AND NEW.status = 'CANCELLED' THEN
        from_state := 'captured'; to_state := 'credited';
    ELSIF OLD.status = 'PAYMENT_EXPIRED' AND NEW.status = 'PLACED' THEN
        from_state := 'released'; to_state := 'captured';
    ELSE
        RETURN NULL;
    END IF;
    UPDATE order_gift_cards SET state = to_state
    WHERE order_id = NEW.id AND state = from_state
      AND gift_card_id IN (SELECT g.id FROM gift_cards g
                           JOIN order_gift_cards o ON o.gift_card_id = g.id AND o.order_id = NEW.id
                           ORDER BY g.id FOR UPDATE OF g);
    RETURN NULL;
END
$$;
-- +goose StatementEnd

CREATE TRIGGER orders_gift_cards
    AFTER UPDATE OF status ON orders
    FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status)
    EXECUTE FUNCTION orders_gift_cards();

-- +goose Down
DROP TRIGGER orders_gift_cards ON orders;
DROP FUNCTION orders_gift_cards();
DROP TRIGGER order_gift_cards_move ON order_gift_cards;
DROP FUNCTION order_gift_cards_move();
DROP FUNCTION gift_card_take(bigint, bigint, boolean);
DROP TABLE order_gift_cards;
DROP TABLE cart_gift_cards;
DROP TABLE gift_card_movements;
DROP TABLE gift_cards;
