package api_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/refundflow/refundflow"
	"github.com/refundflow/refundflow/notify"
	"github.com/refundflow/refundflow/policy"
	"github.com/refundflow/refundflow/postgres"
	"github.com/refundflow/refundflow/refund"
)

type figures struct {
	Day      string `json:"day"`
	Currency string `json:"currency"`
	Refunded struct {
		Count  int64 `json:"count"`
		Amount int64 `json:"amount"`
	} `json:"refunded"`
	Full, Partial, Manual, Retained, Failed struct {
		Count  int64 `json:"count"`
		Amount int64 `json:"amount"`
	}
	StripeFeesUnrecovered int64 `json:"stripe_fees_unrecovered"`
}

func TestRefundsReportSumsTheLedgerPerDayAndCurrency(t *testing.T) {
	e := newEnv(t)
	seedSettledRefund(t, e, "r1", 19900, "re_1", "succeeded")
	seedSettledRefund(t, e, "r2", 5000, "re_2", "succeeded")
	seedSettledRefund(t, e, "r3", 3000, "re_3", "failed")
	seedRetained(t, e, "r4", 8800)

	r := e.do(refundflow.RoleApprover, "GET", "/v1/reports/refunds", nil)
	if r.Status != http.StatusOK {
		t.Fatalf("%d %s", r.Status, r.Body)
	}
	var body struct {
		Days   []figures `json:"days"`
		Totals []figures `json:"totals"`
	}
	decodeInto(t, r.Body, &body)
	if len(body.Totals) != 1 {
		t.Fatalf("totals %+v", body.Totals)
	}
	cny := body.Totals[0]
	if cny.Currency != "CNY" || cny.Refunded.Count != 2 || cny.Refunded.Amount != 24900 || cny.Full.Count != 2 || cny.Partial.Count != 0 {
		t.Fatalf("CNY %+v", cny)
	}
	if cny.Failed.Count != 1 || cny.Failed.Amount != 3000 || cny.Retained.Count != 1 || cny.Retained.Amount != 8800 {
		t.Fatalf("failed %+v retained %+v", cny.Failed, cny.Retained)
	}
	if cny.StripeFeesUnrecovered != 19900*3/100+5000*3/100 {
		t.Fatalf("unrecovered fees %d", cny.StripeFeesUnrecovered)
	}
	if len(body.Days) != 1 || body.Days[0].Day != time.Now().UTC().Format(time.DateOnly) {
		t.Fatalf("days %+v", body.Days)
	}

	c := e.do(refundflow.RoleAdmin, "GET", "/v1/reports/refunds?format=csv", nil)
	rows := readCSV(t, c)
	if !slices.Equal(rows[0], []string{"day", "currency", "metric", "creator_account", "count", "amount"}) {
		t.Fatalf("header %v", rows[0])
	}
	if !slices.ContainsFunc(rows, func(row []string) bool { return row[2] == "refunded" && row[4] == "2" && row[5] == "24900" }) {
		t.Fatalf("no refunded row in %v", rows)
	}
}

func TestLedgerReportBalancesPerCurrency(t *testing.T) {
	e := newEnv(t)
	seedSettledRefund(t, e, "l1", 19900, "re_l1", "succeeded")

	r := e.do(refundflow.RoleApprover, "GET", "/v1/reports/ledger?tz=Asia/Shanghai", nil)
	if r.Status != http.StatusOK {
		t.Fatalf("%d %s", r.Status, r.Body)
	}
	var body struct {
		Rows []struct {
			Account string `json:"account"`
			Net     int64  `json:"net"`
		} `json:"rows"`
		Totals []struct {
			Currency      string
			Debit, Credit int64
			Balanced      bool
		} `json:"totals"`
	}
	decodeInto(t, r.Body, &body)
	net := map[string]int64{}
	for _, row := range body.Rows {
		net[row.Account] += row.Net
	}
	if net["refunds"] != 19900 || net["stripe_balance"] != -19900 || net["stripe_fees_unrecovered"] != 597 || net["stripe_fees"] != -597 {
		t.Fatalf("nets %v", net)
	}
	if len(body.Totals) != 1 || !body.Totals[0].Balanced || body.Totals[0].Debit != 19900+597 {
		t.Fatalf("totals %+v", body.Totals)
	}
	if rows := readCSV(t, e.do(refundflow.RoleApprover, "GET", "/v1/reports/ledger?format=csv", nil)); len(rows) != 5 {
		t.Fatalf("csv rows %v", rows)
	}
}

func TestReportsRefuseABadWindow(t *testing.T) {
	e := newEnv(t)
	for _, q := range []string{"?from=2026-03-10&to=2026-03-01", "?from=2026-13-01", "?tz=Mars/Olympus", "?tz=Local", "?format=xml", "?from=2020-01-01&to=2026-01-01"} {
		r := e.do(refundflow.RoleApprover, "GET", "/v1/reports/refunds"+q, nil)
		if r.Status != http.StatusBadRequest {
			t.Errorf("%s: %d %s", q, r.Status, r.Body)
		}
	}
}

func TestReconciliationReportShowsTheRunAndItsFindings(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	if r := e.do(refundflow.RoleApprover, "GET", "/v1/reports/reconciliation?run_id=reconcile/none", nil); r.Status != http.StatusNotFound {
		t.Fatalf("a run that does not exist: %d", r.Status)
	}
	seedOrder(t, e, "dash", 10000)
	from := time.Now().Add(-time.Hour)
	if _, err := e.db.StartReconciliation(ctx, "reconcile/test", "manual", from, time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	// Refunded by hand in the Stripe dashboard: adopted onto the order.
	outcome, err := e.db.ReconcileStripeRefund(ctx, "reconcile/test", postgres.StripeRefund{
		ID: "re_dash", Status: "succeeded", Amount: 2500, Currency: "CNY", PaymentIntent: "pi_dash", Created: time.Now(),
	})
	if err != nil || outcome != postgres.OutcomeFinding {
		t.Fatalf("outcome %s: %v", outcome, err)
	}
	if _, err := e.db.FinishReconciliation(ctx, "reconcile/test"); err != nil {
		t.Fatal(err)
	}

	r := e.do(refundflow.RoleAdmin, "GET", "/v1/reports/reconciliation", nil)
	if r.Status != http.StatusOK {
		t.Fatalf("%d %s", r.Status, r.Body)
	}
	var body struct {
		Run struct {
			ID      string `json:"id"`
			Adopted int    `json:"adopted"`
		} `json:"run"`
		Findings []struct {
			Kind    string `json:"kind"`
			OrderID string `json:"order_id"`
		} `json:"findings"`
	}
	decodeInto(t, r.Body, &body)
	if body.Run.ID != "reconcile/test" || body.Run.Adopted != 1 || len(body.Findings) != 1 ||
		body.Findings[0].Kind != "manual_refund_adopted" || body.Findings[0].OrderID != "dash" {
		t.Fatalf("report %+v", body)
	}
	if order, _ := e.db.GetOrder(ctx, "dash"); order.RefundedAmount != 2500 {
		t.Fatalf("the adopted refund is not counted on the order: %d", order.RefundedAmount)
	}
	rows := readCSV(t, e.do(refundflow.RoleApprover, "GET", "/v1/reports/reconciliation?run_id=reconcile/test&format=csv", nil))
	if len(rows) != 2 || rows[1][1] != "manual_refund_adopted" {
		t.Fatalf("csv %v", rows)
	}
}

// Before the first run the report is empty, not missing: no run, no
// findings, and (this server has no Temporal to ask) no next time.
func TestReconciliationReportBeforeAnyRunIsEmpty(t *testing.T) {
	e := newEnv(t)
	r := e.do(refundflow.RoleApprover, "GET", "/v1/reports/reconciliation", nil)
	if r.Status != http.StatusOK {
		t.Fatalf("before any run: %d %s", r.Status, r.Body)
	}
	body := r.json(t)
	if run, ok := body["run"]; !ok || run != nil {
		t.Errorf("run: %v, want null", run)
	}
	if f, ok := body["findings"].([]any); !ok || len(f) != 0 {
		t.Errorf("findings: %v, want []", body["findings"])
	}
	if next, ok := body["next_scheduled_at"]; !ok || next != nil {
		t.Errorf("next_scheduled_at: %v, want null without Temporal", next)
	}
	if rows := readCSV(t, e.do(refundflow.RoleApprover, "GET", "/v1/reports/reconciliation?format=csv", nil)); len(rows) != 1 {
		t.Errorf("csv before any run: %v, want the header alone", rows)
	}
}

func TestReconciliationOnDemandChecksItsWindow(t *testing.T) {
	e := newEnv(t)
	now := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	e.srv.Now = func() time.Time { return now }
	for _, c := range []struct {
		name string
		body map[string]any
		code string
	}{
		{"to before from", map[string]any{"from": "2026-03-02T00:00:00Z", "to": "2026-03-01T00:00:00Z"}, "invalid_window"},
		{"to equal to from", map[string]any{"from": "2026-03-02T00:00:00Z", "to": "2026-03-02T00:00:00Z"}, "invalid_window"},
		{"from alone, after now", map[string]any{"from": "2026-03-10T12:00:01Z"}, "invalid_window"},
		{"more than 93 days", map[string]any{"from": "2025-12-06T11:59:59Z", "to": "2026-03-09T12:00:00Z"}, "window_too_long"},
		{"to after now", map[string]any{"from": "2026-03-10T00:00:00Z", "to": "2026-03-10T12:00:01.5Z"}, "window_in_future"},
		{"to alone, after now", map[string]any{"to": "2026-03-11T00:00:00Z"}, "window_in_future"},
	} {
		r := e.do(refundflow.RoleAdmin, "POST", "/v1/reconciliations", c.body)
		if code, field := r.errorCode(t); r.Status != http.StatusBadRequest || code != c.code || field != "to" {
			t.Errorf("%s: %d %s, want 400 %s on to", c.name, r.Status, r.Body, c.code)
		}
	}
	// This server has no Temporal: windows that pass the checks are
	// answered 503, which the caller may retry.
	for _, body := range []any{
		nil,
		map[string]any{},
		map[string]any{"from": "2026-03-10T00:00:00Z"},
		map[string]any{"to": "2026-03-10T12:00:01Z"},                                 // the end of the current second: Stripe's times are whole seconds
		map[string]any{"from": "2025-12-07T12:00:00Z", "to": "2026-03-10T12:00:00Z"}, // 93 days, ending now
	} {
		r := e.do(refundflow.RoleAdmin, "POST", "/v1/reconciliations", body)
		if code, _ := r.errorCode(t); r.Status != http.StatusServiceUnavailable || code != "temporal_unavailable" {
			t.Errorf("%v: %d %s, want 503 temporal_unavailable", body, r.Status, r.Body)
		}
	}
}

// seedRetained is a case a retention offer kept.
func seedRetained(t *testing.T, e *env, orderID string, amount int64) {
	t.Helper()
	seedOrder(t, e, orderID, amount)
	ctx := context.Background()
	order, err := e.db.GetOrder(ctx, orderID)
	if err != nil {
		t.Fatal(err)
	}
	id := "rf-" + orderID
	if _, err := e.db.InsertRefund(ctx, postgres.NewRefund{ID: id, Order: order, Reason: policy.ReasonNotAsExpected, SubmittedBy: "k", RequestHash: []byte(id)}); err != nil {
		t.Fatal(err)
	}
	closed := time.Now()
	if err := e.db.RecordStep(ctx, refund.Step{RefundID: id, Seq: 1, At: closed, Actor: refundflow.SystemActor, Event: "offer_accepted",
		Snapshot: refund.Snapshot{Status: refundflow.StatusRetained, Amount: &amount, ClosedAt: &closed}}, notify.Outbox{}); err != nil {
		t.Fatal(err)
	}
}

func decodeInto(t *testing.T, b []byte, v any) {
	t.Helper()
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%v\n%s", err, b)
	}
}

func readCSV(t *testing.T, r response) [][]string {
	t.Helper()
	if r.Status != http.StatusOK || r.Header.Get("Content-Type") != "text/csv; charset=utf-8" {
		t.Fatalf("%d %s %s", r.Status, r.Header.Get("Content-Type"), r.Body)
	}
	rows, err := csv.NewReader(bytes.NewReader(r.Body)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return rows
}
