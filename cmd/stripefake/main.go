// Command stripefake runs the stateful Stripe fake (package stripefake) as a
// standalone server, for benchmarks and chaos runs of other processes: point
// STRIPE_API_BASE at it, drive faults, the clock and webhook modes through
// its /_fake/ admin API, and read its state from GET /_fake/state.
//
//	stripefake -addr 127.0.0.1:12112 -webhook-url http://127.0.0.1:8080/v1/webhooks/stripe -webhook-secret whsec_dev -rate 25
//
// The admin API (JSON; durations in Go syntax such as "250ms" or "25h"):
//
//	POST   /_fake/payment_intents               seed a payment {id, charge_id, amount, currency, fee, destination, application_fee_amount, disputed, metadata}
//	POST   /_fake/payment_intents/{id}/dispute  {disputed}
//	PUT    /_fake/payment_intents/{id}/behaviour {status, settle, after, failure_reason}: how its refunds progress
//	PUT    /_fake/behaviour                     the same, for payments without their own
//	POST   /_fake/refunds/{id}/settle           {status, failure_reason}: move a refund on now
//	GET    /_fake/faults                        rules not yet consumed
//	POST   /_fake/faults                        {endpoint, kind, times, delay, status}
//	DELETE /_fake/faults                        drop every rule
//	PUT    /_fake/rate_limit                    {per_second, burst}
//	GET    /_fake/clock                         {now}
//	POST   /_fake/clock/advance                 {by}
//	GET    /_fake/state                         refunds, per-payment totals, reversals, fee refunds, counters, webhook stats
//	PUT    /_fake/webhooks                      {url, secret}
//	PUT    /_fake/webhooks/mode                 {duplicate, out_of_order, hold_for}
//	POST   /_fake/webhooks/flush                release events held by out_of_order
//	GET    /_fake/events                        every event with its delivery record
//	POST   /_fake/events/{id}/resend            deliver a past event again
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/refundflow/refundflow/internal/stripefake"
)

func main() {
	if err := run(); err != nil {
		slog.Error("stripefake stopped", "err", err)
		os.Exit(1)
	}
}

func run() error {
	var (
		addr          = flag.String("addr", "127.0.0.1:12112", "listen address (loopback unless you mean otherwise: the admin API has no authentication)")
		webhookURL    = flag.String("webhook-url", "", "endpoint that receives signed events (none: events are only recorded)")
		webhookSecret = flag.String("webhook-secret", "", "signing secret for -webhook-url (default: a random whsec_..., logged)")
		rate          = flag.Float64("rate", 0, "requests per second per endpoint before 429 rate_limit (0: unlimited; Stripe's default is 25)")
		burst         = flag.Int("burst", 0, "token bucket size for -rate (0: one second's worth)")
		latency       = flag.Duration("latency", 0, "time every API request takes to execute")
		seed          = flag.Uint64("seed", 0, "seed for ids and webhook shuffles (0: random)")
		apiKey        = flag.String("api-key", "", "the only secret key accepted (default: any)")
		logLevel      = flag.String("log-level", "info", "debug, info, warn or error")
	)
	flag.Parse()

	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		return fmt.Errorf("-log-level: %w", err)
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))

	if *webhookURL != "" && *webhookSecret == "" {
		secret, err := randomSecret()
		if err != nil {
			return err
		}
		*webhookSecret = secret
		log.Info("generated a webhook signing secret", "secret", secret)
	}
	if host, _, err := net.SplitHostPort(*addr); err == nil {
		if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
			log.Warn("listening beyond loopback: anyone who can reach this address can drive the admin API", "addr", *addr)
		}
	}

	fake := stripefake.New(stripefake.Options{
		Seed:          *seed,
		APIKey:        *apiKey,
		Latency:       *latency,
		RatePerSecond: *rate,
		RateBurst:     *burst,
		WebhookURL:    *webhookURL,
		WebhookSecret: *webhookSecret,
		Logger:        log,
	})
	defer fake.Close()

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: fake, ReadHeaderTimeout: 10 * time.Second}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	log.Info("stripefake listening", "url", "http://"+ln.Addr().String(), "webhook_url", *webhookURL,
		"rate_per_second", *rate, "latency", *latency)

	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

func randomSecret() (string, error) {
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return "whsec_" + hex.EncodeToString(b), nil
}
