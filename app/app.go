// Package app wires refundflow's parts together from the configuration:
// the database, the Temporal client, the HTTP server and the workers. The
// production binary and the dev stack both start the product through it, so
// they cannot drift apart.
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.temporal.io/sdk/client"

	"github.com/refundflow/refundflow/activities"
	"github.com/refundflow/refundflow/api"
	"github.com/refundflow/refundflow/cases"
	"github.com/refundflow/refundflow/config"
	"github.com/refundflow/refundflow/console"
	"github.com/refundflow/refundflow/notify"
	"github.com/refundflow/refundflow/outbox"
	"github.com/refundflow/refundflow/payments"
	"github.com/refundflow/refundflow/postgres"
	"github.com/refundflow/refundflow/temporalclient"
	"github.com/refundflow/refundflow/web"
	"github.com/refundflow/refundflow/worker"
	"github.com/refundflow/refundflow/workflows"
)

// App holds the shared dependencies of the API and the worker.
type App struct {
	Config   config.Config
	Logger   *slog.Logger
	DB       *postgres.DB
	Temporal client.Client
	Registry *prometheus.Registry
}

// New connects to PostgreSQL and Temporal.
func New(ctx context.Context, cfg config.Config, logger *slog.Logger) (*App, error) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	db, err := postgres.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return nil, err
	}
	tc, err := temporalclient.Dial(ctx, cfg, logger, reg)
	if err != nil {
		db.Close()
		return nil, err
	}
	return &App{Config: cfg, Logger: logger, DB: db, Temporal: tc, Registry: reg}, nil
}

// Close releases the connections.
func (a *App) Close() {
	a.Temporal.Close()
	a.DB.Close()
}

// Activities builds the activities' dependencies from the configuration:
// Stripe, and the Temporal client the activities start workflows with.
func (a *App) Activities() *activities.Activities {
	return &activities.Activities{
		DB:          a.DB,
		Stripe:      payments.New(payments.Config{SecretKey: a.Config.StripeSecretKey, APIBase: a.Config.StripeAPIBase, MaxNetworkRetries: 2, Metrics: a.Registry}),
		Engine:      workflows.Engine{Client: a.Temporal},
		OfferWindow: a.Config.OfferWindow, ApprovalSLA: a.Config.ApprovalSLA,
		Logger: a.Logger,
	}
}

// Outbox builds the delivery of the outbox from the configuration: SMTP
// (or the sink) and the platform webhook sender.
func (a *App) Outbox() (*outbox.Dispatcher, error) {
	d := &outbox.Dispatcher{DB: a.DB, Logger: a.Logger}
	if a.Config.SMTPURL != "" {
		smtpURL, from, err := splitFrom(a.Config.SMTPURL)
		if err != nil {
			return nil, err
		}
		m, err := notify.NewSMTPMailer(smtpURL, from)
		if err != nil {
			return nil, fmt.Errorf("SMTP_URL: %w", err)
		}
		d.Mailer = m
	}
	if a.Config.PlatformWebhookURL != "" {
		d.Webhooks = &notify.WebhookSender{
			URL: a.Config.PlatformWebhookURL, Secret: a.Config.PlatformWebhookSecret,
			Client: &http.Client{Timeout: notify.DefaultWebhookTimeout},
		}
	}
	return d, nil
}

// splitFrom takes the sender address from SMTP_URL's "from" parameter
// (smtp://user:pass@host:587?from=refunds@example.com).
func splitFrom(raw string) (string, string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", "", fmt.Errorf("SMTP_URL: %w", err)
	}
	from := u.Query().Get("from")
	if from == "" {
		from = "refundflow@" + u.Hostname()
	}
	q := u.Query()
	q.Del("from")
	u.RawQuery = q.Encode()
	return u.String(), from, nil
}

// RunWorker runs the Temporal workers until ctx ends, and serves their
// /metrics on METRICS_ADDR when it is set.
func (a *App) RunWorker(ctx context.Context) error {
	if err := a.DB.EnsureDefaultPolicy(ctx); err != nil {
		return err
	}
	if a.Config.MetricsAddr != "" {
		stop, err := a.serveMetrics(a.Config.MetricsAddr)
		if err != nil {
			return err
		}
		defer stop()
	}
	go a.ensureSchedules(ctx)
	deliveries, err := a.Outbox()
	if err != nil {
		return err
	}
	return worker.Run(ctx, a.Temporal, a.Activities(), worker.Options{
		StripeRatePerSecond: a.Config.StripeRatePerSecond, Logger: a.Logger, Outbox: deliveries,
	})
}

// ensureSchedules creates or updates the Temporal Schedules, trying again
// until it succeeds: a worker that starts while Temporal is away (or loses
// it half-way) runs on and sets them up once Temporal answers.
func (a *App) ensureSchedules(ctx context.Context) {
	wait := time.Second
	for {
		err := workflows.EnsureSchedules(ctx, a.Temporal)
		if err == nil || ctx.Err() != nil {
			return
		}
		a.Logger.Warn("the schedules are not set up yet; trying again", "in", wait, "error", err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		wait = min(2*wait, time.Minute)
	}
}

// serveMetrics serves the registry at /metrics on addr until stop.
func (a *App) serveMetrics(addr string) (stop func(), err error) {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen on METRICS_ADDR %s: %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(a.Registry, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError}))
	hs := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = hs.Serve(l) }()
	a.Logger.Info("worker metrics", "addr", l.Addr().String())
	return func() { _ = hs.Close() }, nil
}

// RunAPI serves HTTP on cfg.HTTPAddr until ctx ends, then drains open
// requests for up to 15 seconds. ready is called once the port is bound.
// Its /metrics has the read model's and the outbox's counts besides the
// process's own.
func (a *App) RunAPI(ctx context.Context, ready func(addr string)) error {
	if err := a.DB.EnsureDefaultPolicy(ctx); err != nil {
		return err
	}
	// RunAPI may run again on the same App (tests restart it).
	var already prometheus.AlreadyRegisteredError
	for _, c := range []prometheus.Collector{a.DB.Metrics(), outbox.Collector{DB: a.DB}} {
		if err := a.Registry.Register(c); err != nil && !errors.As(err, &already) {
			return err
		}
	}
	// One throttle for bad keys on the API and bad sign-ins on the console.
	throttle := web.NewAuthThrottle(a.Registry, a.Logger)
	srv := &api.Server{Service: &cases.Service{DB: a.DB, Temporal: a.Temporal, Config: a.Config, Logger: a.Logger},
		Registry: a.Registry, PinPolicy: postgres.PinPolicy, Throttle: throttle}
	srv.Console = (&console.Server{
		DB: a.DB, Commands: srv.Service, Reports: srv.Service, TemporalUIURL: a.Config.TemporalUIURL, Namespace: a.Config.TemporalNamespace,
		// Without SMTP the emails stay in the sink; the console shows them.
		DevOutbox: a.Config.SMTPURL == "", Logger: a.Logger, Throttle: throttle,
	}).Handler()
	hs := &http.Server{
		Handler:           srv.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
	}
	l, err := net.Listen("tcp", a.Config.HTTPAddr)
	if err != nil {
		return fmt.Errorf("listen on HTTP_ADDR %s: %w", a.Config.HTTPAddr, err)
	}
	if ready != nil {
		ready(l.Addr().String())
	}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(l) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := hs.Shutdown(shutdownCtx); err != nil {
		return err
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
