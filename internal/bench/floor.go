package bench

import (
	"context"
	"fmt"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	tlog "go.temporal.io/sdk/log"
	sdkworker "go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/refundflow/refundflow/internal/devstack"
	"github.com/refundflow/refundflow/worker"
	"github.com/refundflow/refundflow/workflows"
)

// The engine floor is what the embedded Temporal server can do with a
// workflow that runs no activity at all: it starts with the refund case's
// search attributes and completes in its first workflow task. Nothing the
// product does can be cheaper; the pipeline's throughput is judged against
// it, measured on the same server in the same run, in rounds alternated
// with the pipeline's.

// FloorInput starts a floor workflow.
type FloorInput struct {
	ID string
}

// Floor is the engine floor's workflow: no activity, no timer, no upsert.
func Floor(workflow.Context, FloorInput) (string, error) { return "done", nil }

// floorRunner runs floor workflows in rounds on c's server, with a worker
// of the refunds queue's options started for each round.
type floorRunner struct {
	c     client.Client
	cpu   cpuMeter
	store string
	run   string
	next  int
	m     measured
}

func newFloorRunner(c client.Client, cpu cpuMeter, store string) *floorRunner {
	return &floorRunner{c: c, cpu: cpu, store: store, run: fmt.Sprintf("%d", time.Now().UnixNano())}
}

// round runs warmup uncounted workflows and then count counted ones,
// concurrency at a time.
func (b *floorRunner) round(ctx context.Context, warmup, count, concurrency int) error {
	// The refunds queue's worker, with the product's options.
	w := sdkworker.New(b.c, workflows.RefundsTaskQueue, worker.QueueOptions(workflows.RefundsTaskQueue, worker.Options{}))
	w.RegisterWorkflow(Floor)
	if err := w.Start(); err != nil {
		return err
	}
	defer w.Stop()
	one := func(counted bool) func(ctx context.Context, i int) error {
		return func(ctx context.Context, i int) error {
			began := time.Now()
			wr, err := b.c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
				ID:                    fmt.Sprintf("bench-floor/%s/%d", b.run, i),
				TaskQueue:             workflows.RefundsTaskQueue,
				WorkflowIDReusePolicy: enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
				TypedSearchAttributes: workflows.RefundStartAttributes("changed_mind", fmt.Sprintf("bench-order-%d", i), "bench-course", "CNY"),
			}, Floor, FloorInput{ID: fmt.Sprintf("rf_%016d", i)})
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

func (b *floorRunner) result(concurrency int) Throughput {
	return Throughput{
		Store: b.store, Workflows: b.m.n, Concurrency: concurrency, Seconds: b.m.elapsed.Seconds(),
		PerSecond: b.m.perSecond(), P50Ms: b.m.percentileMs(50), P99Ms: b.m.percentileMs(99), CPU: b.m.cpuUse(),
	}
}

// floorOnPostgres runs the engine floor again with the embedded server's
// persistence and visibility in the bench's PostgreSQL cluster (databases
// temporal and temporal_visibility, schemas from the server's own schema
// files). The product and the SQLite server are stopped first, so that the
// two stores are measured on an otherwise idle machine.
func (e *env) floorOnPostgres(ctx context.Context, cfg Config) (Throughput, error) {
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
	b := newFloorRunner(c, e.cpu(), "postgres")
	if err := b.round(ctx, cfg.FloorPostgres.Warmup, cfg.FloorPostgres.Count, cfg.FloorPostgres.Concurrency); err != nil {
		return Throughput{}, err
	}
	return b.result(cfg.FloorPostgres.Concurrency), nil
}
