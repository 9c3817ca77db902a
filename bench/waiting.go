package bench

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/refundflow/refundflow/config"
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
	orders, err := e.seedOrders(ctx, "approval", cfg.WaitingCases, 150000)
	if err != nil {
		return Waiting{}, err
	}
	w, err := e.startWorkerProcess(ctx)
	if err != nil {
		return Waiting{}, err
	}
	defer w.stop()

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
			rss, _, err := w.memory()
			if err != nil {
				return Waiting{}, fmt.Errorf("worker process: %w (log in %s)", err, w.log)
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
	rss, hwm, err := w.memory()
	if err != nil {
		return Waiting{}, err
	}
	return Waiting{
		Cases: len(orders), Concurrency: cfg.WaitingConcurrency, StartSeconds: took.Seconds(),
		PerSecond: float64(len(orders)) / took.Seconds(), WorkerRSSMiB: rss, WorkerPeakRSSMiB: max(hwm, peak),
	}, nil
}

// workerProcess is `refundflow worker` running against the bench's parts.
type workerProcess struct {
	cmd  *exec.Cmd
	log  string
	done chan struct{}
}

func (e *env) startWorkerProcess(ctx context.Context) (*workerProcess, error) {
	c := e.appCfg
	logPath := filepath.Join(e.dir, "worker.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	defer logFile.Close()
	cmd := exec.Command(e.cfg.RefundflowBin, "worker")
	cmd.Env = append(config.WithoutOwn(os.Environ()),
		"DATABASE_URL="+c.DatabaseURL, "TEMPORAL_ADDRESS="+c.TemporalAddress, "TEMPORAL_NAMESPACE="+c.TemporalNamespace,
		"STRIPE_SECRET_KEY="+c.StripeSecretKey, "STRIPE_API_BASE="+c.StripeAPIBase,
		"STRIPE_RATE_PER_SECOND="+strconv.FormatFloat(c.StripeRatePerSecond, 'f', -1, 64),
		"PLATFORM_WEBHOOK_URL="+c.PlatformWebhookURL, "PLATFORM_WEBHOOK_SECRET="+c.PlatformWebhookSecret,
		"REFUNDFLOW_OFFER_WINDOW="+c.OfferWindow.String(), "REFUNDFLOW_APPROVAL_SLA="+c.ApprovalSLA.String(),
	)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s worker: %w", e.cfg.RefundflowBin, err)
	}
	w := &workerProcess{cmd: cmd, log: logPath, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(w.done) }()
	deadline := time.Now().Add(time.Minute)
	for {
		b, _ := os.ReadFile(logPath)
		if strings.Contains(string(b), "workers started") {
			return w, nil
		}
		select {
		case <-w.done:
			return nil, fmt.Errorf("refundflow worker exited: %s", b)
		case <-ctx.Done():
			w.stop()
			return nil, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			w.stop()
			return nil, fmt.Errorf("refundflow worker did not start within a minute (log in %s)", logPath)
		}
	}
}

// memory is the process's resident set and its high-water mark, in MiB.
func (w *workerProcess) memory() (rss, hwm float64, err error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", w.cmd.Process.Pid))
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
		return 0, 0, fmt.Errorf("no VmRSS for pid %d", w.cmd.Process.Pid)
	}
	return rss, hwm, s.Err()
}

// stop asks the worker to stop (SIGTERM) and kills it after 30 seconds.
func (w *workerProcess) stop() {
	_ = w.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-w.done:
	case <-time.After(30 * time.Second):
		_ = w.cmd.Process.Kill()
		<-w.done
	}
}
