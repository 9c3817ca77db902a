package console

import (
	"net/http"
	"net/url"
	"slices"
	"sort"
	"testing"

	"github.com/refundflow/refundflow"
)

// staff are the roles that sign in to the console.
var staff = []refundflow.Role{agent, approver, admin}

// Every console page and form, for each role and signed out: a role the
// API allows that work gets the page (or, for a form, its redirect back
// with the outcome), any other is refused 403, and without a session the
// browser is sent to sign in. The API's roles are the console's
// (refundflow.ReadCases, DecideCases, WorkTickets, ...): an admin read
// tickets here that the API gave 403 for.
func TestRoleRouteMatrix(t *testing.T) {
	e := newConsoleEnv(t)
	// ok is the status a role the route allows gets: the ids here belong
	// to nothing, so a page is 404 and a form redirects with not_found.
	matrix := []struct {
		method, pattern, path string
		allowed               []refundflow.Role // nil: every signed-in role
		ok                    int
	}{
		{"GET", "/console/{$}", "/console/", nil, http.StatusSeeOther},
		{"POST", "/console/signout", "/console/signout", nil, http.StatusSeeOther},
		{"GET", "/console/queue", "/console/queue", staff, http.StatusOK},
		{"GET", "/console/refunds/{id}", "/console/refunds/rf-x", staff, http.StatusNotFound},
		{"POST", "/console/refunds/{id}/approve", "/console/refunds/rf-x/approve", refundflow.DecideCases, http.StatusSeeOther},
		{"POST", "/console/refunds/{id}/reject", "/console/refunds/rf-x/reject", refundflow.DecideCases, http.StatusSeeOther},
		{"GET", "/console/tickets", "/console/tickets", refundflow.WorkTickets, http.StatusOK},
		{"GET", "/console/tickets/{id}", "/console/tickets/tk-x", refundflow.WorkTickets, http.StatusNotFound},
		{"POST", "/console/tickets/{id}/messages", "/console/tickets/tk-x/messages", refundflow.WorkTickets, http.StatusSeeOther},
		{"POST", "/console/tickets/{id}/status", "/console/tickets/tk-x/status", refundflow.WorkTickets, http.StatusSeeOther},
		{"GET", "/console/outages", "/console/outages", refundflow.ManageOutages, http.StatusOK},
		{"POST", "/console/outages/{id}/remediate", "/console/outages/out-x/remediate", refundflow.ManageOutages, http.StatusSeeOther},
		{"POST", "/console/outages/{id}/cancel", "/console/outages/out-x/cancel", refundflow.ManageOutages, http.StatusSeeOther},
		{"GET", "/console/finance", "/console/finance", refundflow.ReadReports, http.StatusOK},
		{"GET", "/console/finance/refunds.csv", "/console/finance/refunds.csv", refundflow.ReadReports, http.StatusOK},
		{"GET", "/console/finance/ledger.csv", "/console/finance/ledger.csv", refundflow.ReadReports, http.StatusOK},
		{"GET", "/console/finance/reconciliation.csv", "/console/finance/reconciliation.csv", refundflow.ReadReports, http.StatusOK},
		{"POST", "/console/finance/reconcile", "/console/finance/reconcile", refundflow.RunReconciliations, http.StatusSeeOther},
		{"GET", "/console/analytics", "/console/analytics", refundflow.ReadReports, http.StatusOK},
		{"GET", "/console/analytics/courses.csv", "/console/analytics/courses.csv", refundflow.ReadReports, http.StatusOK},
		{"GET", "/console/analytics/sla.csv", "/console/analytics/sla.csv", refundflow.ReadReports, http.StatusOK},
		{"GET", "/console/outbox", "/console/outbox", staff, http.StatusOK},
		{"GET", "/console/webhooks", "/console/webhooks", refundflow.RedeliverWebhooks, http.StatusOK},
		{"POST", "/console/webhooks/{id}/redeliver", "/console/webhooks/whd_999/redeliver", refundflow.RedeliverWebhooks, http.StatusSeeOther},
		{"POST", "/console/webhooks/redeliver-failed", "/console/webhooks/redeliver-failed", refundflow.RedeliverWebhooks, http.StatusSeeOther},
	}
	// Pages anyone may open, signed in or not.
	public := []struct {
		method, pattern, path string
		form                  url.Values
		status                int
	}{
		{"GET", "/console/static/", "/console/static/app.css", nil, http.StatusOK},
		{"GET", "/console/signin", "/console/signin", nil, http.StatusOK},
		{"POST", "/console/signin", "/console/signin", url.Values{"key": {"rfk_unknown"}}, http.StatusUnauthorized},
		{"POST", "/console/lang", "/console/lang", url.Values{"lang": {"en"}}, http.StatusSeeOther},
	}

	var tested, served []string
	for _, r := range e.console.routes() {
		served = append(served, r.method+" "+r.pattern)
	}
	for _, m := range matrix {
		tested = append(tested, m.method+" "+m.pattern)
		for _, role := range append([]refundflow.Role{""}, staff...) {
			allowed := role != "" && (m.allowed == nil || slices.Contains(m.allowed, role))
			if allowed && m.method == "POST" {
				forged := e.send(request{method: m.method, path: m.path, as: role, form: url.Values{"csrf": {"forged"}}})
				if forged.Code != http.StatusForbidden {
					t.Errorf("%s %s as %s without the form token: %d, want 403", m.method, m.path, role, forged.Code)
				}
			}
			rec := e.send(request{method: m.method, path: m.path, as: role})
			if m.pattern == "/console/signout" {
				delete(e.tokens, role)
			}
			switch {
			case role == "":
				if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/console/signin" {
					t.Errorf("%s %s signed out: %d to %q, want 303 to /console/signin", m.method, m.path, rec.Code, rec.Header().Get("Location"))
				}
			case allowed:
				if rec.Code != m.ok {
					t.Errorf("%s %s as %s: %d, want %d\n%s", m.method, m.path, role, rec.Code, m.ok, rec.Body)
				}
			default:
				if rec.Code != http.StatusForbidden {
					t.Errorf("%s %s as %s: %d, want 403", m.method, m.path, role, rec.Code)
				}
			}
		}
	}
	for _, p := range public {
		tested = append(tested, p.method+" "+p.pattern)
		for _, role := range append([]refundflow.Role{""}, staff...) {
			if rec := e.send(request{method: p.method, path: p.path, as: role, form: p.form}); rec.Code != p.status {
				t.Errorf("%s %s as %q: %d, want %d", p.method, p.path, role, rec.Code, p.status)
			}
		}
	}
	// The platform's key belongs to its backend: it cannot sign in at all.
	rec := e.send(request{method: "POST", path: "/console/signin", form: url.Values{"key": {e.keys[refundflow.RolePlatform]}}})
	if rec.Code != http.StatusForbidden || len(rec.Result().Cookies()) != 0 {
		t.Errorf("a platform key signing in: %d %v", rec.Code, rec.Result().Cookies())
	}
	sort.Strings(tested)
	sort.Strings(served)
	if !slices.Equal(tested, served) {
		t.Errorf("the matrix and the console's routes differ:\ntested: %v\nserved: %v", tested, served)
	}
}
