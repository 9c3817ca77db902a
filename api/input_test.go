package api_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/refundflow/refundflow"
)

// Text that PostgreSQL cannot store (NUL) or that is not UTF-8 is refused
// at the decoder with the field's JSON path, whichever route it comes to:
// encoding/json would otherwise turn bad bytes into U+FFFD without a word.
func TestTextWithNULOrBadUTF8IsRefusedNamingTheField(t *testing.T) {
	e := newEnv(t)
	e.do(platform, "PUT", "/v1/products/course-1", recorded())
	e.do(platform, "PUT", "/v1/orders/order-1", order())
	nul, notUTF8 := `a\u0000b`, "a\xffb"
	cases := []struct {
		name, method, path string
		role               refundflow.Role
		body               string
		field              string
	}{
		{"product title with NUL", "PUT", "/v1/products/p-x", platform, `{"type":"recorded_course","lessons_total":2,"title":"` + nul + `"}`, "title"},
		{"product title not UTF-8", "PUT", "/v1/products/p-x", platform, `{"type":"recorded_course","lessons_total":2,"title":"` + notUTF8 + `"}`, "title"},
		{"creator account with NUL", "PUT", "/v1/products/p-x", platform, `{"type":"recorded_course","lessons_total":2,"title":"t","creator_account":"` + nul + `"}`, "creator_account"},
		{"alternative not UTF-8", "PUT", "/v1/products/p-x", platform, `{"type":"recorded_course","lessons_total":2,"title":"t","alternatives":["c-1","` + notUTF8 + `"]}`, "alternatives[1]"},
		{"renewal time with NUL", "PUT", "/v1/orders/o-x", platform, `{"renewal":{"period_start":"` + nul + `"}}`, "renewal.period_start"},
		{"payment intent not UTF-8", "PUT", "/v1/orders/o-x", platform, `{"payment_intent":"` + notUTF8 + `"}`, "payment_intent"},
		{"refund description with NUL", "POST", "/v1/refunds", platform, `{"order_id":"order-1","reason":"other","description":"` + nul + `"}`, "description"},
		{"evidence not UTF-8", "POST", "/v1/refunds", platform, `{"order_id":"order-1","reason":"other","evidence":["` + notUTF8 + `"]}`, "evidence[0]"},
		{"outage reason with NUL", "POST", "/v1/outages", admin, `{"started_at":"2026-03-01T00:00:00Z","reason":"` + nul + `"}`, "reason"},
		{"ticket subject not UTF-8", "POST", "/v1/tickets", platform, `{"tier":"free","learner_id":"l-1","subject":"` + notUTF8 + `","body":"b"}`, "subject"},
		{"ticket message with NUL", "POST", "/v1/tickets/tk-x/messages", agent, `{"author":"agent","body":"` + nul + `"}`, "body"},
		{"rating comment not UTF-8", "POST", "/v1/tickets/tk-x/csat", platform, `{"score":5,"comment":"` + notUTF8 + `"}`, "comment"},
		{"approval note with NUL", "POST", "/v1/refunds/rf-x/approve", approver, `{"note":"` + nul + `"}`, "note"},
		{"rejection reason not UTF-8", "POST", "/v1/refunds/rf-x/reject", approver, `{"reason":"` + notUTF8 + `"}`, "reason"},
		{"appeal note with NUL", "POST", "/v1/refunds/rf-x/appeal", platform, `{"note":"` + nul + `"}`, "note"},
		{"calendar holiday name with NUL", "PUT", "/v1/calendars/cn", admin, `{"years":{"2030":{"holidays":[{"date":"2030-01-01","name":"` + nul + `"}]}}}`, "years.2030.holidays[0].name"},
		{"policy key not UTF-8", "PUT", "/v1/policies/default", admin, `{"` + notUTF8 + `":1}`, "a\ufffdb"},
		{"nested in facts", "POST", "/v1/policies/evaluate", admin, `{"order":{"product":{"type":"` + nul + `"}}}`, "order.product.type"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := e.do(c.role, c.method, c.path, c.body)
			code, field := r.errorCode(t)
			if r.Status != http.StatusBadRequest || code != "invalid_text" || field != c.field {
				t.Fatalf("got %d %s field=%q, want 400 invalid_text field=%q\n%s", r.Status, code, field, c.field, r.Body)
			}
		})
	}
	if r := e.do(agent, "GET", "/v1/products/p-x", nil); r.Status != http.StatusNotFound {
		t.Fatalf("a refused product was stored: %d", r.Status)
	}
}

// Counts are bounded (refundflow.MaxCount) before they reach PostgreSQL's
// integer columns: nothing is truncated (4294967306 was stored as 10) or
// answered 500, and a product that is accepted can always be evaluated.
func TestCountsOutsideTheirRangeAreRefusedNeverTruncated(t *testing.T) {
	e := newEnv(t)
	e.do(platform, "PUT", "/v1/products/course-1", recorded())
	e.do(platform, "PUT", "/v1/orders/order-1", order())
	live := func(total any) map[string]any {
		return map[string]any{"type": "live_course", "title": "Live", "sessions_total": total, "starts_at": "2026-03-01T00:00:00Z"}
	}
	cases := []struct {
		name  string
		path  string
		body  any
		field string
	}{
		{"lessons beyond 2^32", "/v1/products/p-x", with(recorded(), "lessons_total", 4294967306), "lessons_total"},
		{"lessons beyond 2^31", "/v1/products/p-x", with(recorded(), "lessons_total", 2147483648), "lessons_total"},
		{"lessons above the bound", "/v1/products/p-x", with(recorded(), "lessons_total", 10001), "lessons_total"},
		{"two million sessions", "/v1/products/p-x", live(2000000), "sessions_total"},
		{"sessions beyond 2^32", "/v1/products/p-x", live(4294967306), "sessions_total"},
		{"lessons completed beyond 2^32", "/v1/orders/order-1/progress", map[string]any{"lessons_completed": 4294967306}, "lessons_completed"},
		{"sessions attended beyond 2^31", "/v1/orders/order-1/progress", map[string]any{"sessions_attended": 2147483648}, "sessions_attended"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			method := "PUT"
			if strings.HasSuffix(c.path, "/progress") {
				method = "POST"
			}
			r := e.do(platform, method, c.path, c.body)
			code, field := r.errorCode(t)
			if r.Status != http.StatusBadRequest || code != "count_out_of_range" || field != c.field {
				t.Fatalf("got %d %s field=%q, want 400 count_out_of_range field=%q\n%s", r.Status, code, field, c.field, r.Body)
			}
		})
	}
	if r := e.do(agent, "GET", "/v1/products/p-x", nil); r.Status != http.StatusNotFound {
		t.Fatalf("a refused product was stored: %d %s", r.Status, r.Body)
	}
	if got := e.do(agent, "GET", "/v1/orders/order-1", nil); got.Status != http.StatusOK {
		t.Fatal(got.Status)
	}
	if r := e.do(platform, "PUT", "/v1/products/p-max", live(10000)); r.Status != http.StatusCreated || r.json(t)["sessions_total"] != float64(10000) {
		t.Fatalf("a live course of 10000 sessions: %d %s", r.Status, r.Body)
	}
	// The largest product the API takes is one the policy decides on.
	r := e.do(admin, "POST", "/v1/policies/evaluate", map[string]any{
		"now": "2026-03-02T00:00:00Z", "reason": "changed_mind",
		"order": map[string]any{"amount": 19900, "currency": "CNY", "purchased_at": "2026-02-01T00:00:00Z",
			"product":     map[string]any{"type": "live_course", "sessions_total": 10000, "sessions_held": 9999, "starts_at": "2026-02-01T00:00:00Z", "lessons_total": 10000},
			"consumption": map[string]any{"lessons_completed": 10000, "sessions_attended": 10000}},
	})
	if r.Status != http.StatusOK {
		t.Fatalf("the policy cannot evaluate the largest product the API accepts: %d %s", r.Status, r.Body)
	}
}

// Amounts are bounded by what one Stripe charge can be (money.MaxAmount)
// wherever they come in: an order's amount and fee, an approver's amount.
func TestAmountsAboveWhatStripeChargesAreRefused(t *testing.T) {
	e := newEnv(t)
	e.do(platform, "PUT", "/v1/products/course-1", recorded())
	cases := []struct {
		name, path string
		role       refundflow.Role
		body       any
		code       string
	}{
		{"order amount", "/v1/orders/o-x", platform, with(order(), "amount", 100_000_000), "amount_too_large"},
		{"order amount near int64", "/v1/orders/o-x", platform, with(order(), "amount", int64(9_000_000_000_000_000_000)), "amount_too_large"},
		{"approved amount", "/v1/refunds/rf-x/approve", approver, map[string]any{"amount": 100_000_000}, "amount_too_large"},
		{"approved amount not positive", "/v1/refunds/rf-x/approve", approver, map[string]any{"amount": 0}, "amount_not_positive"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			method := "PUT"
			if strings.HasPrefix(c.path, "/v1/refunds") {
				method = "POST"
			}
			r := e.do(c.role, method, c.path, c.body)
			code, field := r.errorCode(t)
			if r.Status != http.StatusBadRequest || code != c.code || field != "amount" {
				t.Fatalf("got %d %s field=%q, want 400 %s field=amount\n%s", r.Status, code, field, c.code, r.Body)
			}
		})
	}
	if r := e.do(platform, "PUT", "/v1/orders/o-max", with(order(), "amount", 99_999_999, "application_fee_amount", 99_999_999)); r.Status != http.StatusCreated {
		t.Fatalf("an order of 99999999: %d %s", r.Status, r.Body)
	}
}

// Texts and lists have bounds at every decoder, so no field is a place to
// park megabytes.
func TestTextsAndListsAreBounded(t *testing.T) {
	e := newEnv(t)
	e.do(platform, "PUT", "/v1/products/course-1", recorded())
	long := strings.Repeat("x", 2001)
	many := make([]string, 21)
	for i := range many {
		many[i] = "c-" + strings.Repeat("a", i+1)
	}
	products := make([]string, 1001)
	for i := range products {
		products[i] = "course-1"
	}
	cases := []struct {
		name, method, path string
		role               refundflow.Role
		body               any
		code, field        string
	}{
		{"too many alternatives", "PUT", "/v1/products/p-x", platform, with(recorded(), "alternatives", many), "too_many", "alternatives"},
		{"too many outage products", "POST", "/v1/outages", admin, map[string]any{"started_at": "2026-03-01T00:00:00Z", "product_ids": products}, "too_many", "product_ids"},
		{"long decline note", "POST", "/v1/refunds/rf-x/offers/decline", platform, map[string]any{"note": long}, "too_long", "note"},
		{"long appeal note", "POST", "/v1/refunds/rf-x/appeal", platform, map[string]any{"note": long}, "too_long", "note"},
		{"long withdrawal note", "POST", "/v1/refunds/rf-x/withdraw", platform, map[string]any{"note": long}, "too_long", "note"},
		{"long approval note", "POST", "/v1/refunds/rf-x/approve", approver, map[string]any{"note": long}, "too_long", "note"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := e.do(c.role, c.method, c.path, c.body)
			code, field := r.errorCode(t)
			if r.Status != http.StatusBadRequest || code != c.code || field != c.field {
				t.Fatalf("got %d %s field=%q, want 400 %s field=%q\n%s", r.Status, code, field, c.code, c.field, r.Body)
			}
		})
	}
}

// What the platform reports as having happened cannot lie more than a few
// minutes (refundflow.MaxClockSkew) in the future: a purchase 30 days
// ahead got a cooling-off refund "0 s after purchase", one in 9999 made
// the policy fail and left its case evaluating.
func TestTimesInTheFutureAreRefused(t *testing.T) {
	e := newEnv(t)
	now := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	e.at(now)
	e.do(platform, "PUT", "/v1/products/course-1", recorded())
	e.do(platform, "PUT", "/v1/orders/order-1", order())
	at := func(d time.Duration) string { return now.Add(d).Format(time.RFC3339) }
	cases := []struct {
		name, path string
		role       refundflow.Role
		body       any
		field      string
	}{
		{"purchase in 30 days", "/v1/orders/o-x", platform, with(order(), "purchased_at", at(30*24*time.Hour)), "purchased_at"},
		{"purchase at the end of time", "/v1/orders/o-x", platform, with(order(), "purchased_at", "9999-12-31T23:59:59Z"), "purchased_at"},
		{"purchase in 6 minutes", "/v1/orders/o-x", platform, with(order(), "purchased_at", at(6*time.Minute)), "purchased_at"},
		{"reminder sent tomorrow", "/v1/orders/o-x", platform, with(order(), "renewal", map[string]any{"period_start": at(time.Hour), "reminder_sent_at": at(24 * time.Hour)}), "renewal.reminder_sent_at"},
		{"outage starting tomorrow", "/v1/outages", admin, map[string]any{"started_at": at(24 * time.Hour)}, "started_at"},
		{"outage ending tomorrow", "/v1/outages", admin, map[string]any{"started_at": at(-72 * time.Hour), "ended_at": at(24 * time.Hour)}, "ended_at"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			method := "PUT"
			if c.path == "/v1/outages" {
				method = "POST"
			}
			r := e.do(c.role, method, c.path, c.body)
			code, field := r.errorCode(t)
			if r.Status != http.StatusUnprocessableEntity || code != "in_the_future" || field != c.field {
				t.Fatalf("got %d %s field=%q, want 422 in_the_future field=%q\n%s", r.Status, code, field, c.field, r.Body)
			}
		})
	}
	if r := e.do(agent, "GET", "/v1/orders/o-x", nil); r.Status != http.StatusNotFound {
		t.Fatalf("a refused order was stored: %d", r.Status)
	}
	// Clocks differ by seconds: a purchase a few minutes ahead is ours to take.
	if r := e.do(platform, "PUT", "/v1/orders/o-skew", with(order(), "purchased_at", at(4*time.Minute))); r.Status != http.StatusCreated {
		t.Fatalf("a purchase 4 minutes ahead: %d %s", r.Status, r.Body)
	}
	// A renewal period and the next renewal lie ahead by nature.
	if r := e.do(platform, "PUT", "/v1/orders/o-ahead", with(order(), "renewal", map[string]any{"period_start": at(24 * time.Hour)})); r.Status != http.StatusCreated {
		t.Fatalf("a renewal whose period starts tomorrow: %d %s", r.Status, r.Body)
	}
}

// Progress the policy could not decide on is refused when it is reported,
// not found out by a case that then cannot be evaluated: lessons completed
// on a product without lessons (a live course counts sessions).
func TestProgressBeyondWhatTheProductHasIsRefused(t *testing.T) {
	e := newEnv(t)
	e.do(platform, "PUT", "/v1/products/live-1", map[string]any{"type": "live_course", "title": "Live", "sessions_total": 8, "starts_at": "2026-03-01T00:00:00Z"})
	e.do(platform, "PUT", "/v1/orders/order-1", with(order(), "product_id", "live-1"))
	for _, c := range []struct {
		body  map[string]any
		code  string
		field string
	}{
		{map[string]any{"lessons_completed": 3}, "exceeds_lessons_total", "lessons_completed"},
		{map[string]any{"sessions_attended": 9}, "exceeds_sessions_total", "sessions_attended"},
	} {
		r := e.do(platform, "POST", "/v1/orders/order-1/progress", c.body)
		if code, field := r.errorCode(t); r.Status != http.StatusUnprocessableEntity || code != c.code || field != c.field {
			t.Errorf("%v: %d %s field=%q, want 422 %s field=%q", c.body, r.Status, code, field, c.code, c.field)
		}
	}
	if r := e.do(platform, "POST", "/v1/orders/order-1/progress", map[string]any{"sessions_attended": 8}); r.Status != http.StatusOK {
		t.Fatalf("every session attended: %d %s", r.Status, r.Body)
	}
}

// Query parameters go through the same rule as bodies: NUL or bytes that
// are not UTF-8 are 400 invalid_text naming the parameter, before any
// handler passes them to PostgreSQL (GET /v1/refunds?order_id=%00 was a
// 500); the ids a list filters on are ids.
func TestQueryParametersThatAreNotTextAreRefused(t *testing.T) {
	e := newEnv(t)
	for _, c := range []struct {
		path        string
		role        refundflow.Role
		code, field string
	}{
		{"/v1/refunds?order_id=%00", agent, "invalid_text", "order_id"},
		{"/v1/refunds?learner_id=a%ffb", agent, "invalid_text", "learner_id"},
		{"/v1/refunds?learner_id=a%20b", agent, "invalid_id", "learner_id"},
		{"/v1/refunds?order_id=" + strings.Repeat("x", 129), agent, "invalid_id", "order_id"},
		{"/v1/reports/reconciliation?run_id=reconcile%2F%00", approver, "invalid_text", "run_id"},
		{"/v1/tickets?status=%00", agent, "invalid_text", "status"},
		{"/v1/reports/refunds?tz=Asia%2F%ff", admin, "invalid_text", "tz"},
	} {
		r := e.do(c.role, "GET", c.path, nil)
		if code, field := r.errorCode(t); r.Status != http.StatusBadRequest || code != c.code || field != c.field {
			t.Errorf("%s: %d %s field=%q, want 400 %s field=%q", c.path, r.Status, code, field, c.code, c.field)
		}
	}
}
