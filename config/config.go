// Package config reads the product's configuration from environment
// variables. The names are part of the contract (SPEC 2); docker-compose,
// the README and the dev stack use exactly these.
package config

import (
	"fmt"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/caarlos0/env/v11"
)

// Config is everything the API and the worker need to know.
type Config struct {
	DatabaseURL string `env:"DATABASE_URL"`

	TemporalAddress   string `env:"TEMPORAL_ADDRESS" envDefault:"127.0.0.1:7233"`
	TemporalNamespace string `env:"TEMPORAL_NAMESPACE" envDefault:"default"`
	TemporalUIURL     string `env:"TEMPORAL_UI_URL" envDefault:"http://127.0.0.1:8233"`
	// mTLS for a self-hosted cluster or Temporal Cloud; an API key for Cloud.
	TemporalTLSCert       string `env:"TEMPORAL_TLS_CERT"`
	TemporalTLSKey        string `env:"TEMPORAL_TLS_KEY"`
	TemporalTLSCA         string `env:"TEMPORAL_TLS_CA"`
	TemporalTLSServerName string `env:"TEMPORAL_TLS_SERVER_NAME"`
	TemporalAPIKey        string `env:"TEMPORAL_API_KEY"`

	HTTPAddr string `env:"HTTP_ADDR" envDefault:"127.0.0.1:8080"`
	// TrustedProxies are the addresses (or CIDR ranges) of the reverse
	// proxies in front of the API whose X-Forwarded-For names the client;
	// from anyone else the peer address is the client's.
	TrustedProxies []string `env:"TRUSTED_PROXIES" envSeparator:","`
	// MetricsAddr is where `refundflow worker` serves /metrics (the API
	// serves its own on HTTP_ADDR); empty: nowhere.
	MetricsAddr string `env:"METRICS_ADDR"`

	StripeSecretKey     string  `env:"STRIPE_SECRET_KEY"`
	StripeAPIBase       string  `env:"STRIPE_API_BASE"`
	StripeWebhookSecret string  `env:"STRIPE_WEBHOOK_SECRET"`
	StripeRatePerSecond float64 `env:"STRIPE_RATE_PER_SECOND" envDefault:"20"`

	PlatformWebhookURL    string `env:"PLATFORM_WEBHOOK_URL"`
	PlatformWebhookSecret string `env:"PLATFORM_WEBHOOK_SECRET"`

	SMTPURL string `env:"SMTP_URL"`

	OfferWindow time.Duration `env:"REFUNDFLOW_OFFER_WINDOW" envDefault:"48h"`
	ApprovalSLA time.Duration `env:"REFUNDFLOW_APPROVAL_SLA" envDefault:"24h"`
}

// FromEnv reads and validates the configuration.
func FromEnv() (Config, error) {
	c, err := Parse()
	if err != nil {
		return c, err
	}
	return c, c.Validate()
}

// Parse reads the environment without validating the result, for the dev
// stack, which fills in the parts it provides itself before validating.
func Parse() (Config, error) {
	var c Config
	if err := env.Parse(&c); err != nil {
		return c, fmt.Errorf("configuration: %w", err)
	}
	return c, nil
}

// Validate checks the values that would otherwise fail late and obscurely.
func (c Config) Validate() error {
	if c.DatabaseURL == "" {
		return fmt.Errorf("configuration: DATABASE_URL is required")
	}
	if c.StripeRatePerSecond <= 0 {
		return fmt.Errorf("configuration: STRIPE_RATE_PER_SECOND must be positive")
	}
	if c.OfferWindow <= 0 || c.ApprovalSLA <= 0 {
		return fmt.Errorf("configuration: REFUNDFLOW_OFFER_WINDOW and REFUNDFLOW_APPROVAL_SLA must be positive durations")
	}
	for name, v := range map[string]string{"STRIPE_API_BASE": c.StripeAPIBase, "PLATFORM_WEBHOOK_URL": c.PlatformWebhookURL, "SMTP_URL": c.SMTPURL, "TEMPORAL_UI_URL": c.TemporalUIURL} {
		if v == "" {
			continue
		}
		if u, err := url.Parse(v); err != nil || u.Scheme == "" || u.Host == "" {
			return fmt.Errorf("configuration: %s %q is not an absolute URL", name, v)
		}
	}
	for _, p := range c.TrustedProxies {
		if _, err := netip.ParsePrefix(p); err != nil {
			if _, err := netip.ParseAddr(p); err != nil {
				return fmt.Errorf("configuration: TRUSTED_PROXIES: %q is neither an IP address nor a CIDR range", p)
			}
		}
	}
	if (c.TemporalTLSCert == "") != (c.TemporalTLSKey == "") {
		return fmt.Errorf("configuration: TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY go together")
	}
	if c.PlatformWebhookURL != "" && c.PlatformWebhookSecret == "" {
		return fmt.Errorf("configuration: PLATFORM_WEBHOOK_URL needs PLATFORM_WEBHOOK_SECRET to sign deliveries")
	}
	return nil
}

// Names lists every environment variable the product reads; tests check
// docker-compose.yml and the README against it.
func Names() []string {
	var names []string
	opts, _ := env.GetFieldParams(&Config{})
	for _, o := range opts {
		names = append(names, o.Key)
	}
	return names
}

// WithoutOwn is environ (KEY=value pairs) without the variables the
// product reads: the environment a parent that configures a child process
// itself hands on, so that nothing from its own shell leaks in.
func WithoutOwn(environ []string) []string {
	names := Names()
	var out []string
	for _, kv := range environ {
		name, _, _ := strings.Cut(kv, "=")
		if !slices.Contains(names, name) {
			out = append(out, kv)
		}
	}
	return out
}
