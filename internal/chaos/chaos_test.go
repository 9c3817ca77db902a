package chaos

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"
)

// A short chaos run: a few dozen cases over every path while workers, the
// API and the Temporal server are killed, PostgreSQL crashes, Stripe fails
// in every way and its webhooks come twice, out of order and again, and
// the mail server and the platform's receiver go down and fail — and every
// request ends in a case that ends where its path leads, with the money
// moved exactly once, the books equal to Stripe, and every message
// delivered once after deduplication, saying what was true at its step.
func TestShortChaosRunKeepsEveryCaseEveryCentAndEveryMessageInPlace(t *testing.T) {
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
	// The run did break things, and checked messages.
	delivery := report.MailDowns + report.ReceiverDowns + report.ReceiverFlaky + report.KilledInWebhook + report.KilledInMail
	if report.Kills < cfg.Kills || report.APIKills != cfg.APIKills || report.TemporalKills != cfg.TemporalKills ||
		report.PostgresRestarts != cfg.PostgresRestarts || report.StripeFaults < cfg.StripeFaults || delivery != cfg.DeliveryFaults ||
		report.WebhooksReplayed == 0 || report.OutageRequests == 0 {
		t.Fatalf("less mayhem than configured: %s", report.Summary())
	}
	if report.Emails == 0 || report.Events == 0 || report.InApp == 0 {
		t.Fatalf("no messages checked: %s", report.Summary())
	}
	_ = os.RemoveAll(report.WorkDir)
}

// testLog sends the run's progress to the test log.
type testLog struct{ t *testing.T }

func (l testLog) Write(p []byte) (int, error) {
	l.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
