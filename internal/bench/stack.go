package bench

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/refundflow/refundflow"
	"github.com/refundflow/refundflow/app"
	"github.com/refundflow/refundflow/config"
	"github.com/refundflow/refundflow/internal/devstack"
	"github.com/refundflow/refundflow/internal/pgcluster"
	"github.com/refundflow/refundflow/internal/stripefake"
	"github.com/refundflow/refundflow/postgres"
)

// platformSecret signs the webhooks the platform receiver gets.
const platformSecret = "whsec_bench_platform"

// env is the product and its parts, running for one bench run.
type env struct {
	cfg    Config
	dir    string
	ownDir bool

	pg       *pgcluster.Cluster
	dbURL    string
	temporal *devstack.Temporal
	stripe   *stripefake.Server
	servers  []*http.Server // the Stripe fake and the platform receiver

	appCfg  config.Config
	app     *app.App
	api     string
	apiStop context.CancelFunc
	apiDone chan error
	worker  struct {
		stop context.CancelFunc
		done chan error
	}
	keys   map[refundflow.Role]string
	client *http.Client
	// readIDs are the pipeline's refunded cases, read back under load.
	readIDs []string
}

func start(ctx context.Context, cfg Config) (_ *env, err error) {
	e := &env{cfg: cfg, dir: cfg.WorkDir, keys: map[refundflow.Role]string{}}
	defer func() {
		if err != nil {
			e.stop()
		}
	}()
	if e.dir == "" {
		if e.dir, err = os.MkdirTemp("", "refundflow-bench-"); err != nil {
			return nil, err
		}
		e.ownDir = true
	} else if err := os.MkdirAll(e.dir, 0o755); err != nil {
		return nil, err
	}
	// When we are root PostgreSQL runs as another user, who must reach
	// its directory inside ours.
	if err := os.Chmod(e.dir, 0o755); err != nil {
		return nil, err
	}

	if err := e.startPostgres(ctx); err != nil {
		return nil, err
	}
	e.temporal, err = devstack.StartTemporal(ctx, devstack.TemporalOptions{
		DBFile: filepath.Join(e.dir, "temporal.db"), SQLiteConns: cfg.SQLiteConns, Logger: cfg.Logger,
	})
	if err != nil {
		return nil, err
	}

	// The fake answers 429 above Stripe's own limit; the payments queue
	// is held to STRIPE_RATE_PER_SECOND below it.
	e.stripe = stripefake.New(stripefake.Options{Seed: 1, RatePerSecond: cfg.StripeLimit})
	stripeURL, err := e.serve(e.stripe)
	if err != nil {
		return nil, err
	}
	// The platform's endpoint takes every webhook (verifying them is the
	// platform's work, not ours).
	platformURL, err := e.serve(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusNoContent)
	}))
	if err != nil {
		return nil, err
	}

	e.appCfg = config.Config{
		DatabaseURL:           e.dbURL,
		TemporalAddress:       e.temporal.Address,
		TemporalNamespace:     e.temporal.Namespace,
		TemporalUIURL:         "http://127.0.0.1:8233",
		HTTPAddr:              "127.0.0.1:0",
		StripeSecretKey:       "sk_test_bench",
		StripeAPIBase:         stripeURL,
		StripeRatePerSecond:   cfg.StripeRate,
		PlatformWebhookURL:    platformURL,
		PlatformWebhookSecret: platformSecret,
		OfferWindow:           48 * time.Hour,
		ApprovalSLA:           24 * time.Hour,
	}
	if err := e.appCfg.Validate(); err != nil {
		return nil, err
	}
	if e.app, err = app.New(ctx, e.appCfg, cfg.Logger); err != nil {
		return nil, err
	}
	if err := e.startAPI(ctx); err != nil {
		return nil, err
	}
	for _, role := range []refundflow.Role{refundflow.RolePlatform, refundflow.RoleAgent, refundflow.RoleAdmin} {
		_, secret, err := e.app.DB.CreateAPIKey(ctx, "bench-"+string(role), role, nil)
		if err != nil {
			return nil, err
		}
		e.keys[role] = secret
	}
	e.client = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256, IdleConnTimeout: time.Minute}, Timeout: time.Minute}
	return e, nil
}

// startPostgres runs a durable cluster (fsync on, as in production) with
// the product's database, migrated.
func (e *env) startPostgres(ctx context.Context) error {
	port, err := pgcluster.FreePort()
	if err != nil {
		return err
	}
	if e.pg, err = pgcluster.New(filepath.Join(e.dir, "pg"), port); err != nil {
		return err
	}
	if e.dbURL, err = e.pg.Up(ctx, "refundflow"); err != nil {
		return err
	}
	_, err = postgres.Migrate(ctx, e.dbURL)
	return err
}

// cpu meters this process and the cluster.
func (e *env) cpu() cpuMeter { return cpuMeter{pgData: filepath.Join(e.pg.Dir, "data")} }

// serve serves h on a loopback port and returns its base URL.
func (e *env) serve(h http.Handler) (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	e.servers = append(e.servers, srv)
	go func() { _ = srv.Serve(l) }()
	return "http://" + l.Addr().String(), nil
}

func (e *env) startAPI(ctx context.Context) error {
	actx, stop := context.WithCancel(context.WithoutCancel(ctx))
	e.apiStop, e.apiDone = stop, make(chan error, 1)
	ready := make(chan string, 1)
	go func() { e.apiDone <- e.app.RunAPI(actx, func(addr string) { ready <- addr }) }()
	select {
	case addr := <-ready:
		e.api = "http://" + addr
		return nil
	case err := <-e.apiDone:
		e.apiDone <- err
		return fmt.Errorf("API did not start: %w", err)
	}
}

// setStripeRate sets STRIPE_RATE_PER_SECOND for the next worker and the
// rate per endpoint above which the Stripe fake answers 429.
func (e *env) setStripeRate(rate, limit float64) {
	e.app.Config.StripeRatePerSecond = rate
	e.stripe.SetRateLimit(limit, 0)
}

// startWorker runs the product's worker in this process.
func (e *env) startWorker(ctx context.Context) error {
	wctx, stop := context.WithCancel(context.WithoutCancel(ctx))
	e.worker.stop, e.worker.done = stop, make(chan error, 1)
	go func() { e.worker.done <- e.app.RunWorker(wctx) }()
	// RunWorker returns only on failure or when stopped; a second without
	// either means it is polling.
	select {
	case err := <-e.worker.done:
		e.worker.stop = nil
		return fmt.Errorf("worker: %w", err)
	case <-time.After(time.Second):
		return nil
	}
}

func (e *env) stopWorker() {
	if e.worker.stop == nil {
		return
	}
	e.worker.stop()
	<-e.worker.done
	e.worker.stop = nil
}

// stopProduct stops the worker, the API and the Temporal server.
func (e *env) stopProduct() {
	e.stopWorker()
	if e.apiStop != nil {
		e.apiStop()
		<-e.apiDone
		e.apiStop = nil
	}
	if e.app != nil {
		e.app.Close()
		e.app = nil
	}
	if e.temporal != nil {
		e.temporal.Stop()
		e.temporal = nil
	}
}

// stop stops every part that started, in reverse order.
func (e *env) stop() {
	e.stopProduct()
	for _, s := range e.servers {
		_ = s.Close()
	}
	if e.stripe != nil {
		e.stripe.Close()
	}
	if e.pg != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		if err := e.pg.Stop(ctx, "fast"); err != nil {
			e.cfg.Logger.Error("stop postgres", "error", err)
		}
		cancel()
	}
	if e.ownDir {
		_ = os.RemoveAll(e.dir)
	}
}
