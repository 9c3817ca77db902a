package stripefake

import (
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v76"
)

func TestRateLimitBurstIsNotRetriedByStripeGo(t *testing.T) {
	// stripe-go v76 retries 409, 503, lock_timeout 429s and network errors,
	// but not rate_limit 429s (shouldRetry in stripe.go): with two retries
	// allowed, each call below reaches the fake exactly once.
	fake, sc, _ := startFake(t, Options{}, clientOptions{retries: 2})
	pay := mustPay(t, fake, PaymentSpec{Amount: 1000})
	if err := fake.InjectFault(Fault{Kind: FaultRateLimit, Times: 2}); err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		se := stripeError(t, func() error { _, err := sc.Refunds.New(refundParams(pay.PaymentIntent, 100, "")); return err }())
		if se.HTTPStatusCode != http.StatusTooManyRequests || se.Code != stripe.ErrorCodeRateLimit {
			t.Fatalf("call %d: %d %q", i, se.HTTPStatusCode, se.Code)
		}
	}
	if _, err := sc.Refunds.New(refundParams(pay.PaymentIntent, 100, "")); err != nil {
		t.Fatalf("after the burst: %v", err)
	}
	snap := fake.Snapshot()
	if got := snap.Counters.Requests[EndpointCreateRefund]; got[429] != 2 || got[200] != 1 {
		t.Fatalf("requests by status %v: stripe-go retried a rate_limit 429", got)
	}
	if snap.Counters.RateLimited != 2 || len(snap.Refunds) != 1 {
		t.Fatalf("rate limited %d, refunds %d", snap.Counters.RateLimited, len(snap.Refunds))
	}
}

func TestLockTimeoutIsRetriedByStripeGo(t *testing.T) {
	fake, sc, _ := startFake(t, Options{}, clientOptions{retries: 1})
	pay := mustPay(t, fake, PaymentSpec{Amount: 1000})
	if err := fake.InjectFault(Fault{Kind: FaultLockTimeout}); err != nil {
		t.Fatal(err)
	}
	if _, err := sc.Refunds.New(refundParams(pay.PaymentIntent, 100, "k1")); err != nil {
		t.Fatalf("stripe-go did not get past a lock_timeout: %v", err)
	}
	if got := fake.Snapshot().Counters.Requests[EndpointCreateRefund]; got[429] != 1 || got[200] != 1 {
		t.Fatalf("requests by status %v, want one 429 then one 200", got)
	}
}

func TestResponseDelayedPastTheClientTimeoutStillCommits(t *testing.T) {
	fake, _, srv := startFake(t, Options{}, clientOptions{})
	pay := mustPay(t, fake, PaymentSpec{Amount: 1000})
	if err := fake.InjectFault(Fault{Kind: FaultDelayAfterCommit, Delay: 2 * time.Second}); err != nil {
		t.Fatal(err)
	}
	impatient := newClient(srv, clientOptions{retries: 0, timeout: 200 * time.Millisecond})
	_, err := impatient.Refunds.New(refundParams(pay.PaymentIntent, 400, "refund/r1/attempt/1"))
	var se *stripe.Error
	if err == nil || errors.As(err, &se) {
		t.Fatalf("want a client timeout, got %v", err)
	}
	snap := fake.Snapshot()
	if len(snap.Refunds) != 1 || snap.Refunds[0].Amount != 400 {
		t.Fatalf("the refund was not committed before the delay: %+v", snap.Refunds)
	}
	// The caller retries with the same key and learns what happened.
	patient := newClient(srv, clientOptions{})
	r, err := patient.Refunds.New(refundParams(pay.PaymentIntent, 400, "refund/r1/attempt/1"))
	if err != nil || r.ID != snap.Refunds[0].ID {
		t.Fatalf("retry with the same key: %v, refund %s, want %s", err, r.ID, snap.Refunds[0].ID)
	}
}

func TestStripeGoRetriesATimeoutWithTheSameKeyAndGetsTheReplay(t *testing.T) {
	fake, _, srv := startFake(t, Options{}, clientOptions{})
	pay := mustPay(t, fake, PaymentSpec{Amount: 1000})
	if err := fake.InjectFault(Fault{Kind: FaultDelayAfterCommit, Delay: 2 * time.Second}); err != nil {
		t.Fatal(err)
	}
	sc := newClient(srv, clientOptions{retries: 1, timeout: 200 * time.Millisecond})
	r, err := sc.Refunds.New(refundParams(pay.PaymentIntent, 400, "refund/r1/attempt/1"))
	if err != nil {
		t.Fatalf("stripe-go did not recover from the timeout: %v", err)
	}
	snap := fake.Snapshot()
	if len(snap.Refunds) != 1 || r.ID != snap.Refunds[0].ID || snap.Counters.IdempotentReplays != 1 {
		t.Fatalf("refund %s, fake holds %+v, %d replays", r.ID, snap.Refunds, snap.Counters.IdempotentReplays)
	}
}

func TestDroppedConnectionAfterCommitLeavesTheCallerBlindButTheRefundExists(t *testing.T) {
	fake, _, srv := startFake(t, Options{}, clientOptions{})
	pay := mustPay(t, fake, PaymentSpec{Amount: 1000})
	if err := fake.InjectFault(Fault{Kind: FaultDropAfterCommit}); err != nil {
		t.Fatal(err)
	}
	// A fresh connection, so that net/http cannot retry on its own (it
	// replays a request carrying an Idempotency-Key when a reused keep-alive
	// connection closes without an answer).
	sc := newClient(srv, clientOptions{retries: 0, noKeepAlive: true})
	_, err := sc.Refunds.New(refundParams(pay.PaymentIntent, 400, "k1"))
	var se *stripe.Error
	if err == nil || errors.As(err, &se) {
		t.Fatalf("want a network error, got %v", err)
	}
	snap := fake.Snapshot()
	if len(snap.Refunds) != 1 || snap.Counters.Requests[EndpointCreateRefund][0] != 1 {
		t.Fatalf("refunds %+v, requests %v", snap.Refunds, snap.Counters.Requests[EndpointCreateRefund])
	}

	retrying := newClient(srv, clientOptions{retries: 1})
	r, err := retrying.Refunds.New(refundParams(pay.PaymentIntent, 400, "k1"))
	if err != nil || r.ID != snap.Refunds[0].ID {
		t.Fatalf("retry with the same key: %v, %s vs %s", err, r.ID, snap.Refunds[0].ID)
	}
}

func TestStripeGoRecoversFromADroppedConnectionWithTheSameKey(t *testing.T) {
	fake, sc, _ := startFake(t, Options{}, clientOptions{retries: 1, noKeepAlive: true})
	pay := mustPay(t, fake, PaymentSpec{Amount: 1000})
	if err := fake.InjectFault(Fault{Kind: FaultDropAfterCommit}); err != nil {
		t.Fatal(err)
	}
	r, err := sc.Refunds.New(refundParams(pay.PaymentIntent, 400, "k1"))
	if err != nil {
		t.Fatal(err)
	}
	snap := fake.Snapshot()
	if len(snap.Refunds) != 1 || snap.Refunds[0].ID != r.ID || snap.Counters.IdempotentReplays != 1 {
		t.Fatalf("refund %s, fake holds %+v, %d replays", r.ID, snap.Refunds, snap.Counters.IdempotentReplays)
	}
}

func TestFaultsAreConsumedInOrderPerEndpoint(t *testing.T) {
	fake, sc, _ := startFake(t, Options{}, clientOptions{})
	pay := mustPay(t, fake, PaymentSpec{Amount: 10000})
	for _, f := range []Fault{
		{Kind: FaultRateLimit},
		{Kind: FaultErrorAfterCommit, Status: http.StatusServiceUnavailable},
		{Endpoint: EndpointGetRefund, Kind: FaultErrorBeforeCommit},
	} {
		if err := fake.InjectFault(f); err != nil {
			t.Fatal(err)
		}
	}
	if len(fake.Faults()) != 3 {
		t.Fatalf("pending faults %+v", fake.Faults())
	}

	status := func(err error) int {
		if err == nil {
			return 200
		}
		return stripeError(t, err).HTTPStatusCode
	}
	// A validation failure does not execute, so it does not consume the
	// execution fault waiting behind the 429.
	_, err := sc.Refunds.New(refundParams(pay.PaymentIntent, 100, "a"))
	_, err2 := sc.Refunds.New(&stripe.RefundParams{PaymentIntent: stripe.String(pay.PaymentIntent), Amount: stripe.Int64(-1)})
	r, err3 := sc.Refunds.New(refundParams(pay.PaymentIntent, 100, "b"))
	_, err4 := sc.Refunds.New(refundParams(pay.PaymentIntent, 100, "c"))
	got := []int{status(err), status(err2), status(err3), status(err4)}
	want := []int{429, 400, 503, 200}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("create statuses %v, want %v", got, want)
		}
	}
	if r.ID != "" {
		t.Fatal("a 503 after commit still returned a refund to stripe-go")
	}
	snap := fake.Snapshot()
	if _, err := sc.Refunds.Get(snap.Refunds[0].ID, nil); status(err) != 500 {
		t.Fatalf("the GET fault did not apply: %v", err)
	}
	if _, err := sc.Refunds.Get(snap.Refunds[0].ID, nil); err != nil {
		t.Fatalf("the GET fault applied twice: %v", err)
	}
	if len(fake.Faults()) != 0 || fake.Snapshot().Counters.FaultsInjected != 3 {
		t.Fatalf("pending %+v, injected %d", fake.Faults(), fake.Snapshot().Counters.FaultsInjected)
	}
}

func TestInvalidFaultsAreRefused(t *testing.T) {
	fake := New(Options{})
	defer fake.Close()
	for _, f := range []Fault{
		{Kind: "explode"},
		{Kind: FaultDelayAfterCommit},
		{Kind: FaultErrorAfterCommit, Status: 404},
		{Endpoint: "DELETE /v1/everything", Kind: FaultRateLimit},
	} {
		if err := fake.InjectFault(f); !errors.Is(err, ErrInvalid) {
			t.Errorf("InjectFault(%+v) = %v, want ErrInvalid", f, err)
		}
	}
}

func TestRateLimiterAnswers429OnceAnEndpointIsOverItsRate(t *testing.T) {
	fake, sc, _ := startFake(t, Options{RatePerSecond: 5}, clientOptions{retries: 0})
	pay := mustPay(t, fake, PaymentSpec{Amount: 1000})
	r, err := sc.Refunds.New(refundParams(pay.PaymentIntent, 100, ""))
	if err != nil {
		t.Fatal(err)
	}

	var ok, limited int
	start := time.Now()
	for range 10 {
		_, err := sc.Refunds.Get(r.ID, nil)
		switch {
		case err == nil:
			ok++
		case stripeError(t, err).Code == stripe.ErrorCodeRateLimit:
			limited++
		default:
			t.Fatal(err)
		}
	}
	// A bucket of 5 tokens refilling at 5/s: 5 pass at once, plus what
	// refilled while the loop ran.
	refilled := int(time.Since(start).Seconds()*5) + 1
	if ok < 5 || ok > 5+refilled || limited != 10-ok {
		t.Fatalf("%d passed and %d were limited, want 5 (up to %d) and the rest", ok, limited, 5+refilled)
	}
	// Other endpoints have their own bucket.
	if _, err := sc.PaymentIntents.Get(pay.PaymentIntent, nil); err != nil {
		t.Fatalf("another endpoint was limited: %v", err)
	}
	time.Sleep(time.Second)
	if _, err := sc.Refunds.Get(r.ID, nil); err != nil {
		t.Fatalf("after a second the bucket had not refilled: %v", err)
	}
	if got := fake.Snapshot().Counters.RateLimited; got != limited {
		t.Fatalf("counted %d rate-limited answers, saw %d", got, limited)
	}

	fake.SetRateLimit(0, 0)
	for range 20 {
		if _, err := sc.Refunds.Get(r.ID, nil); err != nil {
			t.Fatalf("unlimited: %v", err)
		}
	}
}

func TestStripeGoRetriesA503POSTAndGetsTheSaved503Back(t *testing.T) {
	// stripe-go retries 503 even for POST; the retry carries the same key, so
	// Stripe's idempotency layer hands back the 503 it saved.
	fake, sc, _ := startFake(t, Options{}, clientOptions{retries: 1})
	pay := mustPay(t, fake, PaymentSpec{Amount: 1000})
	if err := fake.InjectFault(Fault{Kind: FaultErrorAfterCommit, Status: http.StatusServiceUnavailable}); err != nil {
		t.Fatal(err)
	}
	_, err := sc.Refunds.New(refundParams(pay.PaymentIntent, 100, "k1"))
	if se := stripeError(t, err); se.HTTPStatusCode != http.StatusServiceUnavailable {
		t.Fatalf("status %d", se.HTTPStatusCode)
	}
	snap := fake.Snapshot()
	if snap.Counters.Requests[EndpointCreateRefund][503] != 2 || snap.Counters.IdempotentReplays != 1 || len(snap.Refunds) != 1 {
		t.Fatalf("requests %v, replays %d, refunds %d", snap.Counters.Requests[EndpointCreateRefund], snap.Counters.IdempotentReplays, len(snap.Refunds))
	}
}

func TestNetHTTPReplaysADroppedKeepAliveRequestThatCarriesAnIdempotencyKey(t *testing.T) {
	// Observed, and worth knowing in chaos runs: when a reused keep-alive
	// connection closes without an answer, net/http's Transport resends a
	// request that has an Idempotency-Key header by itself, so a drop can be
	// invisible even to a stripe-go client with retries off. The resend gets
	// the replay.
	fake, sc, _ := startFake(t, Options{}, clientOptions{retries: 0})
	pay := mustPay(t, fake, PaymentSpec{Amount: 1000})
	if _, err := sc.PaymentIntents.Get(pay.PaymentIntent, nil); err != nil { // opens the connection
		t.Fatal(err)
	}
	if err := fake.InjectFault(Fault{Kind: FaultDropAfterCommit}); err != nil {
		t.Fatal(err)
	}
	r, err := sc.Refunds.New(refundParams(pay.PaymentIntent, 100, "k1"))
	if err != nil {
		t.Fatalf("the drop reached stripe-go: %v", err)
	}
	snap := fake.Snapshot()
	if len(snap.Refunds) != 1 || snap.Refunds[0].ID != r.ID || snap.Counters.Requests[EndpointCreateRefund][0] != 1 || snap.Counters.IdempotentReplays != 1 {
		t.Fatalf("refunds %+v, requests %v, replays %d", snap.Refunds, snap.Counters.Requests[EndpointCreateRefund], snap.Counters.IdempotentReplays)
	}
}
