-- +goose Up
-- A manual payment's reference (the bank transfer's, the receipt's that
-- confirmPayment was given) confirms one order only: a second order
-- confirmed with it is refused (DUPLICATE_PAYMENT_REFERENCE), also when two
-- confirmations race. Stripe's references are intent ids, unique anyway.
--
-- A database in which one reference already confirmed several orders
-- cannot take the index: the migration stops and names the references, for
-- someone to look at those orders (one payment may have been counted for
-- two) and correct the references by hand before starting again.
-- +goose StatementBegin
DO $$
DECLARE
    dups text;
BEGIN
    SELECT string_agg(quote_literal(reference), ', ' ORDER BY reference) INTO dups
    FROM (
        SELECT reference
        FROM payments
        WHERE provider = 'manual' AND reference IS NOT NULL
        GROUP BY reference
        HAVING count(*) > 1
        LIMIT 20
    ) d;
    IF dups IS NOT NULL THEN
        RAISE EXCEPTION 'manual payment references that confirmed more than one order: %', dups
            USING HINT = 'Each manual reference must confirm one order: check those orders and correct payments.reference by hand, then migrate again (docs/payments.md, "The manual provider").';
    END IF;
END
$$;
-- +goose StatementEnd
CREATE UNIQUE INDEX payments_manual_reference_once ON payments (reference)
    WHERE provider = 'manual';

-- +goose Down
DROP INDEX payments_manual_reference_once;
