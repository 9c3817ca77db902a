package notify_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/refundflow/refundflow/notify"
)

// A platform's webhook endpoint: verify the signature over the raw body,
// deduplicate by event id, act, answer 2xx. A 4xx answer tells refundflow
// never to send that event again; a 5xx or no answer makes it retry.
func ExampleVerify() {
	const secret = "whsec_shared_with_the_platform"
	seen := map[string]bool{} // in production: a unique key in your database

	endpoint := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20))
		if err != nil {
			http.Error(w, "body too large", http.StatusRequestEntityTooLarge)
			return
		}
		err = notify.Verify(secret, r.Header.Get(notify.SignatureHeader), body, time.Now(), notify.DefaultTolerance)
		if err != nil {
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		var ev struct {
			ID   string          `json:"id"`
			Type string          `json:"type"`
			Data json.RawMessage `json:"data"`
		}
		if err := json.Unmarshal(body, &ev); err != nil {
			http.Error(w, "bad JSON", http.StatusBadRequest)
			return
		}
		if !seen[ev.ID] {
			seen[ev.ID] = true
			fmt.Println("received", ev.Type, string(ev.Data))
		}
		w.WriteHeader(http.StatusNoContent)
	})
	srv := httptest.NewServer(endpoint)
	defer srv.Close()

	sender := &notify.WebhookSender{URL: srv.URL, Secret: secret}
	ev := notify.RefundSucceeded("evt_01", time.Date(2026, 3, 5, 10, 0, 0, 0, time.UTC), notify.RefundData{
		RefundID: "rf_1", OrderID: "ord_1", LearnerID: "lrn_1", ProductID: "prd_1",
		Amount: 19900, Currency: "CNY", ProviderRefundID: "re_1",
	})
	for range 2 { // a retry after a lost response is harmless
		if _, err := sender.Send(context.Background(), ev); err != nil {
			fmt.Println(err)
		}
	}
	// Output:
	// received refund.succeeded {"refund_id":"rf_1","order_id":"ord_1","learner_id":"lrn_1","product_id":"prd_1","status":"refunded","amount":19900,"currency":"CNY","provider_refund_id":"re_1","revoke_access":true}
}
