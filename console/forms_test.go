package console

import (
	"context"
	"encoding/csv"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/refundflow/refundflow"
	"github.com/refundflow/refundflow/policy"
	"github.com/refundflow/refundflow/postgres"
	"github.com/refundflow/refundflow/postgres/pgtest"
	"github.com/refundflow/refundflow/refund"
)

// The console's forms go through the API's own rules, checked before
// anything is looked up: a 200 KB approval note passed in the console
// while the API refused more than 2000 bytes.
func TestConsoleFormsKeepTheAPIsLimits(t *testing.T) {
	e := newConsoleEnv(t)
	e.openTicket("tk-1")
	for _, c := range []struct {
		name, path string
		as         refundflow.Role
		form       url.Values
		code       string
	}{
		{"a 200 KB approval note", "/console/refunds/rf-x/approve", approver, url.Values{"note": {strings.Repeat("x", 200_000)}}, "too_long"},
		{"an approval note with NUL", "/console/refunds/rf-x/approve", approver, url.Values{"note": {"a\x00b"}}, "invalid_text"},
		{"an amount above what Stripe charges", "/console/refunds/rf-x/approve", approver, url.Values{"amount": {"100000000"}}, "amount_too_large"},
		{"an amount that is not minor units", "/console/refunds/rf-x/approve", admin, url.Values{"amount": {"19.90"}}, "invalid_amount"},
		{"a long rejection reason", "/console/refunds/rf-x/reject", admin, url.Values{"reason": {strings.Repeat("理", 700)}}, "too_long"},
		{"a rejection reason that is not UTF-8", "/console/refunds/rf-x/reject", approver, url.Values{"reason": {"a\xffb"}}, "invalid_text"},
		{"a reply that is not UTF-8", "/console/tickets/tk-1/messages", agent, url.Values{"body": {"a\xffb"}}, "invalid_text"},
		{"a reply over 10000 bytes", "/console/tickets/tk-1/messages", agent, url.Values{"body": {strings.Repeat("x", 10_001)}}, "too_long"},
	} {
		t.Run(c.name, func(t *testing.T) {
			u := location(t, e.send(request{method: "POST", path: c.path, as: c.as, form: c.form}))
			if got := u.Query().Get("error"); got != c.code {
				t.Fatalf("redirected to %s, want error=%s", u, c.code)
			}
		})
	}
}

// A form body is bounded like an API body (1 MB); the console read 10 MB.
func TestConsoleFormBodiesAreBounded(t *testing.T) {
	e := newConsoleEnv(t)
	rec := e.send(request{method: "POST", path: "/console/refunds/rf-x/approve", as: approver, form: url.Values{"note": {strings.Repeat("x", 2<<20)}}})
	if rec.Code != http.StatusRequestEntityTooLarge {
		t.Fatalf("a 2 MB form: %d", rec.Code)
	}
}

// After a burst of bad keys, sign-ins from that address are answered 429
// with Retry-After (750 bad sign-ins a second were answered); a valid key
// from it still signs in, and the metric counts the console's trips.
func TestFailedSignInsAreThrottledPerAddress(t *testing.T) {
	e := newConsoleEnv(t)
	const attacker = "203.0.113.7"
	signIn := func(key, from string) int {
		rec := e.send(request{method: "POST", path: "/console/signin", form: url.Values{"key": {key}}, from: from})
		if rec.Code == http.StatusTooManyRequests && rec.Header().Get("Retry-After") == "" {
			t.Fatal("429 without Retry-After")
		}
		return rec.Code
	}
	throttled := false
	for range 100 {
		if code := signIn("rfk_guess", attacker); code == http.StatusTooManyRequests {
			throttled = true
			break
		} else if code != http.StatusUnauthorized {
			t.Fatalf("a bad key: %d", code)
		}
	}
	if !throttled {
		t.Fatal("100 bad sign-ins from one address were all answered")
	}
	if code := signIn(e.keys[approver], attacker); code != http.StatusSeeOther {
		t.Fatalf("a valid key from the throttled address: %d", code)
	}
	if code := signIn("rfk_typo", "198.51.100.20"); code != http.StatusUnauthorized {
		t.Fatalf("another address: %d", code)
	}
	mfs, err := e.registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == "refundflow_auth_throttle_trips_total" {
			for _, m := range mf.GetMetric() {
				if m.GetLabel()[0].GetValue() == "console" && m.GetCounter().GetValue() == 1 {
					return
				}
			}
		}
	}
	t.Fatal("no console trip counted in refundflow_auth_throttle_trips_total")
}

// The console's downloads are the API's CSV writer: a creator account that
// would be a formula reaches the ledger download neutralised, and the
// amounts, negative ones too, stay numbers.
func TestConsoleDownloadsNeutraliseFormulas(t *testing.T) {
	e := newConsoleEnv(t)
	ctx := context.Background()
	hostile := "=HYPERLINK(\"https://evil.example\",\"x\")"
	if _, err := e.db.UpsertProduct(ctx, &refundflow.Product{ID: "c-1", Type: refundflow.RecordedCourse, Title: "Go", LessonsTotal: 10, CreatorAccount: hostile}); err != nil {
		t.Fatal(err)
	}
	o := &refundflow.Order{ID: "o-1", LearnerID: "l-1", LearnerEmail: "l@example.com", Locale: refundflow.LocaleEn, ProductID: "c-1",
		Amount: 19900, Currency: "CNY", PurchasedAt: time.Now().Add(-time.Hour), PaymentIntent: "pi_1"}
	if _, err := e.db.UpsertOrder(ctx, o, postgres.DefaultPolicyV1); err != nil {
		t.Fatal(err)
	}
	if _, err := e.db.InsertRefund(ctx, postgres.NewRefund{ID: "rf-1", Order: o, Reason: policy.ReasonOther, SubmittedBy: "k", RequestHash: []byte("h")}); err != nil {
		t.Fatal(err)
	}
	pgtest.Pay(t, e.db, 19900, refund.Settlement{RefundID: "rf-1", Attempt: 1, Status: "succeeded", ProviderRefundID: "re_1",
		ProviderCreated: time.Now(), TransferReversal: 15000})
	rec := e.send(request{method: "GET", path: "/console/finance/ledger.csv", as: approver})
	rows, err := csv.NewReader(rec.Body).ReadAll()
	if rec.Code != http.StatusOK || err != nil {
		t.Fatalf("%d %v", rec.Code, err)
	}
	var party, negative bool
	for _, row := range rows {
		party = party || row[3] == "'"+hostile
		negative = negative || strings.HasPrefix(row[6], "-") && strings.Trim(row[6], "-0123456789") == ""
		if row[3] == hostile {
			t.Fatalf("the creator account went out as a formula: %v", row)
		}
	}
	if !party || !negative {
		t.Fatalf("no neutralised creator or no plain negative net in %v", rows)
	}
}
