package integration

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/client"
	"github.com/stripe/stripe-go/v76/webhook"

	"github.com/refundflow/refundflow"
	"github.com/refundflow/refundflow/app"
	"github.com/refundflow/refundflow/config"
	"github.com/refundflow/refundflow/internal/casetest"
	"github.com/refundflow/refundflow/internal/stripefake"
	"github.com/refundflow/refundflow/workflows"
)

// stripeWebhookSecret signs the fake Stripe's events to the API.
const stripeWebhookSecret = "whsec_integration"

// newMoneyStack is the product with Stripe's webhooks wired: the fake
// Stripe sends its signed events to the API. Without inProcessWorker no
// worker runs in the test process (a test starts refundflow worker
// processes itself).
func newMoneyStack(t *testing.T, inProcessWorker bool) *stack {
	t.Helper()
	w := casetest.New(t)
	cfg := moneyConfig(t, w)
	ctx, cancel := context.WithCancel(context.Background())
	a, err := app.New(ctx, cfg, quiet())
	if err != nil {
		t.Fatal(err)
	}
	s := &stack{t: t, world: w, app: a, keys: map[refundflow.Role]*key{}}
	running := 1
	done := make(chan error, 2)
	ready := make(chan string, 1)
	if inProcessWorker {
		running++
		go func() { done <- a.RunWorker(ctx) }()
	}
	go func() { done <- a.RunAPI(ctx, func(addr string) { ready <- addr }) }()
	select {
	case addr := <-ready:
		s.api = "http://" + addr
	case err := <-done:
		t.Fatalf("stack did not start: %v", err)
	}
	t.Cleanup(func() {
		s.terminateOpenWorkflows()
		cancel()
		for range running {
			<-done
		}
		a.Close()
	})
	for _, role := range refundflow.Roles {
		k, secret, err := w.DB.CreateAPIKey(ctx, "it-"+string(role), role, nil)
		if err != nil {
			t.Fatal(err)
		}
		s.keys[role] = &key{id: k.ID, secret: secret}
	}
	w.Stripe.ConfigureWebhooks(s.api+"/v1/webhooks/stripe", stripeWebhookSecret)
	return s
}

func moneyConfig(t *testing.T, w *casetest.World) config.Config {
	t.Helper()
	cfg := config.Config{
		DatabaseURL:           databaseURL(t, w),
		TemporalAddress:       temporalAddr,
		TemporalNamespace:     "default",
		TemporalUIURL:         "http://127.0.0.1:8233",
		HTTPAddr:              "127.0.0.1:0",
		StripeSecretKey:       "sk_test_integration",
		StripeAPIBase:         w.StripeAt,
		StripeWebhookSecret:   stripeWebhookSecret,
		StripeRatePerSecond:   50,
		PlatformWebhookURL:    w.Platform.URL,
		PlatformWebhookSecret: casetest.WebhookSecret,
		OfferWindow:           48 * time.Hour,
		ApprovalSLA:           24 * time.Hour,
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	return cfg
}

// eventually polls cond every 50 ms until it holds, for up to limit.
func eventually(t *testing.T, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after %s: %s", limit, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (s *stack) caseStatus(id string) refundCase {
	s.t.Helper()
	var c refundCase
	if code := s.do(agent, "GET", "/v1/refunds/"+id, nil, &c); code != http.StatusOK {
		s.t.Fatalf("GET case: %d", code)
	}
	return c
}

func (s *stack) orderRefunded(orderID string) int64 {
	s.t.Helper()
	var o struct {
		RefundedAmount int64 `json:"refunded_amount"`
	}
	if code := s.do(agent, "GET", "/v1/orders/"+orderID, nil, &o); code != http.StatusOK {
		s.t.Fatalf("GET order: %d", code)
	}
	return o.RefundedAmount
}

func (s *stack) count(query string, args ...any) int {
	s.t.Helper()
	var n int
	if err := s.world.DB.Pool.QueryRow(context.Background(), query, args...).Scan(&n); err != nil {
		s.t.Fatal(err)
	}
	return n
}

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// refundflowBinary builds cmd/refundflow once per test run.
func refundflowBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "refundflow-bin")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "refundflow")
		cmd := exec.Command("go", "build", "-o", binPath, "./cmd/refundflow")
		cmd.Dir = ".."
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build ./cmd/refundflow: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// workerProcess is `refundflow worker` running as its own process.
type workerProcess struct {
	cmd *exec.Cmd
	log *bytes.Buffer
}

func startWorkerProcess(t *testing.T, bin string, cfg config.Config) *workerProcess {
	t.Helper()
	cmd := exec.Command(bin, "worker")
	cmd.Env = append(os.Environ(),
		"DATABASE_URL="+cfg.DatabaseURL,
		"TEMPORAL_ADDRESS="+cfg.TemporalAddress,
		"TEMPORAL_NAMESPACE="+cfg.TemporalNamespace,
		"STRIPE_SECRET_KEY="+cfg.StripeSecretKey,
		"STRIPE_API_BASE="+cfg.StripeAPIBase,
		"STRIPE_RATE_PER_SECOND=50",
		"PLATFORM_WEBHOOK_URL="+cfg.PlatformWebhookURL,
		"PLATFORM_WEBHOOK_SECRET="+cfg.PlatformWebhookSecret,
		"METRICS_ADDR="+cfg.MetricsAddr,
	)
	p := &workerProcess{cmd: cmd, log: &bytes.Buffer{}}
	cmd.Stdout, cmd.Stderr = p.log, p.log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
		if t.Failed() {
			t.Logf("worker %d said:\n%s", cmd.Process.Pid, p.log)
		}
	})
	return p
}

// kill ends the process with SIGKILL: no cleanup, no graceful stop.
func (p *workerProcess) kill(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = p.cmd.Wait()
}

// The worker process dies (kill -9) after Stripe committed the refund and
// before the activity got the answer. A new worker process retries the
// activity, finds the refund by its metadata and adopts it: one refund at
// Stripe, the case refunded, the money booked once.
func TestWorkerKilledAfterStripeCommittedRefundsExactlyOnce(t *testing.T) {
	bin := refundflowBinary(t)
	s := newMoneyStack(t, false)
	cfg := moneyConfig(t, s.world)
	s.seed("it-kill", course("c-kill"), 19900, 2*time.Hour)
	// Stripe commits the refund, then holds the answer.
	if err := s.world.Stripe.InjectFault(stripefake.Fault{Kind: stripefake.FaultDelayAfterCommit, Delay: 10 * time.Minute}); err != nil {
		t.Fatal(err)
	}
	first := startWorkerProcess(t, bin, cfg)

	var c refundCase
	if code := s.do(platform, "POST", "/v1/refunds", map[string]any{"order_id": "it-kill", "reason": "changed_mind"}, &c); code != http.StatusCreated {
		t.Fatalf("POST /v1/refunds: %d", code)
	}
	eventually(t, time.Minute, "Stripe never committed the refund", func() bool {
		return len(s.world.StripeRefundsFor("pi_it-kill")) == 1
	})
	first.kill(t)
	if st := s.caseStatus(c.ID).Status; st != refundflow.StatusRefunding {
		t.Fatalf("before the restart the case is %s", st)
	}

	restarted := time.Now()
	startWorkerProcess(t, bin, cfg)
	eventually(t, 2*time.Minute, "the case was not refunded after the restart", func() bool {
		return s.caseStatus(c.ID).Status == refundflow.StatusRefunded
	})
	t.Logf("refunded %s after the restart", time.Since(restarted).Round(time.Second))

	refunds := s.world.StripeRefundsFor("pi_it-kill")
	if len(refunds) != 1 {
		t.Fatalf("%d refunds at Stripe", len(refunds))
	}
	// The retry adopted the refund: it never asked Stripe to create again.
	creates := 0
	for _, n := range s.world.Stripe.Snapshot().Counters.Requests[stripefake.EndpointCreateRefund] {
		creates += n
	}
	if creates != 1 {
		t.Fatalf("%d create requests reached Stripe", creates)
	}
	if got := s.caseStatus(c.ID); got.Payment == nil || got.Payment.ProviderRefundID != refunds[0].ID {
		t.Fatalf("case payment %+v, Stripe refund %s", got.Payment, refunds[0].ID)
	}
	if got := s.orderRefunded("it-kill"); got != 19900 {
		t.Fatalf("order refunded %d", got)
	}
	if n := s.count("SELECT count(*) FROM ledger_transactions WHERE provider_refund_id = $1", refunds[0].ID); n != 1 {
		t.Fatalf("%d ledger transactions for the refund", n)
	}
}

// Stripe's webhooks come twice and out of order; the pending refund is
// settled by them (no poll is due for 30 minutes), once, and old news is
// recorded as stale.
func TestDuplicateAndOutOfOrderWebhooksSettleAPendingRefundOnce(t *testing.T) {
	s := newMoneyStack(t, true)
	s.seed("it-hooks", course("c-hooks"), 19900, 2*time.Hour)
	fake := s.world.Stripe
	if err := fake.SetBehaviour("pi_it-hooks", stripefake.Behaviour{Status: stripe.RefundStatusPending}); err != nil {
		t.Fatal(err)
	}
	fake.SetWebhookMode(stripefake.WebhookMode{Duplicate: true, OutOfOrder: true})

	var c refundCase
	s.do(platform, "POST", "/v1/refunds", map[string]any{"order_id": "it-hooks", "reason": "changed_mind"}, &c)
	eventually(t, time.Minute, "the refund did not go pending", func() bool {
		got := s.caseStatus(c.ID)
		return got.Payment != nil && got.Payment.Status == "pending"
	})
	re := s.world.StripeRefundsFor("pi_it-hooks")[0]
	if err := fake.SettleRefund(re.ID, stripe.RefundStatusSucceeded, ""); err != nil {
		t.Fatal(err)
	}
	fake.FlushWebhooks()
	s.waitFor(c.ID, refundflow.StatusRefunded)
	eventually(t, time.Minute, "not every delivery was answered", func() bool {
		st := fake.Snapshot().Webhooks
		return st.Pending == 0 && st.Held == 0 && st.Attempts == 2*st.Events
	})

	snap := fake.Snapshot()
	if snap.Webhooks.Delivered != snap.Webhooks.Attempts {
		t.Fatalf("deliveries refused: %+v", snap.Webhooks)
	}
	if n := s.count("SELECT count(*) FROM stripe_events"); n != snap.Webhooks.Events {
		t.Fatalf("%d events recorded for %d sent twice each", n, snap.Webhooks.Events)
	}
	if s.orderRefunded("it-hooks") != 19900 || len(s.world.StripeRefundsFor("pi_it-hooks")) != 1 {
		t.Fatal("not refunded exactly once")
	}
	if n := s.count("SELECT count(*) FROM ledger_transactions WHERE provider_refund_id = $1", re.ID); n != 1 {
		t.Fatalf("%d ledger transactions", n)
	}
}

// A forged webhook is refused and changes nothing; Stripe's own news that
// a refund failed after it succeeded reverses the booking of a closed
// case and tells finance.
func TestRefundFailingAfterSuccessIsReversedAndAForgedWebhookIsNot(t *testing.T) {
	s := newMoneyStack(t, true)
	s.seed("it-late", course("c-late"), 19900, 2*time.Hour)
	var c refundCase
	s.do(platform, "POST", "/v1/refunds", map[string]any{"order_id": "it-late", "reason": "changed_mind"}, &c)
	s.waitFor(c.ID, refundflow.StatusRefunded)
	s.waitForClosed("refund/" + c.ID)
	re := s.world.StripeRefundsFor("pi_it-late")[0]

	forged := []byte(fmt.Sprintf(`{"id":"evt_forged","object":"event","api_version":"2023-10-16","created":%d,"type":"refund.failed",`+
		`"data":{"object":{"id":%q,"object":"refund","status":"failed","metadata":{"refundflow_refund_id":%q}}}}`, time.Now().Unix(), re.ID, c.ID))
	signed := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: forged, Secret: "whsec_not_stripes"})
	req, _ := http.NewRequest("POST", s.api+"/v1/webhooks/stripe", bytes.NewReader(forged))
	req.Header.Set("Stripe-Signature", signed.Header)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("forged webhook: %d", resp.StatusCode)
	}
	if s.caseStatus(c.ID).Status != refundflow.StatusRefunded || s.orderRefunded("it-late") != 19900 ||
		s.count("SELECT count(*) FROM stripe_events WHERE id = 'evt_forged'") != 0 {
		t.Fatal("the forged webhook changed something")
	}

	if err := s.world.Stripe.SettleRefund(re.ID, stripe.RefundStatusFailed, stripe.RefundFailureReasonExpiredOrCanceledCard); err != nil {
		t.Fatal(err)
	}
	s.waitFor(c.ID, refundflow.StatusFailed)
	s.waitForClosed(workflows.RefundFailedWorkflowID(c.ID, re.ID))
	s.saveHistory(workflows.RefundFailedWorkflowID(c.ID, re.ID), "refund-failed-after-success")
	if got := s.orderRefunded("it-late"); got != 0 {
		t.Fatalf("order still refunded %d", got)
	}
	if n := s.count("SELECT count(*) FROM staff_notifications WHERE audience = 'finance' AND refund_id = $1", c.ID); n != 1 {
		t.Fatalf("finance told %d times", n)
	}
	if n := s.count("SELECT count(*) FROM ledger_transactions WHERE provider_refund_id = $1 AND kind = 'refund_reversed'", re.ID); n != 1 {
		t.Fatalf("%d reversals", n)
	}
}

// The finance reports add up to what the fake Stripe holds: refunds of
// cases (full; partial through Connect), a refund made by hand in the
// dashboard that an on-demand reconciliation adopts and flags.
func TestReportsMatchStripesRecord(t *testing.T) {
	s := newMoneyStack(t, true)
	if _, err := s.app.Temporal.ScheduleClient().GetHandle(context.Background(), workflows.ReconcileScheduleID).Describe(context.Background()); err != nil {
		t.Fatalf("the daily reconciliation schedule: %v", err)
	}
	s.seed("it-full", course("c-full"), 19900, 2*time.Hour)
	s.seedConnect("it-connect", 10000, 1500)
	s.seed("it-dash", course("c-dash"), 5000, 30*24*time.Hour)

	var full, partial refundCase
	s.do(platform, "POST", "/v1/refunds", map[string]any{"order_id": "it-full", "reason": "changed_mind"}, &full)
	s.do(platform, "POST", "/v1/refunds", map[string]any{"order_id": "it-connect", "reason": "schedule_change", "skip_retention": true}, &partial)
	s.waitFor(full.ID, refundflow.StatusRefunded)
	if got := s.waitFor(partial.ID, refundflow.StatusRefunded); got.Amount == nil || *got.Amount != 6000 {
		t.Fatalf("connect case amount %v", got.Amount)
	}
	sc := &client.API{}
	sc.Init("sk_test_dashboard", &stripe.Backends{API: stripe.GetBackendWithConfig(stripe.APIBackend, &stripe.BackendConfig{URL: stripe.String(s.world.StripeAt)})})
	if _, err := sc.Refunds.New(&stripe.RefundParams{PaymentIntent: stripe.String("pi_it-dash"), Amount: stripe.Int64(1200)}); err != nil {
		t.Fatal(err)
	}

	// From an hour ago until now (to defaults to the moment of the request).
	var started struct {
		RunID string `json:"run_id"`
	}
	if code := s.do(admin, "POST", "/v1/reconciliations", map[string]any{
		"from": s.world.Stripe.Now().Add(-time.Hour).UTC().Format(time.RFC3339),
	}, &started); code != http.StatusAccepted {
		t.Fatalf("run reconciliation: %d", code)
	}
	s.waitForClosed(started.RunID)
	s.saveHistory(started.RunID, "reconcile")
	var recon struct {
		Run struct {
			Status        string `json:"status"`
			StripeRefunds int    `json:"stripe_refunds"`
			Matched       int    `json:"matched"`
			Findings      int    `json:"findings"`
			Adopted       int    `json:"adopted"`
		} `json:"run"`
		Findings []struct {
			Kind    string `json:"kind"`
			OrderID string `json:"order_id"`
		} `json:"findings"`
	}
	if code := s.do(approver, "GET", "/v1/reports/reconciliation?run_id="+started.RunID, nil, &recon); code != http.StatusOK {
		t.Fatalf("reconciliation report: %d", code)
	}
	if recon.Run.Status != "finished" || recon.Run.StripeRefunds != 3 || recon.Run.Matched != 2 || recon.Run.Adopted != 1 || recon.Run.Findings != 0 ||
		len(recon.Findings) != 1 || recon.Findings[0].Kind != "manual_refund_adopted" || recon.Findings[0].OrderID != "it-dash" {
		t.Fatalf("reconciliation %+v", recon)
	}
	if got := s.orderRefunded("it-dash"); got != 1200 {
		t.Fatalf("the dashboard refund is not on its order: %d", got)
	}

	snap := s.world.Stripe.Snapshot()
	var succeeded, reversed, feesReturned int64
	for _, p := range snap.Payments {
		succeeded += p.Succeeded
		reversed += p.TransferReversed
		feesReturned += p.ApplicationFeeRefunded
	}
	var report struct {
		Totals []struct {
			Currency string `json:"currency"`
			Refunded struct {
				Count  int64 `json:"count"`
				Amount int64 `json:"amount"`
			} `json:"refunded"`
			Full, Partial, Manual struct {
				Count  int64 `json:"count"`
				Amount int64 `json:"amount"`
			}
			ClawbackAmount int64 `json:"clawback_amount"`
			Clawbacks      []struct {
				CreatorAccount string `json:"creator_account"`
				Amount         int64  `json:"amount"`
			} `json:"clawbacks"`
			ApplicationFeesReturned int64 `json:"application_fees_returned"`
		} `json:"totals"`
	}
	if code := s.do(approver, "GET", "/v1/reports/refunds", nil, &report); code != http.StatusOK || len(report.Totals) != 1 {
		t.Fatalf("refunds report: %d %+v", code, report)
	}
	tot := report.Totals[0]
	if tot.Refunded.Amount != succeeded || tot.Refunded.Count != 3 || tot.Full.Count != 1 || tot.Partial.Count != 2 || tot.Manual.Amount != 1200 {
		t.Fatalf("report %+v; Stripe refunded %d", tot, succeeded)
	}
	if tot.ClawbackAmount != reversed || len(tot.Clawbacks) != 1 || tot.Clawbacks[0].CreatorAccount != "acct_it_creator" || tot.ApplicationFeesReturned != feesReturned {
		t.Fatalf("report %+v; Stripe reversed %d, fees returned %d", tot, reversed, feesReturned)
	}
	var ledger struct {
		Totals []struct {
			Balanced bool `json:"balanced"`
		} `json:"totals"`
	}
	if code := s.do(approver, "GET", "/v1/reports/ledger", nil, &ledger); code != http.StatusOK || len(ledger.Totals) != 1 || !ledger.Totals[0].Balanced {
		t.Fatalf("ledger report: %d %+v", code, ledger)
	}
}

// seedConnect sells a live course, 4 of 10 sessions held, whose creator
// is paid through Connect with the platform keeping fee.
func (s *stack) seedConnect(orderID string, amount, fee int64) {
	s.t.Helper()
	product := map[string]any{
		"id": "live-" + orderID, "type": "live_course", "title": "Live " + orderID, "sessions_total": 10, "sessions_held": 4,
		"starts_at": time.Now().Add(-14 * 24 * time.Hour).UTC().Format(time.RFC3339), "creator_account": "acct_it_creator", "alternatives": []string{},
	}
	if code := s.do(platform, "PUT", "/v1/products/live-"+orderID, product, nil); code/100 != 2 {
		s.t.Fatalf("product: %d", code)
	}
	if _, err := s.world.Stripe.CreatePayment(stripefake.PaymentSpec{ID: "pi_" + orderID, Amount: amount, Currency: "CNY", Fee: amount * 3 / 100,
		Destination: "acct_it_creator", ApplicationFeeAmount: fee}); err != nil {
		s.t.Fatal(err)
	}
	order := map[string]any{
		"learner_id": "learner-" + orderID, "learner_email": orderID + "@example.com", "locale": "en", "product_id": "live-" + orderID,
		"amount": amount, "currency": "CNY", "application_fee_amount": fee,
		"purchased_at": time.Now().Add(-20 * 24 * time.Hour).UTC().Format(time.RFC3339), "payment_intent": "pi_" + orderID,
	}
	if code := s.do(platform, "PUT", "/v1/orders/"+orderID, order, nil); code/100 != 2 {
		s.t.Fatalf("order: %d", code)
	}
}

// Before the daily schedule has run, finance reads an empty report that
// says when it will run (Temporal's word). A run started without a window
// covers what the schedule covers, the UTC day before, through the same
// workflow, and its report is where the answer says.
func TestReconciliationOnDemandCoversTheScheduledDayAndReportsWhere(t *testing.T) {
	s := newMoneyStack(t, true)
	ctx := context.Background()
	schedule := s.app.Temporal.ScheduleClient().GetHandle(ctx, workflows.ReconcileScheduleID)
	var want time.Time
	eventually(t, time.Minute, "the daily reconciliation schedule", func() bool {
		d, err := schedule.Describe(ctx)
		if err != nil || len(d.Info.NextActionTimes) == 0 {
			return false
		}
		want = d.Info.NextActionTimes[0]
		return true
	})
	var empty struct {
		Run             *struct{ ID string } `json:"run"`
		Findings        []any                `json:"findings"`
		NextScheduledAt *time.Time           `json:"next_scheduled_at"`
	}
	if code := s.do(approver, "GET", "/v1/reports/reconciliation", nil, &empty); code != http.StatusOK {
		t.Fatalf("report before any run: %d", code)
	}
	if empty.Run != nil || empty.Findings == nil || len(empty.Findings) != 0 || empty.NextScheduledAt == nil || !empty.NextScheduledAt.Equal(want) {
		t.Fatalf("report before any run: %+v, want no run, no findings, next at %s", empty, want)
	}
	if next := empty.NextScheduledAt.UTC(); next.Hour() != 1 || next.Minute() != 30 || !next.After(time.Now()) || time.Until(next) > 24*time.Hour {
		t.Fatalf("the next daily run is at %s, not the coming 01:30 UTC", next)
	}

	req, err := http.NewRequest("POST", s.api+"/v1/reconciliations", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+s.keys[admin].secret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var started struct {
		RunID      string    `json:"run_id"`
		WorkflowID string    `json:"workflow_id"`
		WindowFrom time.Time `json:"window_from"`
		WindowTo   time.Time `json:"window_to"`
		ReportURL  string    `json:"report_url"`
	}
	err = json.NewDecoder(resp.Body).Decode(&started)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusAccepted {
		t.Fatalf("start: %d %v", resp.StatusCode, err)
	}
	from, to := workflows.ReconcileDayBefore(time.Now())
	if !started.WindowFrom.Equal(from) || !started.WindowTo.Equal(to) || started.WorkflowID != started.RunID ||
		resp.Header.Get("Location") != started.ReportURL {
		t.Fatalf("started %+v (Location %q), want the window %s – %s", started, resp.Header.Get("Location"), from, to)
	}
	desc, err := s.app.Temporal.DescribeWorkflowExecution(ctx, started.WorkflowID, "")
	if err != nil {
		t.Fatal(err)
	}
	if typ := desc.GetWorkflowExecutionInfo().GetType().GetName(); typ != "Reconcile" {
		t.Fatalf("the run is a %s workflow, not the schedule's Reconcile", typ)
	}
	s.waitForClosed(started.WorkflowID)
	var report struct {
		Run struct {
			ID         string    `json:"id"`
			Trigger    string    `json:"trigger"`
			Status     string    `json:"status"`
			WindowFrom time.Time `json:"window_from"`
			WindowTo   time.Time `json:"window_to"`
		} `json:"run"`
	}
	if code := s.do(approver, "GET", started.ReportURL, nil, &report); code != http.StatusOK {
		t.Fatalf("GET %s: %d", started.ReportURL, code)
	}
	if r := report.Run; r.ID != started.RunID || r.Trigger != "manual" || r.Status != "finished" || !r.WindowFrom.Equal(from) || !r.WindowTo.Equal(to) {
		t.Fatalf("report %+v", r)
	}
}
