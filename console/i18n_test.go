package console

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/refundflow/refundflow"
	"github.com/refundflow/refundflow/policy"
	"github.com/refundflow/refundflow/postgres"
	"github.com/refundflow/refundflow/sla"
)

// Every text a page or a handler asks for is in the catalog, in both
// languages: a missing key would show itself on the page.
func TestEveryTextIsInBothLanguages(t *testing.T) {
	literal := regexp.MustCompile(`\.(?:T|Tf) "([a-z0-9_]+)"|translate\(lang, "([a-z0-9_]+)"\)`)
	check := func(file string, src []byte) {
		for _, m := range literal.FindAllSubmatch(src, -1) {
			key := string(m[1]) + string(m[2])
			if _, ok := catalog[key]; !ok {
				t.Errorf("%s asks for %q, which the catalog lacks", file, key)
			}
		}
	}
	err := fs.WalkDir(templateFiles, "templates", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		src, err := fs.ReadFile(templateFiles, path)
		check(path, src)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	sources, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range sources {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		check(f, src)
	}
	for key, texts := range catalog {
		if texts[0] == "" || texts[1] == "" {
			t.Errorf("%q has no text in one language: %q", key, texts)
		}
	}
}

// The codes the pages show through Enum all have words, so no page shows
// a raw code where a person expects a word.
func TestEveryCodeOnThePagesHasWords(t *testing.T) {
	var codes []string
	for _, s := range refundflow.TicketStatuses {
		codes = append(codes, "ticket_status_"+string(s), "move_to_"+string(s), "done_moved_"+string(s))
	}
	for _, s := range refundflow.RefundStatuses {
		codes = append(codes, "refund_status_"+string(s))
	}
	for _, o := range []policy.Outcome{policy.OutcomeFull, policy.OutcomePartial, policy.OutcomeReview, policy.OutcomeNone} {
		codes = append(codes, "outcome_"+string(o))
	}
	for _, t := range []refundflow.ProductType{refundflow.RecordedCourse, refundflow.LiveCourse, refundflow.Membership, refundflow.Consultation} {
		codes = append(codes, "product_type_"+string(t))
	}
	for _, r := range refundflow.Roles {
		codes = append(codes, "actor_"+string(r))
	}
	for _, tier := range sla.Tiers {
		codes = append(codes, "tier_"+string(tier))
	}
	for _, state := range sla.States {
		codes = append(codes, "sla_"+state)
	}
	for _, r := range policy.Reasons {
		codes = append(codes, "reason_"+string(r))
	}
	for _, target := range []sla.Target{sla.FirstResponse, sla.Resolution, sla.Approval} {
		codes = append(codes, "target_"+string(target))
	}
	for _, z := range reportZones {
		codes = append(codes, "zone_"+z)
	}
	for _, a := range accountOrder {
		codes = append(codes, "account_"+a)
	}
	for _, a := range []refundflow.MessageAuthor{refundflow.AuthorAgent, refundflow.AuthorCustomer} {
		codes = append(codes, "author_"+string(a))
	}
	for _, f := range []string{policy.FlagRefundRate, policy.FlagReasonShare} {
		codes = append(codes, "flag_"+f)
	}
	for _, k := range []string{"adoption_refused", "amount_mismatch", "manual_refund_adopted", "manual_refund_pending",
		"manual_refund_unmatched", "missing_in_ledger", "missing_in_stripe"} {
		codes = append(codes, "finding_"+k)
	}
	// Every timeline event the workflows and the read model write.
	event := regexp.MustCompile(`(?i)\bevent(?:: +| = )"([a-z_]+)"`)
	for _, dir := range []string{"../workflows", "../postgres", "../refund"} {
		files, err := filepath.Glob(filepath.Join(dir, "*.go"))
		if err != nil || len(files) == 0 {
			t.Fatalf("no sources in %s: %v", dir, err)
		}
		for _, f := range files {
			if strings.HasSuffix(f, "_test.go") {
				continue
			}
			src, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range event.FindAllStringSubmatch(string(src), -1) {
				codes = append(codes, "event_"+m[1])
			}
		}
	}
	for _, c := range refusalCodes {
		codes = append(codes, "refusal_"+c)
	}
	for _, s := range []string{postgres.EventFailing, postgres.EventDead} {
		codes = append(codes, "delivery_"+s)
	}
	for _, c := range slices.Concat(queueDone, outagesDone, ticketDone, webhooksDone) {
		codes = append(codes, "done_"+c)
	}
	codes = append(codes, "refusal_other", "approval_approve", "approval_reject", "run_running", "run_finished", "trigger_manual", "trigger_schedule",
		"priority_"+string(sla.Normal), "priority_"+string(sla.Urgent),
		"remediation_not_started", "remediation_running", "remediation_completed", "remediation_canceled",
		"mode_refund", "mode_offer", "clock_running", "clock_paused", "clock_met")
	for _, key := range codes {
		if _, ok := catalog[key]; !ok {
			t.Errorf("no words for %q", key)
		}
	}
}

// A page that names what its form acted on puts the id in its words once
// (readFlash formats our text with it); the ticket page names none.
func TestDoneWordsNameTheIdWhereThePageHasOne(t *testing.T) {
	for _, c := range []struct {
		codes []string
		ids   int
	}{{queueDone, 1}, {outagesDone, 1}, {ticketDone, 0}, {webhooksDone, 0}} {
		for _, code := range c.codes {
			for lang, text := range catalog["done_"+code] {
				if n := strings.Count(text, "%s"); n != c.ids || strings.Count(text, "%") != n {
					t.Errorf("done_%s (%d): %q has %d %%s, want %d and no other verb", code, lang, text, n, c.ids)
				}
			}
		}
	}
}
