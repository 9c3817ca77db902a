package stripefake

import (
	"sync"
	"time"
)

// clock is the fake's time: the wall clock shifted by an offset that only
// grows. Timestamps keep moving in standalone runs, and tests can jump ahead
// (past the 24 h idempotency window, past a pending refund's settle time)
// without waiting. Signatures on webhooks and the rate limiter use the real
// wall clock, because the receiver and the caller live on it.
type clock struct {
	mu     sync.Mutex
	offset time.Duration
}

func newClock(start time.Time) *clock {
	c := &clock{}
	if !start.IsZero() {
		c.offset = time.Until(start)
	}
	return c
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.offset)
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.offset += d
}
