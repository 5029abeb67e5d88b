package client

import (
	crand "crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"time"

	"github.com/Khan/genqlient/graphql"
)

// Options configure a client. Zero values take the defaults.
type Options struct {
	// Token is the admin token, sent as Authorization: Bearer <Token>.
	Token string
	// HTTPClient sends the requests (default: one with a 30 s timeout).
	HTTPClient *http.Client
	// MaxAttempts bounds the tries of one request (default 5; 1: no
	// retries).
	MaxAttempts int
	// MaxWait caps one wait between tries, Retry-After included (default
	// 30 s).
	MaxWait time.Duration
	// BaseWait is the first wait when the server names none (default
	// 200 ms), doubling per try, with jitter.
	BaseWait time.Duration
}

// New returns a client of the API at endpoint (e.g.
// https://shop.example.com/graphql) for the generated operations:
//
//	c := client.New(url, client.Options{Token: token})
//	res, err := client.SetStock(ctx, c, client.SetStockInput{...})
//
// A request is tried again after a connection error, and after a 429 or a
// 503 answer (waiting as its Retry-After says). Every try of one request
// carries the same Idempotency-Key header (a fresh one per request, unless
// the request already has one), and every mutation of this client honours
// it (setStock, adjustStock, the webhook endpoints' mutations and
// redeliverWebhook, as do cart mutations, checkout, createCart and
// createProduct), so a mutation takes effect once however often it is
// sent, and a retry gets the first attempt's answer; a key in the input
// takes precedence.
func New(endpoint string, opts Options) graphql.Client {
	if opts.HTTPClient == nil {
		opts.HTTPClient = &http.Client{Timeout: 30 * time.Second}
	}
	if opts.MaxAttempts <= 0 {
		opts.MaxAttempts = 5
	}
	if opts.MaxWait <= 0 {
		opts.MaxWait = 30 * time.Second
	}
	if opts.BaseWait <= 0 {
		opts.BaseWait = 200 * time.Millisecond
	}
	return graphql.NewClient(endpoint, &retrier{opts: opts})
}

// retrier is the graphql.Doer that authenticates and retries.
type retrier struct {
	opts Options
}

// IdempotencyHeader is the header retries reuse.
const IdempotencyHeader = "Idempotency-Key"

func newKey() string {
	b := make([]byte, 16)
	_, _ = crand.Read(b)
	return "hfc-" + hex.EncodeToString(b)
}

func (d *retrier) Do(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	if req.Header.Get(IdempotencyHeader) == "" {
		req.Header.Set(IdempotencyHeader, newKey())
	}
	if d.opts.Token != "" {
		req.Header.Set("Authorization", "Bearer "+d.opts.Token)
	}
	for attempt := 1; ; attempt++ {
		try := req.Clone(ctx)
		if req.GetBody != nil {
			body, err := req.GetBody()
			if err != nil {
				return nil, err
			}
			try.Body = body
		}
		resp, err := d.opts.HTTPClient.Do(try)
		last := attempt >= d.opts.MaxAttempts || (req.Body != nil && req.GetBody == nil)
		var wait time.Duration
		switch {
		case err != nil:
			if ctx.Err() != nil || last {
				return nil, err
			}
			wait = d.backoff(attempt)
		case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable:
			if last {
				return resp, nil
			}
			wait = retryAfter(resp.Header.Get("Retry-After"))
			if wait < 0 {
				wait = d.backoff(attempt)
			}
			_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
			resp.Body.Close()
		default:
			return resp, nil
		}
		t := time.NewTimer(min(wait, d.opts.MaxWait))
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		case <-t.C:
		}
	}
}

func (d *retrier) backoff(attempt int) time.Duration {
	w := d.opts.BaseWait << min(attempt-1, 10)
	return w/2 + rand.N(w/2+1)
}

// retryAfter reads a Retry-After value (seconds or an HTTP date); -1 when
// there is none.
func retryAfter(v string) time.Duration {
	if v == "" {
		return -1
	}
	if s, err := strconv.Atoi(v); err == nil && s >= 0 {
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(time.Until(t), 0)
	}
	return -1
}

// UserErrors is a payload's refusals as an error (nil for none), for
// callers that treat any refusal as a failure.
func UserErrors[E any, P interface {
	*E
	GetMessage() string
}](errs []E) error {
	var out []error
	for i := range errs {
		out = append(out, errors.New(P(&errs[i]).GetMessage()))
	}
	return errors.Join(out...)
}
