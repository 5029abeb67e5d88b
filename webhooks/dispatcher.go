package webhooks

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strconv"
	"sync"
	"time"

	"holdfast/storage"
)

// Options configure a Dispatcher. The settings named after WEBHOOK_*
// variables have their defaults in package config, which the server passes
// in: a Dispatcher needs them all. Batch, Client, PurgeEvery and Lease are
// the dispatcher's own (zero: its defaults).
type Options struct {
	// Interval is how often the outbox is polled when it had nothing due.
	Interval time.Duration
	// Timeout bounds one attempt (connect, send, answer).
	Timeout time.Duration
	// AllowPrivate lets deliveries reach loopback and private addresses
	// (tests, local development).
	AllowPrivate bool
	// RetryBase is the first retry's delay; each next one doubles, up to
	// RetryMax, with jitter.
	RetryBase, RetryMax time.Duration
	// RetryFor is how long a delivery is retried before it fails for good.
	RetryFor time.Duration
	// DisableAfter disables an endpoint after this many deliveries in a
	// row failed for good.
	DisableAfter int
	// Batch is how many deliveries one claim takes; Concurrency how many
	// are in flight at once (WEBHOOK_CONCURRENCY).
	Batch, Concurrency int
	Log                *slog.Logger
	// Client overrides the HTTP client (tests); by default Client(Timeout,
	// AllowPrivate).
	Client *http.Client
	// Retention is how long finished deliveries (and their events) are
	// kept; the dispatcher purges older ones every PurgeEvery.
	Retention, PurgeEvery time.Duration
	// Lease is how long a claimed attempt is kept from other dispatchers;
	// by default 2 × Timeout + 5 s, so a live dispatcher is never
	// overtaken (tests shorten it to act out a dispatcher that died).
	Lease time.Duration
}

// Dispatcher delivers the outbox's deliveries. Any number of dispatchers,
// in one process or many, may run against one database: each claim takes
// rows no other holds (FOR UPDATE SKIP LOCKED) for one attempt, with a
// lease longer than the attempt can take.
type Dispatcher struct {
	store *storage.Store
	opts  Options
	lease time.Duration
}

// New makes a Dispatcher. Options must be complete (the server's wiring
// fills them from package config).
func New(store *storage.Store, opts Options) *Dispatcher {
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	if opts.Batch <= 0 {
		opts.Batch = 20
	}
	if opts.Interval <= 0 || opts.Timeout <= 0 || opts.RetryBase <= 0 || opts.RetryMax <= 0 || opts.RetryFor <= 0 ||
		opts.Concurrency <= 0 {
		panic("webhooks: Options lack settings: build them from package config")
	}
	if opts.Client == nil {
		opts.Client = Client(opts.Timeout, opts.AllowPrivate)
	}
	if opts.PurgeEvery <= 0 {
		opts.PurgeEvery = 10 * time.Minute
	}
	if opts.Lease <= 0 {
		// An attempt ends (answered or timed out) within Timeout; the
		// lease leaves room for recording it.
		opts.Lease = 2*opts.Timeout + 5*time.Second
	}
	return &Dispatcher{store: store, opts: opts, lease: opts.Lease}
}

// Run delivers until ctx ends, then waits for the attempts in flight (each
// bounded by Timeout) and records them.
func (d *Dispatcher) Run(ctx context.Context) {
	t := time.NewTimer(0)
	defer t.Stop()
	var purged time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if d.opts.Retention > 0 && time.Since(purged) >= d.opts.PurgeEvery {
			purged = time.Now()
			if _, err := d.store.PurgeWebhooks(ctx, d.opts.Retention, 10000); err != nil && ctx.Err() == nil {
				d.opts.Log.Warn("webhook purge failed", "err", err.Error())
			}
		}
		n, err := d.RunOnce(ctx)
		if err != nil && ctx.Err() == nil {
			d.opts.Log.Warn("webhook dispatch failed", "err", err.Error())
		}
		wait := d.opts.Interval
		if n > 0 {
			// More may be due: a full batch left some behind, and each
			// delivery done may have unblocked its key's next event.
			// (Failed attempts are not due again at once, so this ends.)
			wait = 0
		}
		t.Reset(wait)
	}
}

// RunOnce claims one batch of due deliveries, attempts each, records the
// results, and returns how many it attempted.
func (d *Dispatcher) RunOnce(ctx context.Context) (int, error) {
	claimed, err := d.store.ClaimDeliveries(ctx, d.opts.Batch, d.lease)
	if err != nil || len(claimed) == 0 {
		return 0, err
	}
	// Attempts run to the end once claimed, also when ctx ends: a
	// claimed attempt left unrecorded only waits out its lease.
	actx := context.WithoutCancel(ctx)
	sem := make(chan struct{}, d.opts.Concurrency)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var errs []error
	for _, c := range claimed {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			res := d.attempt(actx, c)
			if err := d.store.RecordDelivery(actx, c.ID, c.Attempt, res, d.opts.DisableAfter); err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return len(claimed), errors.Join(errs...)
}

// Payload is the JSON body of a delivery.
type Payload struct {
	ID        string          `json:"id"`
	Topic     string          `json:"topic"`
	CreatedAt time.Time       `json:"createdAt"`
	Data      json.RawMessage `json:"data"`
}

// Body is the delivery's body: the same bytes on every attempt.
func Body(c *storage.ClaimedDelivery) ([]byte, error) {
	return json.Marshal(Payload{ID: strconv.FormatInt(c.EventID, 10), Topic: c.Topic, CreatedAt: c.CreatedAt.UTC(), Data: c.Data})
}

// attempt POSTs one delivery and says what came of it.
func (d *Dispatcher) attempt(ctx context.Context, c *storage.ClaimedDelivery) storage.DeliveryResult {
	body, err := Body(c)
	if err != nil {
		return d.failed(c, 0, err.Error())
	}
	ctx, cancel := context.WithTimeout(ctx, d.opts.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.URL, bytes.NewReader(body))
	if err != nil {
		return d.failed(c, 0, "bad URL")
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Holdfast-Webhooks/1")
	req.Header.Set(SignatureHeader, Sign(c.Secret, time.Now(), body))
	req.Header.Set(EventIDHeader, strconv.FormatInt(c.EventID, 10))
	req.Header.Set(TopicHeader, c.Topic)
	req.Header.Set(AttemptHeader, strconv.Itoa(c.Attempt))
	resp, err := d.opts.Client.Do(req)
	if err != nil {
		// Not err.Error(): it may name the resolver's or a resolved
		// private address, which lastError would show to admins.
		return d.failed(c, 0, DescribeError(err))
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return storage.DeliveryResult{Delivered: true, StatusCode: resp.StatusCode}
	}
	return d.failed(c, resp.StatusCode, fmt.Sprintf("answered %d %s", resp.StatusCode, http.StatusText(resp.StatusCode)))
}

// failed schedules the next attempt, or none once RetryFor has passed.
func (d *Dispatcher) failed(c *storage.ClaimedDelivery, code int, msg string) storage.DeliveryResult {
	next := time.Now().Add(Backoff(c.Attempt, d.opts.RetryBase, d.opts.RetryMax))
	r := storage.DeliveryResult{StatusCode: code, Error: msg, NextAttempt: next}
	if next.After(c.RetrySince.Add(d.opts.RetryFor)) {
		r.NextAttempt = time.Time{}
	}
	return r
}

// Backoff is the delay after the attempt-th failed attempt: base doubled
// per attempt up to max, then jittered down by up to half (so that
// deliveries that failed together do not all retry together).
func Backoff(attempt int, base, max time.Duration) time.Duration {
	d := base
	for i := 1; i < attempt && d < max; i++ {
		d *= 2
	}
	d = min(d, max)
	return d/2 + rand.N(d/2+1)
}
