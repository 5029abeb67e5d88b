package httpapi

import (
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// KeyedLimiter holds one token bucket per key (client address, cart id),
// forgetting keys idle for a while so the map stays bounded.
type KeyedLimiter struct {
	limit rate.Limit
	burst int

	mu      sync.Mutex
	buckets map[string]*bucket
	sweep   time.Time
}

type bucket struct {
	lim  *rate.Limiter
	seen time.Time
}

const maxLimiterKeys = 100_000

// NewKeyedLimiter allows perSecond per key with bursts of burst; a rate
// <= 0 gives nil, which allows everything.
func NewKeyedLimiter(perSecond float64, burst int) *KeyedLimiter {
	if perSecond <= 0 {
		return nil
	}
	if burst < 1 {
		burst = 1
	}
	return &KeyedLimiter{limit: rate.Limit(perSecond), burst: burst, buckets: map[string]*bucket{}, sweep: time.Now()}
}

// Allow takes a token for key, or says how long until one is available.
// A nil limiter allows everything.
func (k *KeyedLimiter) Allow(key string) (bool, time.Duration) {
	if k == nil {
		return true, 0
	}
	now := time.Now()
	k.mu.Lock()
	defer k.mu.Unlock()
	if now.Sub(k.sweep) > time.Minute || len(k.buckets) >= maxLimiterKeys {
		for key, b := range k.buckets {
			// A bucket idle long enough to be full again is as good as new.
			if now.Sub(b.seen) > time.Duration(float64(k.burst)/float64(k.limit)*float64(time.Second))+time.Second {
				delete(k.buckets, key)
			}
		}
		k.sweep = now
	}
	b := k.buckets[key]
	if b == nil {
		b = &bucket{lim: rate.NewLimiter(k.limit, k.burst)}
		k.buckets[key] = b
	}
	b.seen = now
	r := b.lim.ReserveN(now, 1)
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return false, d
	}
	return true, 0
}
