package chaos

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"
)

// A short chaos run: a few dozen cases over every path while workers are
// killed, PostgreSQL crashes, Stripe fails in every way and its webhooks
// come twice, out of order and again — and every case ends where its path
// leads, with the money moved exactly once and the books equal to Stripe.
func TestShortChaosRunKeepsEveryCaseAndEveryCentInPlace(t *testing.T) {
	if testing.Short() {
		t.Skip("a chaos run takes minutes")
	}
	cfg := Short()
	cfg.Log = testLog{t}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	report, err := Run(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Log(report.Summary())
	if len(report.Violations) > 0 {
		findings, _ := os.ReadFile(report.Findings)
		t.Fatalf("%d violations; findings:\n%s", len(report.Violations), findings)
	}
	// The run did break things.
	if report.Kills < cfg.Kills || report.PostgresRestarts != cfg.PostgresRestarts || report.StripeFaults < cfg.StripeFaults || report.WebhooksReplayed == 0 {
		t.Fatalf("less mayhem than configured: %s", report.Summary())
	}
	_ = os.RemoveAll(report.WorkDir)
}

// testLog sends the run's progress to the test log.
type testLog struct{ t *testing.T }

func (l testLog) Write(p []byte) (int, error) {
	l.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
