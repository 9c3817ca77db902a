package chaos

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sort"
	"sync"
	"time"

	"github.com/refundflow/refundflow/internal/proc"
	"github.com/refundflow/refundflow/stripefake"
)

// mayhem breaks things on a schedule drawn from the seed: it kills
// workers, crashes PostgreSQL, makes the fake Stripe misbehave and sends
// Stripe's webhooks twice, out of order and again.
type mayhem struct {
	s    *stack
	cfg  Config
	rng  *rand.Rand
	logf func(string, ...any)

	killing sync.Mutex // kills take turns

	mu    sync.Mutex
	start time.Time
	log   []string // what happened when, for the findings
	done  tally
}

// tally is what the mayhem did, counted as it succeeded.
type tally struct {
	Kills            int // worker processes killed
	PostgresRestarts int
	StripeFaults     int // a squeeze counts once
	WebhooksReplayed int
}

func newMayhem(s *stack, cfg Config, rng *rand.Rand, logf func(string, ...any)) *mayhem {
	return &mayhem{s: s, cfg: cfg, rng: rng, logf: logf}
}

// counted is do, counted with add when it succeeds.
func (m *mayhem) counted(do func(context.Context) error, add func(*tally)) func(context.Context) error {
	return func(ctx context.Context) error {
		if err := do(ctx); err != nil {
			return err
		}
		m.mu.Lock()
		defer m.mu.Unlock()
		add(&m.done)
		return nil
	}
}

type event struct {
	at   time.Duration
	name string
	do   func(ctx context.Context) error
}

// stripeFaults are the fake's misbehaviours, drawn in turn so that each
// appears in any run with as many faults as there are kinds. Random
// choices are made here, while the schedule is drawn, never while events
// run side by side.
func (m *mayhem) stripeFaults() []event {
	create := stripefake.EndpointCreateRefund
	inject := func(name string, f stripefake.Fault) event {
		return event{name: name, do: func(ctx context.Context) error { return m.s.fake.inject(ctx, f) }}
	}
	return []event{
		inject("stripe 500 after commit", stripefake.Fault{Endpoint: create, Kind: stripefake.FaultErrorAfterCommit, Status: 500}),
		inject("stripe 500 before commit", stripefake.Fault{Endpoint: create, Kind: stripefake.FaultErrorBeforeCommit, Status: 500}),
		inject("stripe 429 burst", stripefake.Fault{Endpoint: create, Kind: stripefake.FaultRateLimit, Times: 5 + m.rng.IntN(16)}),
		inject("stripe answer held past the client timeout", stripefake.Fault{Endpoint: create, Kind: stripefake.FaultDelayAfterCommit, Delay: m.cfg.SlowStripe}),
		inject("stripe connection dropped after commit", stripefake.Fault{Endpoint: create, Kind: stripefake.FaultDropAfterCommit}),
		inject("stripe 502 after commit", stripefake.Fault{Endpoint: create, Kind: stripefake.FaultErrorAfterCommit, Status: 502}),
		inject("stripe 503 before commit", stripefake.Fault{Endpoint: create, Kind: stripefake.FaultErrorBeforeCommit, Status: 503}),
		inject("stripe 429 burst on list", stripefake.Fault{Endpoint: stripefake.EndpointListRefunds, Kind: stripefake.FaultRateLimit, Times: 5}),
		inject("stripe 429 lock_timeout", stripefake.Fault{Endpoint: create, Kind: stripefake.FaultLockTimeout, Times: 3}),
		inject("stripe 503 after commit", stripefake.Fault{Endpoint: create, Kind: stripefake.FaultErrorAfterCommit, Status: 503}),
		{name: "stripe rate limit squeezed to 2/s for 15s", do: func(ctx context.Context) error {
			if err := m.s.fake.setRateLimit(ctx, 2, 2); err != nil {
				return err
			}
			select {
			case <-ctx.Done():
			case <-time.After(15 * time.Second):
			}
			return m.s.fake.setRateLimit(context.WithoutCancel(ctx), 25, 25)
		}},
	}
}

// schedule lays the events out over the window.
func (m *mayhem) schedule(window time.Duration) []event {
	var evs []event
	at := func() time.Duration { return 5*time.Second + time.Duration(m.rng.Int64N(int64(window-5*time.Second))) }
	for i := range m.cfg.Kills {
		down := 500*time.Millisecond + time.Duration(m.rng.Int64N(int64(2500*time.Millisecond)))
		if i%2 == 0 {
			w := m.s.workers[m.rng.IntN(len(m.s.workers))]
			evs = append(evs, event{at: at(), name: "kill -9 " + w.Name, do: m.counted(
				func(ctx context.Context) error { return m.kill(ctx, down, w) },
				func(t *tally) { t.Kills++ })})
		} else {
			evs = append(evs, event{at: at(), name: "kill -9 every worker while Stripe holds a committed refund", do: m.counted(
				func(ctx context.Context) error { return m.killInStripeCall(ctx, down) },
				func(t *tally) { t.Kills += len(m.s.workers) })})
		}
	}
	for range m.cfg.PostgresRestarts {
		evs = append(evs, event{at: at(), name: "pg_ctl restart -m immediate", do: m.counted(m.restartPostgres, func(t *tally) { t.PostgresRestarts++ })})
	}
	faults := m.stripeFaults()
	m.rng.Shuffle(len(faults), func(i, j int) { faults[i], faults[j] = faults[j], faults[i] })
	for i := range m.cfg.StripeFaults {
		f := faults[i%len(faults)]
		f.at = at()
		f.do = m.counted(f.do, func(t *tally) { t.StripeFaults++ })
		evs = append(evs, f)
	}
	for i := range m.cfg.WebhookReplays {
		seed := m.cfg.Seed + uint64(i)
		evs = append(evs, event{at: at(), name: "resend past Stripe events", do: func(ctx context.Context) error { return m.replay(ctx, seed) }})
	}
	// Stripe's delivery changes for the whole window: duplicates, then
	// out of order, then both.
	mode := func(md stripefake.WebhookMode) func(context.Context) error {
		return func(ctx context.Context) error { return m.s.fake.setWebhookMode(ctx, md) }
	}
	evs = append(evs,
		event{at: 0, name: "webhooks: every event twice", do: mode(stripefake.WebhookMode{Duplicate: true})},
		event{at: window / 3, name: "webhooks: out of order", do: mode(stripefake.WebhookMode{OutOfOrder: true, HoldFor: 2 * time.Second})},
		event{at: 2 * window / 3, name: "webhooks: twice and out of order", do: mode(stripefake.WebhookMode{Duplicate: true, OutOfOrder: true, HoldFor: 2 * time.Second})},
	)
	sort.SliceStable(evs, func(i, j int) bool { return evs[i].at < evs[j].at })
	return evs
}

// run plays the schedule over the window, each event at its time (events
// that take a while — a squeeze, a kill waiting for Stripe — overlap the
// next ones; kills take turns), then calms things down: faults not yet
// consumed are dropped, the rate limit and webhook delivery return to
// normal.
func (m *mayhem) run(ctx context.Context, window time.Duration) {
	events := m.schedule(window)
	m.start = time.Now()
	var wg sync.WaitGroup
	for _, ev := range events {
		wg.Add(1)
		go func() {
			defer wg.Done()
			select {
			case <-ctx.Done():
				return
			case <-time.After(time.Until(m.start.Add(ev.at))):
			}
			m.note(ev.name, ev.do(ctx))
		}()
	}
	wg.Wait()
	calm := context.WithoutCancel(ctx)
	left, err := m.s.fake.faults(calm)
	if err == nil {
		err = m.s.fake.clearFaults(calm)
	}
	m.note(fmt.Sprintf("calm: drop %d faults no request met %v", len(left), faultKinds(left)), err)
	m.note("calm: stripe rate limit back to 25/s", m.s.fake.setRateLimit(calm, 25, 25))
	m.note("calm: webhooks delivered normally", m.s.fake.setWebhookMode(calm, stripefake.WebhookMode{}))
}

func (m *mayhem) note(what string, err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	line := fmt.Sprintf("%8s  %s", time.Since(m.start).Round(100*time.Millisecond), what)
	if err != nil {
		line += ": FAILED: " + err.Error()
	}
	m.log = append(m.log, line)
	m.logf("mayhem: %s", line[10:])
}

// kill kills workers with SIGKILL and starts them again after down.
// Kills take turns, so that a worker is never started twice.
func (m *mayhem) kill(ctx context.Context, down time.Duration, ws ...*proc.Process) error {
	m.killing.Lock()
	defer m.killing.Unlock()
	for _, w := range ws {
		if err := w.Kill(); err != nil {
			return err
		}
	}
	m.pause(ctx, down)
	for _, w := range ws {
		if err := w.Start(); err != nil {
			return err
		}
	}
	return nil
}

// killInStripeCall makes Stripe commit a refund and hold its answer, then
// kills every worker while the call is open: nobody learns that the money
// moved, and the worker that retries must adopt the refund, not make a
// second one.
func (m *mayhem) killInStripeCall(ctx context.Context, down time.Duration) error {
	if err := m.s.fake.inject(ctx, stripefake.Fault{Kind: stripefake.FaultDelayAfterCommit, Delay: 20 * time.Second}); err != nil {
		return err
	}
	// Wait (bounded) until a create has taken the fault.
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		pending, err := m.s.fake.faults(ctx)
		if err == nil && !hasDelay(pending) {
			break
		}
		m.pause(ctx, 100*time.Millisecond)
	}
	return m.kill(ctx, down, m.s.workers...)
}

func faultKinds(fs []stripefake.Fault) []string {
	kinds := make([]string, len(fs))
	for i, f := range fs {
		kinds[i] = fmt.Sprintf("%s×%d on %s", f.Kind, f.Times, f.Endpoint)
	}
	return kinds
}

func hasDelay(fs []stripefake.Fault) bool {
	for _, f := range fs {
		if f.Kind == stripefake.FaultDelayAfterCommit {
			return true
		}
	}
	return false
}

// restartPostgres crashes PostgreSQL (immediate shutdown: no checkpoint,
// crash recovery at start) and starts it again.
func (m *mayhem) restartPostgres(ctx context.Context) error {
	rctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	return m.s.pg.Restart(rctx, "immediate")
}

// replay sends a few past events again, as Stripe's dashboard "resend"
// does: same id, same payload, fresh signature.
func (m *mayhem) replay(ctx context.Context, seed uint64) error {
	n, err := replayEvents(ctx, m.s.fake, rand.New(rand.NewPCG(seed, 4)), 5)
	m.mu.Lock()
	m.done.WebhooksReplayed += n
	m.mu.Unlock()
	return err
}

func replayEvents(ctx context.Context, f *fake, rng *rand.Rand, n int) (int, error) {
	events, err := f.events(ctx)
	if err != nil || len(events) == 0 {
		return 0, err
	}
	sent := 0
	for _, i := range rng.Perm(len(events))[:min(n, len(events))] {
		if err := f.resend(ctx, events[i].ID); err != nil {
			return sent, err
		}
		sent++
	}
	return sent, nil
}

func (m *mayhem) pause(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}

// stats copies what was done.
func (m *mayhem) stats() (tally, []string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.done, append([]string(nil), m.log...)
}
