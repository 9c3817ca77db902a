package stripefake

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/client"
	"github.com/stripe/stripe-go/v76/webhook"
)

const testSecret = "whsec_test_secret"

// clientOptions shape the stripe-go client a test uses.
type clientOptions struct {
	retries     int64         // stripe-go's MaxNetworkRetries (it defaults to 2; tests say what they mean)
	timeout     time.Duration // http.Client timeout; zero: none
	noKeepAlive bool          // a fresh connection per request, so net/http cannot retry a dropped one itself
}

// startFake serves a fake over httptest and returns it with a stripe-go
// client pointed at it, both closed when the test ends.
func startFake(t *testing.T, opts Options, co clientOptions) (*Server, *client.API, *httptest.Server) {
	t.Helper()
	fake := New(opts)
	srv := httptest.NewServer(fake)
	t.Cleanup(func() {
		srv.Close()
		fake.Close()
	})
	return fake, newClient(srv, co), srv
}

func newClient(srv *httptest.Server, co clientOptions) *client.API {
	transport := srv.Client().Transport.(*http.Transport).Clone()
	transport.DisableKeepAlives = co.noKeepAlive
	backend := stripe.GetBackendWithConfig(stripe.APIBackend, &stripe.BackendConfig{
		URL:               stripe.String(srv.URL),
		HTTPClient:        &http.Client{Transport: transport, Timeout: co.timeout},
		MaxNetworkRetries: stripe.Int64(co.retries),
		LeveledLogger:     &stripe.LeveledLogger{Level: stripe.LevelNull},
		EnableTelemetry:   stripe.Bool(false),
	})
	return client.New("sk_test_refundflow", &stripe.Backends{API: backend})
}

func mustPay(t *testing.T, fake *Server, spec PaymentSpec) Payment {
	t.Helper()
	if spec.Currency == "" {
		spec.Currency = "usd"
	}
	p, err := fake.CreatePayment(spec)
	if err != nil {
		t.Fatalf("CreatePayment(%+v): %v", spec, err)
	}
	return p
}

func refundParams(pi string, amount int64, key string) *stripe.RefundParams {
	p := &stripe.RefundParams{PaymentIntent: stripe.String(pi)}
	if amount > 0 {
		p.Amount = stripe.Int64(amount)
	}
	if key != "" {
		p.IdempotencyKey = stripe.String(key)
	}
	return p
}

// stripeError unwraps err into the *stripe.Error stripe-go returns for API
// errors, failing the test when it is something else.
func stripeError(t *testing.T, err error) *stripe.Error {
	t.Helper()
	var se *stripe.Error
	if !errors.As(err, &se) {
		t.Fatalf("want a *stripe.Error, got %T: %v", err, err)
	}
	return se
}

// receiver is a webhook endpoint that verifies each delivery as a product
// would, with stripe-go's webhook package, and records what it accepted.
type receiver struct {
	t      *testing.T
	srv    *httptest.Server
	secret string

	mu        sync.Mutex
	failFirst int // answer 500 to this many deliveries first
	received  []stripe.Event
	rejected  []error
	arrived   chan struct{}
}

func newReceiver(t *testing.T, secret string) *receiver {
	rc := &receiver{t: t, secret: secret, arrived: make(chan struct{}, 1000)}
	rc.srv = httptest.NewServer(http.HandlerFunc(rc.serve))
	t.Cleanup(rc.srv.Close)
	return rc
}

func (rc *receiver) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	ev, err := webhook.ConstructEventWithOptions(body, r.Header.Get("Stripe-Signature"), rc.secret,
		webhook.ConstructEventOptions{IgnoreAPIVersionMismatch: true})
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if err != nil {
		rc.rejected = append(rc.rejected, err)
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if rc.failFirst > 0 {
		rc.failFirst--
		http.Error(w, "not now", http.StatusInternalServerError)
		return
	}
	rc.received = append(rc.received, ev)
	rc.arrived <- struct{}{}
}

// wait blocks until n events have been accepted in total, or fails.
func (rc *receiver) wait(n int) []stripe.Event {
	rc.t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		rc.mu.Lock()
		got := len(rc.received)
		out := append([]stripe.Event(nil), rc.received...)
		rejected := len(rc.rejected)
		rc.mu.Unlock()
		if rejected > 0 {
			rc.t.Fatalf("receiver rejected %d deliveries: %v", rejected, rc.rejected)
		}
		if got >= n {
			return out
		}
		select {
		case <-rc.arrived:
		case <-deadline:
			rc.t.Fatalf("waited for %d webhook events, got %d", n, got)
		}
	}
}

func (rc *receiver) count() int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return len(rc.received)
}

func eventTypes(evs []stripe.Event) []string {
	out := make([]string, len(evs))
	for i, ev := range evs {
		out[i] = string(ev.Type)
	}
	return out
}

func eventIDs(evs []stripe.Event) []string {
	out := make([]string, len(evs))
	for i, ev := range evs {
		out[i] = ev.ID
	}
	return out
}

// waitFor polls cond until it holds, or fails the test after 10 s.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 10s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}
