package storage

import (
	"context"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
)

// RunBatch runs the given reservations of one product as one coalesced
// batch (exactly what concurrent requests would form) and returns each
// member's outcome in order.
func (s *Store) RunBatch(ctx context.Context, productID int64, ins []AddToCartParams) ([]Reservation, []error) {
	members := make([]*member, len(ins))
	for i, in := range ins {
		members[i] = &member{ctx: ctx, in: in, done: make(chan memberResult, 1)}
	}
	s.coalescer.runBatch(productID, members)
	res := make([]Reservation, len(ins))
	errs := make([]error, len(ins))
	for i, m := range members {
		r := <-m.done
		res[i], errs[i] = r.res, r.err
	}
	return res, errs
}

// Constraints are the constraint names translate maps to refusals.
var Constraints = []string{skuConstraint, lineCapConstraint, unitsCapConstraint, linesCapConstraint,
	cartCurrencyConstraint, productCurrencyConstraint,
	productHandleConstraint, collectionHandleConstraint, productHandleFormatConstraint, collectionHandleFormat}

// ExplainListProducts is the plan of the statement ListProducts runs for p
// (of CountProducts' for p.Filter when count), with sequential scans
// disabled when noSeqScan, so a test can see which indexes it uses. A
// search is explained as it runs: with the settings of its transaction.
func (s *Store) ExplainListProducts(ctx context.Context, p ProductPageParams, count, noSeqScan bool) (string, error) {
	q, args := pageSQL(p, nil)
	if count {
		q, args = countSQL(p.Filter)
	}
	var plan []string
	if p.Filter.Query != "" {
		err := s.read(ctx, true, func(rq queryer) error { return sqlxSelect(ctx, rq, &plan, `EXPLAIN `+q, args...) })
		return strings.Join(plan, "\n"), err
	}
	err := s.WithTx(ctx, func(ctx context.Context, tx *Tx) error {
		if noSeqScan {
			if _, err := tx.q.ExecContext(ctx, `SET LOCAL enable_seqscan = off`); err != nil {
				return err
			}
		}
		return sqlxSelect(ctx, tx.q, &plan, `EXPLAIN `+q, args...)
	})
	return strings.Join(plan, "\n"), err
}

// EnqueueEvent is enqueueEvent in tx.
func EnqueueEvent(ctx context.Context, tx *Tx, topic string, data any) error {
	return enqueueEvent(ctx, tx.q, topic, data)
}

// EnqueueOrderEvent is enqueueOrderEvent in tx.
func EnqueueOrderEvent(ctx context.Context, tx *Tx, topic, orderID string) error {
	return enqueueOrderEvent(ctx, tx.q, topic, orderID)
}

// StartBatch starts ins as one batch of productID, as nextBatch starts one
// (the product marked in flight, so concurrent reservations of it queue),
// and returns a function that waits for the members' outcomes.
func (s *Store) StartBatch(ctx context.Context, productID int64, ins []AddToCartParams) func() ([]Reservation, []error) {
	c := s.coalescer
	c.mu.Lock()
	c.queues[productID] = &productQueue{}
	c.mu.Unlock()
	members := make([]*member, len(ins))
	for i, in := range ins {
		members[i] = &member{ctx: ctx, in: in, done: make(chan memberResult, 1)}
	}
	go func() {
		c.runBatch(productID, append([]*member(nil), members...)) // runBatch filters its slice in place
		c.nextBatch(productID)
	}()
	return func() ([]Reservation, []error) {
		res := make([]Reservation, len(ins))
		errs := make([]error, len(ins))
		for i, m := range members {
			r := <-m.done
			res[i], errs[i] = r.res, r.err
		}
		return res, errs
	}
}

// Pending counts the reservations of a product queued for its next batch.
func (s *Store) Pending(productID int64) int {
	c := s.coalescer
	c.mu.Lock()
	defer c.mu.Unlock()
	if q := c.queues[productID]; q != nil {
		return len(q.pending)
	}
	return 0
}

// LockProductSQL is the statement a batch takes its product row with.
const LockProductSQL = lockProductSQL

// Translate is translate, for the error-mapping tests.
var Translate = translate

// ExecIn runs one statement in tx, as the operations' helpers run theirs.
func ExecIn(ctx context.Context, tx *Tx, q string, args ...any) error {
	_, err := tx.q.ExecContext(ctx, q, args...)
	return translate(err)
}

// ClaimCartKey claims key on cartID in tx, as a keyed cart mutation's
// first statement does.
func ClaimCartKey(ctx context.Context, tx *sqlx.Tx, cartID, key string) error {
	_, err := claimRecord(ctx, tx, cartScope, cartID, key, "test", requestHash("test"), time.Hour)
	return err
}
