package bench

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/refundflow/refundflow/config"
	"github.com/refundflow/refundflow/internal/proc"
)

// waiting opens cfg.WaitingCases cases that need a person's approval (a
// learner who changed their mind on a course above the CNY auto-approval
// limit) through the API, run by `refundflow worker` in a process of its
// own, and measures how long they take to start — from the first submit
// until the read model shows every one awaiting approval — and the worker
// process's memory once they all wait, and its peak.
//
// At most cfg.WaitingConcurrency cases are starting at any time (submitted
// and not yet waiting, as one count query on the read model says every
// 200 ms): a flood of 10 000 starts at once would measure the engine's
// backlog handling, not the rate at which cases can be opened.
func (e *env) waiting(ctx context.Context, cfg Config) (Waiting, error) {
	orders, err := e.seedOrders(ctx, "approval", cfg.WaitingCases, 150000, time.Hour)
	if err != nil {
		return Waiting{}, err
	}
	w, err := e.startWorkerProcess(ctx)
	if err != nil {
		return Waiting{}, err
	}
	defer w.Stop(workerGrace)

	var peak float64
	began, sampled := time.Now(), time.Time{}
	submitted, waiting := 0, 0
	for waiting < len(orders) {
		if room := min(cfg.WaitingConcurrency-(submitted-waiting), len(orders)-submitted); room > 0 {
			if _, err := closedLoop(ctx, submitted, submitted+room, room, func(ctx context.Context, i int) error {
				_, err := e.submitRefund(ctx, orders[i])
				return err
			}); err != nil {
				return Waiting{}, err
			}
			submitted += room
		}
		select {
		case <-ctx.Done():
			return Waiting{}, ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
		if time.Since(sampled) >= time.Second {
			rss, _, err := memory(w.Pid())
			if err != nil {
				return Waiting{}, fmt.Errorf("worker process: %w (log in %s)", err, w.LogPath)
			}
			peak, sampled = max(peak, rss), time.Now()
		}
		if err := e.app.DB.Pool.QueryRow(ctx, `SELECT count(*) FROM refunds WHERE status = 'awaiting_approval'`).Scan(&waiting); err != nil {
			return Waiting{}, err
		}
	}
	took := time.Since(began)
	// The last cases' notices to approvers are still going out: the
	// worker's memory is read once they are done.
	time.Sleep(5 * time.Second)
	rss, hwm, err := memory(w.Pid())
	if err != nil {
		return Waiting{}, err
	}
	return Waiting{
		Cases: len(orders), Concurrency: cfg.WaitingConcurrency, StartSeconds: took.Seconds(),
		PerSecond: float64(len(orders)) / took.Seconds(), WorkerRSSMiB: rss, WorkerPeakRSSMiB: max(hwm, peak),
	}, nil
}

// startWorkerProcess starts `refundflow worker` against the bench's parts
// and waits until its workers run.
func (e *env) startWorkerProcess(ctx context.Context) (*proc.Process, error) {
	c := e.appCfg
	w := &proc.Process{
		Name: "refundflow worker", Path: e.cfg.RefundflowBin, Args: []string{"worker"}, LogPath: filepath.Join(e.dir, "worker.log"),
		Env: append(config.WithoutOwn(os.Environ()),
			"DATABASE_URL="+c.DatabaseURL, "TEMPORAL_ADDRESS="+c.TemporalAddress, "TEMPORAL_NAMESPACE="+c.TemporalNamespace,
			"STRIPE_SECRET_KEY="+c.StripeSecretKey, "STRIPE_API_BASE="+c.StripeAPIBase,
			"STRIPE_RATE_PER_SECOND="+strconv.FormatFloat(c.StripeRatePerSecond, 'f', -1, 64),
			"PLATFORM_WEBHOOK_URL="+c.PlatformWebhookURL, "PLATFORM_WEBHOOK_SECRET="+c.PlatformWebhookSecret,
			"REFUNDFLOW_OFFER_WINDOW="+c.OfferWindow.String(), "REFUNDFLOW_APPROVAL_SLA="+c.ApprovalSLA.String(),
		),
	}
	if err := w.Start(); err != nil {
		return nil, err
	}
	if err := w.WaitForLine(ctx, "workers started", time.Minute); err != nil {
		w.Stop(workerGrace)
		return nil, err
	}
	return w, nil
}

// workerGrace is how long the worker has to stop before it is killed.
const workerGrace = 30 * time.Second

// memory is the process's resident set and its high-water mark, in MiB.
func memory(pid int) (rss, hwm float64, err error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		k, v, ok := strings.Cut(s.Text(), ":")
		if !ok || (k != "VmRSS" && k != "VmHWM") {
			continue
		}
		kb, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
		if err != nil {
			return 0, 0, err
		}
		if k == "VmRSS" {
			rss = kb / 1024
		} else {
			hwm = kb / 1024
		}
	}
	if rss == 0 {
		return 0, 0, fmt.Errorf("no VmRSS for pid %d", pid)
	}
	return rss, hwm, s.Err()
}
