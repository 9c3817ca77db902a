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
