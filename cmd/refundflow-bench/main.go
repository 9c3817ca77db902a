// Command refundflow-bench measures refundflow against SPEC 7's
// performance bars on this machine (make bench): it starts its own
// PostgreSQL, embedded Temporal server, Stripe fake, API and worker on
// loopback, prints a table and writes internal/bench/results.json. It links the
// Temporal server (a dev tool, like refundflow-dev); the production binary
// never does.
//
//	refundflow-bench [-quick] [-out internal/bench/results.json] [-profile dir] [sizes...]
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/refundflow/refundflow/internal/bench"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "refundflow-bench:", err)
		os.Exit(1)
	}
}

// options are the command line's.
type options struct {
	cfg     bench.Config
	quick   bool
	out     string
	warmup  int
	verbose bool
}

// flags defines the command line over o, the sizes starting from def.
func flags(def bench.Config, o *options) *flag.FlagSet {
	o.cfg = def
	fs := flag.NewFlagSet("refundflow-bench", flag.ExitOnError)
	fs.BoolVar(&o.quick, "quick", false, "smoke run: every measurement with tiny sizes (the size flags still apply)")
	fs.StringVar(&o.out, "out", "internal/bench/results.json", "where to write the results (empty: nowhere)")
	cfg := &o.cfg
	fs.StringVar(&cfg.RefundflowBin, "refundflow", "bin/refundflow", "the production binary (run as `refundflow worker` for the waiting cases)")
	fs.StringVar(&cfg.VegetaBin, "vegeta", "bin/vegeta", "the vegeta binary")
	fs.StringVar(&cfg.WorkDir, "dir", "", "keep the run's PostgreSQL, SQLite file and logs here (default: a temporary directory, removed)")
	fs.IntVar(&cfg.Floor.Count, "floor", def.Floor.Count, "engine-floor workflows (SQLite)")
	fs.IntVar(&cfg.Floor.Concurrency, "floor-concurrency", def.Floor.Concurrency, "engine-floor workflows at a time")
	fs.IntVar(&cfg.Pipeline.Count, "refunds", def.Pipeline.Count, "auto-approved refunds through the API")
	fs.IntVar(&cfg.Pipeline.Concurrency, "refunds-concurrency", def.Pipeline.Concurrency, "refunds in flight at a time")
	fs.IntVar(&cfg.Rounds, "rounds", def.Rounds, "rounds that alternate the floor and the pipeline")
	fs.Float64Var(&cfg.PipelineStripeRate, "pipeline-stripe-rate", def.PipelineStripeRate, "STRIPE_RATE_PER_SECOND while the pipeline runs")
	fs.IntVar(&cfg.Shapes, "cases-per-path", def.Shapes, "cases approved by a person, and with an offer declined, run to count their cost")
	fs.IntVar(&cfg.FloorPostgres.Count, "pg-floor", def.FloorPostgres.Count, "engine-floor workflows with Temporal on PostgreSQL")
	fs.IntVar(&cfg.FloorPostgres.Concurrency, "pg-floor-concurrency", def.FloorPostgres.Concurrency, "those workflows at a time")
	fs.IntVar(&o.warmup, "warmup", def.Floor.Warmup, "uncounted workflows (refunds) before each throughput measurement")
	fs.IntVar(&cfg.ReadRate, "read-rate", def.ReadRate, "GET /v1/refunds/{id} requests per second")
	fs.DurationVar(&cfg.ReadDuration, "read-duration", def.ReadDuration, "how long to read at that rate")
	fs.IntVar(&cfg.RemediationOrders, "remediation-orders", def.RemediationOrders, "orders the remediated outage hit")
	fs.Float64Var(&cfg.StripeRate, "stripe-rate", def.StripeRate, "STRIPE_RATE_PER_SECOND")
	fs.Float64Var(&cfg.StripeLimit, "stripe-limit", def.StripeLimit, "requests per second per endpoint above which the Stripe fake answers 429")
	fs.IntVar(&cfg.WaitingCases, "waiting", def.WaitingCases, "cases waiting for approval")
	fs.IntVar(&cfg.WaitingConcurrency, "waiting-concurrency", def.WaitingConcurrency, "at most this many of those cases starting (submitted, not yet waiting) at a time")
	fs.IntVar(&cfg.SQLiteConns, "sqlite-conns", def.SQLiteConns, "the embedded server's SQLite connections")
	fs.StringVar(&cfg.ProfileDir, "profile", "", "write a CPU and a mutex profile of this process (server, API, worker) per phase into this directory")
	fs.BoolVar(&o.verbose, "v", false, "log the parts' warnings and errors")
	return fs
}

// parse reads the command line (exiting on a bad flag, or after -help).
func parse(args []string) options {
	var o options
	_ = flags(bench.DefaultConfig(), &o).Parse(args)
	if o.quick {
		// -quick changes what the size flags start from: read them again.
		_ = flags(bench.QuickConfig(), &o).Parse(args)
	}
	for _, l := range []*bench.Load{&o.cfg.Floor, &o.cfg.Pipeline, &o.cfg.FloorPostgres} {
		l.Warmup = o.warmup
	}
	return o
}

func run() error {
	o := parse(os.Args[1:])
	cfg := o.cfg
	cfg.Progress = os.Stderr
	if o.verbose {
		cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	res, err := bench.Run(ctx, cfg)
	if err != nil {
		return err
	}
	res.PrintTable(os.Stdout)
	if o.out != "" {
		if err := res.WriteJSON(o.out); err != nil {
			return err
		}
		fmt.Fprintln(os.Stderr, "refundflow-bench: results written to", o.out)
	}
	return nil
}
