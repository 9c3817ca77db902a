// Command refundflow is the production binary: the HTTP API, the Temporal
// worker, database migrations, API keys and the offline policy and SLA
// tools. It is configured only by environment variables (SPEC 2) and never
// links the Temporal server (the dev stack is cmd/refundflow-dev).
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/refundflow/refundflow/app"
	"github.com/refundflow/refundflow/config"
)

// exitError carries a specific exit status (2 = bad input or usage).
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	root := &cobra.Command{
		Use:           "refundflow",
		Short:         "Refunds and after-sales escalation for online-course platforms",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(newAPICmd(), newWorkerCmd(), newMigrateCmd(), newKeysCmd(), newTemporalCmd(), newPolicyCmd(), newSLACmd(), newReconcileCmd())
	if err := root.ExecuteContext(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "refundflow:", err)
		if e, ok := err.(*exitError); ok {
			os.Exit(e.code)
		}
		os.Exit(1)
	}
}

func newLogger() *slog.Logger {
	return slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

// loadApp reads the configuration and connects to PostgreSQL and Temporal.
func loadApp(ctx context.Context) (*app.App, error) {
	cfg, err := config.FromEnv()
	if err != nil {
		return nil, err
	}
	return app.New(ctx, cfg, newLogger())
}

func newAPICmd() *cobra.Command {
	return &cobra.Command{
		Use:   "api",
		Short: "Serve the HTTP API on HTTP_ADDR",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			a, err := loadApp(cmd.Context())
			if err != nil {
				return err
			}
			defer a.Close()
			return a.RunAPI(cmd.Context(), func(addr string) { a.Logger.Info("api listening", "addr", addr) })
		},
	}
}

func newWorkerCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "worker",
		Short: "Run the Temporal workers (refunds, payments, notifications task queues)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			a, err := loadApp(cmd.Context())
			if err != nil {
				return err
			}
			defer a.Close()
			return a.RunWorker(cmd.Context())
		},
	}
}
