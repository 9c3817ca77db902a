package main

import (
	"fmt"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/refundflow/refundflow"
	"github.com/refundflow/refundflow/money"
	"github.com/refundflow/refundflow/postgres"
)

func newKeysCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "keys", Short: "API keys (stored hashed; a new key is printed once)"}

	var role, name string
	var limits []string
	create := &cobra.Command{
		Use:   "create --role ROLE --name NAME [--limit AMOUNT | --limit CUR=AMOUNT ...]",
		Short: "Create a key and print it (once)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			parsed, err := parseLimits(limits)
			if err != nil {
				return &exitError{code: 2, err: err}
			}
			if !refundflow.Role(role).Valid() {
				return &exitError{code: 2, err: fmt.Errorf("--role must be one of platform, agent, approver, admin")}
			}
			db, err := openDB(cmd)
			if err != nil {
				return err
			}
			defer db.Close()
			key, secret, err := db.CreateAPIKey(cmd.Context(), name, refundflow.Role(role), parsed)
			if err != nil {
				return &exitError{code: 2, err: err}
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "created key %s (%s, role %s); it is shown once:\n", key.ID, key.Name, key.Role)
			fmt.Fprintln(cmd.OutOrStdout(), secret)
			return nil
		},
	}
	create.Flags().StringVar(&role, "role", "", "platform, agent, approver or admin")
	create.Flags().StringVar(&name, "name", "", "who or what holds the key")
	create.Flags().StringArrayVar(&limits, "limit", nil, "approval limit in minor units, for any currency (100000) or one currency (CNY=100000); repeatable")
	_ = create.MarkFlagRequired("role")
	_ = create.MarkFlagRequired("name")

	list := &cobra.Command{
		Use:   "list",
		Short: "List keys (never their secrets)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			db, err := openDB(cmd)
			if err != nil {
				return err
			}
			defer db.Close()
			keys, err := db.ListAPIKeys(cmd.Context())
			if err != nil {
				return err
			}
			w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "ID\tNAME\tROLE\tLIMITS\tCREATED\tSTATE")
			for _, k := range keys {
				state := "active"
				if k.RevokedAt != nil {
					state = "revoked " + k.RevokedAt.Format("2006-01-02")
				}
				fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\n", k.ID, k.Name, k.Role, formatLimits(k.ApprovalLimits), k.CreatedAt.Format("2006-01-02"), state)
			}
			return w.Flush()
		},
	}

	revoke := &cobra.Command{
		Use:   "revoke KEY_ID",
		Short: "Revoke a key for good",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			db, err := openDB(cmd)
			if err != nil {
				return err
			}
			defer db.Close()
			if err := db.RevokeAPIKey(cmd.Context(), args[0]); err != nil {
				return &exitError{code: 2, err: err}
			}
			fmt.Fprintf(cmd.OutOrStdout(), "revoked %s\n", args[0])
			return nil
		},
	}
	cmd.AddCommand(create, list, revoke)
	return cmd
}

func openDB(cmd *cobra.Command) (*postgres.DB, error) {
	url, err := databaseURL()
	if err != nil {
		return nil, err
	}
	return postgres.Open(cmd.Context(), url)
}

// parseLimits reads --limit values: "100000" for any currency or
// "CNY=100000" for one.
func parseLimits(values []string) (map[money.Currency]int64, error) {
	if len(values) == 0 {
		return nil, nil
	}
	out := map[money.Currency]int64{}
	for _, v := range values {
		cur, amount := refundflow.AnyCurrency, v
		if c, a, ok := strings.Cut(v, "="); ok {
			parsed, err := money.ParseCurrency(c)
			if err != nil {
				return nil, fmt.Errorf("--limit %q: %w", v, err)
			}
			cur, amount = parsed, a
		}
		n, err := strconv.ParseInt(amount, 10, 64)
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("--limit %q: the amount must be a positive integer in minor units", v)
		}
		if _, dup := out[cur]; dup {
			return nil, fmt.Errorf("--limit: %s given twice", cur)
		}
		out[cur] = n
	}
	return out, nil
}

func formatLimits(l map[money.Currency]int64) string {
	if len(l) == 0 {
		return "-"
	}
	var parts []string
	for c, n := range l {
		if c == refundflow.AnyCurrency {
			parts = append(parts, strconv.FormatInt(n, 10))
		} else {
			parts = append(parts, money.Format(n, c))
		}
	}
	return strings.Join(parts, ", ")
}
