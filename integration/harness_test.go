// Package integration drives the product through its HTTP API against a
// real Temporal server (embedded, in-process), a real PostgreSQL and the
// stateful Stripe fake: what `make dev` runs, minus the UI.
package integration

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/temporalproto"
	"go.temporal.io/api/workflowservice/v1"

	"github.com/refundflow/refundflow"
	"github.com/refundflow/refundflow/app"
	"github.com/refundflow/refundflow/config"
	"github.com/refundflow/refundflow/internal/casetest"
	"github.com/refundflow/refundflow/internal/devstack"
	"github.com/refundflow/refundflow/internal/stripefake"
	"github.com/refundflow/refundflow/money"
	"github.com/refundflow/refundflow/postgres/pgtest"
	"github.com/refundflow/refundflow/workflows"
)

var (
	temporalAddr    string
	updateHistories = flag.Bool("update-histories", false, "write the histories of the integration cases to workflows/testdata/histories for the replay test")
)

func TestMain(m *testing.M) {
	if db := os.Getenv(temporalProcessEnv); db != "" {
		runTemporalProcess(db)
		return
	}
	flag.Parse()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	srv, err := devstack.StartTemporal(ctx, devstack.TemporalOptions{Logger: quiet()})
	cancel()
	if err != nil {
		fmt.Fprintln(os.Stderr, "integration: temporal:", err)
		os.Exit(1)
	}
	temporalAddr = srv.Address
	code := pgtest.Main(m)
	srv.Stop()
	os.Exit(code)
}

func quiet() *slog.Logger {
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))
}

// stack is the product running for one test: API and worker on a fresh
// database, the Temporal server shared by the package.
type stack struct {
	t     *testing.T
	world *casetest.World
	app   *app.App
	api   string
	keys  map[refundflow.Role]*key
}

type key struct {
	id, secret string
}

type stackOptions struct {
	offerWindow, approvalSLA time.Duration
	approverLimit            map[string]int64
	// temporal is the Temporal server's address; "" is the package's.
	temporal string
}

func newStack(t *testing.T, o stackOptions) *stack {
	t.Helper()
	if o.offerWindow == 0 {
		o.offerWindow = 48 * time.Hour
	}
	if o.approvalSLA == 0 {
		o.approvalSLA = 24 * time.Hour
	}
	if o.temporal == "" {
		o.temporal = temporalAddr
	}
	w := casetest.New(t)
	cfg := config.Config{
		DatabaseURL:           databaseURL(t, w),
		TemporalAddress:       o.temporal,
		TemporalNamespace:     "default",
		TemporalUIURL:         "http://127.0.0.1:8233",
		HTTPAddr:              "127.0.0.1:0",
		StripeSecretKey:       "sk_test_integration",
		StripeAPIBase:         w.StripeAt,
		StripeRatePerSecond:   50,
		PlatformWebhookURL:    w.Platform.URL,
		PlatformWebhookSecret: casetest.WebhookSecret,
		OfferWindow:           o.offerWindow,
		ApprovalSLA:           o.approvalSLA,
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	a, err := app.New(ctx, cfg, quiet())
	if err != nil {
		t.Fatal(err)
	}
	s := &stack{t: t, world: w, app: a, keys: map[refundflow.Role]*key{}}
	done := make(chan error, 2)
	ready := make(chan string, 1)
	go func() {
		err := a.RunWorker(ctx)
		if ctx.Err() == nil {
			s.t.Logf("the worker stopped: %v", err)
		}
		done <- err
	}()
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
		<-done
		<-done
		a.Close()
	})
	for _, role := range refundflow.Roles {
		k, secret, err := w.DB.CreateAPIKey(ctx, "it-"+string(role), role, o.approverLimitsFor(role))
		if err != nil {
			t.Fatal(err)
		}
		s.keys[role] = &key{id: k.ID, secret: secret}
	}
	return s
}

func (o stackOptions) approverLimitsFor(role refundflow.Role) map[money.Currency]int64 {
	if role != refundflow.RoleApprover || o.approverLimit == nil {
		return nil
	}
	out := map[money.Currency]int64{}
	for c, v := range o.approverLimit {
		out[money.Currency(c)] = v
	}
	return out
}

// databaseURL is the URL of the world's database (the pool knows it).
func databaseURL(t *testing.T, w *casetest.World) string {
	t.Helper()
	return w.DB.Pool.Config().ConnString()
}

// terminateOpenWorkflows ends what a test left running, so that the next
// test's worker (on another database) never picks it up.
func (s *stack) terminateOpenWorkflows() {
	ctx := context.Background()
	resp, err := s.app.Temporal.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
		Namespace: "default", Query: "ExecutionStatus = 'Running'",
	})
	if err != nil {
		return
	}
	for _, e := range resp.GetExecutions() {
		_ = s.app.Temporal.TerminateWorkflow(ctx, e.GetExecution().GetWorkflowId(), e.GetExecution().GetRunId(), "test finished")
	}
}

// do calls the API as role and decodes the JSON answer into out (if any).
func (s *stack) do(role refundflow.Role, method, path string, body any, out any, headers ...string) int {
	s.t.Helper()
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			s.t.Fatal(err)
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, s.api+path, r)
	if err != nil {
		s.t.Fatal(err)
	}
	if role != "" {
		req.Header.Set("Authorization", "Bearer "+s.keys[role].secret)
	}
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if out != nil && len(raw) > 0 {
		if err := json.Unmarshal(raw, out); err != nil {
			s.t.Fatalf("%s %s: %v\n%s", method, path, err, raw)
		}
	}
	return resp.StatusCode
}

// refundCase is the part of the case JSON the tests read.
type refundCase struct {
	ID       string                  `json:"id"`
	Status   refundflow.RefundStatus `json:"status"`
	Amount   *int64                  `json:"amount"`
	Decision *struct {
		Outcome string `json:"outcome"`
		Rule    string `json:"rule"`
	} `json:"decision"`
	Offers []struct {
		ID, Kind, Answer string
	} `json:"offers"`
	Payment *struct {
		ProviderRefundID string `json:"provider_refund_id"`
		Status           string `json:"status"`
	} `json:"payment"`
	SLA struct {
		EscalationLevel int `json:"escalation_level"`
	} `json:"sla"`
	Timeline []struct {
		Event  string         `json:"event"`
		Detail map[string]any `json:"detail"`
	} `json:"timeline"`
	WorkflowID    string `json:"workflow_id"`
	TemporalUIURL string `json:"temporal_ui_url"`
}

func (c refundCase) events() []string {
	out := make([]string, 0, len(c.Timeline))
	for _, e := range c.Timeline {
		out = append(out, e.Event)
	}
	return out
}

// waitFor polls the case until it has the status (or fails after a minute).
func (s *stack) waitFor(id string, want refundflow.RefundStatus) refundCase {
	s.t.Helper()
	return s.waitForWithin(id, want, time.Minute)
}

// waitForWithin is waitFor with its own limit.
func (s *stack) waitForWithin(id string, want refundflow.RefundStatus, limit time.Duration) refundCase {
	s.t.Helper()
	deadline := time.Now().Add(limit)
	var c refundCase
	for time.Now().Before(deadline) {
		if code := s.do(refundflow.RoleAgent, "GET", "/v1/refunds/"+id, nil, &c); code != http.StatusOK {
			s.t.Fatalf("GET case: %d", code)
		}
		if c.Status == want {
			return c
		}
		time.Sleep(50 * time.Millisecond)
	}
	s.t.Fatalf("case %s is %s, not %s, after %s; timeline %v; %s", id, c.Status, want, limit, c.events(), s.describeCase(id))
	return c
}

// describeCase says how the case's workflow stands, for a failure message.
func (s *stack) describeCase(id string) string {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	d, err := s.app.Temporal.DescribeWorkflowExecution(ctx, workflows.RefundWorkflowID(id), "")
	if err != nil {
		return "workflow: " + err.Error()
	}
	info := d.GetWorkflowExecutionInfo()
	out := fmt.Sprintf("workflow %s, %d history events, pending workflow task %v, pending activities %d",
		info.GetStatus(), info.GetHistoryLength(), d.GetPendingWorkflowTask(), len(d.GetPendingActivities()))
	if tq, err := s.app.Temporal.DescribeTaskQueue(ctx, workflows.RefundsTaskQueue, enumspb.TASK_QUEUE_TYPE_WORKFLOW); err == nil {
		for _, p := range tq.GetPollers() {
			out += fmt.Sprintf("; poller %s last seen %s", p.GetIdentity(), p.GetLastAccessTime().AsTime().Format(time.RFC3339Nano))
		}
	} else {
		out += "; task queue: " + err.Error()
	}
	return out
}

// saveHistory writes a closed workflow's history for the replay test.
func (s *stack) saveHistory(workflowID, name string) {
	if !*updateHistories {
		return
	}
	s.t.Helper()
	ctx := context.Background()
	iter := s.app.Temporal.GetWorkflowHistory(ctx, workflowID, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	hist := &historypb.History{}
	for iter.HasNext() {
		ev, err := iter.Next()
		if err != nil {
			s.t.Fatal(err)
		}
		hist.Events = append(hist.Events, ev)
	}
	doc, err := temporalproto.CustomJSONMarshalOptions{Indent: " "}.Marshal(hist)
	if err != nil {
		s.t.Fatal(err)
	}
	path := filepath.Join("..", "workflows", "testdata", "histories", name+".json")
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		s.t.Fatal(err)
	}
	if err := os.WriteFile(path, doc, 0o644); err != nil {
		s.t.Fatal(err)
	}
}

// stripePayment seeds a card payment at the fake.
func stripePayment(id string, amount int64) stripefake.PaymentSpec {
	return stripefake.PaymentSpec{ID: id, Amount: amount, Currency: "CNY", Fee: amount * 3 / 100}
}

// waitForClosed waits until a workflow has completed (its notifications
// are delivered by then).
func (s *stack) waitForClosed(workflowID string) {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := s.app.Temporal.GetWorkflow(ctx, workflowID, "").Get(ctx, nil); err != nil {
		s.t.Fatalf("workflow %s: %v", workflowID, err)
	}
}

// doRaw sends a raw body with the given headers and returns the status.
func (s *stack) doRaw(method, path, body string, headers ...string) int {
	s.t.Helper()
	req, err := http.NewRequest(method, s.api+path, strings.NewReader(body))
	if err != nil {
		s.t.Fatal(err)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}
