package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v76/webhook"

	"github.com/refundflow/refundflow"
	"github.com/refundflow/refundflow/policy"
	"github.com/refundflow/refundflow/postgres"
	"github.com/refundflow/refundflow/postgres/pgtest"
	"github.com/refundflow/refundflow/refund"
)

const stripeSecret = "whsec_api_test"

// stripeEvent is a Stripe event about a refund (or another object).
func stripeEvent(id, typ string, object map[string]any) []byte {
	b, _ := json.Marshal(map[string]any{
		"id": id, "object": "event", "api_version": "2024-11-20.acacia", "created": time.Now().Unix(),
		"type": typ, "data": map[string]any{"object": object}, "livemode": false,
	})
	return b
}

// postStripe delivers a body with a Stripe-Signature made with secret at
// signedAt.
func (e *env) postStripe(body []byte, secret string, signedAt time.Time) response {
	e.t.Helper()
	req := httptest.NewRequest("POST", "/v1/webhooks/stripe", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if secret != "" {
		signed := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: body, Secret: secret, Timestamp: signedAt})
		req.Header.Set("Stripe-Signature", signed.Header)
	}
	rec := httptest.NewRecorder()
	e.http.ServeHTTP(rec, req)
	res := response{Status: rec.Code, Body: rec.Body.Bytes(), Header: rec.Header()}
	e.checkContract("POST", "/v1/webhooks/stripe", res)
	return res
}

func (e *env) stripeEvents() int {
	e.t.Helper()
	var n int
	if err := e.db.Pool.QueryRow(context.Background(), "SELECT count(*) FROM stripe_events").Scan(&n); err != nil {
		e.t.Fatal(err)
	}
	return n
}

func webhookEnv(t *testing.T) *env {
	e := newEnv(t)
	e.srv.Config.StripeWebhookSecret = stripeSecret
	return e
}

func TestStripeWebhookWithABadSignatureIsRefusedAndChangesNothing(t *testing.T) {
	e := webhookEnv(t)
	body := stripeEvent("evt_bad", "refund.updated", map[string]any{"id": "re_1", "object": "refund", "status": "failed"})
	for name, res := range map[string]response{
		"another secret": e.postStripe(body, "whsec_someone_else", time.Now()),
		"no signature":   e.postStripe(body, "", time.Now()),
		"too old":        e.postStripe(body, stripeSecret, time.Now().Add(-10*time.Minute)),
		"body changed":   e.postStripeTampered(body),
	} {
		if code, _ := res.errorCode(t); res.Status != http.StatusBadRequest || code != "invalid_signature" {
			t.Errorf("%s: %d %s", name, res.Status, res.Body)
		}
	}
	if n := e.stripeEvents(); n != 0 {
		t.Fatalf("%d events recorded from refused deliveries", n)
	}
}

// postStripeTampered signs body, then sends it with one byte changed.
func (e *env) postStripeTampered(body []byte) response {
	signed := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: body, Secret: stripeSecret, Timestamp: time.Now()})
	tampered := bytes.Replace(body, []byte(`"failed"`), []byte(`"succeeded"`), 1)
	req := httptest.NewRequest("POST", "/v1/webhooks/stripe", bytes.NewReader(tampered))
	req.Header.Set("Stripe-Signature", signed.Header)
	rec := httptest.NewRecorder()
	e.http.ServeHTTP(rec, req)
	return response{Status: rec.Code, Body: rec.Body.Bytes(), Header: rec.Header()}
}

func TestStripeWebhookIgnoresOtherEventsAndAnswersARedeliveryOnce(t *testing.T) {
	e := webhookEnv(t)
	body := stripeEvent("evt_cus", "customer.created", map[string]any{"id": "cus_1", "object": "customer"})
	first := e.postStripe(body, stripeSecret, time.Now())
	if first.Status != http.StatusOK || first.json(t)["outcome"] != "ignored" || first.json(t)["duplicate"] != false {
		t.Fatalf("first delivery: %d %s", first.Status, first.Body)
	}
	again := e.postStripe(body, stripeSecret, time.Now())
	if again.Status != http.StatusOK || again.json(t)["duplicate"] != true {
		t.Fatalf("redelivery: %d %s", again.Status, again.Body)
	}
	if n := e.stripeEvents(); n != 1 {
		t.Fatalf("%d events recorded", n)
	}
}

// Without STRIPE_WEBHOOK_SECRET nothing can be verified, so nothing is
// accepted (Stripe retries for days).
func TestStripeWebhookWithoutASecretConfiguredIsRefused(t *testing.T) {
	e := newEnv(t)
	res := e.postStripe(stripeEvent("evt_1", "refund.updated", map[string]any{"id": "re_1"}), stripeSecret, time.Now())
	if code, _ := res.errorCode(t); res.Status != http.StatusBadRequest || code != "invalid_signature" {
		t.Fatalf("%d %s", res.Status, res.Body)
	}
	if n := e.stripeEvents(); n != 0 {
		t.Fatalf("%d events recorded", n)
	}
}

// A refund nobody in refundflow made (the Stripe dashboard) is left to
// reconciliation, which adopts it.
func TestStripeWebhookAboutARefundMadeElsewhereIsAccepted(t *testing.T) {
	e := webhookEnv(t)
	res := e.postStripe(stripeEvent("evt_dash", "refund.created", map[string]any{
		"id": "re_dash", "object": "refund", "status": "succeeded", "metadata": map[string]string{},
	}), stripeSecret, time.Now())
	if res.Status != http.StatusOK || res.json(t)["outcome"] != "no_case" {
		t.Fatalf("%d %s", res.Status, res.Body)
	}
}

// News older than what the case has settled changes nothing: a
// "pending" that arrives after the refund succeeded, a duplicate
// "succeeded".
func TestStripeWebhookOlderThanTheSettlementIsStale(t *testing.T) {
	e := webhookEnv(t)
	rc := seedSettledRefund(t, e, "wh", 19900, "re_wh", "succeeded")
	for i, status := range []string{"pending", "succeeded", "requires_action"} {
		res := e.postStripe(stripeEvent(fmt.Sprintf("evt_%d", i), "charge.refund.updated", map[string]any{
			"id": "re_wh", "object": "refund", "status": status, "metadata": map[string]string{"refundflow_refund_id": rc},
		}), stripeSecret, time.Now())
		if res.Status != http.StatusOK || res.json(t)["outcome"] != "stale" {
			t.Fatalf("%s: %d %s", status, res.Status, res.Body)
		}
	}
	order, err := e.db.GetOrder(context.Background(), "wh")
	if err != nil || order.RefundedAmount != 19900 {
		t.Fatalf("order %+v %v", order, err)
	}
}

// seedOrder pushes a product and an order as the platform would.
func seedOrder(t *testing.T, e *env, orderID string, amount int64) {
	t.Helper()
	if r := e.do(refundflow.RolePlatform, "PUT", "/v1/products/p-"+orderID, map[string]any{
		"id": "p-" + orderID, "type": "recorded_course", "title": "Course", "lessons_total": 10,
	}); r.Status/100 != 2 {
		t.Fatalf("product: %d %s", r.Status, r.Body)
	}
	if r := e.do(refundflow.RolePlatform, "PUT", "/v1/orders/"+orderID, map[string]any{
		"learner_id": "l-" + orderID, "learner_email": orderID + "@example.com", "locale": "en", "product_id": "p-" + orderID,
		"amount": amount, "currency": "CNY", "purchased_at": time.Now().Add(-time.Hour).UTC().Format(time.RFC3339), "payment_intent": "pi_" + orderID,
	}); r.Status/100 != 2 {
		t.Fatalf("order: %d %s", r.Status, r.Body)
	}
}

// seedSettledRefund opens a case on a new order and settles its refund
// of amount as Stripe refund providerID with status, as the case's
// workflow would; it returns the case id.
func seedSettledRefund(t *testing.T, e *env, orderID string, amount int64, providerID, status string) string {
	t.Helper()
	seedOrder(t, e, orderID, amount)
	ctx := context.Background()
	order, err := e.db.GetOrder(ctx, orderID)
	if err != nil {
		t.Fatal(err)
	}
	caseID := "rf-" + orderID
	if _, err := e.db.InsertRefund(ctx, postgres.NewRefund{ID: caseID, Order: order, Reason: policy.ReasonOther, SubmittedBy: "k", RequestHash: []byte(caseID)}); err != nil {
		t.Fatal(err)
	}
	pgtest.Pay(t, e.db, amount, refund.Settlement{
		RefundID: caseID, Attempt: 1, Status: status, ProviderRefundID: providerID, ProviderCreated: time.Now(), ChargeFee: amount * 3 / 100,
	})
	return caseID
}
