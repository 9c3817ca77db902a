package api_test

import (
	"bytes"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/refundflow/refundflow/api"
	"github.com/refundflow/refundflow/cases"
	"github.com/refundflow/refundflow/config"
)

// request sends a GET as from the peer address from, with an optional
// Authorization and X-Forwarded-For, and checks the answer against the
// contract.
func (e *env) request(from, auth, forwardedFor, path string) response {
	e.t.Helper()
	req := httptest.NewRequest("GET", path, nil)
	req.RemoteAddr = from + ":40000"
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	if forwardedFor != "" {
		req.Header.Set("X-Forwarded-For", forwardedFor)
	}
	rec := httptest.NewRecorder()
	e.http.ServeHTTP(rec, req)
	res := response{Status: rec.Code, Body: rec.Body.Bytes(), Header: rec.Header()}
	e.checkContract("GET", path, res)
	return res
}

// throttledEnv is an env whose server logs to the returned buffer.
func throttledEnv(t *testing.T) (*env, *bytes.Buffer) {
	e := newEnv(t)
	var logs bytes.Buffer
	e.srv = &api.Server{Service: &cases.Service{DB: e.db, Logger: slog.New(slog.NewTextHandler(&logs, nil))}, Registry: prometheus.NewRegistry()}
	e.http = e.srv.Handler()
	return e, &logs
}

// After a burst of keys that are not valid, an address gets 429 with
// Retry-After instead of an answer (870 bad keys a second were answered),
// with a log line and a metric; another address is not affected, and a
// valid key from the throttled address is never slowed.
func TestFailedKeyChecksAreThrottledPerAddressAndValidKeysNeverAre(t *testing.T) {
	e, logs := throttledEnv(t)
	const path = "/v1/refunds/rf-x"
	attacker, neighbour := "203.0.113.7", "198.51.100.20"
	var refused response
	for i := range 100 {
		r := e.request(attacker, "Bearer rfk_guess"+strconv.Itoa(i), "", path)
		if r.Status == http.StatusTooManyRequests {
			refused = r
			break
		}
		if r.Status != http.StatusUnauthorized {
			t.Fatalf("bad key %d: %d %s", i, r.Status, r.Body)
		}
	}
	if refused.Status != http.StatusTooManyRequests {
		t.Fatal("100 bad keys from one address were all answered")
	}
	if code, _ := refused.errorCode(t); code != "too_many_failed_keys" || refused.Header.Get("Retry-After") == "" {
		t.Fatalf("throttled answer: %s Retry-After=%q %s", code, refused.Header.Get("Retry-After"), refused.Body)
	}
	if r := e.request(attacker, "Basic x", "", path); r.Status != http.StatusTooManyRequests {
		t.Fatalf("a malformed Authorization from the throttled address: %d", r.Status)
	}
	if r := e.request(attacker, "Bearer "+e.keys[agent], "", path); r.Status != http.StatusNotFound {
		t.Fatalf("a valid key from the throttled address: %d %s", r.Status, r.Body)
	}
	if r := e.request(neighbour, "Bearer rfk_typo", "", path); r.Status != http.StatusUnauthorized {
		t.Fatalf("another address: %d", r.Status)
	}
	if !strings.Contains(logs.String(), "throttling failed key checks") || !strings.Contains(logs.String(), attacker) {
		t.Fatalf("no log line names the address:\n%s", logs.String())
	}
	metrics := e.request("127.0.0.1", "", "", "/metrics")
	body, _ := io.ReadAll(bytes.NewReader(metrics.Body))
	for _, want := range []string{`refundflow_auth_throttle_trips_total{surface="api"} 1`, `refundflow_auth_throttled_total{surface="api"} 2`} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}

// Without TRUSTED_PROXIES, X-Forwarded-For does not choose the address a
// client is throttled as (gin trusted it from everyone).
func TestForwardedForCannotDodgeTheThrottle(t *testing.T) {
	e, _ := throttledEnv(t)
	for i := range 100 {
		r := e.request("203.0.113.7", "Bearer rfk_guess", "192.0.2."+strconv.Itoa(i%250), "/v1/refunds/rf-x")
		if r.Status == http.StatusTooManyRequests {
			return
		}
	}
	t.Fatal("changing X-Forwarded-For kept 100 bad keys answered")
}

// Behind a proxy TRUSTED_PROXIES names, the client is the one its
// X-Forwarded-For names: each has its own budget, and the proxy's own
// address is not throttled for all of them at once.
func TestBehindATrustedProxyEachClientHasItsOwnBudget(t *testing.T) {
	e, _ := throttledEnv(t)
	e.srv = &api.Server{Service: &cases.Service{DB: e.db, Logger: e.srv.Logger, Config: config.Config{TrustedProxies: []string{"10.0.0.0/8"}}}, Registry: prometheus.NewRegistry()}
	e.http = e.srv.Handler()
	for i := range 100 {
		if r := e.request("10.1.2.3", "Bearer rfk_typo", "192.0.2."+strconv.Itoa(i), "/v1/refunds/rf-x"); r.Status != http.StatusUnauthorized {
			t.Fatalf("client %d behind the proxy: %d", i, r.Status)
		}
	}
	for range 100 {
		if r := e.request("10.1.2.3", "Bearer rfk_guess", "198.51.100.9", "/v1/refunds/rf-x"); r.Status == http.StatusTooManyRequests {
			return
		}
	}
	t.Fatal("one client behind the proxy was never throttled")
}
