package stripefake

import (
	"errors"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v76"
)

func TestSameKeyAndParametersReplaysTheFirstRefund(t *testing.T) {
	fake, sc, _ := startFake(t, Options{}, clientOptions{})
	pay := mustPay(t, fake, PaymentSpec{Amount: 1000})

	first, err := sc.Refunds.New(refundParams(pay.PaymentIntent, 300, "refund/r1/attempt/1"))
	if err != nil {
		t.Fatal(err)
	}
	again, err := sc.Refunds.New(refundParams(pay.PaymentIntent, 300, "refund/r1/attempt/1"))
	if err != nil {
		t.Fatal(err)
	}
	if again.ID != first.ID {
		t.Fatalf("replay gave refund %s, first was %s", again.ID, first.ID)
	}
	h := again.LastResponse.Header
	if h.Get("Idempotent-Replayed") != "true" || h.Get("Original-Request") != first.LastResponse.RequestID {
		t.Fatalf("replay headers: Idempotent-Replayed=%q Original-Request=%q (first request %s)",
			h.Get("Idempotent-Replayed"), h.Get("Original-Request"), first.LastResponse.RequestID)
	}
	snap := fake.Snapshot()
	if len(snap.Refunds) != 1 || snap.Counters.IdempotentReplays != 1 || snap.Payments[pay.PaymentIntent].Refunded != 300 {
		t.Fatalf("after a replay: %d refunds, %d replays, refunded %d", len(snap.Refunds), snap.Counters.IdempotentReplays, snap.Payments[pay.PaymentIntent].Refunded)
	}
	if snap.Refunds[0].IdempotencyKey != "refund/r1/attempt/1" {
		t.Fatalf("refund recorded key %q", snap.Refunds[0].IdempotencyKey)
	}
}

func TestSameKeyWithOtherParametersIsAnIdempotencyError(t *testing.T) {
	fake, sc, _ := startFake(t, Options{}, clientOptions{})
	pay := mustPay(t, fake, PaymentSpec{Amount: 1000})
	if _, err := sc.Refunds.New(refundParams(pay.PaymentIntent, 300, "k1")); err != nil {
		t.Fatal(err)
	}
	_, err := sc.Refunds.New(refundParams(pay.PaymentIntent, 301, "k1"))
	se := stripeError(t, err)
	if se.HTTPStatusCode != 400 || se.Type != stripe.ErrorTypeIdempotency {
		t.Fatalf("error = %d %q: %s", se.HTTPStatusCode, se.Type, se.Msg)
	}
	var typed *stripe.IdempotencyError
	if !errors.As(err, &typed) {
		t.Fatalf("stripe-go did not type it as IdempotencyError: %T", se.Err)
	}
	if n := len(fake.Snapshot().Refunds); n != 1 {
		t.Fatalf("%d refunds, want 1", n)
	}
}

func TestSameKeyOnAnotherEndpointIsAnIdempotencyError(t *testing.T) {
	fake, sc, _ := startFake(t, Options{}, clientOptions{})
	pay := mustPay(t, fake, PaymentSpec{Amount: 1000})
	r, err := sc.Refunds.New(refundParams(pay.PaymentIntent, 300, "k1"))
	if err != nil {
		t.Fatal(err)
	}
	up := &stripe.RefundParams{}
	up.AddMetadata("a", "b")
	up.SetIdempotencyKey("k1")
	if se := stripeError(t, func() error { _, err := sc.Refunds.Update(r.ID, up); return err }()); se.Type != stripe.ErrorTypeIdempotency {
		t.Fatalf("key reused on update: %q %s", se.Type, se.Msg)
	}
}

func TestErrorAfterCommitIsReplayedForTheSameKeyWhileTheRefundExists(t *testing.T) {
	fake, sc, _ := startFake(t, Options{}, clientOptions{retries: 2})
	pay := mustPay(t, fake, PaymentSpec{Amount: 1000})
	if err := fake.InjectFault(Fault{Kind: FaultErrorAfterCommit}); err != nil {
		t.Fatal(err)
	}

	_, err := sc.Refunds.New(refundParams(pay.PaymentIntent, 400, "refund/r1/attempt/1"))
	first := stripeError(t, err)
	if first.HTTPStatusCode != 500 || first.Type != stripe.ErrorTypeAPI {
		t.Fatalf("first answer: %d %q", first.HTTPStatusCode, first.Type)
	}
	// stripe-go does not retry a POST that got a 500: the idempotency layer
	// would replay the same 500 anyway.
	if n := fake.Snapshot().Counters.Requests[EndpointCreateRefund][500]; n != 1 {
		t.Fatalf("the fake saw %d requests, stripe-go retried a POST 500", n)
	}

	_, err = sc.Refunds.New(refundParams(pay.PaymentIntent, 400, "refund/r1/attempt/1"))
	again := stripeError(t, err)
	if again.HTTPStatusCode != 500 || again.LastResponse.Header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("retry with the same key: %d, replayed=%q", again.HTTPStatusCode, again.LastResponse.Header.Get("Idempotent-Replayed"))
	}

	// The refund exists: listing the payment intent's refunds and matching
	// on metadata is how the product adopts it.
	iter := sc.Refunds.List(&stripe.RefundListParams{PaymentIntent: stripe.String(pay.PaymentIntent)})
	var found []*stripe.Refund
	for iter.Next() {
		found = append(found, iter.Refund())
	}
	if iter.Err() != nil || len(found) != 1 || found[0].Amount != 400 || found[0].Status != stripe.RefundStatusSucceeded {
		t.Fatalf("list after a 500-after-commit: %v %+v", iter.Err(), found)
	}
}

func TestErrorBeforeCommitIsSavedUnderTheKeyAndCreatesNothing(t *testing.T) {
	fake, sc, _ := startFake(t, Options{}, clientOptions{})
	pay := mustPay(t, fake, PaymentSpec{Amount: 1000})
	if err := fake.InjectFault(Fault{Kind: FaultErrorBeforeCommit}); err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		_, err := sc.Refunds.New(refundParams(pay.PaymentIntent, 400, "k1"))
		if se := stripeError(t, err); se.HTTPStatusCode != 500 {
			t.Fatalf("attempt %d: status %d", i, se.HTTPStatusCode)
		}
	}
	if n := len(fake.Snapshot().Refunds); n != 0 {
		t.Fatalf("%d refunds after a 500 before commit", n)
	}
	// A new key (the next attempt) executes.
	if _, err := sc.Refunds.New(refundParams(pay.PaymentIntent, 400, "k2")); err != nil {
		t.Fatal(err)
	}
}

func TestValidationFailuresAreNotSavedUnderTheKey(t *testing.T) {
	fake, sc, _ := startFake(t, Options{}, clientOptions{})
	pay := mustPay(t, fake, PaymentSpec{Amount: 1000})
	bad := refundParams(pay.PaymentIntent, 0, "k1")
	bad.Amount = stripe.Int64(0)
	if se := stripeError(t, func() error { _, err := sc.Refunds.New(bad); return err }()); se.Code != stripe.ErrorCodeParameterInvalidInteger {
		t.Fatalf("amount 0: %q", se.Code)
	}
	// Other parameters, same key: had the refusal been saved this would be an
	// idempotency_error.
	if _, err := sc.Refunds.New(refundParams(pay.PaymentIntent, 100, "k1")); err != nil {
		t.Fatalf("same key after a validation failure: %v", err)
	}
}

func TestBusinessRefusalsAreSavedUnderTheKey(t *testing.T) {
	fake, sc, _ := startFake(t, Options{}, clientOptions{})
	pay := mustPay(t, fake, PaymentSpec{Amount: 1000, Disputed: true})
	for i := range 2 {
		if se := stripeError(t, func() error { _, err := sc.Refunds.New(refundParams(pay.PaymentIntent, 100, "k1")); return err }()); se.Code != stripe.ErrorCodeChargeDisputed {
			t.Fatalf("attempt %d: %q", i, se.Code)
		}
	}
	// The dispute is won, but the key still answers with what it saved.
	if err := fake.SetDisputed(pay.PaymentIntent, false); err != nil {
		t.Fatal(err)
	}
	_, err := sc.Refunds.New(refundParams(pay.PaymentIntent, 100, "k1"))
	if se := stripeError(t, err); se.Code != stripe.ErrorCodeChargeDisputed || se.LastResponse.Header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("after the dispute closed: %q replayed=%q", se.Code, se.LastResponse.Header.Get("Idempotent-Replayed"))
	}
}

func TestKeyCreatesANewRefundOnceItsDayHasPassed(t *testing.T) {
	fake, sc, _ := startFake(t, Options{}, clientOptions{})
	pay := mustPay(t, fake, PaymentSpec{Amount: 1000})
	first, err := sc.Refunds.New(refundParams(pay.PaymentIntent, 100, "k1"))
	if err != nil {
		t.Fatal(err)
	}
	fake.Advance(23*time.Hour + 59*time.Minute)
	within, err := sc.Refunds.New(refundParams(pay.PaymentIntent, 100, "k1"))
	if err != nil || within.ID != first.ID {
		t.Fatalf("within 24 h: %v, id %s vs %s", err, within.ID, first.ID)
	}
	fake.Advance(time.Minute)
	after, err := sc.Refunds.New(refundParams(pay.PaymentIntent, 100, "k1"))
	if err != nil {
		t.Fatal(err)
	}
	if after.ID == first.ID {
		t.Fatal("the key still replayed 24 h after first use")
	}
	if got := fake.Snapshot().Payments[pay.PaymentIntent].Refunded; got != 200 {
		t.Fatalf("refunded %d, want two refunds of 100", got)
	}
}

func TestKeysAreScopedPerAccount(t *testing.T) {
	fake, sc, _ := startFake(t, Options{}, clientOptions{})
	pay := mustPay(t, fake, PaymentSpec{Amount: 1000})
	a := refundParams(pay.PaymentIntent, 100, "k1")
	a.SetStripeAccount("acct_a")
	b := refundParams(pay.PaymentIntent, 100, "k1")
	b.SetStripeAccount("acct_b")
	ra, err := sc.Refunds.New(a)
	if err != nil {
		t.Fatal(err)
	}
	rb, err := sc.Refunds.New(b)
	if err != nil {
		t.Fatal(err)
	}
	if ra.ID == rb.ID {
		t.Fatal("one key under two accounts gave one refund")
	}
}

func TestConcurrentRequestsWithTheSameKeyCreateOneRefund(t *testing.T) {
	// Each request takes 200 ms, so the key is in flight while the others arrive.
	fake, _, srv := startFake(t, Options{Latency: 200 * time.Millisecond}, clientOptions{})
	pay := mustPay(t, fake, PaymentSpec{Amount: 1000})

	t.Run("without retries the others get 409 idempotency_key_in_use", func(t *testing.T) {
		sc := newClient(srv, clientOptions{retries: 0})
		results := concurrently(8, func() (*stripe.Refund, error) {
			return sc.Refunds.New(refundParams(pay.PaymentIntent, 100, "k-no-retry"))
		})
		var ok, inUse int
		for _, r := range results {
			if r.err == nil {
				ok++
				continue
			}
			if se := stripeError(t, r.err); se.HTTPStatusCode == http.StatusConflict && se.Code == stripe.ErrorCodeIdempotencyKeyInUse {
				inUse++
			} else {
				t.Errorf("unexpected error: %v", r.err)
			}
		}
		if ok != 1 || inUse != 7 {
			t.Fatalf("%d succeeded and %d got 409, want 1 and 7", ok, inUse)
		}
	})

	t.Run("with retries stripe-go waits out the 409 and gets the replay", func(t *testing.T) {
		sc := newClient(srv, clientOptions{retries: 2})
		results := concurrently(8, func() (*stripe.Refund, error) {
			return sc.Refunds.New(refundParams(pay.PaymentIntent, 200, "k-retry"))
		})
		ids := map[string]bool{}
		for _, r := range results {
			if r.err != nil {
				t.Fatalf("with retries: %v", r.err)
			}
			ids[r.refund.ID] = true
		}
		if len(ids) != 1 {
			t.Fatalf("8 concurrent calls with one key gave refunds %v", ids)
		}
	})

	snap := fake.Snapshot()
	if len(snap.Refunds) != 2 || snap.Payments[pay.PaymentIntent].Refunded != 300 {
		t.Fatalf("%d refunds totalling %d, want one per key (300)", len(snap.Refunds), snap.Payments[pay.PaymentIntent].Refunded)
	}
	if snap.Counters.IdempotencyConflicts < 14 {
		t.Fatalf("%d conflicts counted, want at least 14", snap.Counters.IdempotencyConflicts)
	}
}

type refundResult struct {
	refund *stripe.Refund
	err    error
}

func concurrently(n int, f func() (*stripe.Refund, error)) []refundResult {
	out := make([]refundResult, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			r, err := f()
			out[i] = refundResult{r, err}
		})
	}
	close(start)
	wg.Wait()
	return out
}
