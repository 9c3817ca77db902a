package chaos

import (
	"fmt"
	"os"
	"sort"
	"strings"
	"time"
)

// Report is what a run did and found.
type Report struct {
	Cases    int
	ByStatus map[string]int
	// ByPath counts, per path, the statuses its cases ended in.
	ByPath map[string]map[string]int

	// Evaluating is how many cases the read model holds in evaluating at
	// the end (nobody runs them); Lost how many requests got no case.
	Evaluating, Lost int
	// Keyless requests were sent without an Idempotency-Key; OutageRequests
	// of them while the API or Temporal was down; MetOutage requests had a
	// try fail for want of a server, ViaConflict got their case from a 409.
	Keyless, OutageRequests, MetOutage, ViaConflict int

	Kills            int // SIGKILLs of worker processes
	WorkerStarts     int // worker processes started, first starts included
	APIKills         int // SIGKILLs of the API mid-request
	TemporalKills    int // SIGKILLs of the Temporal server
	PostgresRestarts int
	StripeFaults     int // faults the run injected (a squeeze counts once)
	FaultsApplied    int // requests the fake answered with an injected fault
	RateLimited      int // 429 rate_limit answers (injected and the fake's limiter)
	WebhookEvents    int // events Stripe sent
	WebhookAttempts  int // deliveries of them, duplicates and retries included
	WebhooksReplayed int // events the run had Stripe send again later

	// Messages: the outbox's rows checked against what the receivers
	// took; Copies counts every copy that arrived, Deduped the ones that
	// came again.
	InApp                              int
	Emails, EmailCopies, EmailsDeduped int
	Events, EventCopies, EventsDeduped int
	MailDowns, ReceiverDowns           int // delivery faults by kind
	ReceiverFlaky, ReceiverRefusals    int // windows of 5xx, and the 5xx answers given
	KilledInWebhook, KilledInMail      int // all workers killed while a receiver held an answer

	Violations []Violation
	Elapsed    time.Duration
	// WorkDir holds the processes' logs and data; Findings is the report
	// for diagnosis.
	WorkDir  string
	Findings string

	sections []section
}

type section struct {
	title string
	lines []string
}

func (r *Report) addSection(title string, lines ...string) {
	r.sections = append(r.sections, section{title, lines})
}

// Summary is the run in one line.
func (r *Report) Summary() string {
	var b strings.Builder
	fmt.Fprintf(&b, "chaos: cases=%d", r.Cases)
	for _, s := range []string{"refunded", "retained", "rejected", "withdrawn", "failed"} {
		fmt.Fprintf(&b, " %s=%d", s, r.ByStatus[s])
	}
	other := r.Cases
	for _, s := range []string{"refunded", "retained", "rejected", "withdrawn", "failed"} {
		other -= r.ByStatus[s]
	}
	fmt.Fprintf(&b, " unfinished=%d evaluating=%d lost=%d", other, r.Evaluating, r.Lost)
	fmt.Fprintf(&b, " | requests keyless=%d during_outage=%d met_outage=%d via_409=%d", r.Keyless, r.OutageRequests, r.MetOutage, r.ViaConflict)
	fmt.Fprintf(&b, " | kills workers=%d (starts %d) api=%d temporal=%d pg_restarts=%d",
		r.Kills, r.WorkerStarts, r.APIKills, r.TemporalKills, r.PostgresRestarts)
	fmt.Fprintf(&b, " | stripe faults=%d applied=%d 429s=%d webhooks=%d deliveries=%d replayed=%d",
		r.StripeFaults, r.FaultsApplied, r.RateLimited, r.WebhookEvents, r.WebhookAttempts, r.WebhooksReplayed)
	fmt.Fprintf(&b, " | messages in_app=%d emails=%d (copies %d, deduped %d) events=%d (copies %d, deduped %d)",
		r.InApp, r.Emails, r.EmailCopies, r.EmailsDeduped, r.Events, r.EventCopies, r.EventsDeduped)
	fmt.Fprintf(&b, " | delivery faults mail_down=%d receiver_down=%d receiver_5xx=%d (answers %d) killed_mid_webhook=%d killed_mid_email=%d",
		r.MailDowns, r.ReceiverDowns, r.ReceiverFlaky, r.ReceiverRefusals, r.KilledInWebhook, r.KilledInMail)
	fmt.Fprintf(&b, " | violations=%d | %s", len(r.Violations), r.Elapsed.Round(time.Second))
	if r.Findings != "" {
		fmt.Fprintf(&b, " findings=%s", r.Findings)
	}
	return b.String()
}

// write saves the findings.
func (r *Report) write(path string) error {
	var b strings.Builder
	fmt.Fprintf(&b, "refundflow chaos run, %s\n\n%s\n", time.Now().Format(time.RFC3339), r.Summary())
	if len(r.Violations) > 0 {
		fmt.Fprintf(&b, "\n## Violations (%d)\n", len(r.Violations))
		for _, v := range r.Violations {
			fmt.Fprintf(&b, "- %s\n", v)
		}
	}
	fmt.Fprintf(&b, "\n## Cases by path and status\n")
	paths := make([]string, 0, len(r.ByPath))
	for p := range r.ByPath {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, p := range paths {
		fmt.Fprintf(&b, "- %-22s %s\n", p, countsLine(r.ByPath[p]))
	}
	for _, s := range r.sections {
		fmt.Fprintf(&b, "\n## %s\n", s.title)
		for _, l := range s.lines {
			fmt.Fprintf(&b, "%s\n", l)
		}
	}
	r.Findings = path
	return os.WriteFile(path, []byte(b.String()), 0o644)
}

func countsLine(m map[string]int) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s=%d", k, m[k]))
	}
	return strings.Join(parts, " ")
}
