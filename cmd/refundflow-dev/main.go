// Command refundflow-dev runs the whole product on this machine with
// embedded parts (make dev): PostgreSQL under .data/, an embedded Temporal
// server with its UI, stripe-mock, and the API and worker. It honours the
// same environment variables as production, so any part can be swapped for
// a real one (DATABASE_URL, TEMPORAL_ADDRESS, STRIPE_SECRET_KEY, SMTP_URL).
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/refundflow/refundflow/internal/devstack"
)

func main() {
	opts := devstack.Options{Out: os.Stdout}
	flag.StringVar(&opts.DataDir, "data", ".data", "directory for the stack's state")
	flag.StringVar(&opts.StripeMock, "stripe-mock", "bin/stripe-mock", "stripe-mock binary (used without STRIPE_SECRET_KEY)")
	flag.IntVar(&opts.PostgresPort, "postgres-port", 54329, "port of the project-local PostgreSQL")
	flag.StringVar(&opts.TemporalAddress, "temporal-address", "", "host:port of the embedded Temporal server (default: TEMPORAL_ADDRESS's default; unused when TEMPORAL_ADDRESS is set)")
	flag.BoolVar(&opts.TemporalUIWriteActions, "temporal-ui-write-actions", false, "let the Temporal UI terminate, reset, signal and update workflows (off: it reads and queries only)")
	flag.Parse()
	opts.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))

	os.Exit(run(opts))
}

// run runs the stack until Ctrl-C or SIGTERM and returns the exit status:
// 0 after a stop that was asked for, 1 when something failed first. A
// stop asked for while the stack is still starting ends the starting part
// with the cancellation's own error (context canceled, or the gRPC
// Canceled Temporal answers with): that is the stop, not a failure.
func run(opts devstack.Options) int {
	defer takeTerminal()()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := devstack.Run(ctx, opts); err != nil && ctx.Err() == nil {
		fmt.Fprintln(os.Stderr, "refundflow-dev:", err)
		return 1
	}
	return 0
}
