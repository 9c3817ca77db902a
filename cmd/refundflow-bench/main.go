// Command refundflow-bench measures refundflow against SPEC 7's
// performance bars on this machine (make bench): it starts its own
// PostgreSQL, embedded Temporal server, Stripe fake, API and worker on
// loopback, prints a table and writes bench/results.json. It links the
// Temporal server (a dev tool, like refundflow-dev); the production binary
// never does.
//
//	refundflow-bench [-quick] [-out bench/results.json] [-profile dir] [sizes...]
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/refundflow/refundflow/bench"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "refundflow-bench:", err)
		os.Exit(1)
	}
}

func run() error {
	// -quick picks the defaults the size flags start from, so it is read
	// before they are defined (hasFlag); it is defined for -help and Parse.
	flag.Bool("quick", false, "smoke run: every measurement with tiny sizes (the size flags still apply)")
	def := bench.DefaultConfig()
	if hasFlag("quick") {
		def = bench.QuickConfig()
	}
	cfg := def
	out := flag.String("out", "bench/results.json", "where to write the results (empty: nowhere)")
	flag.StringVar(&cfg.RefundflowBin, "refundflow", "bin/refundflow", "the production binary (run as `refundflow worker` for the waiting cases)")
	flag.StringVar(&cfg.VegetaBin, "vegeta", "bin/vegeta", "the vegeta binary")
	flag.StringVar(&cfg.WorkDir, "dir", "", "keep the run's PostgreSQL, SQLite file and logs here (default: a temporary directory, removed)")
	flag.IntVar(&cfg.Baseline.Count, "baseline", def.Baseline.Count, "engine-baseline workflows (SQLite)")
	flag.IntVar(&cfg.Baseline.Concurrency, "baseline-concurrency", def.Baseline.Concurrency, "engine-baseline workflows at a time")
	flag.IntVar(&cfg.Pipeline.Count, "refunds", def.Pipeline.Count, "auto-approved refunds through the API")
	flag.IntVar(&cfg.Pipeline.Concurrency, "refunds-concurrency", def.Pipeline.Concurrency, "refunds in flight at a time")
	flag.IntVar(&cfg.Rounds, "rounds", def.Rounds, "rounds that alternate the baseline and the pipeline")
	flag.IntVar(&cfg.TemporalPostgres.Count, "pg-baseline", def.TemporalPostgres.Count, "engine-baseline workflows with Temporal on PostgreSQL")
	flag.IntVar(&cfg.TemporalPostgres.Concurrency, "pg-baseline-concurrency", def.TemporalPostgres.Concurrency, "those workflows at a time")
	warmup := flag.Int("warmup", def.Baseline.Warmup, "uncounted workflows (refunds) before each throughput measurement")
	flag.IntVar(&cfg.ReadRate, "read-rate", def.ReadRate, "GET /v1/refunds/{id} requests per second")
	flag.DurationVar(&cfg.ReadDuration, "read-duration", def.ReadDuration, "how long to read at that rate")
	flag.IntVar(&cfg.RemediationOrders, "remediation-orders", def.RemediationOrders, "orders the remediated outage hit")
	flag.Float64Var(&cfg.StripeRate, "stripe-rate", def.StripeRate, "STRIPE_RATE_PER_SECOND")
	flag.Float64Var(&cfg.StripeLimit, "stripe-limit", def.StripeLimit, "requests per second per endpoint above which the Stripe fake answers 429")
	flag.IntVar(&cfg.WaitingCases, "waiting", def.WaitingCases, "cases waiting for approval")
	flag.IntVar(&cfg.WaitingConcurrency, "waiting-concurrency", def.WaitingConcurrency, "at most this many of those cases starting (submitted, not yet waiting) at a time")
	flag.IntVar(&cfg.SQLiteConns, "sqlite-conns", def.SQLiteConns, "the embedded server's SQLite connections")
	flag.StringVar(&cfg.ProfileDir, "profile", "", "write a CPU and a mutex profile of this process (server, API, worker) per phase into this directory")
	verbose := flag.Bool("v", false, "log the parts' warnings and errors")
	flag.Parse()
	for _, l := range []*bench.Load{&cfg.Baseline, &cfg.Pipeline, &cfg.TemporalPostgres} {
		l.Warmup = *warmup
	}
	cfg.Progress = os.Stderr
	if *verbose {
		cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	res, err := bench.Run(ctx, cfg)
	if err != nil {
		return err
	}
	res.PrintTable(os.Stdout)
	if *out != "" {
		if err := res.WriteJSON(*out); err != nil {
			return err
		}
		fmt.Fprintln(os.Stderr, "refundflow-bench: results written to", *out)
	}
	return nil
}

// hasFlag reports whether -name (or --name) is on the command line, so
// that -quick picks the defaults the other flags start from.
func hasFlag(name string) bool {
	for _, a := range os.Args[1:] {
		switch a {
		case "-" + name, "--" + name, "-" + name + "=true", "--" + name + "=true":
			return true
		}
	}
	return false
}
