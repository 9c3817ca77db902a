// Command refundflow-chaos is make chaos: it runs refundflow as separate
// processes (Temporal server, API, workers, the fake Stripe, PostgreSQL)
// on loopback, with a mail server and the platform's webhook receiver of
// its own, submits hundreds of refund cases (some without an
// Idempotency-Key) while it kills workers, the API and the Temporal
// server, crashes PostgreSQL, makes Stripe fail and replays its webhooks,
// and takes the mail server and the receiver down, then checks SPEC 7's
// reliability bar — money, requests and messages (see package chaos). It
// prints one summary line on stdout, writes the findings to a file in the
// work directory, and exits 1 on any violation (2 when the run could not
// be made).
//
//	refundflow-chaos [-cases 300] [-seed 1] [-short] [-work DIR] [-bin DIR]
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/refundflow/refundflow/internal/chaos"
)

func main() {
	short := flag.Bool("short", false, "the short run make test does (a few dozen cases)")
	cases := flag.Int("cases", 0, "number of cases (default: 300, or 40 with -short)")
	seed := flag.Uint64("seed", 0, "seed of the cases and the mayhem's schedule (default: the run's own)")
	workers := flag.Int("workers", 0, "worker processes (default 2)")
	work := flag.String("work", "", "directory for logs, data and findings (default: a new temporary directory, kept)")
	bin := flag.String("bin", "", "directory with prebuilt refundflow, stripefake and refundflow-temporal (default: build them)")
	quiet := flag.Bool("q", false, "no progress lines on stderr")
	flag.Parse()

	cfg := chaos.Full()
	if *short {
		cfg = chaos.Short()
	}
	cfg.WorkDir, cfg.BinDir = *work, *bin
	if *cases > 0 {
		cfg.Cases = *cases
	}
	if *seed > 0 {
		cfg.Seed = *seed
	}
	if *workers > 0 {
		cfg.Workers = *workers
	}
	if !*quiet {
		cfg.Log = os.Stderr
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// Every phase is bounded on its own; this only guards the whole.
	ctx, cancel := context.WithTimeout(ctx, 30*time.Minute)
	defer cancel()
	report, err := chaos.Run(ctx, cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "refundflow-chaos:", err)
		if report != nil {
			fmt.Println(report.Summary())
		}
		os.Exit(2)
	}
	fmt.Println(report.Summary())
	if len(report.Violations) > 0 {
		os.Exit(1)
	}
}
