package storage

import (
	"context"
	"log/slog"
	"time"

	"github.com/lib/pq"
)

// releaseCarts gives back every hold of the (locked) carts and sets their
// status. The product updates run in ascending product id order, the one
// lock order shared by every multi-product operation.
func releaseCarts(ctx context.Context, q queryer, cartIDs []string, status string) (units int64, err error) {
	const release = `
		WITH gone AS (
			DELETE FROM cart_lines
			WHERE cart_id = ANY($1)
			RETURNING product_id, quantity
		), per_product AS (
			SELECT product_id, sum(quantity)::integer AS qty
			FROM gone
			GROUP BY product_id
		), locked AS (
			SELECT p.id, pp.qty
			FROM products p
			JOIN per_product pp ON pp.product_id = p.id
			ORDER BY p.id
			FOR UPDATE OF p
		)
		UPDATE products p
		SET held = p.held - locked.qty, updated_at = now()
		FROM locked
		WHERE p.id = locked.id
		RETURNING p.id, locked.qty`
	var released []struct {
		ID  int64 `db:"id"`
		Qty int64 `db:"qty"`
	}
	if err := sqlxSelect(ctx, q, &released, release, pq.Array(cartIDs)); err != nil {
		return 0, err
	}
	const mark = `UPDATE carts SET status = $2, updated_at = now(), total_quantity = 0, line_count = 0 WHERE id = ANY($1)`
	if _, err := q.ExecContext(ctx, mark, pq.Array(cartIDs), status); err != nil {
		return 0, translate(err)
	}
	for _, r := range released {
		units += r.Qty
	}
	return units, notify(ctx, q, ChannelCart, cartIDs)
}

// ReaperBatch bounds how many carts one reaper transaction expires.
const ReaperBatch = 100

// ReapExpired expires up to limit carts whose holds have run out and returns
// how many it expired. Several instances may run it at once: SKIP LOCKED
// hands each cart to exactly one of them.
func (s *Store) ReapExpired(ctx context.Context, limit int) (int, error) {
	var n int
	var units int64
	err := s.WithTx(ctx, func(ctx context.Context, tx *Tx) error {
		var ids []string
		const pick = `
			SELECT id
			FROM carts
			WHERE status = 'ACTIVE' AND expires_at <= now()
			ORDER BY expires_at
			LIMIT $1
			FOR UPDATE SKIP LOCKED`
		if err := sqlxSelect(ctx, tx.q, &ids, pick, limit); err != nil {
			return err
		}
		n = len(ids)
		if n == 0 {
			return nil
		}
		var err error
		units, err = releaseCarts(ctx, tx.q, ids, CartExpired)
		return err
	})
	if err == nil {
		s.cartsExpired.Add(int64(n))
		s.unitsReleased.Add(units)
	}
	return n, err
}

// RunReaper expires carts, and orders whose payment is past its dueAt
// (ReapPayments), every interval until ctx ends, draining in bounded
// batches.
func (s *Store) RunReaper(ctx context.Context, interval time.Duration, log *slog.Logger) {
	if interval <= 0 {
		return
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		for ctx.Err() == nil {
			n, err := s.ReapExpired(ctx, ReaperBatch)
			if err != nil {
				if ctx.Err() == nil {
					log.Warn("reaper pass failed", "err", err.Error())
				}
				break
			}
			if n > 0 {
				log.Info("reaper released expired carts", "carts", n)
			}
			if n < ReaperBatch {
				break
			}
		}
		s.reapPayments(ctx, log)
		if n, err := s.ReapCustomerTokens(ctx, 1000); err != nil && ctx.Err() == nil {
			log.Warn("reaper: customer token cleanup failed", "err", err.Error())
		} else if n > 0 {
			log.Debug("reaper removed expired customer tokens", "tokens", n)
		}
		if n, err := s.ReapIdempotencyKeys(ctx, 1000); err != nil && ctx.Err() == nil {
			log.Warn("reaper: idempotency key cleanup failed", "err", err.Error())
		} else if n > 0 {
			log.Debug("reaper removed expired idempotency keys", "keys", n)
		}
	}
}

// reapPayments is RunReaper's pass over pending payments past their dueAt.
func (s *Store) reapPayments(ctx context.Context, log *slog.Logger) {
	for ctx.Err() == nil {
		n, err := s.ReapPayments(ctx, ReaperBatch)
		if err != nil {
			if ctx.Err() == nil {
				log.Warn("reaper: payment expiry failed", "err", err.Error())
			}
			return
		}
		if n > 0 {
			log.Info("reaper expired unpaid orders", "orders", n)
		}
		if n < ReaperBatch {
			return
		}
	}
}
