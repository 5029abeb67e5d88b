package storage

import (
	"context"
	"log/slog"
	"time"

	"github.com/lib/pq"
)

// Notification channels. Payloads are ids; listeners read current values.
const (
	ChannelStock = "holdfast_stock"
	ChannelCart  = "holdfast_cart"
)

// notifySQL notifies channel $1 for those of the ids $2 that are watched.
// It must run inside the transaction that made the change: PostgreSQL
// delivers the notification only if, and when, it commits.
//
// Stock (ChannelStock) is never notified from Go: the products_notify_stock
// trigger (migrations/00015) notifies a watched product whenever any
// statement changes its available units (stock - held), in that
// statement's transaction.
const notifySQL = `
	SELECT count(pg_notify($1, w.id))
	FROM watches w
	WHERE w.channel = $1 AND w.id = ANY($2) AND w.until > now()`

func notify(ctx context.Context, q queryer, channel string, ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	var n int
	return sqlxGet(ctx, q, &n, notifySQL, channel, pq.Array(ids))
}

// Watch marks ids of a channel as watched by this instance until ttl from
// now (instances refresh while they have subscribers).
func (s *Store) Watch(ctx context.Context, channel string, ids []string, ttl time.Duration) error {
	if len(ids) == 0 {
		return nil
	}
	ctx, cancel := s.withTimeout(ctx)
	defer cancel()
	const q = `
		INSERT INTO watches (channel, id, until)
		SELECT $1, id, now() + $3 * interval '1 millisecond'
		FROM unnest($2::text[]) AS id
		ON CONFLICT (channel, id) DO UPDATE SET until = GREATEST(watches.until, EXCLUDED.until)`
	_, err := s.pool().ExecContext(ctx, q, channel, pq.Array(ids), ttl.Milliseconds())
	if err != nil {
		return translate(err)
	}
	_, err = s.pool().ExecContext(ctx, `DELETE FROM watches WHERE until < now() - interval '1 minute'`)
	return translate(err)
}

// StockLevel is a product's available units at a moment.
type StockLevel struct {
	ProductID int64     `db:"id"`
	Available int       `db:"available"`
	At        time.Time `db:"at"`
}

// StockLevels reads the current levels of the given products (unknown ids
// are absent).
func (s *Store) StockLevels(ctx context.Context, ids []int64) ([]StockLevel, error) {
	ctx, cancel := s.withTimeout(ctx)
	defer cancel()
	const q = `SELECT id, stock - held AS available, clock_timestamp() AS at FROM products WHERE id = ANY($1) ORDER BY id`
	var out []StockLevel
	if err := sqlxSelect(ctx, s.reader(), &out, q, pq.Array(ids)); err != nil {
		return nil, err
	}
	return out, nil
}

// Event is a notification from the database, or a resync request after the
// listener reconnected (notifications may have been lost meanwhile).
type Event struct {
	Channel string
	ID      string
	Resync  bool
}

// Listen holds one LISTEN connection (lib/pq's Listener reconnects by
// itself) on both channels and delivers events until ctx ends.
func Listen(ctx context.Context, url string, log *slog.Logger) (<-chan Event, error) {
	events := make(chan Event, 1024)
	l := pq.NewListener(url, 100*time.Millisecond, 5*time.Second, func(ev pq.ListenerEventType, err error) {
		switch ev {
		case pq.ListenerEventDisconnected, pq.ListenerEventConnectionAttemptFailed:
			log.Warn("stock listener lost its connection", "err", errString(err))
		case pq.ListenerEventReconnected:
			log.Info("stock listener reconnected")
		}
	})
	for _, ch := range []string{ChannelStock, ChannelCart} {
		if err := l.Listen(ch); err != nil {
			l.Close()
			return nil, translate(err)
		}
	}
	go func() {
		defer close(events)
		defer l.Close()
		ping := time.NewTicker(30 * time.Second)
		defer ping.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case n := <-l.Notify:
				ev := Event{Resync: true}
				if n != nil {
					ev = Event{Channel: n.Channel, ID: n.Extra}
				}
				select {
				case events <- ev:
				case <-ctx.Done():
					return
				}
			case <-ping.C:
				// Detects a dead connection that no notification would.
				go func() { _ = l.Ping() }() // a failure shows as the listener's reconnect event
			}
		}
	}()
	return events, nil
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
