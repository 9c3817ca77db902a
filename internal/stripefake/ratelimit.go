package stripefake

import (
	"math"
	"time"
)

// rateLimiter is a token bucket per endpoint, like Stripe's per-endpoint
// limits (25 requests/s by default). It runs on the wall clock, not the fake
// clock: it is about how fast the caller really sends.
type rateLimiter struct {
	perSecond float64
	burst     float64
	buckets   map[string]*bucket
}

type bucket struct {
	tokens float64
	last   time.Time
}

// set replaces the limit; perSecond ≤ 0 means unlimited, burst ≤ 0 means one
// second's worth of requests (at least one).
func (l *rateLimiter) set(perSecond float64, burst int) {
	l.perSecond = perSecond
	l.burst = float64(burst)
	if burst <= 0 {
		l.burst = math.Max(1, math.Ceil(perSecond))
	}
	l.buckets = map[string]*bucket{}
}

func (l *rateLimiter) allow(endpoint string, now time.Time) bool {
	if l.perSecond <= 0 {
		return true
	}
	b, ok := l.buckets[endpoint]
	if !ok {
		b = &bucket{tokens: l.burst, last: now}
		l.buckets[endpoint] = b
	}
	b.tokens = math.Min(l.burst, b.tokens+now.Sub(b.last).Seconds()*l.perSecond)
	b.last = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}
