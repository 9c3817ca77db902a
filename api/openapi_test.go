package api_test

import (
	"context"
	"net/http"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/gin-gonic/gin"

	"github.com/refundflow/refundflow"
	"github.com/refundflow/refundflow/api"
)

var ginParam = regexp.MustCompile(`:([a-z_]+)`)

func loadDoc(t *testing.T) *openapi3.T {
	t.Helper()
	doc, err := openapi3.NewLoader().LoadFromData(api.OpenAPI)
	if err != nil {
		t.Fatal(err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return doc
}

// The document covers every route the server has, and documents none it
// does not have.
func TestOpenAPICoversEveryRoute(t *testing.T) {
	e := newEnv(t)
	doc := loadDoc(t)
	var served, documented []string
	for _, r := range e.http.(*gin.Engine).Routes() {
		if strings.HasPrefix(r.Path, "/console") {
			continue // the console's pages are HTML for people, not API
		}
		served = append(served, r.Method+" "+ginParam.ReplaceAllString(r.Path, "{$1}"))
	}
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			documented = append(documented, method+" "+path)
		}
	}
	sort.Strings(served)
	sort.Strings(documented)
	if !slices.Equal(served, documented) {
		t.Fatalf("routes and openapi.yaml differ:\nserved:     %v\ndocumented: %v", served, documented)
	}
}

// Every route that needs a key refuses a request without one, with a
// malformed, unknown or revoked one (401), and with a role the document
// does not list for it (403); the roles it lists get past authorization.
func TestAuthorizationMatrixFollowsTheDocumentedRoles(t *testing.T) {
	e := newEnv(t)
	// Hundreds of bad keys from one address are this test's method, not an
	// attack: the throttle has its own tests.
	e.srv.Throttle.Burst = 1 << 20
	doc := loadDoc(t)
	revoked, revokedSecret, err := e.db.CreateAPIKey(context.Background(), "gone", refundflow.RoleAdmin, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.db.RevokeAPIKey(context.Background(), revoked.ID); err != nil {
		t.Fatal(err)
	}
	pathParam := regexp.MustCompile(`\{[a-z_]+\}`)
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			raw, ok := op.Extensions["x-roles"]
			if !ok {
				if op.Security == nil || len(*op.Security) != 0 {
					t.Errorf("%s %s has neither x-roles nor security: []", method, path)
				}
				continue
			}
			var allowed []refundflow.Role
			for _, r := range raw.([]any) {
				allowed = append(allowed, refundflow.Role(r.(string)))
			}
			url := pathParam.ReplaceAllString(path, "matrix-id")
			name := method + " " + path
			for _, c := range []struct{ auth, code string }{
				{"", "missing_api_key"},
				{"Basic dXNlcjpwYXNz", "malformed_authorization"},
				{"Bearer", "malformed_authorization"},
				{"Bearer two words", "malformed_authorization"},
				{"Bearer rfk_unknown", "invalid_api_key"},
				{"Bearer " + revokedSecret, "invalid_api_key"},
			} {
				r := e.doAuth(c.auth, method, url, "{}")
				if code, _ := r.errorCode(t); r.Status != http.StatusUnauthorized || code != c.code {
					t.Errorf("%s with %q: %d %s, want 401 %s", name, c.auth, r.Status, code, c.code)
				}
			}
			for _, role := range refundflow.Roles {
				r := e.do(role, method, url, "{}")
				if slices.Contains(allowed, role) {
					if r.Status == http.StatusUnauthorized || r.Status == http.StatusForbidden {
						t.Errorf("%s as %s: %d, but the role is allowed\n%s", name, role, r.Status, r.Body)
					}
				} else if code, _ := r.errorCode(t); r.Status != http.StatusForbidden || code != "forbidden_role" {
					t.Errorf("%s as %s: %d %s, want 403 forbidden_role", name, role, r.Status, code)
				}
			}
		}
	}
}

// operationIDs are the names client generators give the operations: once
// published they do not change (a new operation adds a line here).
var operationIDs = map[string]string{
	"GET /healthz":                  "getLiveness",
	"GET /readyz":                   "getReadiness",
	"GET /metrics":                  "getMetrics",
	"GET /openapi.yaml":             "getOpenAPI",
	"PUT /v1/products/{id}":         "upsertProduct",
	"GET /v1/products/{id}":         "getProduct",
	"PUT /v1/orders/{id}":           "upsertOrder",
	"GET /v1/orders/{id}":           "getOrder",
	"POST /v1/orders/{id}/progress": "recordProgress",
	"POST /v1/refunds":              "createRefund",
	"GET /v1/refunds":               "listRefunds",
	"GET /v1/refunds/{id}":          "getRefund",
	"POST /v1/refunds/{id}/offers/{offer_id}/accept": "acceptOffer",
	"POST /v1/refunds/{id}/offers/decline":           "declineOffers",
	"POST /v1/refunds/{id}/approve":                  "approveRefund",
	"POST /v1/refunds/{id}/reject":                   "rejectRefund",
	"POST /v1/refunds/{id}/appeal":                   "appealRefund",
	"POST /v1/refunds/{id}/withdraw":                 "withdrawRefund",
	"GET /v1/learners/{id}/messages":                 "listLearnerMessages",
	"POST /v1/outages":                               "createOutage",
	"GET /v1/outages/{id}":                           "getOutage",
	"POST /v1/outages/{id}/remediate":                "remediateOutage",
	"POST /v1/outages/{id}/cancel":                   "cancelRemediation",
	"GET /v1/reports/courses":                        "getCoursesReport",
	"GET /v1/policies/{name}":                        "getPolicy",
	"PUT /v1/policies/{name}":                        "publishPolicy",
	"POST /v1/policies/evaluate":                     "evaluatePolicy",
	"POST /v1/policies/simulate":                     "simulatePolicy",
	"GET /v1/calendars/{name}":                       "getCalendar",
	"PUT /v1/calendars/{name}":                       "loadCalendar",
	"POST /v1/webhooks/stripe":                       "receiveStripeEvent",
	"GET /v1/reports/refunds":                        "getRefundsReport",
	"GET /v1/reports/ledger":                         "getLedgerReport",
	"GET /v1/reports/reconciliation":                 "getReconciliationReport",
	"POST /v1/reconciliations":                       "startReconciliation",
	"POST /v1/tickets":                               "createTicket",
	"GET /v1/tickets":                                "listTickets",
	"GET /v1/tickets/{id}":                           "getTicket",
	"POST /v1/tickets/{id}/messages":                 "addTicketMessage",
	"POST /v1/tickets/{id}/status":                   "setTicketStatus",
	"POST /v1/tickets/{id}/csat":                     "rateTicket",
	"GET /v1/sla-policies/{tier}":                    "getSLAPolicy",
	"PUT /v1/sla-policies/{tier}":                    "replaceSLAPolicy",
	"GET /v1/reports/sla":                            "getSLAReport",
	"GET /v1/events":                                 "listEvents",
	"GET /v1/webhook-deliveries":                     "listWebhookDeliveries",
	"POST /v1/webhook-deliveries/{id}/redeliver":     "redeliverWebhook",
}

var camelCase = regexp.MustCompile(`^[a-z][a-zA-Z0-9]*$`)

// Every operation keeps its operationId, names a tag the document
// defines, and says how it refuses a request (a 4xx).
func TestEveryOperationHasItsStableOperationIDATagAndA4xx(t *testing.T) {
	doc := loadDoc(t)
	tags := map[string]bool{}
	for _, tag := range doc.Tags {
		tags[tag.Name] = true
	}
	seen := map[string]bool{}
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			name := method + " " + path
			seen[name] = true
			if want, ok := operationIDs[name]; !ok {
				t.Errorf("%s (operationId %q) is new: add it to operationIDs", name, op.OperationID)
			} else if op.OperationID != want {
				t.Errorf("%s: operationId %q, want %q — generated clients call it that", name, op.OperationID, want)
			}
			if !camelCase.MatchString(op.OperationID) {
				t.Errorf("%s: operationId %q is not camelCase", name, op.OperationID)
			}
			if len(op.Tags) == 0 {
				t.Errorf("%s: no tag", name)
			}
			for _, tag := range op.Tags {
				if !tags[tag] {
					t.Errorf("%s: tag %q is not among the document's tags", name, tag)
				}
			}
			has4xx := false
			for code := range op.Responses.Map() {
				has4xx = has4xx || strings.HasPrefix(code, "4")
			}
			if !has4xx {
				t.Errorf("%s: no 4xx response", name)
			}
		}
	}
	for name := range operationIDs {
		if !seen[name] {
			t.Errorf("%s is gone from the document, and with it a client method", name)
		}
	}
}
