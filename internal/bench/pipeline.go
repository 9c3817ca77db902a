package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/refundflow/refundflow"
	"github.com/refundflow/refundflow/internal/stripefake"
	"github.com/refundflow/refundflow/postgres"
	"github.com/refundflow/refundflow/workflows"
)

// pipelineRunner submits auto-approved refunds through the API (a
// learner who changed their mind within 24 hours, nothing watched, under
// the CNY auto-approval limit: cooling_off, no retention offer) in rounds,
// with the product's worker running in this process for each round, and
// awaits each case's workflow to its completion — with the workflow's
// result, a long poll on the server, so no status polling loads the API
// or the database. Submit → refunded comes afterwards from the read
// model: the time the workflow recorded the refunded step.
type pipelineRunner struct {
	e         *env
	orders    []string
	ids       []string
	submitted []time.Time
	counted   []int
	next      int
	m         measured
}

func (e *env) newPipeline(ctx context.Context, load Load) (*pipelineRunner, error) {
	orders, err := e.seedOrders(ctx, "pipe", load.Warmup+load.Count, 19900, time.Hour)
	if err != nil {
		return nil, err
	}
	return &pipelineRunner{e: e, orders: orders, ids: make([]string, len(orders)), submitted: make([]time.Time, len(orders))}, nil
}

// round runs warmup uncounted refunds and then count counted ones,
// concurrency at a time, with the payments queue at the pipeline's Stripe
// rate.
func (p *pipelineRunner) round(ctx context.Context, warmup, count, concurrency int) error {
	e := p.e
	e.setStripeRate(e.cfg.PipelineStripeRate, e.cfg.PipelineStripeRate*5/4)
	if err := e.startWorker(ctx); err != nil {
		return err
	}
	defer e.stopWorker()
	one := func(counted bool) func(ctx context.Context, i int) error {
		return func(ctx context.Context, i int) error {
			began := time.Now()
			id, err := e.submitRefund(ctx, p.orders[i])
			if err != nil {
				return err
			}
			p.ids[i], p.submitted[i] = id, began
			var res workflows.RefundResult
			if err := e.app.Temporal.GetWorkflow(ctx, workflows.RefundWorkflowID(id), "").Get(ctx, &res); err != nil {
				return fmt.Errorf("refund %s: %w", id, err)
			}
			if res.Status != refundflow.StatusRefunded {
				return fmt.Errorf("refund %s ended %s, not refunded", id, res.Status)
			}
			if counted {
				p.m.latency(time.Since(began))
			}
			return nil
		}
	}
	first := p.next
	p.next += warmup + count
	if _, err := closedLoop(ctx, first, first+warmup, concurrency, one(false)); err != nil {
		return fmt.Errorf("warm-up: %w", err)
	}
	for i := first + warmup; i < p.next; i++ {
		p.counted = append(p.counted, i)
	}
	return p.m.measure(ctx, e.cpu(), first+warmup, p.next, concurrency, one(true))
}

// countedIDs are the counted cases.
func (p *pipelineRunner) countedIDs() []string {
	ids := make([]string, 0, len(p.counted))
	for _, i := range p.counted {
		ids = append(ids, p.ids[i])
	}
	return ids
}

func (p *pipelineRunner) result(ctx context.Context, concurrency int) (Pipeline, error) {
	ids := p.countedIDs()
	refundedAt, err := p.e.refundedAt(ctx, ids)
	if err != nil {
		return Pipeline{}, err
	}
	var toRefunded []time.Duration
	for _, i := range p.counted {
		at, ok := refundedAt[p.ids[i]]
		if !ok {
			return Pipeline{}, fmt.Errorf("refund %s has no refunded step", p.ids[i])
		}
		toRefunded = append(toRefunded, at.Sub(p.submitted[i]))
	}
	p.e.readIDs = ids
	return Pipeline{
		Refunds: p.m.n, Concurrency: concurrency, Seconds: p.m.elapsed.Seconds(), PerSecond: p.m.perSecond(),
		RefundedP50Ms: percentileMs(toRefunded, 50), RefundedP99Ms: percentileMs(toRefunded, 99),
		CompletedP50Ms: p.m.percentileMs(50), CompletedP99Ms: p.m.percentileMs(99), CPU: p.m.cpuUse(),
	}, nil
}

// refundedAt reads when each case recorded its refunded step.
func (e *env) refundedAt(ctx context.Context, ids []string) (map[string]time.Time, error) {
	rows, err := e.app.DB.Pool.Query(ctx, `SELECT refund_id, at FROM refund_timeline WHERE event = 'refunded' AND refund_id = ANY($1)`, ids)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := make(map[string]time.Time, len(ids))
	for rows.Next() {
		var id string
		var at time.Time
		if err := rows.Scan(&id, &at); err != nil {
			return nil, err
		}
		out[id] = at
	}
	return out, rows.Err()
}

// seedOrders stores n orders of a 10-lesson recorded course of that price
// (CNY minor units), bought age ago by n learners, with their payments at
// the Stripe fake, and returns their ids.
func (e *env) seedOrders(ctx context.Context, name string, n int, price int64, age time.Duration) ([]string, error) {
	product := &refundflow.Product{ID: "bench-" + name, Type: refundflow.RecordedCourse, Title: "Bench course " + name, LessonsTotal: 10}
	if _, err := e.app.DB.UpsertProduct(ctx, product); err != nil {
		return nil, err
	}
	bought := time.Now().Add(-age).UTC()
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("bench-%s-%06d", name, i)
	}
	return ids, e.storeOrders(ctx, ids, func(id string) refundflow.Order {
		return refundflow.Order{ID: id, LearnerID: "learner-" + id, ProductID: product.ID, Amount: price, Currency: "CNY", PurchasedAt: bought}
	})
}

// storeOrders stores the orders (8 at a time) and seeds their payments.
func (e *env) storeOrders(ctx context.Context, ids []string, order func(id string) refundflow.Order) error {
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(8)
	for _, id := range ids {
		g.Go(func() error {
			o := order(id)
			o.PaymentIntent, o.LearnerEmail, o.Locale = "pi_"+id, o.LearnerID+"@example.com", refundflow.LocaleZhCN
			if _, err := e.app.DB.UpsertOrder(gctx, &o, postgres.PinPolicy); err != nil {
				return fmt.Errorf("order %s: %w", id, err)
			}
			_, err := e.stripe.CreatePayment(stripefake.PaymentSpec{ID: o.PaymentIntent, Amount: o.Amount, Currency: string(o.Currency), Fee: o.Amount * 3 / 100})
			return err
		})
	}
	return g.Wait()
}

// submitRefund asks for a refund of the order as the platform would and
// returns the case's id.
func (e *env) submitRefund(ctx context.Context, orderID string) (string, error) {
	var out struct {
		ID string `json:"id"`
	}
	err := e.call(ctx, refundflow.RolePlatform, "POST", "/v1/refunds",
		map[string]any{"order_id": orderID, "reason": "changed_mind"}, http.StatusCreated, &out, "Idempotency-Key", "bench-"+orderID)
	return out.ID, err
}

// call sends a JSON request with role's key and decodes the answer, which
// must have status want.
func (e *env) call(ctx context.Context, role refundflow.Role, method, path string, body any, want int, out any, headers ...string) error {
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, e.api+path, r)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+e.keys[role])
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := e.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != want {
		return fmt.Errorf("%s %s: %d %s", method, path, resp.StatusCode, bytes.TrimSpace(raw))
	}
	if out != nil {
		return json.Unmarshal(raw, out)
	}
	return nil
}
