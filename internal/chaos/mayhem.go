package chaos

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sort"
	"sync"
	"time"

	"github.com/refundflow/refundflow/internal/proc"
	"github.com/refundflow/refundflow/internal/stripefake"
)

// mayhem breaks things on a schedule drawn from the seed: it kills
// workers, the API and the Temporal server, crashes PostgreSQL, makes the
// fake Stripe misbehave and sends Stripe's webhooks twice, out of order
// and again, takes the mail server and the platform's webhook receiver
// down and makes the receiver fail.
type mayhem struct {
	s    *stack
	d    *driver
	cfg  Config
	rng  *rand.Rand
	logf func(string, ...any)

	killing sync.Mutex // kills take turns
	// Outages of one receiver take turns too: a second one must not bring
	// it back in the middle of the first.
	mailOutage, receiverOutage sync.Mutex

	mu    sync.Mutex
	start time.Time
	log   []string // what happened when, for the findings
	done  tally
}

// tally is what the mayhem did, counted as it succeeded.
type tally struct {
	Kills            int // worker processes killed
	APIKills         int
	TemporalKills    int
	OutageRequests   int // cases submitted while the API or Temporal was down
	PostgresRestarts int
	StripeFaults     int // a squeeze counts once
	WebhooksReplayed int
	// Delivery faults by kind.
	MailDowns, ReceiverDowns, ReceiverFlaky, KilledInWebhook, KilledInMail int
}

func newMayhem(s *stack, d *driver, cfg Config, rng *rand.Rand, logf func(string, ...any)) *mayhem {
	return &mayhem{s: s, d: d, cfg: cfg, rng: rng, logf: logf}
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
	for range m.cfg.APIKills {
		down := 500*time.Millisecond + time.Duration(m.rng.Int64N(int64(2500*time.Millisecond)))
		after := time.Duration(m.rng.Int64N(int64(30 * time.Millisecond)))
		evs = append(evs, event{at: at(), name: "kill -9 the api mid-request", do: m.counted(
			func(ctx context.Context) error { return m.killAPI(ctx, after, down) },
			func(t *tally) { t.APIKills++ })})
	}
	for range m.cfg.TemporalKills {
		// Longer than the API waits to start a workflow (5 s): the
		// request gives up while Temporal is still away.
		down := 8*time.Second + time.Duration(m.rng.Int64N(int64(12*time.Second)))
		evs = append(evs, event{at: at(), name: "kill -9 the temporal server", do: m.counted(
			func(ctx context.Context) error { return m.killTemporal(ctx, down) },
			func(t *tally) { t.TemporalKills++ })})
	}
	kinds := m.rng.Perm(deliveryFaultKinds)
	for i := range m.cfg.DeliveryFaults {
		f := m.deliveryFault(kinds[i%deliveryFaultKinds])
		f.at = at()
		evs = append(evs, f)
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
// Kills — of workers, the API, the Temporal server — take turns, so that
// a process is never started twice and none is started while another it
// needs is down.
func (m *mayhem) kill(ctx context.Context, down time.Duration, ws ...*proc.Process) error {
	m.killing.Lock()
	defer m.killing.Unlock()
	return m.killWorkers(ctx, down, ws...)
}

// killWorkers is kill for a caller that holds m.killing.
func (m *mayhem) killWorkers(ctx context.Context, down time.Duration, ws ...*proc.Process) error {
	for _, w := range ws {
		if err := w.Kill(); err != nil {
			return err
		}
	}
	m.pause(ctx, down)
	for _, w := range ws {
		if err := m.s.revive(context.WithoutCancel(ctx), w, workersReady); err != nil {
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

// killAPI kills the API mid-request: it sends some of the cases kept for
// an outage — without Idempotency-Keys — and kills the API a moment after
// the first is under way, so that a request may die between the case's
// row and its workflow, or after both, before its answer. The platform
// retries: the 409 that names the open case is its answer then. The API is
// started again after down.
func (m *mayhem) killAPI(ctx context.Context, after, down time.Duration) error {
	m.killing.Lock()
	defer m.killing.Unlock()
	sent := m.d.submitReserved(ctx, m.cfg.OutageRequests)
	m.addOutageRequests(sent)
	deadline := time.Now().Add(5 * time.Second)
	for sent > 0 && m.d.submitting() == 0 && time.Now().Before(deadline) {
		m.pause(ctx, time.Millisecond)
	}
	m.pause(ctx, after)
	if err := m.s.apiProc.Kill(); err != nil {
		return err
	}
	m.pause(ctx, down)
	return m.s.revive(context.WithoutCancel(ctx), m.s.apiProc, apiReady)
}

// killTemporal kills the Temporal server and, while it is down, sends
// some of the cases kept for an outage without Idempotency-Keys: the API
// takes each case's row but cannot start its workflow. The server is
// started again after down (its SQLite file keeps every workflow).
func (m *mayhem) killTemporal(ctx context.Context, down time.Duration) error {
	m.killing.Lock()
	defer m.killing.Unlock()
	if err := m.s.temporal.Kill(); err != nil {
		return err
	}
	m.addOutageRequests(m.d.submitReserved(ctx, m.cfg.OutageRequests))
	m.pause(ctx, down)
	return m.s.revive(context.WithoutCancel(ctx), m.s.temporal, temporalReady)
}

func (m *mayhem) addOutageRequests(n int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.done.OutageRequests += n
}

// deliveryFaultKinds is how many ways deliveryFault has.
const deliveryFaultKinds = 5

// deliveryFault is one of the outbox's receivers misbehaving, by kind;
// the kinds are drawn in turn like the Stripe faults, and durations are
// drawn here, not while events run.
func (m *mayhem) deliveryFault(kind int) event {
	span := func(least, most time.Duration) time.Duration {
		return least + time.Duration(m.rng.Int64N(int64(most-least)))
	}
	outage := func(what string, turn *sync.Mutex, down func(), up func() error, add func(*tally)) event {
		d := span(10*time.Second, 30*time.Second)
		return event{name: fmt.Sprintf("%s down for %s", what, d.Round(time.Second)), do: m.counted(func(ctx context.Context) error {
			turn.Lock()
			defer turn.Unlock()
			down()
			m.pause(ctx, d)
			return up()
		}, add)}
	}
	switch kind {
	case 0:
		return outage("mail server", &m.mailOutage, m.s.mail.down, m.s.mail.up, func(t *tally) { t.MailDowns++ })
	case 1:
		return outage("platform webhook receiver", &m.receiverOutage, m.s.platform.down, m.s.platform.up, func(t *tally) { t.ReceiverDowns++ })
	case 2:
		flaky := span(15*time.Second, 40*time.Second)
		return event{name: fmt.Sprintf("platform receiver answers 5xx to two deliveries in three for %s", flaky.Round(time.Second)), do: m.counted(func(ctx context.Context) error {
			m.s.platform.setFlaky(true)
			m.pause(ctx, flaky)
			m.s.platform.setFlaky(false)
			return nil
		}, func(t *tally) { t.ReceiverFlaky++ })}
	case 3:
		return event{name: "kill -9 every worker while the platform holds the answer to an event it took", do: m.counted(func(ctx context.Context) error {
			// Within the webhook client's 10 s timeout: the worker waits.
			return m.killWhileHeld(ctx, m.s.platform.hold.set, m.s.platform.hold.held, 8*time.Second)
		}, func(t *tally) { t.KilledInWebhook++; t.Kills += len(m.s.workers) })}
	default:
		return event{name: "kill -9 every worker while the mail server holds the answer to an email it took", do: m.counted(func(ctx context.Context) error {
			return m.killWhileHeld(ctx, m.s.mail.hold.set, m.s.mail.hold.held, mailHold)
		}, func(t *tally) { t.KilledInMail++; t.Kills += len(m.s.workers) })}
	}
}

// killWhileHeld makes a receiver hold its answers, waits (bounded) until
// one is held — a delivery taken, its worker waiting for the answer — and
// kills every worker then: the message goes back to the outbox when its
// lease runs out, and comes a second time. The receivers deduplicate.
func (m *mayhem) killWhileHeld(ctx context.Context, setHold func(time.Duration), held func() int, hold time.Duration) error {
	m.killing.Lock()
	defer m.killing.Unlock()
	setHold(hold)
	defer setHold(0)
	deadline := time.Now().Add(2 * time.Minute)
	for held() == 0 {
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("no delivery came within two minutes")
		}
		m.pause(ctx, 20*time.Millisecond)
	}
	return m.killWorkers(ctx, time.Second, m.s.workers...)
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
