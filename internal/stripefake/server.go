package stripefake

import (
	"encoding/json"
	"errors"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/stripe/stripe-go/v76"
)

// Options configures a Server. The zero value is a fake with random ids, no
// latency, no rate limit and no webhook endpoint.
type Options struct {
	// Seed makes object ids and webhook shuffles reproducible for a given
	// sequence of calls; zero picks a random seed.
	Seed uint64
	// APIKey, when set, is the only secret key accepted; otherwise any
	// non-empty key is (Stripe answers 401 without one, and so does the fake).
	APIKey string
	// Latency is how long every API request takes to execute. A request's
	// idempotency key is in flight for that long, so concurrent duplicates
	// get 409 idempotency_key_in_use as they would from Stripe.
	Latency time.Duration
	// RatePerSecond limits each endpoint to that many requests per second
	// (token bucket of RateBurst, default one second's worth); zero is
	// unlimited. Requests over the limit get 429 rate_limit.
	RatePerSecond float64
	RateBurst     int
	// IdempotencyTTL is how long a key is remembered, on the fake's clock;
	// zero means Stripe's 24 hours.
	IdempotencyTTL time.Duration
	// WebhookURL and WebhookSecret configure the endpoint events are sent
	// to; without a URL events are only recorded.
	WebhookURL    string
	WebhookSecret string
	// A failed delivery is retried after WebhookRetryBase (default 1s),
	// doubling up to WebhookRetryMax (default 1m), at most
	// WebhookMaxAttempts times (0: until Close).
	WebhookRetryBase   time.Duration
	WebhookRetryMax    time.Duration
	WebhookMaxAttempts int
	// WebhookClient sends the deliveries (default: 10 s timeout).
	WebhookClient *http.Client
	// Start is the fake clock's first reading; zero means now.
	Start time.Time
	// Logger receives webhook delivery problems; nil discards them.
	Logger *slog.Logger
}

// Server is the fake: an http.Handler serving Stripe's /v1 refund endpoints
// and the /_fake/ admin API, with the admin API also available as methods.
// It is safe for concurrent use. Close it to stop webhook delivery and the
// timers of refunds that settle on their own.
type Server struct {
	opts  Options
	log   *slog.Logger
	clock *clock
	ids   *idSource
	hooks *webhooks
	mux   *http.ServeMux

	// mu guards everything below. Requests hold it only to decide and to
	// execute, never while sleeping (latency, delays) or doing I/O.
	mu               sync.Mutex
	store            store
	waiting          map[string]*refund // refunds that settle on their own
	defaultBehaviour Behaviour
	idem             idemStore
	faults           faultQueue
	limiter          rateLimiter
	counters         Counters
	closed           bool
}

// New returns a fake configured by opts. It starts the webhook sender;
// call Close when done.
func New(opts Options) *Server {
	if opts.IdempotencyTTL <= 0 {
		opts.IdempotencyTTL = 24 * time.Hour
	}
	seed := opts.Seed
	if seed == 0 {
		seed = rand.Uint64()
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Server{
		opts:     opts,
		log:      log,
		clock:    newClock(opts.Start),
		ids:      newIDSource(seed),
		hooks:    newWebhooks(opts, log, seed),
		mux:      http.NewServeMux(),
		store:    newStore(),
		waiting:  map[string]*refund{},
		idem:     newIdemStore(opts.IdempotencyTTL),
		faults:   faultQueue{},
		counters: newCounters(),
	}
	s.limiter.set(opts.RatePerSecond, opts.RateBurst)
	s.routes()
	return s
}

func (s *Server) routes() {
	s.mux.Handle(EndpointCreateRefund, s.api(EndpointCreateRefund, s.createRefund))
	s.mux.Handle(EndpointListRefunds, s.api(EndpointListRefunds, s.listRefunds))
	s.mux.Handle(EndpointGetRefund, s.api(EndpointGetRefund, s.retrieve("refund", func(id string) bool { return s.store.refunds[id] != nil })))
	s.mux.Handle(EndpointUpdateRefund, s.api(EndpointUpdateRefund, s.updateRefund))
	s.mux.Handle(EndpointCancelRefund, s.api(EndpointCancelRefund, s.cancelRefund))
	s.mux.Handle(EndpointGetPaymentIntent, s.api(EndpointGetPaymentIntent, s.retrieve("payment_intent", func(id string) bool { return s.store.payments[id] != nil })))
	s.mux.Handle(EndpointGetCharge, s.api(EndpointGetCharge, s.retrieve("charge", func(id string) bool { return s.store.charges[id] != nil })))
	s.mux.Handle(EndpointGetTransfer, s.api(EndpointGetTransfer, s.retrieve("transfer", func(id string) bool { return s.store.transfers[id] != nil })))
	s.mux.Handle(EndpointGetApplicationFee, s.api(EndpointGetApplicationFee, s.retrieve("application_fee", func(id string) bool { return s.store.fees[id] != nil })))
	s.mux.Handle(EndpointGetBalanceTransaction, s.api(EndpointGetBalanceTransaction, s.retrieve("balance_transaction", func(id string) bool { return s.store.balance[id] != nil })))
	s.adminRoutes()
	s.mux.HandleFunc("/", s.unknownRoute)
}

// ServeHTTP serves the Stripe API under /v1/ and the admin API under /_fake/.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mux.ServeHTTP(w, r)
}

// Close stops webhook delivery and settle timers. The fake still answers
// requests afterwards, but sends nothing.
func (s *Server) Close() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	for _, r := range s.waiting {
		if r.timer != nil {
			r.timer.Stop()
		}
	}
	s.mu.Unlock()
	s.hooks.close()
}

func (s *Server) unknownRoute(w http.ResponseWriter, r *http.Request) {
	e := invalidRequest("", "", "Unrecognized request URL (%s: %s). Please see https://stripe.com/docs or we can help at https://support.stripe.com/.", r.Method, r.URL.Path)
	e.status = http.StatusNotFound
	writeJSON(w, e.status, object{"error": e})
}

// call is what an endpoint sees of a request.
type call struct {
	params    url.Values
	pathValue func(string) string
	requestID string
	idemKey   string
}

func (c *call) event() *eventRequest {
	return &eventRequest{id: c.requestID, idempotencyKey: c.idemKey}
}

// endpoint validates a request's parameters (a refusal here is "before
// execution" and never saved under the idempotency key) and returns the
// execution, which runs under s.mu and whose outcome, success or error, is
// saved.
type endpoint func(c *call) (execute func() (object, error), err error)

// outcome is what a request will be answered.
type outcome struct {
	requestID string
	status    int
	body      []byte
	idemKey   string
	replayOf  string // the original request id when replaying a saved outcome
	after     *Fault // delay or drop to apply once the outcome is saved
}

// fail makes the outcome Stripe's error JSON for err; anything that is not
// an *apiError is a bug in the fake and answers as Stripe's 500 would.
func (o *outcome) fail(err error) {
	var e *apiError
	if !errors.As(err, &e) {
		e = serverError(http.StatusInternalServerError)
	}
	o.status, o.body = e.status, marshal(object{"error": e})
}

func (s *Server) api(pattern string, ep endpoint) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		out := s.handle(w, r, pattern, ep)
		s.respond(w, r, pattern, out)
	})
}

// handle runs a request through Stripe's layers in order: authentication,
// rate limiting, parameter validation, the idempotency layer, execution.
func (s *Server) handle(w http.ResponseWriter, r *http.Request, pattern string, ep endpoint) outcome {
	out := outcome{requestID: s.ids.request("req_")}
	if err := s.authenticate(r); err != nil {
		out.fail(err)
		return out
	}
	if err := s.admit(pattern); err != nil {
		out.fail(err)
		return out
	}
	params, err := readParams(w, r)
	if err != nil {
		out.fail(err)
		return out
	}
	c := &call{params: params, pathValue: r.PathValue, requestID: out.requestID}
	if r.Method == http.MethodPost {
		c.idemKey = strings.TrimSpace(r.Header.Get("Idempotency-Key"))
		out.idemKey = c.idemKey
	}
	if len(c.idemKey) > 255 {
		out.fail(invalidRequest("", "", "Idempotency keys can be at most 255 characters long."))
		return out
	}
	execute, err := ep(c)
	if err != nil {
		out.fail(err)
		return out
	}

	var entry *idemEntry
	if c.idemKey != "" {
		scope := idemScope{account: r.Header.Get("Stripe-Account"), key: c.idemKey}
		s.mu.Lock()
		verdict, e := s.idem.begin(scope, r.URL.Path, params.Encode(), s.clock.now())
		switch verdict {
		case idemReplay:
			s.counters.IdempotentReplays++
			out.status, out.body, out.replayOf = e.status, e.body, e.requestID
		case idemInUse:
			s.counters.IdempotencyConflicts++
			out.fail(keyInUse(c.idemKey))
		case idemOtherEndpoint:
			s.counters.IdempotencyErrors++
			out.fail(keyOtherEndpoint(c.idemKey, e.endpoint, r.URL.Path))
		case idemOtherParams:
			s.counters.IdempotencyErrors++
			out.fail(keyOtherParams(c.idemKey))
		}
		s.mu.Unlock()
		if verdict != idemExecute {
			return out
		}
		entry = e
	}

	// Stripe keeps executing when the caller goes away, so the latency is
	// not cut short by the request's context.
	if s.opts.Latency > 0 {
		time.Sleep(s.opts.Latency)
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	fault := s.faults.take(pattern, false)
	if fault != nil {
		s.counters.FaultsInjected++
	}
	if fault != nil && fault.Kind == FaultErrorBeforeCommit {
		out.fail(serverError(fault.Status))
	} else if obj, err := execute(); err != nil {
		// A refusal committed nothing, so an error-after-commit fault taken
		// by this request leaves the refusal as it is.
		out.fail(err)
	} else {
		out.status, out.body = http.StatusOK, marshal(obj)
		if fault != nil && fault.Kind == FaultErrorAfterCommit {
			out.fail(serverError(fault.Status))
		}
	}
	if entry != nil {
		entry.complete(out.status, out.body, out.requestID)
	}
	if fault != nil && (fault.Kind == FaultDelayAfterCommit || fault.Kind == FaultDropAfterCommit) {
		out.after = fault
	}
	return out
}

// authenticate accepts a secret key as a bearer token (stripe-go) or as the
// basic-auth user name (curl -u sk_test_...:).
func (s *Server) authenticate(r *http.Request) error {
	key, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		key, _, _ = r.BasicAuth()
	}
	key = strings.TrimSpace(key)
	if key == "" {
		return unauthorized("You did not provide an API key. You need to provide your API key in the Authorization header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY').")
	}
	if s.opts.APIKey != "" && key != s.opts.APIKey {
		return unauthorized("Invalid API Key provided: %s", redactKey(key))
	}
	return nil
}

func redactKey(key string) string {
	if len(key) <= 12 {
		return strings.Repeat("*", len(key))
	}
	return key[:8] + strings.Repeat("*", len(key)-12) + key[len(key)-4:]
}

// admit is the front door: the rate limiter, then injected 429s.
func (s *Server) admit(pattern string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.limiter.allow(pattern, time.Now()) {
		s.counters.RateLimited++
		return rateLimited()
	}
	f := s.faults.take(pattern, true)
	if f == nil {
		return nil
	}
	s.counters.FaultsInjected++
	if f.Kind == FaultLockTimeout {
		return lockTimeout()
	}
	s.counters.RateLimited++
	return rateLimited()
}

// respond writes the outcome, after an injected delay, or drops the
// connection instead.
func (s *Server) respond(w http.ResponseWriter, r *http.Request, pattern string, out outcome) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Request-Id", out.requestID)
	h.Set("Stripe-Version", stripe.APIVersion)
	if out.idemKey != "" {
		h.Set("Idempotency-Key", out.idemKey)
	}
	if out.replayOf != "" {
		h.Set("Idempotent-Replayed", "true")
		h.Set("Original-Request", out.replayOf)
	}
	if out.after != nil {
		switch out.after.Kind {
		case FaultDropAfterCommit:
			s.count(pattern, 0)
			dropConnection(w)
			return
		case FaultDelayAfterCommit:
			t := time.NewTimer(out.after.Delay)
			select {
			case <-t.C:
			case <-r.Context().Done():
				t.Stop()
			}
		}
	}
	s.count(pattern, out.status)
	s.log.Debug("request", "endpoint", pattern, "path", r.URL.Path, "status", out.status, "request_id", out.requestID,
		"idempotency_key", out.idemKey, "replay_of", out.replayOf)
	w.WriteHeader(out.status)
	_, _ = w.Write(out.body)
}

func (s *Server) count(pattern string, status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	byStatus := s.counters.Requests[pattern]
	if byStatus == nil {
		byStatus = map[int]int{}
		s.counters.Requests[pattern] = byStatus
	}
	byStatus[status]++
}

// dropConnection closes the connection without a response, as a network
// failure after the request reached Stripe would look to the caller.
func dropConnection(w http.ResponseWriter) {
	if hj, ok := w.(http.Hijacker); ok {
		if conn, _, err := hj.Hijack(); err == nil {
			_ = conn.Close()
			return
		}
	}
	// Not hijackable (HTTP/2): aborting the handler resets the stream.
	panic(http.ErrAbortHandler)
}

func marshal(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		// Only maps of JSON values and tagged structs are marshalled.
		panic("stripefake: marshal: " + err.Error())
	}
	return b
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(marshal(v))
}
