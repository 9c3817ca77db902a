package bench

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// closedLoop runs fn for items from..to-1, concurrency at a time (each
// worker takes the next item when its last one is done), and returns the
// wall time. It stops at the first error.
func closedLoop(ctx context.Context, from, to, concurrency int, fn func(ctx context.Context, i int) error) (time.Duration, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var next atomic.Int64
	next.Store(int64(from))
	var wg sync.WaitGroup
	began := time.Now()
	for range max(concurrency, 1) {
		wg.Go(func() {
			for ctx.Err() == nil {
				i := int(next.Add(1) - 1)
				if i >= to {
					return
				}
				if err := fn(ctx, i); err != nil {
					cancel(fmt.Errorf("item %d: %w", i, err))
					return
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(began)
	if err := context.Cause(ctx); err != nil && !errors.Is(err, context.Canceled) {
		return elapsed, err
	}
	return elapsed, ctx.Err()
}

// measured accumulates the counted items of one measurement over its
// rounds: their number, wall time, latencies and CPU time.
type measured struct {
	mu      sync.Mutex
	n       int
	elapsed time.Duration
	lat     []time.Duration
	cpu     cpuReading
}

// measure runs a closed loop over items from..to-1 and adds it up.
func (m *measured) measure(ctx context.Context, cpu cpuMeter, from, to, concurrency int, fn func(ctx context.Context, i int) error) error {
	before := cpu.read()
	elapsed, err := closedLoop(ctx, from, to, concurrency, fn)
	if err != nil {
		return err
	}
	after := cpu.read()
	m.mu.Lock()
	defer m.mu.Unlock()
	m.n += to - from
	m.elapsed += elapsed
	m.cpu.own += after.own - before.own
	m.cpu.postgres += after.postgres - before.postgres
	return nil
}

// latency records an item's latency (safe from concurrent workers).
func (m *measured) latency(d time.Duration) {
	m.mu.Lock()
	m.lat = append(m.lat, d)
	m.mu.Unlock()
}

func (m *measured) perSecond() float64 {
	if m.elapsed <= 0 {
		return 0
	}
	return float64(m.n) / m.elapsed.Seconds()
}

func (m *measured) percentileMs(p float64) float64 { return percentileMs(m.lat, p) }

func (m *measured) cpuUse() CPUUse { return m.cpu.since(cpuReading{}, m.n, m.elapsed) }

// percentileMs is the nearest-rank p-th percentile (0 < p ≤ 100) in ms.
func percentileMs(d []time.Duration, p float64) float64 {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	rank := int(math.Ceil(p / 100 * float64(len(s))))
	return float64(s[min(max(rank, 1), len(s))-1]) / float64(time.Millisecond)
}
