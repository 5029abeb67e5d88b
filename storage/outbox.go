package storage

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strconv"
	"time"

	"github.com/lib/pq"
)

// The webhook outbox (migrations/00011).
//
// An event is written by webhook_enqueue in the transaction of the change it
// describes, together with one delivery per endpoint subscribed to its topic,
// so an event exists if and only if its change committed. Stock crossings
// (sold out, back in stock, low) are written by a trigger on products, which
// covers every statement that moves stock or held, the reservation and the
// coalesced batch included, and does work only on the crossing. Dispatchers
// (package webhooks) claim due deliveries with FOR UPDATE SKIP LOCKED.

// Webhook topics: the GraphQL WebhookTopic enum's names.
const (
	TopicOrderPlaced        = "ORDER_PLACED"
	TopicOrderCancelled     = "ORDER_CANCELLED"
	TopicOrderPaid          = "ORDER_PAID"
	TopicProductSoldOut     = "PRODUCT_SOLD_OUT"
	TopicProductBackInStock = "PRODUCT_BACK_IN_STOCK"
	TopicStockAdjusted      = "STOCK_ADJUSTED"
	TopicStockLow           = "STOCK_LOW"
	// TopicInventoryLevelChanged: a product's level at a location changed
	// (a trigger on inventory_levels, migrations/00025).
	TopicInventoryLevelChanged = "INVENTORY_LEVEL_CHANGED"
)

// Topics lists every webhook topic.
var Topics = []string{TopicOrderPlaced, TopicOrderCancelled, TopicOrderPaid, TopicProductSoldOut,
	TopicProductBackInStock, TopicStockAdjusted, TopicStockLow, TopicCustomerPasswordReset, TopicInventoryLevelChanged}

func validTopic(t string) bool {
	for _, k := range Topics {
		if k == t {
			return true
		}
	}
	return false
}

// Delivery statuses.
const (
	DeliveryPending   = "PENDING"
	DeliveryDelivered = "DELIVERED"
	DeliveryFailed    = "FAILED"
)

// enqueueEvent writes an event of topic with data (marshalled to a JSON
// object) to the outbox, in transaction q, for every live endpoint
// subscribed to topic; nothing when there is none. data must name its key:
// an "orderId" or a "productId" field. Call it after the statement that
// locks that order's or product's row, so that one key's events are numbered
// in commit order (the dispatcher delivers them in that order).
//
// ORDER_PAID (and ORDER_PLACED for an order sold once paid) come from the
// payments transition that records a successful payment (PaymentSucceeded,
// paidEvents in payments.go).
func enqueueEvent(ctx context.Context, q queryer, topic string, data any) error {
	b, err := json.Marshal(data)
	if err != nil {
		return err
	}
	var id *int64
	return sqlxGet(ctx, q, &id, `SELECT webhook_enqueue($1, $2)`, topic, string(b))
}

// orderEventSQL builds an order event's data from the order as it is in the
// transaction: its id, status, email, currency, total and lines, each with
// its allocations to locations (what to pick where).
const orderEventSQL = `
	SELECT webhook_enqueue($2, jsonb_build_object(
		'orderId', o.id, 'status', o.status, 'email', o.email, 'currency', o.currency,
		'createdAt', o.created_at, 'updatedAt', o.updated_at,
		'total', to_char((COALESCE((SELECT sum(l.unit_price_cents::numeric * l.quantity - l.discount_cents) FROM order_lines l WHERE l.order_id = o.id), 0)
			- COALESCE((SELECT sum(g.amount_cents) FROM order_gift_cards g WHERE g.order_id = o.id), 0)) / 100, 'FM999999999999999990.00'),
		'discountTotal', to_char(COALESCE((SELECT sum(l.discount_cents) FROM order_lines l WHERE l.order_id = o.id), 0)::numeric / 100, 'FM999999999999999990.00'),
		'giftCardTotal', to_char(COALESCE((SELECT sum(g.amount_cents) FROM order_gift_cards g WHERE g.order_id = o.id), 0)::numeric / 100, 'FM999999999999999990.00'),
		'lines', COALESCE((
			SELECT jsonb_agg(jsonb_build_object('productId', l.product_id::text, 'sku', l.sku, 'quantity', l.quantity,
				'unitPrice', to_char(l.unit_price_cents::numeric / 100, 'FM999999999999999990.00'),
				-- Where the units were taken from (placed orders; empty before).
				'allocations', COALESCE((
					SELECT jsonb_agg(jsonb_build_object('locationId', a.location_id::text, 'locationName', loc.name, 'quantity', a.quantity) ORDER BY a.location_id)
					FROM order_line_allocations a JOIN locations loc ON loc.id = a.location_id
					WHERE a.order_id = l.order_id AND a.product_id = l.product_id), '[]'::jsonb)) ORDER BY l.product_id)
			FROM order_lines l WHERE l.order_id = o.id), '[]'::jsonb)))
	FROM orders o
	WHERE o.id = $1`

// enqueueOrderEvent writes an order event (ORDER_PLACED, ORDER_CANCELLED,
// ORDER_PAID) for the order, in transaction q, after its row is locked.
func enqueueOrderEvent(ctx context.Context, q queryer, topic, orderID string) error {
	var id *int64
	return sqlxGet(ctx, q, &id, orderEventSQL, orderID, topic)
}

// WebhookEndpoint is a partner's receiver.
type WebhookEndpoint struct {
	ID         int64      `db:"id"`
	URL        string     `db:"url"`
	Topics     []string   `db:"-"`
	CreatedAt  time.Time  `db:"created_at"`
	DisabledAt *time.Time `db:"disabled_at"`
}

type endpointRow struct {
	ID         int64          `db:"id"`
	URL        string         `db:"url"`
	Topics     pq.StringArray `db:"topics"`
	CreatedAt  time.Time      `db:"created_at"`
	DisabledAt *time.Time     `db:"disabled_at"`
}

func (r endpointRow) endpoint() *WebhookEndpoint {
	return &WebhookEndpoint{ID: r.ID, URL: r.URL, Topics: []string(r.Topics), CreatedAt: r.CreatedAt, DisabledAt: r.DisabledAt}
}

const endpointColumns = `id, url, topics, created_at, disabled_at`

// MaxWebhookEndpoints bounds how many endpoints a shop may have.
const MaxWebhookEndpoints = 50

// CreateWebhookEndpoint stores an endpoint whose URL the caller has checked
// (package webhooks), with a fresh signing secret, returned once.
func (s *Store) CreateWebhookEndpoint(ctx context.Context, url string, topics []string) (*WebhookEndpoint, string, error) {
	return s.CreateWebhookEndpointKeyed(ctx, url, topics, "")
}

// CreateWebhookEndpointKeyed is CreateWebhookEndpoint with an idempotency
// key ("" for none): a repeat with the key and the same input creates
// nothing and answers the endpoint the first attempt created, with its
// secret (the answer the first attempt's caller may never have read).
func (s *Store) CreateWebhookEndpointKeyed(ctx context.Context, url string, topics []string, key string) (*WebhookEndpoint, string, error) {
	uniq, err := webhookTopics(topics)
	if err != nil {
		return nil, "", err
	}
	type created struct {
		Endpoint *WebhookEndpoint
		secret   string // not stored: a replay reads it from the endpoint
	}
	hash := inputHash("createWebhookEndpoint", []any{url, uniq})
	out, err := adminKeyed(ctx, s, key, "createWebhookEndpoint", hash, func(ctx context.Context, q queryer) (created, error) {
		b := make([]byte, 32)
		_, _ = rand.Read(b)
		secret := "whsec_" + base64.RawURLEncoding.EncodeToString(b)
		const insert = `
			INSERT INTO webhook_endpoints (url, topics, secret)
			SELECT $1, $2, $3
			WHERE (SELECT count(*) FROM webhook_endpoints) < $4
			RETURNING ` + endpointColumns
		var row endpointRow
		err := sqlxGet(ctx, q, &row, insert, url, pq.Array(uniq), secret, MaxWebhookEndpoints)
		if errors.Is(err, ErrNotFound) {
			return created{}, userErr(CodeInvalidInput, "at most 50 webhook endpoints", "input", "url")
		}
		if err != nil {
			return created{}, err
		}
		return created{Endpoint: row.endpoint(), secret: secret}, nil
	})
	if err != nil {
		return nil, "", err
	}
	if out.secret == "" && out.Endpoint != nil {
		// A replay: the secret is the endpoint's ("" if it was deleted since).
		ctx, cancel := s.withTimeout(ctx)
		defer cancel()
		err := sqlxGet(ctx, s.pool(), &out.secret, `SELECT secret FROM webhook_endpoints WHERE id = $1`, out.Endpoint.ID)
		if err != nil && !errors.Is(err, ErrNotFound) {
			return nil, "", err
		}
	}
	return out.Endpoint, out.secret, nil
}

// webhookTopics checks topics and drops repeats.
func webhookTopics(topics []string) ([]string, error) {
	if len(topics) == 0 {
		return nil, userErr(CodeInvalidInput, "topics must name at least one topic", "input", "topics")
	}
	seen := map[string]bool{}
	var uniq []string
	for _, t := range topics {
		if !validTopic(t) {
			return nil, userErr(CodeInvalidInput, "unknown topic "+strconv.Quote(t), "input", "topics")
		}
		if !seen[t] {
			seen[t] = true
			uniq = append(uniq, t)
		}
	}
	return uniq, nil
}

// WebhookEndpointUpdate is the input of UpdateWebhookEndpoint; nil fields
// stay unchanged.
type WebhookEndpointUpdate struct {
	// URL, checked by the caller (package webhooks).
	URL    *string
	Topics []string
	// Enabled: true enables the endpoint (a disabled one starts again with
	// no failures counted against it), false disables it.
	Enabled *bool
	// IdempotencyKey, if set: a repeat with the same input answers what the
	// first attempt answered.
	IdempotencyKey string `json:"-"`
}

// UpdateWebhookEndpoint changes an endpoint's URL, topics or state. An
// endpoint enabled again gets the deliveries still pending (their retry
// windows are not reset: redeliverWebhook does that) and the events from
// now on; events while it was disabled were not queued for it.
func (s *Store) UpdateWebhookEndpoint(ctx context.Context, id int64, in WebhookEndpointUpdate) (*WebhookEndpoint, error) {
	var topics []string
	if in.Topics != nil {
		var err error
		if topics, err = webhookTopics(in.Topics); err != nil {
			return nil, err
		}
	}
	hash := inputHash("updateWebhookEndpoint", []any{id, in.URL, topics, in.Enabled})
	return adminKeyed(ctx, s, in.IdempotencyKey, "updateWebhookEndpoint", hash, func(ctx context.Context, q queryer) (*WebhookEndpoint, error) {
		const update = `
			UPDATE webhook_endpoints
			SET url = COALESCE($2, url),
			    topics = COALESCE($3::text[], topics),
			    disabled_at = CASE WHEN $4::boolean IS NULL THEN disabled_at
			                       WHEN $4 THEN NULL
			                       ELSE COALESCE(disabled_at, now()) END,
			    consecutive_failures = CASE WHEN $4 THEN 0 ELSE consecutive_failures END
			WHERE id = $1
			RETURNING ` + endpointColumns
		var row endpointRow
		err := sqlxGet(ctx, q, &row, update, id, in.URL, pq.Array(topics), in.Enabled)
		if errors.Is(err, ErrNotFound) {
			return nil, userErr(CodeWebhookEndpointNotFound, "no webhook endpoint with this id", "input", "webhookEndpointId")
		}
		if err != nil {
			return nil, err
		}
		return row.endpoint(), nil
	})
}

// DeleteWebhookEndpoint deletes the endpoint and its deliveries; it returns
// the endpoint as it was, or a WEBHOOK_ENDPOINT_NOT_FOUND refusal.
func (s *Store) DeleteWebhookEndpoint(ctx context.Context, id int64) (*WebhookEndpoint, error) {
	return s.DeleteWebhookEndpointKeyed(ctx, id, "")
}

// DeleteWebhookEndpointKeyed is DeleteWebhookEndpoint with an idempotency
// key ("" for none): a repeat answers the endpoint deleted, not
// WEBHOOK_ENDPOINT_NOT_FOUND.
func (s *Store) DeleteWebhookEndpointKeyed(ctx context.Context, id int64, key string) (*WebhookEndpoint, error) {
	return adminKeyed(ctx, s, key, "deleteWebhookEndpoint", requestHash("deleteWebhookEndpoint", id), func(ctx context.Context, q queryer) (*WebhookEndpoint, error) {
		var row endpointRow
		err := sqlxGet(ctx, q, &row, `DELETE FROM webhook_endpoints WHERE id = $1 RETURNING `+endpointColumns, id)
		if errors.Is(err, ErrNotFound) {
			return nil, userErr(CodeWebhookEndpointNotFound, "no webhook endpoint with this id", "id")
		}
		if err != nil {
			return nil, err
		}
		return row.endpoint(), nil
	})
}

// WebhookEndpoints lists every endpoint in id order.
func (s *Store) WebhookEndpoints(ctx context.Context) ([]*WebhookEndpoint, error) {
	ctx, cancel := s.withTimeout(ctx)
	defer cancel()
	var rows []endpointRow
	if err := sqlxSelect(ctx, s.reader(), &rows, `SELECT `+endpointColumns+` FROM webhook_endpoints ORDER BY id`); err != nil {
		return nil, err
	}
	out := make([]*WebhookEndpoint, len(rows))
	for i, r := range rows {
		out[i] = r.endpoint()
	}
	return out, nil
}

// WebhookDelivery is one event's delivery to one endpoint.
type WebhookDelivery struct {
	ID             int64      `db:"id"`
	EventID        int64      `db:"event_id"`
	EndpointID     int64      `db:"endpoint_id"`
	Topic          string     `db:"topic"`
	Attempts       int        `db:"attempts"`
	Status         string     `db:"status"`
	LastStatusCode *int       `db:"last_status_code"`
	LastError      *string    `db:"last_error"`
	NextAttemptAt  *time.Time `db:"next_attempt_at"`
	DeliveredAt    *time.Time `db:"delivered_at"`
}

const deliveryColumns = `d.id, d.event_id, d.endpoint_id, e.topic, d.attempts, d.status, d.last_status_code, d.last_error,
	CASE WHEN d.status = 'PENDING' THEN d.next_attempt_at END AS next_attempt_at, d.delivered_at`

// WebhookDeliveries lists an endpoint's deliveries, newest first, with id
// below before (0: from the newest), and whether more follow.
func (s *Store) WebhookDeliveries(ctx context.Context, endpointID int64, first int, before int64) ([]*WebhookDelivery, bool, error) {
	ctx, cancel := s.withTimeout(ctx)
	defer cancel()
	const q = `
		SELECT ` + deliveryColumns + `
		FROM webhook_deliveries d
		JOIN webhook_events e ON e.id = d.event_id
		WHERE d.endpoint_id = $1 AND ($2::bigint = 0 OR d.id < $2)
		ORDER BY d.id DESC
		LIMIT $3`
	var out []*WebhookDelivery
	if err := sqlxSelect(ctx, s.reader(), &out, q, endpointID, before, first+1); err != nil {
		return nil, false, err
	}
	more := len(out) > first
	if more {
		out = out[:first]
	}
	return out, more, nil
}

// RedeliverWebhook queues a delivery again, now, with a fresh retry window
// (whatever its status); nil when there is none.
func (s *Store) RedeliverWebhook(ctx context.Context, id int64) (*WebhookDelivery, error) {
	return s.RedeliverWebhookKeyed(ctx, id, "")
}

// RedeliverWebhookKeyed is RedeliverWebhook with an idempotency key ("" for
// none): a repeat queues nothing again and answers what the first did.
func (s *Store) RedeliverWebhookKeyed(ctx context.Context, id int64, key string) (*WebhookDelivery, error) {
	return adminKeyed(ctx, s, key, "redeliverWebhook", requestHash("redeliverWebhook", id), func(ctx context.Context, q queryer) (*WebhookDelivery, error) {
		const redeliver = `
			WITH d AS (
				UPDATE webhook_deliveries
				SET status = 'PENDING', next_attempt_at = now(), retry_since = now(), delivered_at = NULL
				WHERE id = $1
				RETURNING *
			)
			SELECT ` + deliveryColumns + `
			FROM d
			JOIN webhook_events e ON e.id = d.event_id`
		var out WebhookDelivery
		err := sqlxGet(ctx, q, &out, redeliver, id)
		if errors.Is(err, ErrNotFound) {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		return &out, nil
	})
}

// ClaimedDelivery is a delivery a dispatcher claimed: one attempt, with
// what it needs to send it.
type ClaimedDelivery struct {
	ID         int64           `db:"id"`
	Attempt    int             `db:"attempts"`
	EndpointID int64           `db:"endpoint_id"`
	URL        string          `db:"url"`
	Secret     string          `db:"secret"`
	EventID    int64           `db:"event_id"`
	Topic      string          `db:"topic"`
	CreatedAt  time.Time       `db:"created_at"`
	Data       json.RawMessage `db:"data"`
	RetrySince time.Time       `db:"retry_since"`
}

// ClaimDeliveries claims up to limit due deliveries of live endpoints for
// one attempt each: attempts goes up by one and next_attempt_at moves lease
// ahead, so no other dispatcher claims the same delivery until this attempt
// is recorded or its lease has passed (the dispatcher died). Rows are
// claimed with FOR UPDATE SKIP LOCKED, so any number of dispatchers share
// the work without waiting for each other. A delivery is due only when its
// endpoint has no pending delivery of an earlier event of the same key:
// one product's or order's events reach an endpoint in commit order.
func (s *Store) ClaimDeliveries(ctx context.Context, limit int, lease time.Duration) ([]*ClaimedDelivery, error) {
	ctx, cancel := s.withTimeout(ctx)
	defer cancel()
	const q = `
		WITH due AS (
			SELECT d.id
			FROM webhook_deliveries d
			JOIN webhook_endpoints ep ON ep.id = d.endpoint_id AND ep.disabled_at IS NULL
			WHERE d.status = 'PENDING' AND d.next_attempt_at <= now()
			  AND NOT EXISTS (
				SELECT 1
				FROM webhook_deliveries prev
				WHERE prev.endpoint_id = d.endpoint_id AND prev.key = d.key
				  AND prev.event_id < d.event_id AND prev.status = 'PENDING')
			ORDER BY d.next_attempt_at, d.id
			LIMIT $1
			FOR UPDATE OF d SKIP LOCKED
		), claimed AS (
			UPDATE webhook_deliveries d
			SET attempts = d.attempts + 1, next_attempt_at = now() + $2 * interval '1 millisecond'
			FROM due
			WHERE d.id = due.id
			RETURNING d.id, d.attempts, d.endpoint_id, d.event_id, d.retry_since
		)
		SELECT c.id, c.attempts, c.endpoint_id, ep.url, ep.secret, c.event_id, e.topic, e.created_at, e.data, c.retry_since
		FROM claimed c
		JOIN webhook_endpoints ep ON ep.id = c.endpoint_id
		JOIN webhook_events e ON e.id = c.event_id
		ORDER BY c.event_id`
	var out []*ClaimedDelivery
	err := s.retry(ctx, func(ctx context.Context) error {
		out = out[:0]
		return sqlxSelect(ctx, s.pool(), &out, q, limit, lease.Milliseconds())
	})
	return out, err
}

// DeliveryResult is what one attempt came to.
type DeliveryResult struct {
	// Delivered: the endpoint answered 2xx.
	Delivered  bool
	StatusCode int    // 0: no answer
	Error      string // why it failed ("" when delivered)
	// NextAttempt is when to try again after a failure; zero: never again
	// (the delivery failed for good).
	NextAttempt time.Time
}

// RecordDelivery records attempt's result, if the delivery is still at
// that attempt (a dispatcher whose lease ran out and was overtaken records
// nothing). A delivery that failed for good counts against its endpoint,
// which is disabled after disableAfter such failures in a row; any success
// resets the count.
func (s *Store) RecordDelivery(ctx context.Context, id int64, attempt int, r DeliveryResult, disableAfter int) error {
	ctx, cancel := s.withTimeout(ctx)
	defer cancel()
	var code *int
	if r.StatusCode != 0 {
		code = &r.StatusCode
	}
	status := DeliveryPending
	var next *time.Time
	switch {
	case r.Delivered:
		status = DeliveryDelivered
	case r.NextAttempt.IsZero():
		status = DeliveryFailed
	default:
		next = &r.NextAttempt
	}
	if len(r.Error) > 500 {
		r.Error = r.Error[:500]
	}
	const q = `
		WITH d AS (
			UPDATE webhook_deliveries
			SET status = $3, last_status_code = $4, last_error = NULLIF($5, ''),
			    next_attempt_at = COALESCE($6, next_attempt_at),
			    delivered_at = CASE WHEN $3 = 'DELIVERED' THEN now() END
			WHERE id = $1 AND attempts = $2 AND status = 'PENDING'
			RETURNING endpoint_id, status
		)
		UPDATE webhook_endpoints ep
		SET consecutive_failures = CASE WHEN d.status = 'DELIVERED' THEN 0 ELSE ep.consecutive_failures + 1 END,
		    disabled_at = CASE WHEN d.status = 'FAILED' AND ep.consecutive_failures + 1 >= $7
		                       THEN COALESCE(ep.disabled_at, now()) ELSE ep.disabled_at END
		FROM d
		WHERE ep.id = d.endpoint_id AND d.status <> 'PENDING'`
	return s.retry(ctx, func(ctx context.Context) error {
		_, err := s.pool().ExecContext(ctx, q, id, attempt, status, code, r.Error, next, disableAfter)
		return translate(err)
	})
}

// PurgeWebhooks deletes up to limit finished (delivered or failed)
// deliveries older than age, then up to limit events older than age that
// no delivery refers to any more, and returns how many rows went. Pending
// deliveries and their events stay, whatever their age.
func (s *Store) PurgeWebhooks(ctx context.Context, age time.Duration, limit int) (int64, error) {
	ctx, cancel := s.withTimeout(ctx)
	defer cancel()
	const deliveries = `
		DELETE FROM webhook_deliveries
		WHERE id IN (
			SELECT id FROM webhook_deliveries
			WHERE status <> 'PENDING' AND created_at < now() - $1 * interval '1 millisecond'
			LIMIT $2)`
	const events = `
		DELETE FROM webhook_events
		WHERE id IN (
			SELECT e.id FROM webhook_events e
			WHERE e.created_at < now() - $1 * interval '1 millisecond'
			  AND NOT EXISTS (SELECT 1 FROM webhook_deliveries d WHERE d.event_id = e.id)
			ORDER BY e.id
			LIMIT $2)`
	var n int64
	for _, q := range []string{deliveries, events} {
		res, err := s.pool().ExecContext(ctx, q, age.Milliseconds(), limit)
		if err != nil {
			return n, translate(err)
		}
		k, _ := res.RowsAffected()
		n += k
	}
	return n, nil
}
