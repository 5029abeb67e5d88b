package graph

import (
	"context"
	"sync"

	"github.com/99designs/gqlgen/graphql"
	"github.com/hashicorp/golang-lru/v2/simplelru"
	"github.com/vektah/gqlparser/v2/gqlerror"
)

// boundedCache is an LRU cache keyed by query text whose memory is bounded
// by bytes, not entries: a parsed document weighs tens of times its text,
// so a count-bounded cache of large documents is a memory amplifier. Keys
// longer than maxKey are never stored; at most maxEntries are; the sum of stored key lengths stays
// under maxTotal.
type boundedCache[T any] struct {
	maxKey, maxTotal int

	mu    sync.Mutex
	lru   *simplelru.LRU[string, T]
	total int
	// lookups counts Get calls (gqlgen calls Get just before it validates
	// a document it has not cached): tests use it to prove that a refused
	// document never reached validation.
	lookups int64
}

func newBoundedCache[T any](maxEntries, maxKey, maxTotal int) *boundedCache[T] {
	c := &boundedCache[T]{maxKey: maxKey, maxTotal: maxTotal}
	c.lru, _ = simplelru.NewLRU[string, T](max(maxEntries, 1), func(k string, _ T) { c.total -= len(k) })
	return c
}

// Get implements graphql.Cache.
func (c *boundedCache[T]) Get(_ context.Context, key string) (T, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.lookups++
	return c.lru.Get(key)
}

// Add implements graphql.Cache.
func (c *boundedCache[T]) Add(_ context.Context, key string, value T) {
	if len(key) > c.maxKey {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.lru.Contains(key) {
		c.lru.Add(key, value)
		return
	}
	for c.total+len(key) > c.maxTotal && c.lru.Len() > 0 {
		c.lru.RemoveOldest()
	}
	c.lru.Add(key, value)
	c.total += len(key)
}

// has reports whether key is cached, without touching its recency or the
// lookup count.
func (c *boundedCache[T]) has(key string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lru.Contains(key)
}

// stats: entries, stored key bytes, Get calls so far.
func (c *boundedCache[T]) stats() (entries, bytes int, lookups int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lru.Len(), c.total, c.lookups
}

// gqlgen's APQ extension stores a document sent with its hash as soon as it
// sees it, before the document is parsed, validated or checked against the
// limits. apqPending is the cache it is given: lookups read the APQ cache,
// but Add only notes the document in its operation's stats; apqCommit,
// registered after every other extension, stores it once the operation
// passed validation and the limits. A refused document is never stored.
type apqPending struct{ cache *boundedCache[string] }

const apqPendingStat = "HoldfastAPQPending"

type apqEntry struct{ hash, query string }

// Get implements graphql.Cache.
func (a apqPending) Get(ctx context.Context, hash string) (string, bool) {
	return a.cache.Get(ctx, hash)
}

// Add implements graphql.Cache: it notes the document for apqCommit.
func (a apqPending) Add(ctx context.Context, hash, query string) {
	if graphql.HasOperationContext(ctx) {
		graphql.GetOperationContext(ctx).Stats.SetExtension(apqPendingStat, apqEntry{hash, query})
	}
}

// apqCommit stores the document apqPending noted. gqlgen runs it only for an
// operation that was validated and that every earlier extension let through.
type apqCommit struct{ cache *boundedCache[string] }

var _ interface {
	graphql.HandlerExtension
	graphql.OperationContextMutator
} = apqCommit{}

func (apqCommit) ExtensionName() string                   { return "HoldfastAPQCommit" }
func (apqCommit) Validate(graphql.ExecutableSchema) error { return nil }

func (a apqCommit) MutateOperationContext(ctx context.Context, rc *graphql.OperationContext) *gqlerror.Error {
	if e, ok := rc.Stats.GetExtension(apqPendingStat).(apqEntry); ok {
		a.cache.Add(ctx, e.hash, e.query)
	}
	return nil
}
