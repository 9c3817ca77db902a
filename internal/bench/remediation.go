package bench

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/refundflow/refundflow"
	"github.com/refundflow/refundflow/postgres"
)

// remediation declares a 50-hour outage of a live course and remediates
// it in refund mode through the API: every learner is owed 7/12 of the
// price (platform_outage, automatic), each refund one Stripe call on the
// payments queue at STRIPE_RATE_PER_SECOND. The throughput is the
// refunds Stripe made ÷ the time from the request to the last of them, as
// the fake counts them (sampled in process every 100 ms); the fake answers
// 429 above Stripe's limit and counts those too. The run's name keeps its
// course, orders and outage apart from another run's; rate is the
// STRIPE_RATE_PER_SECOND of the worker it starts.
func (e *env) remediation(ctx context.Context, cfg Config, name string, n int, rate float64) (Remediation, remediated, error) {
	course, outage := "bench-live-"+name, "bench-outage-"+name
	startsAt := time.Now().Add(-30 * 24 * time.Hour).UTC()
	if _, err := e.app.DB.UpsertProduct(ctx, &refundflow.Product{
		ID: course, Type: refundflow.LiveCourse, Title: "Bench live course", SessionsTotal: 12, SessionsHeld: 5, StartsAt: &startsAt,
	}); err != nil {
		return Remediation{}, remediated{}, err
	}
	bought := time.Now().Add(-7 * 24 * time.Hour).UTC()
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("%s-%06d", course, i)
	}
	if err := e.storeOrders(ctx, ids, func(id string) refundflow.Order {
		return refundflow.Order{ID: id, LearnerID: "learner-" + id, ProductID: course, Amount: 10000, Currency: "CNY", PurchasedAt: bought}
	}); err != nil {
		return Remediation{}, remediated{}, err
	}
	ended := time.Now().Add(-10 * time.Hour).UTC()
	if err := e.call(ctx, refundflow.RoleAdmin, "POST", "/v1/outages", map[string]any{
		"id": outage, "product_ids": []string{course},
		"started_at": ended.Add(-50 * time.Hour).Format(time.RFC3339), "ended_at": ended.Format(time.RFC3339),
	}, http.StatusCreated, nil); err != nil {
		return Remediation{}, remediated{}, err
	}

	e.setStripeRate(rate, cfg.StripeLimit)
	if err := e.startWorker(ctx); err != nil {
		return Remediation{}, remediated{}, err
	}
	defer e.stopWorker()
	before := e.stripe.Snapshot().Counters
	began := time.Now()
	if err := e.call(ctx, refundflow.RoleAdmin, "POST", "/v1/outages/"+outage+"/remediate", map[string]any{"mode": "refund"}, http.StatusAccepted, nil); err != nil {
		return Remediation{}, remediated{}, err
	}
	var last time.Time
	for made := 0; made < n; {
		select {
		case <-ctx.Done():
			return Remediation{}, remediated{}, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
		now := time.Now()
		if m := e.stripe.Snapshot().Counters.RefundsCreated - before.RefundsCreated; m > made {
			made, last = m, now
		}
		if now.Sub(last) > 5*time.Minute && now.Sub(began) > 5*time.Minute {
			return Remediation{}, remediated{}, fmt.Errorf("%d of %d refunds made, none for 5 minutes", made, n)
		}
	}
	var out struct {
		Remediation struct {
			Status   string `json:"status"`
			Refunded int    `json:"refunded"`
			Failed   int    `json:"failed"`
		} `json:"remediation"`
	}
	for {
		if err := e.call(ctx, refundflow.RoleAdmin, "GET", "/v1/outages/"+outage, nil, http.StatusOK, &out); err != nil {
			return Remediation{}, remediated{}, err
		}
		if out.Remediation.Status != "running" {
			break
		}
		select {
		case <-ctx.Done():
			return Remediation{}, remediated{}, ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
	completed := time.Since(began)
	if out.Remediation.Status != "completed" || out.Remediation.Refunded != n {
		return Remediation{}, remediated{}, fmt.Errorf("remediation %s: %d of %d refunded, %d failed", out.Remediation.Status, out.Remediation.Refunded, n, out.Remediation.Failed)
	}
	after := e.stripe.Snapshot().Counters
	seconds := last.Sub(began).Seconds()
	cases := make([]string, len(ids))
	for i, id := range ids {
		cases[i] = postgres.OutageRefundID(outage, id)
	}
	return Remediation{
		Orders: n, StripeRate: rate, StripeLimit: cfg.StripeLimit, Refunded: out.Remediation.Refunded,
		Seconds: seconds, PerSecond: float64(n) / seconds, RatioToRate: float64(n) / seconds / rate,
		Stripe429s: after.RateLimited - before.RateLimited, CompletedSeconds: completed.Seconds(),
	}, remediated{outage: outage, cases: cases}, nil
}

// remediated names a remediation's outage and its cases.
type remediated struct {
	outage string
	cases  []string
}
