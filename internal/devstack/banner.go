package devstack

import (
	"fmt"
	"io"
	"strings"

	"github.com/refundflow/refundflow"
)

type bannerInfo struct {
	API, TemporalUI, TemporalAddress, DatabaseURL, Stripe, KeysFile string
	Keys                                                            map[refundflow.Role]string
}

func printBanner(w io.Writer, b bannerInfo) {
	line := strings.Repeat("─", 72)
	fmt.Fprintln(w, line)
	fmt.Fprintln(w, " refundflow dev stack is up")
	fmt.Fprintf(w, "   API + console   %s   (ready: %s/readyz)\n", b.API, b.API)
	if b.TemporalUI != "" {
		fmt.Fprintf(w, "   Temporal UI     %s   (gRPC %s)\n", b.TemporalUI, b.TemporalAddress)
	} else {
		fmt.Fprintf(w, "   Temporal        %s (external)\n", b.TemporalAddress)
	}
	fmt.Fprintf(w, "   PostgreSQL      %s\n", b.DatabaseURL)
	fmt.Fprintf(w, "   Stripe API      %s\n", b.Stripe)
	fmt.Fprintf(w, "   keys            %s\n", b.KeysFile)
	for _, role := range refundflow.Roles {
		fmt.Fprintf(w, "     %-9s %s\n", role, b.Keys[role])
	}
	fmt.Fprintf(w, "   try: curl -H \"Authorization: Bearer %s\" %s/v1/orders/demo-order-cooling-off\n", b.Keys[refundflow.RolePlatform], b.API)
	fmt.Fprintln(w, " Ctrl-C stops everything; data stays in .data/")
	fmt.Fprintln(w, line)
}
