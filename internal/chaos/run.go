package chaos

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	tlog "go.temporal.io/sdk/log"

	"github.com/refundflow/refundflow/internal/proc"
	"github.com/refundflow/refundflow/internal/stripefake"
	"github.com/refundflow/refundflow/payments"
	"github.com/refundflow/refundflow/workflows"
)

// Run builds and starts the stack, drives the cases through the mayhem,
// waits (bounded) for them to end and checks what must hold. The error is
// for a run that could not be made (a build, a process that would not
// start); what the run found is in the report's Violations.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	began := time.Now()
	out := cfg.Log
	if out == nil {
		out = io.Discard
	}
	var logMu sync.Mutex
	logf := func(format string, args ...any) {
		logMu.Lock()
		defer logMu.Unlock()
		fmt.Fprintf(out, "%6s %s\n", time.Since(began).Round(time.Second), fmt.Sprintf(format, args...))
	}

	dir := cfg.WorkDir
	if dir == "" {
		var err error
		if dir, err = os.MkdirTemp("", "refundflow-chaos-"); err != nil {
			return nil, err
		}
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	// PostgreSQL runs as an unprivileged user when we are root: it must
	// reach its directory inside ours.
	if err := os.Chmod(dir, 0o755); err != nil {
		return nil, err
	}
	report := &Report{Cases: cfg.Cases, WorkDir: dir, ByStatus: map[string]int{}, ByPath: map[string]map[string]int{}}

	bins, err := binariesFor(ctx, cfg, dir, logf)
	if err != nil {
		return nil, err
	}
	st, err := startStack(ctx, cfg, dir, bins, logf)
	if err != nil {
		return nil, err
	}
	defer st.stop()

	cases := planCases(cfg.Cases, rand.New(rand.NewPCG(cfg.Seed, 1)))
	chooseKeyless(cases, (cfg.APIKills+cfg.TemporalKills)*cfg.OutageRequests)
	now := time.Now()
	if err := seedAll(ctx, st, cases, now); err != nil {
		return nil, fmt.Errorf("seed: %w", err)
	}
	logf("seeded %d orders and their Stripe payments", len(cases))

	tc, err := client.Dial(client.Options{
		HostPort: st.temporalAddress, Namespace: "default",
		Logger: tlog.NewStructuredLogger(slog.New(slog.NewTextHandler(io.Discard, nil))),
	})
	if err != nil {
		return nil, fmt.Errorf("temporal client: %w", err)
	}
	defer tc.Close()

	d := newDriver(st.api, st.fake, cases, logf)
	m := newMayhem(st, d, cfg, rand.New(rand.NewPCG(cfg.Seed, 2)), logf)
	// Mayhem while cases come in: a fault injected once they are all
	// through would meet no request.
	window := cfg.SubmitOver
	logf("submitting %d cases and making mayhem for %s", len(cases), window)

	phaseCtx, cancelPhase := context.WithTimeout(ctx, window+cfg.SettleTimeout)
	defer cancelPhase()
	quiet := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); d.submit(phaseCtx, cfg.SubmitOver) }()
	go func() {
		defer wg.Done()
		m.run(phaseCtx, window)
		// Cases kept for an outage that none took go now.
		d.submitReserved(phaseCtx, len(cases))
		d.late.Wait()
	}()
	go func() { wg.Wait(); close(quiet) }()
	settled := d.conduct(phaseCtx, quiet)
	<-quiet
	if settled {
		logf("every case ended where its path leads")
	} else {
		logf("the wait for the cases to end ran out")
	}

	// The workflows finish what follows the last status (notifications);
	// only rejected cases stay open, for their appeal window.
	wait := 3 * time.Minute
	if !settled {
		wait = 30 * time.Second // the cases that did not end will not close either
	}
	closed := waitForWorkflows(ctx, tc, d, wait, logf)

	// Stripe sends old news once more; nothing may move or start.
	replayed, rerr := replayEvents(ctx, st.fake, rand.New(rand.NewPCG(cfg.Seed, 3)), 25)
	if rerr != nil {
		logf("final replay: %v", rerr)
	}
	waitForDeliveries(ctx, st.fake, time.Minute)
	// A message whose worker was killed mid-send waits for its lease (two
	// minutes) before it goes again; one that failed waits for its backoff.
	if !waitForOutbox(ctx, st.dbURL, 5*time.Minute) {
		logf("the outbox still held messages to deliver after the wait")
	}
	if err := d.refresh(ctx); err != nil {
		logf("final look at the cases: %v", err)
	}
	if closed {
		closed = waitForWorkflows(ctx, tc, d, 30*time.Second, logf)
	}

	ev, err := collect(ctx, st, d)
	if err != nil {
		return nil, fmt.Errorf("collect evidence: %w", err)
	}
	report.Violations = check(ev)
	if !closed {
		report.Violations = append(report.Violations, Violation{Check: "terminal", Detail: "workflows of ended cases still open after the wait (see workflows)"})
	}

	done, mayhemLog := m.stats()
	for _, c := range ev.cases {
		status := c.status
		if status == "" {
			status = "unsubmitted"
		}
		report.ByStatus[status]++
		if report.ByPath[c.path.name] == nil {
			report.ByPath[c.path.name] = map[string]int{}
		}
		report.ByPath[c.path.name][status]++
		report.Keyless += b2i(c.keyless)
		report.MetOutage += b2i(c.metOutage)
		report.ViaConflict += b2i(c.viaConflict)
		report.Lost += b2i(c.id == "")
	}
	for _, c := range ev.msgs.cases {
		report.Evaluating += b2i(c.status == "evaluating")
	}
	report.Kills, report.PostgresRestarts, report.StripeFaults = done.Kills, done.PostgresRestarts, done.StripeFaults
	report.APIKills, report.TemporalKills, report.OutageRequests = done.APIKills, done.TemporalKills, done.OutageRequests
	report.MailDowns, report.ReceiverDowns, report.ReceiverFlaky = done.MailDowns, done.ReceiverDowns, done.ReceiverFlaky
	report.KilledInWebhook, report.KilledInMail = done.KilledInWebhook, done.KilledInMail
	me := ev.msgs
	report.InApp, report.ReceiverRefusals = len(me.inApp), me.hookTally.Refused
	report.Emails, report.EmailCopies, report.EmailsDeduped = len(me.emails), me.mailTally.Deliveries, me.mailTally.Deliveries-len(me.mail)
	report.Events, report.EventCopies, report.EventsDeduped = len(me.events), me.hookTally.Deliveries, me.hookTally.Deliveries-len(me.hooks)
	report.WebhooksReplayed = done.WebhooksReplayed + replayed
	for _, w := range st.workers {
		report.WorkerStarts += w.Starts()
	}
	report.FaultsApplied = ev.stripe.Counters.FaultsInjected
	report.RateLimited = ev.stripe.Counters.RateLimited
	report.WebhookEvents = ev.stripe.Webhooks.Events
	report.WebhookAttempts = ev.stripe.Webhooks.Attempts
	report.Elapsed = time.Since(began)

	report.addSection("How the product coped", coping(st, ev)...)
	report.addSection("Mayhem, in order", mayhemLog...)
	report.addSection("Requests that met an outage (a try without an answer, or a 5xx)", outageLines(ev.cases)...)
	report.addSection("Driver calls (what, HTTP status: count)", mapLines(d.actionCounts())...)
	report.addSection("Stripe fake", describeStripe(ev.stripe)...)
	report.addSection("Violating cases", diagnose(ctx, st, tc, ev, report.Violations)...)
	report.addSection("Processes (logs in the work directory)", processLines(st)...)
	if err := report.write(filepath.Join(dir, "findings.txt")); err != nil {
		return report, err
	}
	return report, nil
}

func binariesFor(ctx context.Context, cfg Config, dir string, logf func(string, ...any)) (binaries, error) {
	if cfg.BinDir != "" {
		return prebuilt(cfg.BinDir)
	}
	repo := cfg.RepoDir
	if repo == "" {
		var err error
		if repo, err = findRepo(); err != nil {
			return binaries{}, err
		}
	}
	logf("building refundflow, stripefake and refundflow-temporal")
	return build(ctx, repo, filepath.Join(dir, "bin"))
}

// seedAll pushes the catalogue, the orders and the Stripe payments.
func seedAll(ctx context.Context, st *stack, cases []*caseRun, now time.Time) error {
	if err := seedCatalogue(ctx, st.api, now); err != nil {
		return err
	}
	sem := make(chan struct{}, 8)
	errs := make(chan error, len(cases))
	var wg sync.WaitGroup
	for _, c := range cases {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			if err := seedCase(ctx, st.api, st.fake, c, now); err != nil {
				errs <- fmt.Errorf("order %s: %w", c.orderID, err)
			}
		}()
	}
	wg.Wait()
	close(errs)
	return <-errs
}

// waitForWorkflows waits until the only refund workflows still open are
// those of rejected cases (waiting for an appeal) and no reversal runs.
func waitForWorkflows(ctx context.Context, tc client.Client, d *driver, limit time.Duration, logf func(string, ...any)) bool {
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	rejected := 0
	for _, c := range d.snapshot() {
		if c.status == "rejected" {
			rejected++
		}
	}
	for {
		open, err1 := countOpen(ctx, tc, "Refund")
		reversals, err2 := countOpen(ctx, tc, "RefundFailedAfterSuccess")
		if err1 == nil && err2 == nil && open == int64(rejected) && reversals == 0 {
			return true
		}
		select {
		case <-ctx.Done():
			logf("open workflows: %d refund cases (%d rejected), %d reversals", open, rejected, reversals)
			return false
		case <-time.After(2 * time.Second):
		}
	}
}

func countOpen(ctx context.Context, tc client.Client, workflowType string) (int64, error) {
	resp, err := tc.CountWorkflow(ctx, &workflowservice.CountWorkflowExecutionsRequest{
		Namespace: "default", Query: fmt.Sprintf("WorkflowType = '%s' AND ExecutionStatus = 'Running'", workflowType),
	})
	if err != nil {
		return 0, err
	}
	return resp.GetCount(), nil
}

// waitForDeliveries waits (bounded) until Stripe has delivered every
// event.
func waitForDeliveries(ctx context.Context, f *fake, limit time.Duration) {
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		st, err := f.state(ctx)
		if err == nil && st.Webhooks.Pending == 0 && st.Webhooks.Held == 0 {
			// Routing happens before the answer: delivered means routed.
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// waitForOutbox waits (bounded) until no email or platform event waits
// for delivery; it reports whether none does.
func waitForOutbox(ctx context.Context, dbURL string, limit time.Duration) bool {
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	for {
		if n, err := outboxPending(ctx, dbURL); err == nil && n == 0 {
			return true
		}
		select {
		case <-ctx.Done():
			return false
		case <-time.After(2 * time.Second):
		}
	}
}

func outboxPending(ctx context.Context, dbURL string) (int, error) {
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		return 0, err
	}
	defer conn.Close(ctx)
	var n int
	err = conn.QueryRow(ctx, `SELECT (SELECT count(*) FROM emails WHERE status = 'pending') + (SELECT count(*) FROM webhook_deliveries WHERE status = 'pending')`).Scan(&n)
	return n, err
}

// collect reads every side once the run is calm.
func collect(ctx context.Context, st *stack, d *driver) (evidence, error) {
	ev := evidence{cases: d.snapshot()}
	var err error
	if ev.stripe, err = st.fake.state(ctx); err != nil {
		return ev, err
	}
	if err := gather(ctx, st.dbURL, &ev); err != nil {
		return ev, err
	}
	me := &ev.msgs
	me.mail, me.mailTally, me.mailProblems = st.mail.received()
	me.hooks, me.hookTally, me.hookProblems = st.platform.receivedEvents()
	return ev, nil
}

// diagnose describes the cases a violation names: the read model's
// timeline, Stripe's refunds and what the workflow waits for.
func diagnose(ctx context.Context, st *stack, tc client.Client, ev evidence, vs []Violation) []string {
	named := map[string]bool{}
	for _, v := range vs {
		if v.Case != "" {
			named[v.Case] = true
		}
	}
	ids := make([]string, 0, len(named))
	for id := range named {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	var lines []string
	for _, id := range ids[:min(len(ids), 50)] {
		var c caseJSON
		if _, err := st.api.call(ctx, "admin", "GET", "/v1/refunds/"+id, nil, &c); err != nil {
			lines = append(lines, fmt.Sprintf("### %s: %v", id, err))
			continue
		}
		lines = append(lines, fmt.Sprintf("### case %s, order %s, %s", id, c.OrderID, c.Status))
		for _, e := range c.Timeline {
			lines = append(lines, fmt.Sprintf("  %3d %s %-28s %-18s %s", e.Seq, e.At.Format("15:04:05.000"), e.Event, e.Status, e.Detail))
		}
		for _, r := range ev.stripe.Refunds {
			if r.Metadata[payments.MetaRefundID] == id {
				lines = append(lines, fmt.Sprintf("  stripe %s %s %d %s key=%s created=%s", r.ID, r.Status, r.Amount, r.Currency, r.IdempotencyKey, r.Created.Format("15:04:05.000")))
			}
		}
		if desc, err := tc.DescribeWorkflowExecution(ctx, workflows.RefundWorkflowID(id), ""); err == nil {
			lines = append(lines, fmt.Sprintf("  workflow %s, %d events", desc.GetWorkflowExecutionInfo().GetStatus(), desc.GetWorkflowExecutionInfo().GetHistoryLength()))
			for _, pa := range desc.GetPendingActivities() {
				lines = append(lines, fmt.Sprintf("  pending %s attempt %d %s: %s", pa.GetActivityType().GetName(), pa.GetAttempt(), pa.GetState(), pa.GetLastFailure().GetMessage()))
			}
		}
	}
	if len(ids) > 50 {
		lines = append(lines, fmt.Sprintf("(and %d more)", len(ids)-50))
	}
	return lines
}

// coping is the evidence that the faults were met and handled, not just
// injected.
func coping(st *stack, ev evidence) []string {
	adopted := 0
	for _, w := range st.workers {
		if b, err := os.ReadFile(w.LogPath); err == nil {
			adopted += strings.Count(string(b), "adopted an existing Stripe refund")
		}
	}
	c := ev.stripe.Counters
	me := ev.msgs
	return []string{
		fmt.Sprintf("emails: %d in the outbox, %d copies reached the mail server, %d deduplicated by Message-ID", len(me.emails), me.mailTally.Deliveries, me.mailTally.Deliveries-len(me.mail)),
		fmt.Sprintf("platform events: %d in the outbox, %d copies taken, %d deduplicated by event id, %d answered 5xx on purpose", len(me.events), me.hookTally.Deliveries, me.hookTally.Deliveries-len(me.hooks), me.hookTally.Refused),
		fmt.Sprintf("in-app messages: %d, each compared with its email", len(me.inApp)),
		fmt.Sprintf("Stripe refunds adopted after a lost answer (worker logs): %d", adopted),
		fmt.Sprintf("new attempts with a new key after Stripe spent one (timelines): %d", ev.events.retries),
		fmt.Sprintf("creates answered by Stripe from a saved outcome (same key): %d", c.IdempotentReplays),
		fmt.Sprintf("connections Stripe dropped after committing: %d", c.Requests[stripefake.EndpointCreateRefund][0]),
		fmt.Sprintf("Stripe events by what routing did: %s", countsLine(ev.events.outcomes)),
	}
}

func outageLines(cases []caseRun) []string {
	var lines []string
	for _, c := range cases {
		if !c.metOutage {
			continue
		}
		how := "with its Idempotency-Key"
		if c.keyless {
			how = "without a key"
		}
		if c.viaConflict {
			how += ", case from a 409"
		}
		lines = append(lines, fmt.Sprintf("order %s path %-18s case %s %s: %d failed tries, last %s", c.orderID, c.path.name, c.id, how, c.failures, c.submitErr))
	}
	return lines
}

func describeStripe(s stripefake.Snapshot) []string {
	c := s.Counters
	lines := []string{
		fmt.Sprintf("refunds created %d, idempotent replays %d, 409 key in use %d, idempotency errors %d, 429 rate_limit %d, faults applied %d",
			c.RefundsCreated, c.IdempotentReplays, c.IdempotencyConflicts, c.IdempotencyErrors, c.RateLimited, c.FaultsInjected),
		fmt.Sprintf("webhooks: %+v", s.Webhooks),
	}
	endpoints := make([]string, 0, len(c.Requests))
	for ep := range c.Requests {
		endpoints = append(endpoints, ep)
	}
	sort.Strings(endpoints)
	for _, ep := range endpoints {
		var parts []string
		for status, n := range c.Requests[ep] {
			parts = append(parts, fmt.Sprintf("%d:%d", status, n))
		}
		sort.Strings(parts)
		lines = append(lines, fmt.Sprintf("%-34s %s", ep, strings.Join(parts, " ")))
	}
	return lines
}

func processLines(st *stack) []string {
	var lines []string
	for _, p := range append([]*proc.Process{st.temporal, st.stripe, st.apiProc}, st.workers...) {
		lines = append(lines, fmt.Sprintf("%-12s started %d times, log %s", p.Name, p.Starts(), p.LogPath))
	}
	lines = append(lines, "postgres     "+st.pg.Dir,
		"mail server  "+st.mail.smtpURL()+" (in the run's process)",
		"platform     "+st.platform.url+" (in the run's process)")
	return lines
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

func mapLines(m map[string]int) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	lines := make([]string, 0, len(keys))
	for _, k := range keys {
		lines = append(lines, fmt.Sprintf("%-24s %d", k, m[k]))
	}
	return lines
}
