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

	Kills            int // SIGKILLs of worker processes
	WorkerStarts     int // worker processes started, first starts included
	PostgresRestarts int
	StripeFaults     int // faults the run injected (a squeeze counts once)
	FaultsApplied    int // requests the fake answered with an injected fault
	RateLimited      int // 429 rate_limit answers (injected and the fake's limiter)
	WebhookEvents    int // events Stripe sent
	WebhookAttempts  int // deliveries of them, duplicates and retries included
	WebhooksReplayed int // events the run had Stripe send again later

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
	fmt.Fprintf(&b, " unfinished=%d", other)
	fmt.Fprintf(&b, " | worker_kills=%d worker_starts=%d pg_restarts=%d stripe_faults=%d applied=%d 429s=%d",
		r.Kills, r.WorkerStarts, r.PostgresRestarts, r.StripeFaults, r.FaultsApplied, r.RateLimited)
	fmt.Fprintf(&b, " | webhook_events=%d deliveries=%d replayed=%d", r.WebhookEvents, r.WebhookAttempts, r.WebhooksReplayed)
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
