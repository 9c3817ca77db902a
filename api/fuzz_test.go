package api_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/prometheus/client_golang/prometheus"
	"go.temporal.io/sdk/client"

	"github.com/refundflow/refundflow"
	"github.com/refundflow/refundflow/api"
)

type fuzzRoute struct{ method, path string }

// documentedRoutes lists every route of the OpenAPI document, sorted so
// that a fuzz input names the same route on every run.
func documentedRoutes(t testing.TB) []fuzzRoute {
	t.Helper()
	doc, err := openapi3.NewLoader().LoadFromData(api.OpenAPI)
	if err != nil {
		t.Fatal(err)
	}
	var out []fuzzRoute
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			out = append(out, fuzzRoute{method, path})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].method+out[i].path < out[j].method+out[j].path })
	return out
}

var pathParam = regexp.MustCompile(`\{[a-z_]+\}`)

// FuzzEveryRoute sends arbitrary bodies, path values and query strings,
// with every role's key and with none, to every documented route. Every
// JSON decoder of the API sits behind one of them. Bad input must get a 4xx
// that matches the document — never a 500, never a panic. Temporal is
// deliberately unreachable here: input that gets as far as a workflow must
// then be answered 503, a dependency failure the caller may retry.
func FuzzEveryRoute(f *testing.F) {
	e := newEnv(f)
	tc, err := client.NewLazyClient(client.Options{HostPort: "127.0.0.1:1"})
	if err != nil {
		f.Fatal(err)
	}
	e.srv.Temporal = tc
	e.srv.Registry = prometheus.NewRegistry()
	e.http = e.srv.Handler()
	e.do(platform, "PUT", "/v1/products/fz-course", recorded())
	e.do(platform, "PUT", "/v1/orders/fz-order", with(order(), "product_id", "fz-course", "purchased_at", time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)))

	routes := documentedRoutes(f)
	seeds := []string{
		``, `{}`, `[]`, `null`, `"x"`, `0`, `{"a":`, `{"id": 1}`,
		`{"order_id":"fz-order","reason":"changed_mind"}`,
		`{"order_id":"fz-order","reason":"changed_mind","evidence":["` + strings.Repeat("x", 3000) + `"]}`,
		`{"type":"recorded_course","title":"t","lessons_total":-1}`,
		`{"amount": 1e309, "currency": "CNY"}`,
		`{"amount": 9223372036854775808}`,
		`{"watched_ratio": "NaN"}`,
		`{"started_at":"2026-13-45T99:00:00Z"}`,
		`{"note":"` + "\u0000\ufffd" + `"}`,
		`{"reason":"` + strings.Repeat("长", 3000) + `"}`,
		`{"policy":{}, "from":"2026-01-01T00:00:00Z","to":"2025-01-01T00:00:00Z"}`,
		`{"now":"2026-01-01T00:00:00Z","reason":"other","order":{"amount":1,"currency":"CNY","purchased_at":"2026-01-01T00:00:00Z","product":{"type":"membership"}}}`,
	}
	for i := range routes {
		for j, body := range seeds {
			f.Add(uint16(i), uint8(j), body, "fz-order", "limit=0&cursor=%25%25")
		}
	}
	f.Fuzz(func(t *testing.T, route uint16, role uint8, body, param, query string) {
		r := routes[int(route)%len(routes)]
		if param == "" {
			param = "x"
		}
		path := pathParam.ReplaceAllString(r.path, url.PathEscape(param))
		target := path
		if q, err := url.ParseQuery(query); err == nil && len(q) > 0 {
			target += "?" + q.Encode()
		}
		req := httptest.NewRequest(r.method, "http://api.test"+target, bytes.NewReader([]byte(body)))
		req = req.WithContext(context.Background())
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Stripe-Signature", "t=1,v1="+url.QueryEscape(param))
		if int(role)%5 < len(refundflow.Roles) {
			req.Header.Set("Authorization", "Bearer "+e.keys[refundflow.Roles[int(role)%5]])
		}
		rec := httptest.NewRecorder()
		e.http.ServeHTTP(rec, req)
		res := response{Status: rec.Code, Body: rec.Body.Bytes(), Header: rec.Header()}
		switch {
		case r.path == "/readyz":
			// Not ready is the truthful answer while Temporal is down.
		case res.Status == http.StatusServiceUnavailable:
			if code, _ := res.errorCode(t); code != "temporal_unavailable" && code != "workflow_unavailable" {
				t.Fatalf("%s %s answered 503 %s for body %q", r.method, target, code, body)
			}
		case res.Status >= 500:
			t.Fatalf("%s %s answered %d for body %q: %s", r.method, target, res.Status, body, res.Body)
		}
		if err := e.contractError(r.method, path, res); err != nil {
			t.Fatal(err)
		}
	})
}
