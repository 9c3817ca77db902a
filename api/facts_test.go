package api_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/refundflow/refundflow"
	"github.com/refundflow/refundflow/policy"
	"github.com/refundflow/refundflow/postgres"
)

const (
	platform = refundflow.RolePlatform
	agent    = refundflow.RoleAgent
	approver = refundflow.RoleApprover
	admin    = refundflow.RoleAdmin
)

func recorded() map[string]any {
	return map[string]any{"type": "recorded_course", "title": "Go in Practice", "lessons_total": 20}
}

func order() map[string]any {
	return map[string]any{
		"learner_id": "learner-1", "learner_email": "ada@example.com", "locale": "zh-CN",
		"product_id": "course-1", "amount": 19900, "currency": "CNY",
		"purchased_at": "2026-03-01T08:00:00Z", "payment_intent": "pi_123",
	}
}

func with(m map[string]any, kv ...any) map[string]any {
	out := map[string]any{}
	for k, v := range m {
		out[k] = v
	}
	for i := 0; i < len(kv); i += 2 {
		if kv[i+1] == nil {
			delete(out, kv[i].(string))
			continue
		}
		out[kv[i].(string)] = kv[i+1]
	}
	return out
}

func TestPlatformUpsertsProductsAndOrdersAndRecordsProgress(t *testing.T) {
	e := newEnv(t)
	if r := e.do(platform, "PUT", "/v1/products/course-1", recorded()); r.Status != http.StatusCreated {
		t.Fatalf("create product: %d %s", r.Status, r.Body)
	}
	if r := e.do(platform, "PUT", "/v1/products/course-1", with(recorded(), "title", "Go, 2nd ed.")); r.Status != http.StatusOK {
		t.Fatalf("update product: %d %s", r.Status, r.Body)
	}
	r := e.do(platform, "PUT", "/v1/orders/order-1", order())
	if r.Status != http.StatusCreated {
		t.Fatalf("create order: %d %s", r.Status, r.Body)
	}
	if got := r.json(t)["policy"]; got != "default@1" {
		t.Fatalf("order pinned policy %v", got)
	}
	if got := e.do(agent, "GET", "/v1/orders/order-1", nil).json(t)["amount"]; got != float64(19900) {
		t.Fatalf("amount read back as %v", got)
	}

	r = e.do(platform, "POST", "/v1/orders/order-1/progress", map[string]any{"watched_ratio": 0.4, "lessons_completed": 5})
	if r.Status != http.StatusOK {
		t.Fatalf("progress: %d %s", r.Status, r.Body)
	}
	r = e.do(platform, "POST", "/v1/orders/order-1/progress", map[string]any{"watched_ratio": 0.1, "lessons_completed": 7})
	got := r.json(t)
	if got["watched_ratio"] != 0.4 || got["lessons_completed"] != float64(7) {
		t.Fatalf("progress went backwards or was not raised: %v", got)
	}
}

func TestOutagesAreDeclaredByAdmins(t *testing.T) {
	e := newEnv(t)
	e.do(platform, "PUT", "/v1/products/course-1", recorded())
	r := e.do(admin, "POST", "/v1/outages", map[string]any{
		"id": "cdn-2026-03", "product_ids": []string{"course-1"},
		"started_at": "2026-03-01T00:00:00Z", "ended_at": "2026-03-03T02:00:00Z", "reason": "CDN down",
	})
	if r.Status != http.StatusCreated {
		t.Fatalf("create outage: %d %s", r.Status, r.Body)
	}
	got := e.do(admin, "GET", "/v1/outages/cdn-2026-03", nil).json(t)
	if got["hours"] != float64(50) {
		t.Fatalf("hours = %v, want 50", got["hours"])
	}
	if e.do(admin, "POST", "/v1/outages", map[string]any{"id": "cdn-2026-03", "started_at": "2026-03-01T00:00:00Z"}).Status != http.StatusConflict {
		t.Fatal("a duplicate outage id was accepted")
	}
}

// Bad input gets a 4xx with a precise code naming the field, and nothing
// is written.
func TestBadInputIsRefusedWithACodeAndTheField(t *testing.T) {
	e := newEnv(t)
	e.do(platform, "PUT", "/v1/products/course-1", recorded())
	cases := []struct {
		name   string
		method string
		path   string
		body   any
		status int
		code   string
		field  string
	}{
		{"unknown field", "PUT", "/v1/orders/o-x", with(order(), "colour", "red"), 400, "unknown_field", "colour"},
		{"amount as string", "PUT", "/v1/orders/o-x", with(order(), "amount", "199"), 400, "invalid_type", "amount"},
		{"fractional amount", "PUT", "/v1/orders/o-x", with(order(), "amount", 19.5), 400, "invalid_type", "amount"},
		{"zero amount", "PUT", "/v1/orders/o-x", with(order(), "amount", 0), 400, "amount_not_positive", "amount"},
		{"negative amount", "PUT", "/v1/orders/o-x", with(order(), "amount", -100), 400, "amount_not_positive", "amount"},
		{"unknown currency", "PUT", "/v1/orders/o-x", with(order(), "currency", "RMB"), 400, "unknown_currency", "currency"},
		{"lower-case currency", "PUT", "/v1/orders/o-x", with(order(), "currency", "cny"), 400, "unknown_currency", "currency"},
		{"unknown product", "PUT", "/v1/orders/o-x", with(order(), "product_id", "nope"), 422, "unknown_product", "product_id"},
		{"bad time", "PUT", "/v1/orders/o-x", with(order(), "purchased_at", "yesterday"), 400, "invalid_time", "purchased_at"},
		{"missing time", "PUT", "/v1/orders/o-x", with(order(), "purchased_at", nil), 400, "missing_field", "purchased_at"},
		{"bad email", "PUT", "/v1/orders/o-x", with(order(), "learner_email", "ada"), 400, "invalid_email", "learner_email"},
		{"bad locale", "PUT", "/v1/orders/o-x", with(order(), "locale", "fr"), 400, "invalid_locale", "locale"},
		{"fee above amount", "PUT", "/v1/orders/o-x", with(order(), "application_fee_amount", 20000), 400, "fee_exceeds_amount", "application_fee_amount"},
		{"renewal without start", "PUT", "/v1/orders/o-x", with(order(), "renewal", map[string]any{}), 400, "missing_field", "renewal.period_start"},
		{"id mismatch", "PUT", "/v1/orders/o-x", with(order(), "id", "o-y"), 400, "id_mismatch", "id"},
		{"bad id in path", "PUT", "/v1/orders/o%20x", order(), 400, "invalid_id", "id"},
		{"malformed json", "PUT", "/v1/orders/o-x", `{"amount": `, 400, "malformed_json", ""},
		{"not an object", "PUT", "/v1/orders/o-x", `[1,2]`, 400, "invalid_type", ""},
		{"trailing data", "PUT", "/v1/orders/o-x", `{} {}`, 400, "malformed_json", ""},
		{"empty body", "PUT", "/v1/orders/o-x", "", 400, "empty_body", ""},
		{"bad product type", "PUT", "/v1/products/p-x", with(recorded(), "type", "ebook"), 400, "invalid_product_type", "type"},
		{"held above total", "PUT", "/v1/products/p-x", map[string]any{"type": "live_course", "title": "L", "sessions_total": 3, "sessions_held": 4, "starts_at": "2026-03-01T00:00:00Z"}, 400, "sessions_held_exceeds_total", "sessions_held"},
		{"live without start", "PUT", "/v1/products/p-x", map[string]any{"type": "live_course", "title": "L", "sessions_total": 3}, 400, "missing_starts_at", "starts_at"},
		{"negative lessons", "PUT", "/v1/products/p-x", with(recorded(), "lessons_total", -1), 400, "negative_count", "lessons_total"},
		{"ratio above 1", "POST", "/v1/orders/order-1/progress", map[string]any{"watched_ratio": 1.2}, 400, "ratio_out_of_range", "watched_ratio"},
		{"negative ratio", "POST", "/v1/orders/order-1/progress", map[string]any{"watched_ratio": -0.1}, 400, "ratio_out_of_range", "watched_ratio"},
		{"empty progress", "POST", "/v1/orders/order-1/progress", map[string]any{}, 400, "empty_progress", ""},
		{"more lessons than the course", "POST", "/v1/orders/order-1/progress", map[string]any{"lessons_completed": 21}, 422, "exceeds_lessons_total", "lessons_completed"},
		{"progress of unknown order", "POST", "/v1/orders/nope/progress", map[string]any{"lessons_completed": 1}, 404, "not_found", ""},
		{"outage ends before it starts", "POST", "/v1/outages", map[string]any{"started_at": "2026-03-02T00:00:00Z", "ended_at": "2026-03-01T00:00:00Z"}, 400, "ends_before_start", "ended_at"},
		{"outage of unknown product", "POST", "/v1/outages", map[string]any{"product_ids": []string{"nope"}, "started_at": "2026-03-02T00:00:00Z"}, 422, "unknown_product", "product_ids[0]"},
		{"body too large", "PUT", "/v1/products/p-x", `{"title": "` + strings.Repeat("x", 2<<20) + `"}`, 413, "body_too_large", ""},
	}
	// order-1 exists so progress cases reach their own validation.
	e.do(platform, "PUT", "/v1/orders/order-1", order())
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			role := platform
			if strings.HasPrefix(c.path, "/v1/outages") {
				role = admin
			}
			r := e.do(role, c.method, c.path, c.body)
			code, field := r.errorCode(t)
			if r.Status != c.status || code != c.code || field != c.field {
				t.Fatalf("got %d %s field=%q, want %d %s field=%q\n%s", r.Status, code, field, c.status, c.code, c.field, r.Body)
			}
		})
	}
	for _, path := range []string{"/v1/orders/o-x", "/v1/products/p-x"} {
		if r := e.do(agent, "GET", path, nil); r.Status != http.StatusNotFound {
			t.Errorf("%s was half-written by a refused request: %d", path, r.Status)
		}
	}
}

func TestEveryProblemIsListedInDetails(t *testing.T) {
	e := newEnv(t)
	r := e.do(platform, "PUT", "/v1/orders/o-x", with(order(), "amount", 0, "currency", "XXX", "locale", "de"))
	details := r.json(t)["error"].(map[string]any)["details"].([]any)
	if len(details) != 3 {
		t.Fatalf("want 3 details, got %v", details)
	}
}

// Once a case exists, PUT /v1/orders/{id} may not change the money facts
// (409 order_fact_frozen naming the field): raising the amount after a full
// refund allowed refunding 39 800 on a 19 900 charge. The rest may change.
func TestOrderMoneyFactsAreFrozenOnceACaseExists(t *testing.T) {
	e := newEnv(t)
	e.do(platform, "PUT", "/v1/products/course-1", recorded())
	e.do(platform, "PUT", "/v1/products/course-2", recorded())
	e.do(platform, "PUT", "/v1/orders/order-1", order())
	o, err := e.db.GetOrder(context.Background(), "order-1")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.db.InsertRefund(context.Background(), postgres.NewRefund{ID: "rf-1", Order: o, Reason: policy.ReasonChangedMind,
		SubmittedBy: "platform-test", RequestHash: []byte("h")}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ field, change any }{
		{"amount", 39800}, {"currency", "JPY"}, {"payment_intent", "pi_other"}, {"application_fee_amount", 100}, {"product_id", "course-2"},
	} {
		r := e.do(platform, "PUT", "/v1/orders/order-1", with(order(), c.field, c.change))
		if code, field := r.errorCode(t); r.Status != http.StatusConflict || code != "order_fact_frozen" || field != c.field {
			t.Errorf("changing %s: %d %s field=%q, want 409 order_fact_frozen", c.field, r.Status, code, field)
		}
	}
	r := e.do(platform, "PUT", "/v1/orders/order-1", with(order(), "learner_email", "ada@new.example", "locale", "en", "disputed", true))
	if got := r.json(t); r.Status != http.StatusOK || got["learner_email"] != "ada@new.example" || got["disputed"] != true || got["amount"] != float64(19900) {
		t.Fatalf("changing what moves no money: %d %s", r.Status, r.Body)
	}
}
