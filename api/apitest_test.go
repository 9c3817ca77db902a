package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/refundflow/refundflow"
	"github.com/refundflow/refundflow/api"
	"github.com/refundflow/refundflow/cases"
	"github.com/refundflow/refundflow/postgres"
	"github.com/refundflow/refundflow/postgres/pgtest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// env is one API server on a fresh database with a key per role.
type env struct {
	t      testing.TB
	db     *postgres.DB
	srv    *api.Server
	http   http.Handler
	keys   map[refundflow.Role]string
	router routers.Router
}

func newEnv(t testing.TB) *env {
	t.Helper()
	db := pgtest.Open(t)
	srv := &api.Server{
		Service:  &cases.Service{DB: db, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))},
		Registry: prometheus.NewRegistry(),
	}
	e := &env{t: t, db: db, srv: srv, http: srv.Handler(), keys: map[refundflow.Role]string{}, router: openAPIRouter(t)}
	for _, role := range refundflow.Roles {
		_, secret, err := db.CreateAPIKey(context.Background(), string(role)+"-test", role, nil)
		if err != nil {
			t.Fatal(err)
		}
		e.keys[role] = secret
	}
	return e
}

func openAPIRouter(t testing.TB) routers.Router {
	t.Helper()
	doc, err := openapi3.NewLoader().LoadFromData(api.OpenAPI)
	if err != nil {
		t.Fatal(err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("openapi.yaml is not valid OpenAPI 3: %v", err)
	}
	doc.Servers = nil // match requests on any host
	r, err := gorillamux.NewRouter(doc)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

type response struct {
	Status int
	Body   []byte
	Header http.Header
}

func (r response) json(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.Body, &m); err != nil {
		t.Fatalf("response is not a JSON object: %v\n%s", err, r.Body)
	}
	return m
}

// errorCode returns error.code and error.field of an error response.
func (r response) errorCode(t testing.TB) (code, field string) {
	t.Helper()
	e, _ := r.json(t)["error"].(map[string]any)
	if e == nil {
		t.Fatalf("not an error response: %s", r.Body)
	}
	code, _ = e["code"].(string)
	field, _ = e["field"].(string)
	return code, field
}

// do sends a request as role ("" = no key) and checks the response
// against the OpenAPI document: every documented route must answer with a
// documented status and a body of the documented shape.
func (e *env) do(role refundflow.Role, method, path string, body any) response {
	e.t.Helper()
	auth := ""
	if role != "" {
		auth = "Bearer " + e.keys[role]
	}
	return e.doAuth(auth, method, path, body)
}

// doAuth is do with a raw Authorization header ("" = none).
func (e *env) doAuth(auth, method, path string, body any) response {
	e.t.Helper()
	var raw []byte
	switch b := body.(type) {
	case nil:
	case string:
		raw = []byte(b)
	case []byte:
		raw = b
	default:
		var err error
		if raw, err = json.Marshal(b); err != nil {
			e.t.Fatal(err)
		}
	}
	req := httptest.NewRequest(method, path, bytes.NewReader(raw))
	if raw != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	rec := httptest.NewRecorder()
	e.http.ServeHTTP(rec, req)
	res := response{Status: rec.Code, Body: rec.Body.Bytes(), Header: rec.Header()}
	e.checkContract(method, path, res)
	return res
}

// checkContract fails the test when a response breaks the OpenAPI document.
func (e *env) checkContract(method, path string, res response) {
	e.t.Helper()
	if err := e.contractError(method, path, res); err != nil {
		e.t.Fatal(err)
	}
}

// contractError says how a response breaks the OpenAPI document, if it does.
func (e *env) contractError(method, path string, res response) error {
	req := httptest.NewRequest(method, path, nil)
	route, params, err := e.router.FindRoute(req)
	if err != nil {
		if res.Status == http.StatusNotFound || res.Status == http.StatusMethodNotAllowed {
			return nil // an undocumented path is allowed to be missing
		}
		return fmt.Errorf("%s %s answered %d but is not in the OpenAPI document: %v", method, path, res.Status, err)
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{
			Request: req, PathParams: params, Route: route,
			Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc},
		},
		Status: res.Status,
		Header: res.Header,
		Body:   io.NopCloser(bytes.NewReader(res.Body)),
		Options: &openapi3filter.Options{
			IncludeResponseStatus: true,
			MultiError:            true,
		},
	}
	if !strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") {
		return nil // the document describes JSON bodies; YAML, CSV and metrics are text
	}
	if err := openapi3filter.ValidateResponse(context.Background(), in); err != nil {
		return fmt.Errorf("%s %s: response %d does not match the OpenAPI document: %v\n%s", method, path, res.Status, err, res.Body)
	}
	return nil
}
