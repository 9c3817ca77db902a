package chaos

import (
	"fmt"
	"io"
	"time"

	"github.com/refundflow/refundflow/payments"
)

// Config sizes a run. Every loop of the run is bounded by these counts
// and durations.
type Config struct {
	// Cases is how many refund cases are submitted.
	Cases int
	// Seed makes the cases, their paths and the mayhem's schedule
	// reproducible (the timing of processes is not).
	Seed uint64
	// Workers is how many `refundflow worker` processes run at once.
	Workers int
	// Kills is how many times a worker is killed with SIGKILL (every
	// other time all workers, while Stripe holds a committed refund's
	// answer) and started again.
	Kills int
	// APIKills is how many times the API process is killed with SIGKILL
	// while requests are under way (among them OutageRequests new cases
	// without an Idempotency-Key), and started again.
	APIKills int
	// TemporalKills is how many times the Temporal server is killed with
	// SIGKILL and started again; OutageRequests new cases without an
	// Idempotency-Key are submitted while it is down.
	TemporalKills int
	// OutageRequests is how many cases each API or Temporal kill submits
	// while the part is down, retrying as a platform would.
	OutageRequests int
	// PostgresRestarts is how many times PostgreSQL is restarted with
	// pg_ctl restart -m immediate (a crash: no checkpoint, recovery).
	PostgresRestarts int
	// StripeFaults is how many faults are injected into the fake Stripe
	// (5xx before and after commit, 429 bursts, a squeezed rate limit,
	// answers held past the client's timeout, dropped connections).
	StripeFaults int
	// DeliveryFaults is how many faults hit the outbox's delivery, in
	// turn: the mail server down for a while, the platform's webhook
	// receiver down, the receiver answering 5xx to two deliveries in three
	// (half of them after it took the event), every worker killed while
	// the receiver or the mail server holds the answer to a delivery it
	// took.
	DeliveryFaults int
	// WebhookReplays is how many rounds of past Stripe events are sent
	// again (each round a handful), besides the fake's duplicate and
	// out-of-order modes.
	WebhookReplays int
	// SubmitOver spreads the submissions; the mayhem happens while they go
	// on and shortly after.
	SubmitOver time.Duration
	// SettleTimeout bounds the wait for every case to reach a terminal
	// state once the mayhem is over.
	SettleTimeout time.Duration
	// SlowStripe is how long a held Stripe answer is held: beyond the
	// payments client's timeout (payments.DefaultTimeout).
	SlowStripe time.Duration

	// RepoDir is the module's root, where the binaries are built from
	// (found from the working directory when empty).
	RepoDir string
	// BinDir holds prebuilt refundflow, stripefake and refundflow-temporal
	// binaries; empty means build them into the work directory.
	BinDir string
	// WorkDir receives the processes' logs, PostgreSQL's and Temporal's
	// data and the findings; empty means a new temporary directory.
	WorkDir string
	// Log receives progress lines; nil discards them.
	Log io.Writer
}

// Full is make chaos: hundreds of cases, bounded well within 15 minutes
// on a 2-core machine.
func Full() Config {
	return Config{
		Cases: 300, Seed: 1, Workers: 2, Kills: 8, APIKills: 4, TemporalKills: 2, OutageRequests: 3,
		PostgresRestarts: 3, StripeFaults: 40, DeliveryFaults: 10, WebhookReplays: 10,
		SubmitOver: 4 * time.Minute, SettleTimeout: 6 * time.Minute, SlowStripe: 35 * time.Second,
	}
}

// Short is the version make test runs: a few dozen cases, every path, every
// kind of mayhem at least once.
func Short() Config {
	return Config{
		Cases: 40, Seed: 7, Workers: 2, Kills: 2, APIKills: 1, TemporalKills: 1, OutageRequests: 2,
		PostgresRestarts: 1, StripeFaults: 12, DeliveryFaults: 5, WebhookReplays: 3,
		SubmitOver: 60 * time.Second, SettleTimeout: 5 * time.Minute, SlowStripe: 35 * time.Second,
	}
}

func (c Config) validate() error {
	switch {
	case c.Cases < 1:
		return fmt.Errorf("chaos: Cases must be at least 1")
	case c.Workers < 1:
		return fmt.Errorf("chaos: Workers must be at least 1")
	case c.Kills < 0 || c.APIKills < 0 || c.TemporalKills < 0 || c.OutageRequests < 0 || c.PostgresRestarts < 0 ||
		c.StripeFaults < 0 || c.DeliveryFaults < 0 || c.WebhookReplays < 0:
		return fmt.Errorf("chaos: counts must not be negative")
	case c.SubmitOver < 10*time.Second || c.SettleTimeout <= 0:
		return fmt.Errorf("chaos: SubmitOver must be at least 10s, SettleTimeout positive")
	case c.SlowStripe <= payments.DefaultTimeout:
		return fmt.Errorf("chaos: SlowStripe must outlast the Stripe client's %v timeout", payments.DefaultTimeout)
	}
	return nil
}
