package stripefake

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v76"
)

// admin calls the /_fake/ API as another process would and decodes the answer.
func admin(t *testing.T, srvURL, method, path string, body any, out any) int {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, srvURL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if out != nil {
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			t.Fatalf("%s %s: decode: %v", method, path, err)
		}
	}
	return resp.StatusCode
}

func TestAdminAPISeedsPaymentsAndDrivesTheFakeOverHTTP(t *testing.T) {
	fake, sc, srv := startFake(t, Options{}, clientOptions{})

	var pay Payment
	if st := admin(t, srv.URL, "POST", "/_fake/payment_intents", map[string]any{
		"id": "pi_order_123", "amount": 19900, "currency": "CNY",
		"destination": "acct_teacher", "application_fee_amount": 1990,
	}, &pay); st != http.StatusCreated || pay.PaymentIntent != "pi_order_123" || pay.Charge != "ch_order_123" || pay.Transfer == "" {
		t.Fatalf("create payment: %d %+v", st, pay)
	}
	if st := admin(t, srv.URL, "POST", "/_fake/payment_intents", map[string]any{"id": "pi_order_123", "amount": 1, "currency": "cny"}, nil); st != http.StatusConflict {
		t.Fatalf("the same id again: %d, want 409", st)
	}
	if st := admin(t, srv.URL, "POST", "/_fake/payment_intents", map[string]any{"amount": 1, "currency": "cny", "colour": "red"}, nil); st != http.StatusBadRequest {
		t.Fatalf("an unknown field: %d, want 400", st)
	}

	if st := admin(t, srv.URL, "PUT", "/_fake/payment_intents/pi_order_123/behaviour", map[string]any{"status": "pending", "after": "1h"}, nil); st != http.StatusOK {
		t.Fatalf("set behaviour: %d", st)
	}
	if st := admin(t, srv.URL, "POST", "/_fake/faults", map[string]any{"kind": "delay_after_commit", "delay": "10ms"}, nil); st != http.StatusCreated {
		t.Fatalf("inject fault: %d", st)
	}
	var faults []Fault
	admin(t, srv.URL, "GET", "/_fake/faults", nil, &faults)
	if len(faults) != 1 || faults[0].Delay != 10*time.Millisecond || faults[0].Endpoint != EndpointCreateRefund {
		t.Fatalf("faults %+v", faults)
	}

	r, err := sc.Refunds.New(refundParams("pi_order_123", 9950, "k1"))
	if err != nil {
		t.Fatal(err)
	}
	if r.Status != stripe.RefundStatusPending {
		t.Fatalf("refund %s, want pending", r.Status)
	}

	var clock clockJSON
	before := fake.Now()
	if st := admin(t, srv.URL, "POST", "/_fake/clock/advance", map[string]any{"by": "2h"}, &clock); st != http.StatusOK || clock.Now.Sub(before) < 2*time.Hour {
		t.Fatalf("advance: %d, now %v (was %v)", st, clock.Now, before)
	}

	var state Snapshot
	admin(t, srv.URL, "GET", "/_fake/state", nil, &state)
	if len(state.Refunds) != 1 || state.Refunds[0].Status != stripe.RefundStatusSucceeded ||
		state.Payments["pi_order_123"].Succeeded != 9950 || state.Counters.Requests[EndpointCreateRefund][200] != 1 ||
		state.Counters.FaultsInjected != 1 {
		t.Fatalf("state %+v", state)
	}

	var events []Event
	admin(t, srv.URL, "GET", "/_fake/events", nil, &events)
	if len(events) != 3 || events[0].Type != EventRefundCreated {
		t.Fatalf("events %+v", events)
	}
	if st := admin(t, srv.URL, "POST", "/_fake/refunds/"+r.ID+"/settle", map[string]any{"status": "failed"}, nil); st != http.StatusOK {
		t.Fatalf("settle a succeeded refund to failed: %d", st)
	}
	if st := admin(t, srv.URL, "POST", "/_fake/refunds/"+r.ID+"/settle", map[string]any{"status": "succeeded"}, nil); st != http.StatusBadRequest {
		t.Fatalf("settle a failed refund: %d, want 400", st)
	}
	if st := admin(t, srv.URL, "POST", "/_fake/payment_intents/pi_missing/dispute", map[string]any{"disputed": true}, nil); st != http.StatusNotFound {
		t.Fatalf("dispute a missing payment: %d, want 404", st)
	}
	if st := admin(t, srv.URL, "PUT", "/_fake/rate_limit", map[string]any{"per_second": 1, "burst": 1}, nil); st != http.StatusOK {
		t.Fatalf("rate limit: %d", st)
	}
	if st := admin(t, srv.URL, "DELETE", "/_fake/faults", nil, nil); st != http.StatusOK {
		t.Fatalf("clear faults: %d", st)
	}
	if st := admin(t, srv.URL, "GET", "/_fake/nothing", nil, nil); st != http.StatusNotFound {
		t.Fatalf("unknown admin path: %d", st)
	}
}

func TestAdminRefusesWhatStripeWouldNotAllow(t *testing.T) {
	fake, sc, _ := startFake(t, Options{}, clientOptions{})
	for _, spec := range []PaymentSpec{
		{Amount: 0, Currency: "usd"},
		{Amount: 100, Currency: "dollars"},
		{Amount: 100, Currency: "usd", ID: "order_1"},
		{Amount: 100, Currency: "usd", ApplicationFeeAmount: 10},
		{Amount: 100, Currency: "usd", Destination: "creator", ApplicationFeeAmount: 10},
		{Amount: 100, Currency: "usd", Fee: 101},
	} {
		if _, err := fake.CreatePayment(spec); !errors.Is(err, ErrInvalid) {
			t.Errorf("CreatePayment(%+v) = %v, want ErrInvalid", spec, err)
		}
	}
	if err := fake.SetDefaultBehaviour(Behaviour{Status: stripe.RefundStatusCanceled}); !errors.Is(err, ErrInvalid) {
		t.Errorf("refunds created canceled: %v", err)
	}
	pay, err := fake.CreatePayment(PaymentSpec{Amount: 100, Currency: "usd"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sc.Refunds.New(refundParams(pay.PaymentIntent, 0, "")); err != nil {
		t.Fatal(err)
	}
	if err := fake.SetDisputed(pay.PaymentIntent, true); !errors.Is(err, ErrInvalid) {
		t.Errorf("disputing a fully refunded charge: %v", err)
	}
}
