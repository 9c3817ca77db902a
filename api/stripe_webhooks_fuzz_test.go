package api_test

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stripe/stripe-go/v76/webhook"
	"go.temporal.io/sdk/client"
)

// FuzzStripeWebhook sends arbitrary, correctly signed bodies to the Stripe
// webhook: whatever Stripe (or someone holding the secret) sends, the
// handler answers without a 500 and without a panic. Temporal is
// unreachable here, so an event that must reach a case is answered 503 —
// and Stripe delivers it again later.
func FuzzStripeWebhook(f *testing.F) {
	e := newEnv(f)
	e.srv.Config.StripeWebhookSecret = stripeSecret
	tc, err := client.NewLazyClient(client.Options{HostPort: "127.0.0.1:1"})
	if err != nil {
		f.Fatal(err)
	}
	e.srv.Temporal = tc
	e.srv.Registry = prometheus.NewRegistry()
	e.http = e.srv.Handler()
	refund := map[string]any{"id": "re_1", "object": "refund", "status": "succeeded", "amount": 100, "currency": "cny",
		"metadata": map[string]any{"refundflow_refund_id": "rf_x", "refundflow_attempt": "1"}}
	for _, seed := range [][]byte{
		stripeEvent("evt_1", "refund.updated", refund),
		stripeEvent("evt_2", "charge.refund.updated", refund),
		stripeEvent("evt_3", "refund.failed", map[string]any{"id": "re_2", "object": "refund", "status": "failed", "failure_reason": "lost_or_stolen_card"}),
		stripeEvent("evt_4", "customer.created", map[string]any{"id": "cus_1", "object": "customer"}),
		stripeEvent("evt_5", "refund.updated", map[string]any{"id": 7, "object": "refund", "metadata": "x"}),
		stripeEvent("", "refund.updated", nil),
		[]byte(`{"id":"evt_6","object":"event","type":"refund.updated","data":{"object":{"object":"refund","id":"` + string(bytes.Repeat([]byte("é"), 600)) + `"}}}`),
		[]byte(`{}`), []byte(`[]`), []byte(`null`), []byte(`{"id":`), nil,
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		signed := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: body, Secret: stripeSecret, Timestamp: time.Now()})
		req := httptest.NewRequest("POST", "/v1/webhooks/stripe", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Stripe-Signature", signed.Header)
		rec := httptest.NewRecorder()
		e.http.ServeHTTP(rec, req)
		res := response{Status: rec.Code, Body: rec.Body.Bytes(), Header: rec.Header()}
		if rec.Code == http.StatusServiceUnavailable {
			if code, _ := res.errorCode(t); code != "temporal_unavailable" {
				t.Fatalf("body %q answered 503 %s", body, code)
			}
			return
		}
		if rec.Code >= 500 {
			t.Fatalf("body %q answered %d: %s", body, rec.Code, rec.Body.Bytes())
		}
	})
}
