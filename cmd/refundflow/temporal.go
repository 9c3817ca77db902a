package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/refundflow/refundflow/config"
	"github.com/refundflow/refundflow/temporalclient"
)

func newTemporalCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "temporal", Short: "Prepare a Temporal namespace for refundflow"}
	cmd.AddCommand(&cobra.Command{
		Use:   "setup",
		Short: "Register the custom search attributes on TEMPORAL_NAMESPACE (idempotent)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := config.FromEnv()
			if err != nil {
				return err
			}
			c, err := temporalclient.Dial(cmd.Context(), cfg, newLogger(), nil)
			if err != nil {
				return err
			}
			defer c.Close()
			if err := temporalclient.EnsureSearchAttributes(cmd.Context(), c, cfg.TemporalNamespace); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "search attributes registered on namespace %s\n", cfg.TemporalNamespace)
			return nil
		},
	})
	return cmd
}
