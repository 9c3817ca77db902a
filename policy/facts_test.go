package policy

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/refundflow/refundflow"
)

// specFacts uses every field of the SPEC 6 facts shape.
const specFacts = `{"now": "2026-03-12T10:00:00+08:00", "reason": "not_as_expected",
 "order": {"amount": 19900, "currency": "CNY", "purchased_at": "2026-03-10T10:00:00+08:00",
  "refunded_amount": 0, "disputed": false,
  "product": {"type": "recorded_course", "lessons_total": 10, "sessions_total": 0, "sessions_held": 0,
   "starts_at": null, "appointment_at": null, "no_refund": false, "no_refund_disclosed": false},
  "consumption": {"watched_ratio": 0.05, "lessons_completed": 0, "sessions_attended": 0},
  "renewal": null},
 "outage_hours": 0, "learner_refunds_90d": 1}`

func TestDecodeFactsReadsTheSpecShape(t *testing.T) {
	f, err := DecodeFacts([]byte(specFacts))
	if err != nil {
		t.Fatal(err)
	}
	want := recorded(func(f *Facts) { f.LearnerRefunds90d = 1 })
	if !f.Now.Equal(want.Now) || !f.Order.PurchasedAt.Equal(want.Order.PurchasedAt) {
		t.Fatalf("times = %s, %s", f.Now, f.Order.PurchasedAt)
	}
	f.Now, f.Order.PurchasedAt = want.Now, want.Order.PurchasedAt
	if !reflect.DeepEqual(f, want) {
		t.Errorf("DecodeFacts =\n%+v\nwant\n%+v", f, want)
	}
}

func TestFactsRoundTripThroughJSON(t *testing.T) {
	for _, f := range []Facts{
		recorded(),
		live(func(f *Facts) { f.OutageHours = 48.5 }),
		consultation(),
		membership(func(f *Facts) {
			f.Order.Renewal = &refundflow.Renewal{PeriodStart: purchase, ReminderSentAt: ptr(purchase.Add(-3 * day))}
		}),
	} {
		data, err := json.Marshal(f)
		if err != nil {
			t.Fatal(err)
		}
		var back Facts
		if err := json.Unmarshal(data, &back); err != nil {
			t.Fatalf("Unmarshal(%s): %v", data, err)
		}
		a, _ := json.Marshal(back)
		if string(a) != string(data) {
			t.Errorf("round trip changed the facts:\n%s\n%s", data, a)
		}
	}
}

func TestDecodeFactsCanonicalisesTheCurrency(t *testing.T) {
	f, err := DecodeFacts([]byte(strings.Replace(specFacts, `"CNY"`, `"cny"`, 1)))
	if err != nil || f.Order.Currency != "CNY" {
		t.Fatalf("currency = %q, %v", f.Order.Currency, err)
	}
}

func TestDecodeFactsRejectsBadInputNamingTheField(t *testing.T) {
	// edit replaces the first occurrence of old in specFacts.
	edit := func(old, new string) string {
		if !strings.Contains(specFacts, old) {
			panic("test edit does not match: " + old)
		}
		return strings.Replace(specFacts, old, new, 1)
	}
	cases := []struct {
		name, json, field, code string
	}{
		{"not JSON", `{"now": `, "", "invalid_json"},
		{"two objects on a line", specFacts + specFacts, "", "invalid_json"},
		{"not an object", `[1, 2]`, "", "invalid_type"},
		{"unknown field", edit(`"reason"`, `"colour": "red", "reason"`), "colour", "unknown_field"},
		{"unknown nested field", edit(`"lessons_total"`, `"colour": "red", "lessons_total"`), "order.product.colour", "unknown_field"},
		{"missing now", edit(`"now": "2026-03-12T10:00:00+08:00",`, ``), "now", "required"},
		{"null now", edit(`"now": "2026-03-12T10:00:00+08:00"`, `"now": null`), "now", "required"},
		{"missing reason", edit(`"reason": "not_as_expected",`, ``), "reason", "required"},
		{"missing amount", edit(`"amount": 19900,`, ``), "order.amount", "required"},
		{"missing currency", edit(`"currency": "CNY",`, ``), "order.currency", "required"},
		{"missing purchase time", edit(`"purchased_at": "2026-03-10T10:00:00+08:00",`, ``), "order.purchased_at", "required"},
		{"missing product type", edit(`"type": "recorded_course",`, ``), "order.product.type", "required"},
		{"missing order", `{"now": "2026-03-12T10:00:00+08:00", "reason": "other"}`, "order", "required"},
		{"amount as a string", edit(`19900`, `"19900"`), "order.amount", "invalid_type"},
		{"amount with decimals", edit(`19900`, `199.5`), "order.amount", "invalid_type"},
		{"amount beyond int64", edit(`19900`, `99999999999999999999`), "order.amount", "invalid_type"},
		{"negative amount", edit(`19900`, `-1`), "order.amount", "out_of_range"},
		{"negative refunded amount", edit(`"refunded_amount": 0`, `"refunded_amount": -5`), "order.refunded_amount", "out_of_range"},
		{"disputed as a string", edit(`"disputed": false`, `"disputed": "no"`), "order.disputed", "invalid_type"},
		{"unknown reason", edit(`"not_as_expected"`, `"bored"`), "reason", "unknown_reason"},
		{"unknown product type", edit(`"recorded_course"`, `"ebook"`), "order.product.type", "unknown_product_type"},
		{"unknown currency", edit(`"CNY"`, `"XYZ"`), "order.currency", "unknown_currency"},
		{"bad time", edit(`"2026-03-12T10:00:00+08:00"`, `"yesterday"`), "now", "invalid_time"},
		{"time without a zone", edit(`"2026-03-12T10:00:00+08:00"`, `"2026-03-12T10:00:00"`), "now", "invalid_time"},
		{"watched ratio above 1", edit(`0.05`, `1.01`), "order.consumption.watched_ratio", "out_of_range"},
		{"negative watched ratio", edit(`0.05`, `-0.1`), "order.consumption.watched_ratio", "out_of_range"},
		{"watched ratio as text", edit(`0.05`, `"5%"`), "order.consumption.watched_ratio", "invalid_type"},
		{"negative lessons", edit(`"lessons_completed": 0`, `"lessons_completed": -1`), "order.consumption.lessons_completed", "out_of_range"},
		{"more lessons completed than exist", edit(`"lessons_completed": 0`, `"lessons_completed": 11`), "order.consumption.lessons_completed", "out_of_range"},
		{"more sessions held than exist", edit(`"sessions_held": 0`, `"sessions_held": 1`), "order.product.sessions_held", "out_of_range"},
		{"negative sessions attended", edit(`"sessions_attended": 0`, `"sessions_attended": -2`), "order.consumption.sessions_attended", "out_of_range"},
		{"absurd lesson count", edit(`"lessons_total": 10`, `"lessons_total": 5000000`), "order.product.lessons_total", "out_of_range"},
		{"negative outage", edit(`"outage_hours": 0`, `"outage_hours": -1`), "outage_hours", "out_of_range"},
		{"negative refund count", edit(`"learner_refunds_90d": 1`, `"learner_refunds_90d": -1`), "learner_refunds_90d", "out_of_range"},
		{"live course without a start", edit(`"recorded_course"`, `"live_course"`), "order.product.starts_at", "required"},
		{"consultation without an appointment", edit(`"recorded_course", "lessons_total": 10`, `"consultation", "lessons_total": 0`), "order.product.appointment_at", "required"},
		{"renewal of a course", edit(`"renewal": null`, `"renewal": {"period_start": "2026-03-01T00:00:00+08:00"}`), "order.renewal", "not_a_membership"},
		{"renewal without a period", strings.Replace(edit(`"recorded_course"`, `"membership"`), `"renewal": null`, `"renewal": {"reminder_sent_at": null}`, 1),
			"order.renewal.period_start", "required"},
		{"unknown renewal field", edit(`"renewal": null`, `"renewal": {"period_start": "2026-03-01T00:00:00+08:00", "sent": true}`), "order.renewal.sent", "unknown_field"},
		{"asked before buying", edit(`"purchased_at": "2026-03-10T10:00:00+08:00"`, `"purchased_at": "2026-03-13T10:00:00+08:00"`), "now", "before_purchase"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := DecodeFacts([]byte(tc.json))
			var e *refundflow.Error
			if !errors.As(err, &e) {
				t.Fatalf("error = %v, want a *refundflow.Error", err)
			}
			if e.Field != tc.field || e.Code != tc.code || e.Kind != refundflow.EINVALID {
				t.Errorf("error %q: field %q code %q, want field %q code %q", e, e.Field, e.Code, tc.field, tc.code)
			}
		})
	}
}

func TestUnknownCurrencyErrorReadsWellOnOneLine(t *testing.T) {
	_, err := DecodeFacts([]byte(strings.Replace(specFacts, `"CNY"`, `"XYZ"`, 1)))
	if err == nil || err.Error() != `order.currency: unknown currency "XYZ"` {
		t.Fatalf("error = %v", err)
	}
}

func TestDecodeFactsReportsEveryProblem(t *testing.T) {
	bad := `{"now": "2026-03-12T10:00:00+08:00", "reason": "bored", "order": {"amount": -1, "currency": "CNY",
		"purchased_at": "2026-03-10T10:00:00+08:00", "product": {"type": "recorded_course"},
		"consumption": {"watched_ratio": 3}}}`
	_, err := DecodeFacts([]byte(bad))
	var e *refundflow.Error
	if !errors.As(err, &e) {
		t.Fatal(err)
	}
	var fields []string
	for _, d := range e.Details {
		fields = append(fields, d.Field)
	}
	want := []string{"reason", "order.amount", "order.consumption.watched_ratio"}
	if !reflect.DeepEqual(fields, want) {
		t.Errorf("problems at %v, want %v", fields, want)
	}
}

func TestValidateCatchesFactsBuiltInGo(t *testing.T) {
	f := recorded(func(f *Facts) { f.Now = time.Time{}; f.Order.Currency = "" })
	err := f.Validate()
	var e *refundflow.Error
	if !errors.As(err, &e) || e.Field != "now" || len(e.Details) != 2 {
		t.Fatalf("Validate = %v", err)
	}
}
