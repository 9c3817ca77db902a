package main

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/refundflow/refundflow/config"
	"github.com/refundflow/refundflow/ledger"
	"github.com/refundflow/refundflow/temporalclient"
	"github.com/refundflow/refundflow/workflows"
)

func newReconcileCmd() *cobra.Command {
	var from, to string
	cmd := &cobra.Command{
		Use:   "reconcile",
		Short: "Reconcile Stripe's refunds with the ledger now and print the run (default: the UTC day before)",
		Long: "Runs the reconciliation workflow that the daily Temporal Schedule runs, for the refunds Stripe created in\n" +
			"[--from, --to) (RFC 3339 times or YYYY-MM-DD dates, UTC), waits for it and prints the run as JSON.\n" +
			"The findings are in GET /v1/reports/reconciliation?run_id=<id>.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			in := workflows.ReconcileInput{Trigger: workflows.ReconcileTriggerManual}
			in.From, in.To = workflows.ReconcileDayBefore(time.Now())
			for _, f := range []struct {
				name, value string
				into        *time.Time
			}{{"--from", from, &in.From}, {"--to", to, &in.To}} {
				if f.value == "" {
					continue
				}
				t, err := parseWhen(f.value)
				if err != nil {
					return &exitError{code: 2, err: fmt.Errorf("%s: %w", f.name, err)}
				}
				*f.into = t
			}
			if !in.To.After(in.From) {
				return &exitError{code: 2, err: fmt.Errorf("--to must be after --from")}
			}
			cfg, err := config.FromEnv()
			if err != nil {
				return err
			}
			c, err := temporalclient.Dial(cmd.Context(), cfg, newLogger(), nil)
			if err != nil {
				return err
			}
			defer c.Close()
			id := workflows.ReconcileWorkflowID(fmt.Sprintf("cli-%d", time.Now().UnixNano()))
			run, err := workflows.StartReconcile(cmd.Context(), c, id, in)
			if err != nil {
				return fmt.Errorf("start reconciliation: %w", err)
			}
			var out ledger.ReconciliationRun
			if err := run.Get(cmd.Context(), &out); err != nil {
				return fmt.Errorf("reconciliation %s: %w", id, err)
			}
			enc := json.NewEncoder(cmd.OutOrStdout())
			enc.SetIndent("", "  ")
			return enc.Encode(out)
		},
	}
	cmd.Flags().StringVar(&from, "from", "", "first instant (RFC 3339) or day (YYYY-MM-DD), UTC")
	cmd.Flags().StringVar(&to, "to", "", "end, excluded (RFC 3339) or day (YYYY-MM-DD), UTC")
	return cmd
}

func parseWhen(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is neither an RFC 3339 time nor a YYYY-MM-DD date", s)
	}
	return t, nil
}
