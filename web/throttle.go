package web

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// AuthThrottle slows down a client address that keeps presenting keys
// that are not valid — bearer keys on the API, sign-ins on the console; one
// budget for both. An address may fail Burst times at once and once more
// every Refill after that; beyond, its failures are answered 429 with
// Retry-After. Only failures count, and only after the key was checked, so
// a valid key is never slowed, even from an address that is throttled (an
// office behind one NAT keeps working while one of its machines misbehaves).
//
// The keys are 160 random bits, so the throttle protects no secret: it
// caps how fast bad attempts are answered and makes them visible (a log
// line when an address trips, and the refundflow_auth_throttle_* metrics).
// It counts in this process's memory: each API process throttles on its
// own, and a restart forgets.
type AuthThrottle struct {
	Burst  int
	Refill time.Duration
	Now    func() time.Time

	logger         *slog.Logger
	trips, refused *prometheus.CounterVec

	mu      sync.Mutex
	budgets map[string]*budget
	swept   time.Time
}

// budget is what one address may still fail, as of at.
type budget struct {
	left float64
	at   time.Time
}

const (
	// DefaultAuthBurst and DefaultAuthRefill allow a person some typos and
	// a misconfigured client a few retries, then 20 bad keys a minute.
	DefaultAuthBurst  = 20
	DefaultAuthRefill = 3 * time.Second
	// maxThrottled bounds the addresses held in memory. When it is reached,
	// the addresses whose budget is whole again are forgotten; if that is
	// not enough, new addresses share one budget until some are.
	maxThrottled = 100_000
	sharedBudget = "(shared)"
)

// NewAuthThrottle returns a throttle with the default limits whose
// metrics go to reg (none when reg is nil).
func NewAuthThrottle(reg prometheus.Registerer, logger *slog.Logger) *AuthThrottle {
	t := &AuthThrottle{
		Burst: DefaultAuthBurst, Refill: DefaultAuthRefill, Now: time.Now, logger: logger,
		trips: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "refundflow_auth_throttle_trips_total",
			Help: "Client addresses that used up their budget of failed key checks, by surface (api, console).",
		}, []string{"surface"}),
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "refundflow_auth_throttled_total",
			Help: "Failed key checks answered 429 because the address had used up its budget, by surface.",
		}, []string{"surface"}),
		budgets: map[string]*budget{},
	}
	if reg != nil {
		reg.MustRegister(t.trips, t.refused)
	}
	return t
}

// Failed records that a key check from addr failed on surface and reports
// whether to refuse the request (429) rather than answer it, and after
// how long the address may try again.
func (t *AuthThrottle) Failed(surface, addr string) (retryAfter time.Duration, refused bool) {
	now := t.Now()
	key := throttleKey(addr)
	t.mu.Lock()
	b := t.budgetOf(key, now)
	b.left = min(float64(t.Burst), b.left+float64(now.Sub(b.at))/float64(t.Refill))
	b.at = now
	if b.left < 1 {
		t.mu.Unlock()
		t.refused.WithLabelValues(surface).Inc()
		return time.Duration((1 - b.left) * float64(t.Refill)), true
	}
	b.left--
	tripped := b.left < 1
	t.mu.Unlock()
	if tripped {
		t.trips.WithLabelValues(surface).Inc()
		t.logger.Warn("throttling failed key checks from a client address", "surface", surface, "client", key,
			"burst", t.Burst, "refill", t.Refill)
	}
	return 0, false
}

// budgetOf returns key's budget, a whole one for an address not seen (or
// forgotten); t.mu is held.
func (t *AuthThrottle) budgetOf(key string, now time.Time) *budget {
	if b, ok := t.budgets[key]; ok {
		return b
	}
	// A sweep reads every address: at most one per Refill, so a flood of
	// new addresses cannot make each request pay for one.
	if len(t.budgets) >= maxThrottled && now.Sub(t.swept) >= t.Refill {
		t.swept = now
		for k, b := range t.budgets {
			if b.left+float64(now.Sub(b.at))/float64(t.Refill) >= float64(t.Burst) {
				delete(t.budgets, k)
			}
		}
	}
	if len(t.budgets) >= maxThrottled {
		key = sharedBudget
		if b, ok := t.budgets[key]; ok {
			return b
		}
	}
	b := &budget{left: float64(t.Burst), at: now}
	t.budgets[key] = b
	return b
}

// throttleKey is the budget an address counts against: an IPv4 address,
// or the /64 of an IPv6 one (a single host gets a /64 to pick from).
func throttleKey(addr string) string {
	ip, err := netip.ParseAddr(addr)
	if err != nil {
		return addr
	}
	ip = ip.Unmap()
	if ip.Is4() {
		return ip.String()
	}
	p, _ := ip.Prefix(64)
	return p.String()
}

// RetryAfterSeconds is a Retry-After value: whole seconds, at least one.
func RetryAfterSeconds(d time.Duration) string {
	return strconv.Itoa(max(1, int((d+time.Second-1)/time.Second)))
}

type clientAddressKey struct{}

// WithClientAddress is r as having come from addr.
func WithClientAddress(r *http.Request, addr string) *http.Request {
	return r.WithContext(context.WithValue(r.Context(), clientAddressKey{}, addr))
}

// ClientAddress is the address a request came from, as the API sees it;
// for a request that did not come through the API's router, the peer's.
func ClientAddress(r *http.Request) string {
	if a, ok := r.Context().Value(clientAddressKey{}).(string); ok {
		return a
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
