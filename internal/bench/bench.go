// Package bench measures refundflow against SPEC 7's performance bars on
// the machine it runs on (make bench, cmd/refundflow-bench). It starts its
// own parts on loopback — PostgreSQL with fsync on, the embedded Temporal
// server on a SQLite file in WAL mode, the stateful Stripe fake, a platform
// webhook receiver, the API and the worker — and measures in one run:
//
//   - the engine floor: a workflow with no activity at all (floor.go), on
//     the same server, in rounds alternated with the pipeline's;
//   - the pipeline: auto-approved refunds submitted through the HTTP API,
//     against that floor (pipeline.go), with the payments queue at Stripe's
//     live rate so that the engine, not the rate limit, is measured;
//   - what a case costs on Temporal Cloud — actions and history events —
//     counted on the histories of the run's own cases: auto-approved (the
//     pipeline's), approved by a person, an offer declined, and each case
//     of the remediation with its share of the remediation (costs.go);
//   - GET /v1/refunds/{id} at a fixed rate with vegeta (reads.go);
//   - policy evaluation (policy.go);
//   - outage remediation against the configured Stripe rate (remediation.go);
//   - cases waiting for approval: the worker's memory, in its own process
//     (waiting.go);
//   - the engine floor again with Temporal on PostgreSQL (floor.go).
//
// Numbers are printed and written to results.json; nothing here asserts a
// timing (the test only checks that every measurement produced a number).
package bench

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strings"
	"time"
	"unicode"
)

// Config sizes a run.
type Config struct {
	// WorkDir holds the run's PostgreSQL cluster and Temporal's SQLite
	// file; empty means a temporary directory, removed afterwards.
	WorkDir string
	// RefundflowBin is the production binary: the waiting-cases
	// measurement runs `refundflow worker` as its own process.
	RefundflowBin string
	// VegetaBin is the vegeta binary (tools/go.mod pins it).
	VegetaBin string

	// Floor and Pipeline: that many workflows (refunds), Concurrency at a
	// time, after Warmup more that are not counted, measured in Rounds
	// that alternate between the two, so that other work on the machine
	// weighs on both alike.
	Floor    Load
	Pipeline Load
	Rounds   int
	// PipelineStripeRate is STRIPE_RATE_PER_SECOND while the pipeline runs
	// (Stripe's live limit, 100/s), with the fake's limit a quarter above.
	PipelineStripeRate float64
	// Shapes is how many cases of each path a person takes part in
	// (approved by a person, an offer declined) are run to count their cost.
	Shapes int
	// FloorPostgres is the floor's load with Temporal on PostgreSQL.
	FloorPostgres Load

	// ReadRate requests per second for ReadDuration on GET /v1/refunds/{id}.
	ReadRate     int
	ReadDuration time.Duration

	// RemediationOrders orders hit by the outage that is remediated.
	RemediationOrders int
	// StripeRate is STRIPE_RATE_PER_SECOND (the payments queue's limit);
	// StripeLimit is the rate per endpoint above which the fake answers 429,
	// as Stripe does (25/s in test mode).
	StripeRate  float64
	StripeLimit float64

	// WaitingCases cases that wait for approval, at most
	// WaitingConcurrency of them starting at a time.
	WaitingCases       int
	WaitingConcurrency int

	// SQLiteConns is the embedded server's SQLite pool (TemporalOptions.SQLiteConns).
	SQLiteConns int

	// ProfileDir, when set, receives a CPU and a mutex-contention profile
	// of this process (server, API, worker) for each phase.
	ProfileDir string

	// Progress receives a line per phase; nil discards them.
	Progress io.Writer
	// Logger receives the parts' warnings and errors; nil discards them.
	Logger *slog.Logger
}

// Load is a closed-loop load: Count items, Concurrency in flight.
type Load struct {
	Count       int `json:"count"`
	Concurrency int `json:"concurrency"`
	Warmup      int `json:"warmup"`
}

// DefaultConfig is make bench: about half an hour on two cores (the
// 10 000 waiting cases take more than half of it).
func DefaultConfig() Config {
	return Config{
		Floor:              Load{Count: 1200, Concurrency: 50, Warmup: 100},
		Pipeline:           Load{Count: 1200, Concurrency: 50, Warmup: 100},
		Rounds:             3,
		PipelineStripeRate: 100,
		Shapes:             10,
		FloorPostgres:      Load{Count: 600, Concurrency: 50, Warmup: 50},
		ReadRate:           500,
		ReadDuration:       30 * time.Second,
		RemediationOrders:  600,
		StripeRate:         20,
		StripeLimit:        25,
		WaitingCases:       10000,
		WaitingConcurrency: 50,
		SQLiteConns:        4,
	}
}

// QuickConfig is a smoke run of every measurement with tiny sizes.
func QuickConfig() Config {
	c := DefaultConfig()
	c.Floor = Load{Count: 8, Concurrency: 4, Warmup: 2}
	c.Pipeline, c.FloorPostgres = c.Floor, c.Floor
	c.Rounds = 2
	c.Shapes = 2
	c.ReadRate, c.ReadDuration = 50, 2*time.Second
	c.RemediationOrders = 10
	c.WaitingCases, c.WaitingConcurrency = 10, 5
	return c
}

// Run measures everything once and returns the results; the parts it
// started are stopped before it returns.
func Run(ctx context.Context, cfg Config) (res *Results, err error) {
	if cfg.Progress == nil {
		cfg.Progress = io.Discard
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.RefundflowBin == "" || cfg.VegetaBin == "" {
		return nil, fmt.Errorf("bench: the refundflow and vegeta binaries are needed (make bench builds bin/refundflow and bin/vegeta)")
	}
	res = &Results{StartedAt: time.Now().UTC(), Host: host(), Config: cfg.summary()}
	defer func() { res.Host.LoadAfter = loadAverage() }()

	env, err := start(ctx, cfg)
	if err != nil {
		return nil, err
	}
	defer env.stop()

	phase := func(name string, fn func() error) error {
		fmt.Fprintf(cfg.Progress, "bench: %s ...\n", name)
		began := time.Now()
		stop, err := profile(cfg.ProfileDir, name)
		if err != nil {
			return err
		}
		err = fn()
		if perr := stop(); err == nil {
			err = perr
		}
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		fmt.Fprintf(cfg.Progress, "bench: %s done in %s\n", name, time.Since(began).Round(100*time.Millisecond))
		return nil
	}
	if err := phase("policy evaluation", func() (err error) { res.Policy, err = measurePolicy(); return }); err != nil {
		return res, err
	}
	floor := newFloorRunner(env.app.Temporal, env.cpu(), "sqlite")
	var pipe *pipelineRunner
	if err := phase("seed the pipeline's orders", func() (err error) { pipe, err = env.newPipeline(ctx, cfg.Pipeline); return }); err != nil {
		return res, err
	}
	rounds := max(cfg.Rounds, 1)
	for r := range rounds {
		warmF, warmP := 0, 0
		if r == 0 {
			warmF, warmP = cfg.Floor.Warmup, cfg.Pipeline.Warmup
		}
		if err := phase(fmt.Sprintf("engine floor (SQLite), round %d of %d", r+1, rounds), func() error {
			return floor.round(ctx, warmF, share(cfg.Floor.Count, rounds, r), cfg.Floor.Concurrency)
		}); err != nil {
			return res, err
		}
		if err := phase(fmt.Sprintf("pipeline, round %d of %d", r+1, rounds), func() error {
			return pipe.round(ctx, warmP, share(cfg.Pipeline.Count, rounds, r), cfg.Pipeline.Concurrency)
		}); err != nil {
			return res, err
		}
	}
	res.Floor = floor.result(cfg.Floor.Concurrency)
	if res.Pipeline, err = pipe.result(ctx, cfg.Pipeline.Concurrency); err != nil {
		return res, err
	}
	var remediated remediated
	steps := []struct {
		name string
		fn   func() error
	}{
		{"the cost of a case", func() error { return env.costs(ctx, cfg, pipe.countedIDs(), res) }},
		{"GET /v1/refunds/{id}", func() (err error) { res.Reads, err = env.reads(ctx, cfg); return }},
		{"outage remediation", func() (err error) {
			res.Remediation, remediated, err = env.remediation(ctx, cfg, "configured", cfg.RemediationOrders, cfg.StripeRate)
			return
		}},
		{"the cost of a remediated case", func() error { return env.remediationCost(ctx, remediated, res) }},
		{"cases waiting for approval", func() (err error) { res.Waiting, err = env.waiting(ctx, cfg); return }},
		{"engine floor (PostgreSQL)", func() (err error) { res.FloorPostgres, err = env.floorOnPostgres(ctx, cfg); return }},
	}
	for _, s := range steps {
		if err := phase(s.name, s.fn); err != nil {
			return res, err
		}
	}
	res.finish()
	return res, nil
}

// profile starts the CPU profile of a phase and returns what stops it and
// writes the phase's mutex profile; without a directory it does nothing.
func profile(dir, phase string) (stop func() error, err error) {
	if dir == "" {
		return func() error { return nil }, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	name := strings.Map(func(r rune) rune {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			return unicode.ToLower(r)
		}
		return '-'
	}, phase)
	cpu, err := os.Create(filepath.Join(dir, "cpu-"+name+".pprof"))
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(cpu); err != nil {
		cpu.Close()
		return nil, err
	}
	runtime.SetMutexProfileFraction(5)
	return func() error {
		pprof.StopCPUProfile()
		runtime.SetMutexProfileFraction(0)
		if err := cpu.Close(); err != nil {
			return err
		}
		mu, err := os.Create(filepath.Join(dir, "mutex-"+name+".pprof"))
		if err != nil {
			return err
		}
		defer mu.Close()
		return pprof.Lookup("mutex").WriteTo(mu, 0)
	}, nil
}

// share is round r's part of n items split over rounds.
func share(n, rounds, r int) int {
	return n*(r+1)/rounds - n*r/rounds
}

func (c Config) summary() ConfigSummary {
	return ConfigSummary{
		Floor: c.Floor, Pipeline: c.Pipeline, Rounds: max(c.Rounds, 1), PipelineStripeRate: c.PipelineStripeRate, Shapes: c.Shapes,
		FloorPostgres: c.FloorPostgres,
		ReadRate:      c.ReadRate, ReadSeconds: c.ReadDuration.Seconds(), RemediationOrders: c.RemediationOrders,
		StripeRate: c.StripeRate, StripeLimit: c.StripeLimit, WaitingCases: c.WaitingCases,
		WaitingConcurrency: c.WaitingConcurrency, SQLiteConns: max(c.SQLiteConns, 1),
	}
}

func host() Host {
	h := Host{CPUs: runtime.NumCPU(), GoVersion: runtime.Version(), OS: runtime.GOOS + "/" + runtime.GOARCH, LoadBefore: loadAverage()}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				h.CPU = strings.TrimSpace(v)
				break
			}
		}
	}
	return h
}

// loadAverage is the host's 1-minute load: other work on the machine
// shows up in the numbers, so the results say how busy it was.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	if f := strings.Fields(string(b)); len(f) >= 3 {
		return strings.Join(f[:3], " ")
	}
	return ""
}
