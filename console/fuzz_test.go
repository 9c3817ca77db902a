package console

import (
	"context"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/refundflow/refundflow"
	"github.com/refundflow/refundflow/notify"
	"github.com/refundflow/refundflow/policy"
	"github.com/refundflow/refundflow/postgres"
	"github.com/refundflow/refundflow/refund"
)

// maxConsoleResponse bounds what any console request may answer: the
// pages of a fresh install are a few kilobytes, and no query or form
// field may blow one up (done=%999999[1]s answered 5 MB).
const maxConsoleResponse = 1 << 20

// FuzzConsole sends arbitrary path values, query strings and form fields,
// signed out and as each staff role with a valid form token, to every
// console route, as FuzzEveryRoute does for the API. There is a case, a
// ticket and a remediable outage for the forms to meet; Temporal is
// unreachable. Every answer is below 500 and at most maxConsoleResponse.
func FuzzConsole(f *testing.F) {
	e := newConsoleEnv(f)
	seedFuzzWorld(f, e)
	// Signing out would end the session the other inputs use.
	routes := slices.DeleteFunc(e.console.routes(), func(r route) bool { return r.pattern == "/console/signout" })
	seeds := []struct{ param, query, form string }{
		{"rf-1", "", "note=ok"},
		{"rf-1", "done=%25999999%5B1%5Ds&case=rf-1", "amount=100&note=x"},
		{"tk-1", "error=%25s%25s%25s&case=%3Cscript%3E", "body=hi&status=resolved"},
		{"out-1", "done=remediation_started&outage=out-1", "mode=refund"},
		{"out-1", "status=open&tier=vip&level=9&sla_state=breached", "mode=offer"},
		{"x", "from=2026-13-01&to=2020-01-01&tz=Mars%2FOlympus", "lang=zh-CN&back=%2F%5Cevil.example%2F"},
		{"x", "run_id=reconcile%2F%00", "key=rfk_x"},
		{"%00", "tz=%ff", "amount=99999999999999999999999&note=%00"},
		{"app.css", "", "reason=" + strings.Repeat("x", 3000)},
		{"whd_1", "done=redelivered&error=delivery_pending", "since=2026-03-05T10:00"},
		{"whd_99999999999999999999", "", "since=%25s%25s&since=2026-02-30T25:61"},
	}
	for i := range routes {
		for j, s := range seeds {
			f.Add(uint8(i), uint8(j), s.param, s.query, s.form)
		}
	}
	roles := append([]refundflow.Role{""}, staff...)
	for _, r := range staff {
		e.signIn(r)
	}
	f.Fuzz(func(t *testing.T, route, role uint8, param, query, form string) {
		r := routes[int(route)%len(routes)]
		as := roles[int(role)%len(roles)]
		path := strings.NewReplacer("{id}", url.PathEscape(param), "{$}", "").Replace(r.pattern)
		if strings.HasSuffix(r.pattern, "/static/") {
			path += url.PathEscape(param)
		}
		if q, err := url.ParseQuery(query); err == nil && len(q) > 0 {
			path += "?" + q.Encode()
		}
		fields, _ := url.ParseQuery(form)
		req := request{method: r.method, path: path, as: as, form: fields}
		rec := e.send(req)
		if rec.Code >= 500 {
			t.Fatalf("%s %s as %q with %q: %d\n%.2000s", r.method, path, as, form, rec.Code, rec.Body)
		}
		if n := rec.Body.Len(); n > maxConsoleResponse {
			t.Fatalf("%s %s as %q: %d bytes", r.method, path, as, n)
		}
	})
}

// seedFuzzWorld stores what the forms can act on: an order with a case
// awaiting approval, a ticket, an outage long enough to remediate, and a
// webhook delivery that failed.
func seedFuzzWorld(t testing.TB, e *consoleEnv) {
	t.Helper()
	ctx := context.Background()
	p := &refundflow.Product{ID: "c-1", Type: refundflow.RecordedCourse, Title: "=1+1", LessonsTotal: 10}
	if _, err := e.db.UpsertProduct(ctx, p); err != nil {
		t.Fatal(err)
	}
	o := &refundflow.Order{ID: "o-1", LearnerID: "l-1", LearnerEmail: "l@example.com", Locale: refundflow.LocaleEn, ProductID: "c-1",
		Amount: 19900, Currency: "CNY", PurchasedAt: time.Now().Add(-48 * time.Hour), PaymentIntent: "pi_1"}
	if _, err := e.db.UpsertOrder(ctx, o, postgres.DefaultPolicyV1); err != nil {
		t.Fatal(err)
	}
	if _, err := e.db.InsertRefund(ctx, postgres.NewRefund{ID: "rf-1", Order: o, Reason: policy.ReasonQualityIssue,
		SubmittedBy: "k", RequestHash: []byte("h")}); err != nil {
		t.Fatal(err)
	}
	if err := e.db.RecordStep(ctx, refund.Step{RefundID: "rf-1", Seq: 1, At: time.Now(), Actor: refundflow.SystemActor,
		Event: "awaiting_approval", Snapshot: refund.Snapshot{Status: refundflow.StatusAwaitingApproval}}, notify.Outbox{}); err != nil {
		t.Fatal(err)
	}
	e.openTicket("tk-1")
	ended := time.Now().Add(-time.Hour)
	started := ended.Add(-50 * time.Hour)
	if err := e.db.CreateOutage(ctx, &refundflow.Outage{ID: "out-1", StartedAt: started, EndedAt: &ended}); err != nil {
		t.Fatal(err)
	}
	failedDeliveries(t, e, time.Now())
	// The forms that reach Temporal must answer at once that it is down.
	start := time.Now()
	rec := e.send(request{method: "POST", path: "/console/refunds/rf-1/approve", as: approver})
	if u := location(t, rec); u.Query().Get("error") != "temporal_unavailable" || time.Since(start) > 10*time.Second {
		t.Fatalf("approving with Temporal down: %s after %s", u, time.Since(start))
	}
}
