// Package console is the web console where approvers, support agents,
// finance and ops work: server-rendered pages (html/template, every asset
// embedded, no CDN) in zh-CN and en under /console, signed in with an API
// key. A page shows only what the key's role may see and do; commands go
// through the same code as the HTTP API (Commands), so the console can do
// nothing the API would refuse.
package console

import (
	"context"
	"embed"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/refundflow/refundflow"
	"github.com/refundflow/refundflow/cases"
	"github.com/refundflow/refundflow/postgres"
	"github.com/refundflow/refundflow/web"
)

//go:embed templates/*.html
var templateFiles embed.FS

//go:embed static
var staticFiles embed.FS

// Commands are the state changes the console can ask for; *cases.Service
// implements them, checking what it is asked whoever asks (the API calls
// the same methods).
type Commands interface {
	ApproveRefund(ctx context.Context, key *refundflow.APIKey, id string, amount *int64, note string) (*postgres.RefundCase, error)
	RejectRefund(ctx context.Context, key *refundflow.APIKey, id, reason string) (*postgres.RefundCase, error)
	PostTicketMessage(ctx context.Context, key *refundflow.APIKey, id string, author refundflow.MessageAuthor, body string) (*postgres.Ticket, error)
	SetTicketStatus(ctx context.Context, key *refundflow.APIKey, id string, status refundflow.TicketStatus) (*postgres.Ticket, error)
	RemediateOutage(ctx context.Context, key *refundflow.APIKey, id, mode string) (*refundflow.Outage, error)
	CancelRemediation(ctx context.Context, id string) (*refundflow.Outage, error)
	StartReconciliation(ctx context.Context, from, to *time.Time) (*cases.ReconciliationStarted, error)
}

// Reports are the figures the console shows and exports; *cases.Service
// computes them for the API's reports too, so a page and its CSV say what
// GET /v1/reports/... says.
type Reports interface {
	ParseReportWindow(q url.Values) (cases.ReportWindow, error)
	RefundsReport(ctx context.Context, w cases.ReportWindow) (*cases.RefundsReport, error)
	LedgerReport(ctx context.Context, w cases.ReportWindow) (*cases.LedgerReport, error)
	ReconciliationReport(ctx context.Context, runID string) (*cases.ReconciliationReport, error)
	CoursesReport(ctx context.Context) (*cases.CoursesReport, error)
	SLAReport(ctx context.Context, w cases.ReportWindow) (*cases.SLAReport, error)
	DescribeOutages(ctx context.Context, list []*refundflow.Outage) ([]*cases.OutageStatus, error)
}

// Server serves the console.
type Server struct {
	DB       *postgres.DB
	Commands Commands
	Reports  Reports
	// TemporalUIURL and Namespace build the links into the Temporal UI.
	TemporalUIURL string
	Namespace     string
	// DevOutbox says emails stay in the sink (no SMTP server configured):
	// the outbox page says so.
	DevOutbox bool
	Logger    *slog.Logger
	Now       func() time.Time
	// Throttle counts failed sign-ins per client address: the API's, so
	// that bad keys tried on either count together. Without one, Handler
	// makes its own, whose metrics go nowhere.
	Throttle *web.AuthThrottle

	pages *pages
	// pageRoles is who may open each page (its GET route's allowed), for
	// the menu.
	pageRoles map[string][]refundflow.Role
}

const (
	agent    = refundflow.RoleAgent
	approver = refundflow.RoleApprover
	admin    = refundflow.RoleAdmin
)

// staffRoles may use a console page whose work has no API route of its
// own: every role that signs in.
var staffRoles = []refundflow.Role{agent, approver, admin}

// route is one console page or form. Who may use it is the API's rule for
// the same work (refundflow.ReadCases, ...); a nil allowed is any
// signed-in key; a public route needs no session.
type route struct {
	method, pattern string
	allowed         []refundflow.Role
	public          http.HandlerFunc
	handler         handler
}

// routes lists every page and form of the console.
func (s *Server) routes() []route {
	rs := []route{
		{method: "GET", pattern: "/console/static/", public: serveStatic()},
		{method: "GET", pattern: "/console/signin", public: s.signinPage},
		{method: "POST", pattern: "/console/signin", public: s.signin},
		{method: "POST", pattern: "/console/lang", public: s.setLanguage},
		{method: "POST", pattern: "/console/signout", handler: s.signout},
		{method: "GET", pattern: "/console/{$}", handler: s.home},
		{method: "GET", pattern: "/console/queue", allowed: refundflow.ReadCases, handler: s.queue},
		{method: "GET", pattern: "/console/refunds/{id}", allowed: refundflow.ReadCases, handler: s.casePage},
		{method: "POST", pattern: "/console/refunds/{id}/approve", allowed: refundflow.DecideCases, handler: s.approve},
		{method: "POST", pattern: "/console/refunds/{id}/reject", allowed: refundflow.DecideCases, handler: s.reject},
		{method: "GET", pattern: "/console/tickets", allowed: refundflow.WorkTickets, handler: s.ticketBoard},
		{method: "GET", pattern: "/console/tickets/{id}", allowed: refundflow.WorkTickets, handler: s.ticketPage},
		{method: "POST", pattern: "/console/tickets/{id}/messages", allowed: refundflow.WorkTickets, handler: s.replyToTicket},
		{method: "POST", pattern: "/console/tickets/{id}/status", allowed: refundflow.WorkTickets, handler: s.setTicketStatus},
		{method: "GET", pattern: "/console/outages", allowed: refundflow.ManageOutages, handler: s.outages},
		{method: "POST", pattern: "/console/outages/{id}/remediate", allowed: refundflow.ManageOutages, handler: s.remediate},
		{method: "POST", pattern: "/console/outages/{id}/cancel", allowed: refundflow.ManageOutages, handler: s.cancelRemediation},
		{method: "GET", pattern: "/console/finance", allowed: refundflow.ReadReports, handler: s.finance},
		{method: "GET", pattern: "/console/finance/refunds.csv", allowed: refundflow.ReadReports, handler: windowCSV(s, Reports.RefundsReport)},
		{method: "GET", pattern: "/console/finance/ledger.csv", allowed: refundflow.ReadReports, handler: windowCSV(s, Reports.LedgerReport)},
		{method: "GET", pattern: "/console/finance/reconciliation.csv", allowed: refundflow.ReadReports, handler: s.reconciliationCSV},
		{method: "POST", pattern: "/console/finance/reconcile", allowed: refundflow.RunReconciliations, handler: s.reconcile},
		{method: "GET", pattern: "/console/analytics", allowed: refundflow.ReadReports, handler: s.analytics},
		{method: "GET", pattern: "/console/analytics/courses.csv", allowed: refundflow.ReadReports, handler: s.coursesCSV},
		{method: "GET", pattern: "/console/analytics/sla.csv", allowed: refundflow.ReadReports, handler: windowCSV(s, Reports.SLAReport)},
		{method: "GET", pattern: "/console/outbox", allowed: staffRoles, handler: s.outbox},
		{method: "GET", pattern: "/console/webhooks", allowed: refundflow.RedeliverWebhooks, handler: s.webhooks},
		{method: "POST", pattern: "/console/webhooks/{id}/redeliver", allowed: refundflow.RedeliverWebhooks, handler: s.redeliver},
		{method: "POST", pattern: "/console/webhooks/redeliver-failed", allowed: refundflow.RedeliverWebhooks, handler: s.redeliverFailed},
	}
	return rs
}

// serveStatic serves the embedded assets; a name no file can have (not
// UTF-8, dot segments) is not found, where the file server would answer
// 500.
func serveStatic() http.HandlerFunc {
	static, _ := fs.Sub(staticFiles, "static")
	files := http.StripPrefix("/console/static/", http.FileServerFS(static))
	return func(w http.ResponseWriter, r *http.Request) {
		if !fs.ValidPath(strings.TrimPrefix(r.URL.Path, "/console/static/")) {
			http.NotFound(w, r)
			return
		}
		files.ServeHTTP(w, r)
	}
}

// Handler builds the console's routes, all under /console.
func (s *Server) Handler() http.Handler {
	if s.Now == nil {
		s.Now = time.Now
	}
	if s.Throttle == nil {
		s.Throttle = web.NewAuthThrottle(nil, s.Logger)
	}
	s.pages = mustParsePages()
	s.pageRoles = map[string][]refundflow.Role{}
	mux := http.NewServeMux()
	for _, r := range s.routes() {
		if r.public != nil {
			mux.HandleFunc(r.method+" "+r.pattern, r.public)
			continue
		}
		mux.Handle(r.method+" "+r.pattern, s.auth(r.allowed, r.handler))
		if r.method == http.MethodGet {
			s.pageRoles[r.pattern] = r.allowed
		}
	}
	// Forms are only accepted from the console's own pages: the browser's
	// Fetch Metadata and Origin say where a request comes from.
	protection := http.NewCrossOriginProtection()
	return securityHeaders(protection.Handler(s.checkInput(mux)))
}

// securityHeaders keeps the pages from being framed, sniffed or made to
// run anything but our own script.
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "same-origin")
		h.Set("X-Frame-Options", "DENY")
		next.ServeHTTP(w, r)
	})
}

func (s *Server) home(w http.ResponseWriter, r *http.Request, _ *session) {
	http.Redirect(w, r, "/console/queue", http.StatusSeeOther)
}
