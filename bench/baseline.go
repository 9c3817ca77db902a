package bench

import (
	"context"
	"fmt"
	"strings"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	tlog "go.temporal.io/sdk/log"
	sdkworker "go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/refundflow/refundflow/devstack"
	"github.com/refundflow/refundflow/worker"
	"github.com/refundflow/refundflow/workflows"
)

// The engine baseline is what the embedded Temporal server can do with a
// workflow of exactly the auto-approved refund case's shape whose
// activities do nothing: the same activities in the same order and
// concurrency, on the same task queues with the same worker options
// (worker.QueueOptions, the payments queue's rate limit included), the same
// activity options, the same search attributes at start and the same four
// upserts, no timers, and payloads of the sizes the real case carries
// (measured on workflows/testdata/histories/refund-auto-approved.json).
// The pipeline's throughput is judged against it.

// BaselineInput starts a baseline workflow.
type BaselineInput struct {
	ID string
}

// Payload sizes of the real case's activities, in bytes of JSON.
const (
	sizeNotice         = 120  // NotifyLearner / SendWebhook input
	sizeEvaluateResult = 1100 // the decision with both explanations
	sizeFirstStep      = 1500 // RecordStep "evaluated" carries the decision
	sizeStep           = 500  // later RecordSteps
	sizeAttempt        = 280  // ReservePayment's result, CreateStripeRefund's input
	sizeStripeRefund   = 270
	sizeSettle         = 300
)

// Baseline is the no-op twin of workflows.Refund on the auto-approved path
// (refund.go, refund_case.go, refund_payment.go):
//
//	NotifyLearner + SendWebhook (async)     notifications
//	Evaluate, RecordStep + upsert            refunds
//	RecordStep + upsert, SendWebhook (async) refunds, notifications
//	ReservePayment, RecordStep + upsert      refunds
//	CreateStripeRefund                       payments (rate-limited)
//	SettlePayment, RecordStep + upsert       refunds
//	NotifyLearner + SendWebhook (async)      notifications
//	wait for the notifications, complete
func Baseline(ctx workflow.Context, in BaselineInput) (string, error) {
	var a *baselineActivities
	// The product's own options (workflows/options.go, refund_payment.go).
	db := workflow.WithActivityOptions(ctx, workflows.DBActivityOptions(30*time.Second))
	notify := workflow.WithActivityOptions(ctx, workflows.NotifyActivityOptions(24*time.Hour))
	pay := workflow.WithActivityOptions(ctx, workflows.StripeActivityOptions())
	var pending []workflow.Future
	tell := func(size int) {
		pending = append(pending, workflow.ExecuteActivity(notify, a.BaselineNotify, pad(size)))
	}
	seq := 0
	step := func(size int, status string) error {
		seq++
		if err := workflow.ExecuteActivity(db, a.BaselineStep, pad(size)).Get(ctx, nil); err != nil {
			return err
		}
		return workflow.UpsertTypedSearchAttributes(ctx,
			workflows.RefundStatusKey.ValueSet(status), workflows.EscalationLevelKey.ValueSet(1),
			workflows.CurrencyKey.ValueSet("CNY"), workflows.RefundAmountKey.ValueSet(19900),
			workflows.SlaDeadlineKey.ValueUnset())
	}

	tell(sizeNotice)
	tell(sizeNotice)
	if err := workflow.ExecuteActivity(db, a.BaselineEvaluate, in.ID).Get(ctx, nil); err != nil {
		return "", err
	}
	if err := step(sizeFirstStep, "evaluating"); err != nil {
		return "", err
	}
	if err := step(sizeStep, "refunding"); err != nil {
		return "", err
	}
	tell(sizeNotice)
	var attempt string
	if err := workflow.ExecuteActivity(db, a.BaselineReserve, in.ID).Get(ctx, &attempt); err != nil {
		return "", err
	}
	if err := step(sizeStep, "refunding"); err != nil {
		return "", err
	}
	var refund string
	if err := workflow.ExecuteActivity(pay, a.BaselineCreateRefund, attempt).Get(ctx, &refund); err != nil {
		return "", err
	}
	if err := workflow.ExecuteActivity(db, a.BaselineSettle, pad(sizeSettle)).Get(ctx, nil); err != nil {
		return "", err
	}
	if err := step(sizeStep, "refunded"); err != nil {
		return "", err
	}
	tell(sizeNotice)
	tell(sizeNotice)
	_ = workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) })
	for _, f := range pending {
		if err := f.Get(ctx, nil); err != nil {
			return "", err
		}
	}
	return "refunded", nil
}

// baselineActivities do nothing but answer with payloads of the real
// activities' sizes.
type baselineActivities struct{}

func (*baselineActivities) BaselineNotify(context.Context, string) error { return nil }
func (*baselineActivities) BaselineStep(context.Context, string) error   { return nil }
func (*baselineActivities) BaselineEvaluate(context.Context, string) (string, error) {
	return pad(sizeEvaluateResult), nil
}
func (*baselineActivities) BaselineReserve(context.Context, string) (string, error) {
	return pad(sizeAttempt), nil
}
func (*baselineActivities) BaselineCreateRefund(context.Context, string) (string, error) {
	return pad(sizeStripeRefund), nil
}
func (*baselineActivities) BaselineSettle(context.Context, string) (string, error) {
	return pad(sizeAttempt), nil
}

func pad(n int) string { return strings.Repeat("x", n) }

// baselineRunner runs baseline workflows in rounds on c's server, with
// workers of the product's options started for each round.
type baselineRunner struct {
	c          client.Client
	cpu        cpuMeter
	stripeRate float64
	store      string
	run        string
	next       int
	m          measured
}

func newBaselineRunner(c client.Client, cpu cpuMeter, stripeRate float64, store string) *baselineRunner {
	return &baselineRunner{c: c, cpu: cpu, stripeRate: stripeRate, store: store, run: fmt.Sprintf("%d", time.Now().UnixNano())}
}

// round runs warmup uncounted workflows and then count counted ones,
// concurrency at a time.
func (b *baselineRunner) round(ctx context.Context, warmup, count, concurrency int) error {
	acts := &baselineActivities{}
	opts := worker.Options{StripeRatePerSecond: b.stripeRate}
	for _, q := range []string{workflows.RefundsTaskQueue, workflows.PaymentsTaskQueue, workflows.NotificationsTaskQueue} {
		w := sdkworker.New(b.c, q, worker.QueueOptions(q, opts))
		switch q {
		case workflows.RefundsTaskQueue:
			w.RegisterWorkflow(Baseline)
			for _, fn := range []any{acts.BaselineEvaluate, acts.BaselineStep, acts.BaselineReserve, acts.BaselineSettle} {
				w.RegisterActivity(fn)
			}
		case workflows.PaymentsTaskQueue:
			w.RegisterActivity(acts.BaselineCreateRefund)
		default:
			w.RegisterActivity(acts.BaselineNotify)
		}
		if err := w.Start(); err != nil {
			return err
		}
		defer w.Stop()
	}
	one := func(counted bool) func(ctx context.Context, i int) error {
		return func(ctx context.Context, i int) error {
			began := time.Now()
			wr, err := b.c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
				ID:                    fmt.Sprintf("bench-baseline/%s/%d", b.run, i),
				TaskQueue:             workflows.RefundsTaskQueue,
				WorkflowIDReusePolicy: enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
				TypedSearchAttributes: workflows.RefundStartAttributes("changed_mind", fmt.Sprintf("bench-order-%d", i), "bench-course", "CNY"),
			}, Baseline, BaselineInput{ID: fmt.Sprintf("rf_%016d", i)})
			if err != nil {
				return err
			}
			if err := wr.Get(ctx, nil); err != nil {
				return err
			}
			if counted {
				b.m.latency(time.Since(began))
			}
			return nil
		}
	}
	first := b.next
	b.next += warmup + count
	if _, err := closedLoop(ctx, first, first+warmup, concurrency, one(false)); err != nil {
		return fmt.Errorf("warm-up: %w", err)
	}
	return b.m.measure(ctx, b.cpu, first+warmup, b.next, concurrency, one(true))
}

func (b *baselineRunner) result(concurrency int) Throughput {
	return Throughput{
		Store: b.store, Workflows: b.m.n, Concurrency: concurrency, Seconds: b.m.elapsed.Seconds(),
		PerSecond: b.m.perSecond(), P50Ms: b.m.percentileMs(50), P99Ms: b.m.percentileMs(99), CPU: b.m.cpuUse(),
	}
}

// baselineOnPostgres runs the engine baseline again with the embedded
// server's persistence and visibility in the bench's PostgreSQL cluster
// (databases temporal and temporal_visibility, schemas from the server's
// own schema files). The product and the SQLite server are stopped first,
// so that the two stores are measured on an otherwise idle machine.
func (e *env) baselineOnPostgres(ctx context.Context, cfg Config) (Throughput, error) {
	e.stopProduct()
	srv, err := devstack.StartTemporal(ctx, devstack.TemporalOptions{
		Postgres: &devstack.TemporalPostgres{Addr: e.pg.Addr(), User: "postgres"},
		Logger:   cfg.Logger,
	})
	if err != nil {
		return Throughput{}, err
	}
	defer srv.Stop()
	c, err := client.DialContext(ctx, client.Options{HostPort: srv.Address, Namespace: srv.Namespace, Logger: tlog.NewStructuredLogger(cfg.Logger)})
	if err != nil {
		return Throughput{}, err
	}
	defer c.Close()
	b := newBaselineRunner(c, e.cpu(), cfg.StripeRate, "postgres")
	if err := b.round(ctx, cfg.TemporalPostgres.Warmup, cfg.TemporalPostgres.Count, cfg.TemporalPostgres.Concurrency); err != nil {
		return Throughput{}, err
	}
	return b.result(cfg.TemporalPostgres.Concurrency), nil
}
