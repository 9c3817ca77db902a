package console

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.temporal.io/sdk/client"

	"github.com/refundflow/refundflow"
	"github.com/refundflow/refundflow/api"
	"github.com/refundflow/refundflow/cases"
	"github.com/refundflow/refundflow/postgres"
	"github.com/refundflow/refundflow/postgres/pgtest"
	"github.com/refundflow/refundflow/sla"
	"github.com/refundflow/refundflow/web"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// consoleEnv is the console as app.RunAPI serves it — under the API's
// router, its commands and reports the API's own — on a fresh database,
// with a key per role. Temporal is unreachable: what gets as far as a
// workflow is refused as unavailable.
type consoleEnv struct {
	t        testing.TB
	db       *postgres.DB
	api      *api.Server
	console  *Server
	http     http.Handler
	registry *prometheus.Registry
	keys     map[refundflow.Role]string
	tokens   map[refundflow.Role]string // session cookies, once signed in
}

func newConsoleEnv(t testing.TB) *consoleEnv {
	t.Helper()
	db := pgtest.Open(t)
	tc, err := client.NewLazyClient(client.Options{HostPort: "127.0.0.1:1"})
	if err != nil {
		t.Fatal(err)
	}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	reg := prometheus.NewRegistry()
	srv := &api.Server{Service: &cases.Service{DB: db, Temporal: tc, Logger: logger}, Registry: reg}
	srv.Throttle = web.NewAuthThrottle(reg, logger)
	cs := &Server{DB: db, Commands: srv, Reports: srv, Logger: logger, Throttle: srv.Throttle, DevOutbox: true,
		TemporalUIURL: "http://127.0.0.1:8233", Namespace: "default"}
	srv.Console = cs.Handler()
	e := &consoleEnv{t: t, db: db, api: srv, console: cs, http: srv.Handler(), registry: reg,
		keys: map[refundflow.Role]string{}, tokens: map[refundflow.Role]string{}}
	for _, role := range refundflow.Roles {
		_, secret, err := db.CreateAPIKey(context.Background(), string(role)+"-console", role, nil)
		if err != nil {
			t.Fatal(err)
		}
		e.keys[role] = secret
	}
	return e
}

// request is one request to the console; from is the client address.
type request struct {
	method, path string
	as           refundflow.Role // "" = signed out
	form         url.Values      // a POST's fields; the session's form token is added
	from         string
	header       map[string]string
}

// send serves r. It does not use e.t once every role has signed in, so a
// fuzz target may call it.
func (e *consoleEnv) send(r request) *httptest.ResponseRecorder {
	var body io.Reader
	if r.method == http.MethodPost {
		form := url.Values{}
		for k, v := range r.form {
			form[k] = v
		}
		if r.as != "" && form.Get("csrf") == "" {
			form.Set("csrf", (&session{token: e.signIn(r.as)}).csrf())
		}
		body = strings.NewReader(form.Encode())
	}
	req := httptest.NewRequest(r.method, "http://console.test"+r.path, body)
	if r.method == http.MethodPost {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if r.from != "" {
		req.RemoteAddr = r.from + ":40000"
	}
	if r.as != "" {
		req.AddCookie(&http.Cookie{Name: sessionCookie, Value: e.signIn(r.as)})
	}
	for k, v := range r.header {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	e.http.ServeHTTP(rec, req)
	return rec
}

// signIn signs role in once and returns its session's cookie.
func (e *consoleEnv) signIn(role refundflow.Role) string {
	if tok, ok := e.tokens[role]; ok {
		return tok
	}
	e.t.Helper()
	req := httptest.NewRequest("POST", "http://console.test/console/signin", strings.NewReader(url.Values{"key": {e.keys[role]}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	rec := httptest.NewRecorder()
	e.http.ServeHTTP(rec, req)
	for _, c := range rec.Result().Cookies() {
		if c.Name == sessionCookie && c.Value != "" {
			e.tokens[role] = c.Value
			return c.Value
		}
	}
	e.t.Fatalf("%s could not sign in: %d %s", role, rec.Code, rec.Body)
	return ""
}

// openTicket stores a ticket as POST /v1/tickets does before its workflow
// starts (Temporal is down here).
func (e *consoleEnv) openTicket(id string) {
	e.t.Helper()
	if _, err := e.db.OpenTicket(context.Background(), postgres.NewTicket{ID: id, Tier: sla.Paid, Priority: sla.Normal,
		LearnerID: "l-1", Subject: "s", Body: "b", OpenedAt: time.Now(), Level: 1}); err != nil {
		e.t.Fatal(err)
	}
}

// location is a redirect's target, parsed.
func location(t testing.TB, rec *httptest.ResponseRecorder) *url.URL {
	t.Helper()
	if rec.Code != http.StatusSeeOther {
		t.Fatalf("want a redirect, got %d %s", rec.Code, rec.Body)
	}
	u, err := url.Parse(rec.Header().Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	return u
}
