package integration

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/refundflow/refundflow"
	"github.com/refundflow/refundflow/app"
	"github.com/refundflow/refundflow/config"
	"github.com/refundflow/refundflow/internal/casetest"
	"github.com/refundflow/refundflow/internal/stripefake"
	"github.com/refundflow/refundflow/payments"
	"github.com/refundflow/refundflow/postgres"
)

// rig is the product (API and worker) whose worker can be stopped and
// replaced by a new one while it works, as a crash and a restart of the
// worker process would; the Stripe fake limits each endpoint a quarter
// above the configured Stripe rate, as Stripe's 25/s does over the
// default STRIPE_RATE_PER_SECOND of 20.
type rig struct {
	tb     testing.TB
	world  *casetest.World
	app    *app.App
	api    string
	admin  string
	rate   float64
	worker struct {
		stop context.CancelFunc
		done chan error
	}
}

func newRig(tb testing.TB, rate float64) *rig {
	tb.Helper()
	w := casetest.New(tb)
	w.Stripe.SetRateLimit(rate*5/4, 0)
	cfg := config.Config{
		DatabaseURL: w.DB.Pool.Config().ConnString(), TemporalAddress: temporalAddr, TemporalNamespace: "default",
		TemporalUIURL: "http://127.0.0.1:8233", HTTPAddr: "127.0.0.1:0",
		StripeSecretKey: "sk_test_integration", StripeAPIBase: w.StripeAt, StripeRatePerSecond: rate,
		PlatformWebhookURL: w.Platform.URL, PlatformWebhookSecret: casetest.WebhookSecret,
		OfferWindow: 48 * time.Hour, ApprovalSLA: 24 * time.Hour,
	}
	if err := cfg.Validate(); err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	a, err := app.New(ctx, cfg, quiet())
	if err != nil {
		tb.Fatal(err)
	}
	r := &rig{tb: tb, world: w, app: a, rate: rate}
	apiDone, ready := make(chan error, 1), make(chan string, 1)
	go func() { apiDone <- a.RunAPI(ctx, func(addr string) { ready <- addr }) }()
	select {
	case addr := <-ready:
		r.api = "http://" + addr
	case err := <-apiDone:
		tb.Fatalf("API did not start: %v", err)
	}
	r.startWorker()
	tb.Cleanup(func() {
		(&stack{app: a}).terminateOpenWorkflows()
		r.worker.stop()
		<-r.worker.done
		cancel()
		<-apiDone
		a.Close()
	})
	_, secret, err := w.DB.CreateAPIKey(ctx, "it-admin", refundflow.RoleAdmin, nil)
	if err != nil {
		tb.Fatal(err)
	}
	r.admin = secret
	return r
}

func (r *rig) startWorker() {
	ctx, stop := context.WithCancel(context.Background())
	r.worker.stop, r.worker.done = stop, make(chan error, 1)
	go func() { r.worker.done <- r.app.RunWorker(ctx) }()
}

// restartWorker stops the worker — workflows in its cache, tasks in
// flight — and starts a new one that picks up where it left off.
func (r *rig) restartWorker() {
	r.worker.stop()
	if err := <-r.worker.done; err != nil {
		r.tb.Fatalf("worker: %v", err)
	}
	r.startWorker()
}

// call sends a request with the admin key and decodes the answer.
func (r *rig) call(method, path string, body, out any) int {
	r.tb.Helper()
	var in io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		in = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, r.api+path, in)
	req.Header.Set("Authorization", "Bearer "+r.admin)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		r.tb.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			r.tb.Fatalf("%s %s: %d %s", method, path, resp.StatusCode, raw)
		}
	}
	return resp.StatusCode
}

// liveCourse stores a live course 5 of whose 12 sessions were held, and n
// orders of it bought a week ago, each by its own learner.
func (r *rig) liveCourse(id string, n int) []*refundflow.Order {
	startsAt := time.Now().Add(-30 * 24 * time.Hour).UTC()
	r.world.Product(refundflow.Product{ID: id, Type: refundflow.LiveCourse, Title: "Live " + id, SessionsTotal: 12, SessionsHeld: 5, StartsAt: &startsAt})
	orders := make([]*refundflow.Order, 0, n)
	for i := range n {
		oid := fmt.Sprintf("%s-%05d", id, i)
		orders = append(orders, r.world.Order(refundflow.Order{
			ID: oid, LearnerID: "learner-" + oid, ProductID: id, Amount: 10000 + int64(i)*7, Currency: "CNY",
			PurchasedAt: time.Now().Add(-7 * 24 * time.Hour).UTC(),
		}))
	}
	return orders
}

type outageBody struct {
	ID          string `json:"id"`
	Remediation struct {
		Mode                                    *string
		Status                                  string
		Total, Done, Refunded, Retained, Failed int
		WorkflowID                              string `json:"workflow_id"`
	} `json:"remediation"`
}

// declare records a 50-hour outage of the course that ended 10 hours ago.
func (r *rig) declare(id, course string) {
	r.tb.Helper()
	ended := time.Now().Add(-10 * time.Hour).UTC()
	if code := r.call("POST", "/v1/outages", map[string]any{
		"id": id, "product_ids": []string{course},
		"started_at": ended.Add(-50 * time.Hour).Format(time.RFC3339), "ended_at": ended.Format(time.RFC3339),
	}, nil); code != http.StatusCreated {
		r.tb.Fatalf("declare outage: %d", code)
	}
}

// awaitRemediation polls the outage until until says stop.
func (r *rig) awaitRemediation(id string, limit time.Duration, until func(outageBody) bool) outageBody {
	r.tb.Helper()
	deadline := time.Now().Add(limit)
	var o outageBody
	for time.Now().Before(deadline) {
		if code := r.call("GET", "/v1/outages/"+id, nil, &o); code != http.StatusOK {
			r.tb.Fatalf("GET outage: %d", code)
		}
		if until(o) {
			return o
		}
		time.Sleep(500 * time.Millisecond)
	}
	r.tb.Fatalf("outage %s after %s: %+v", id, limit, o.Remediation)
	return o
}

func TestRemediationRefundsEveryLearnerOnceAcrossAWorkerRestart(t *testing.T) {
	const orders = 2000
	r := newRig(t, 50)
	bought := r.liveCourse("ml-live", orders)
	r.liveCourse("other-live", 3) // not hit by the outage
	r.declare("cdn-50h", "ml-live")

	var o outageBody
	if code := r.call("POST", "/v1/outages/cdn-50h/remediate", map[string]any{"mode": "refund"}, &o); code != http.StatusAccepted {
		t.Fatalf("remediate: %d %+v", code, o)
	}
	if o.Remediation.Status != "running" || o.Remediation.Total != orders || o.Remediation.WorkflowID != "outage/cdn-50h" {
		t.Fatalf("remediation %+v", o.Remediation)
	}
	if code := r.call("POST", "/v1/outages/cdn-50h/remediate", map[string]any{"mode": "offer"}, nil); code != http.StatusConflict {
		t.Fatalf("remediate again in the other mode: %d", code)
	}
	began := time.Now()
	// The embedded server pays only a few cases a second on two shared
	// cores (2 to 3 measured under load): the limits leave room for that.
	r.awaitRemediation("cdn-50h", 20*time.Minute, func(o outageBody) bool { return o.Remediation.Done >= orders/3 })
	r.restartWorker()
	done := r.awaitRemediation("cdn-50h", 30*time.Minute, func(o outageBody) bool { return o.Remediation.Status != "running" })
	took := time.Since(began)

	if rem := done.Remediation; rem.Status != "completed" || rem.Total != orders || rem.Done != orders || rem.Refunded != orders || rem.Failed != 0 {
		t.Fatalf("remediation %+v", rem)
	}
	snap := r.world.Stripe.Snapshot()
	if len(snap.Refunds) != orders {
		t.Fatalf("%d Stripe refunds for %d learners", len(snap.Refunds), orders)
	}
	byPayment := map[string][]stripefake.RefundRecord{}
	for _, re := range snap.Refunds {
		byPayment[re.PaymentIntent] = append(byPayment[re.PaymentIntent], re)
	}
	for _, order := range bought {
		refunds := byPayment[order.PaymentIntent]
		if len(refunds) != 1 || refunds[0].Amount != order.Amount*7/12 {
			t.Fatalf("order %s (%d paid): Stripe refunds %+v, want one of 7/12", order.ID, order.Amount, refunds)
		}
		if rf := refunds[0].Metadata[payments.MetaRefundID]; rf != postgres.OutageRefundID("cdn-50h", order.ID) {
			t.Fatalf("order %s refunded for case %s", order.ID, rf)
		}
	}
	if n := snap.Counters.RateLimited; n != 0 {
		t.Fatalf("Stripe answered 429 %d times", n)
	}
	t.Logf("%d cases in %s: %.1f refunds/s", orders, took.Round(time.Second), float64(orders)/took.Seconds())
}

// In offer mode each affected learner is first offered more days of
// access: one takes them, the others decline and are refunded.
func TestOfferModeRemediationLetsLearnersChooseAnExtension(t *testing.T) {
	r := newRig(t, 50)
	bought := r.liveCourse("ui-live", 4)
	r.declare("ui-50h", "ui-live")
	_, platformKey, err := r.world.DB.CreateAPIKey(context.Background(), "it-platform", refundflow.RolePlatform, nil)
	if err != nil {
		t.Fatal(err)
	}
	if code := r.call("POST", "/v1/outages/ui-50h/remediate", map[string]any{"mode": "offer"}, nil); code != http.StatusAccepted {
		t.Fatalf("remediate: %d", code)
	}
	asPlatform := func(path string) int {
		req, _ := http.NewRequest("POST", r.api+path, nil)
		req.Header.Set("Authorization", "Bearer "+platformKey)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for i, order := range bought {
		id := postgres.OutageRefundID("ui-50h", order.ID)
		var c *postgres.RefundCase
		deadline := time.Now().Add(time.Minute)
		for c == nil || c.Status != refundflow.StatusOffered {
			if time.Now().After(deadline) {
				t.Fatalf("case %s was never offered an extension: %+v", id, c)
			}
			time.Sleep(100 * time.Millisecond)
			c, _ = r.world.DB.GetRefund(context.Background(), id)
		}
		if len(c.Offers) != 1 || c.Offers[0].Kind != refundflow.OfferExtendAccess {
			t.Fatalf("case %s offers %+v", id, c.Offers)
		}
		path := "/v1/refunds/" + id + "/offers/decline"
		if i == 0 {
			path = "/v1/refunds/" + id + "/offers/" + c.Offers[0].ID + "/accept"
		}
		if code := asPlatform(path); code != http.StatusOK {
			t.Fatalf("%s: %d", path, code)
		}
	}
	done := r.awaitRemediation("ui-50h", 3*time.Minute, func(o outageBody) bool { return o.Remediation.Status != "running" })
	if rem := done.Remediation; rem.Status != "completed" || rem.Retained != 1 || rem.Refunded != 3 || rem.Failed != 0 {
		t.Fatalf("remediation %+v", rem)
	}
	s := &stack{t: t, app: r.app}
	s.waitForClosed("outage/ui-50h")
	s.saveHistory("outage/ui-50h", "outage-offer-mode")
	first := "refund/" + postgres.OutageRefundID("ui-50h", bought[0].ID)
	s.waitForClosed(first)
	s.saveHistory(first, "refund-outage-extension-accepted")
}
