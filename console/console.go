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
	"time"

	"github.com/refundflow/refundflow"
	"github.com/refundflow/refundflow/api"
	"github.com/refundflow/refundflow/postgres"
)

//go:embed templates/*.html
var templateFiles embed.FS

//go:embed static
var staticFiles embed.FS

// Commands are the state changes the console can ask for; *api.Server
// implements them with the API's own validation.
type Commands interface {
	ApproveRefund(ctx context.Context, key *refundflow.APIKey, id string, amount *int64, note string) (*postgres.RefundCase, error)
	RejectRefund(ctx context.Context, key *refundflow.APIKey, id, reason string) (*postgres.RefundCase, error)
	PostTicketMessage(ctx context.Context, key *refundflow.APIKey, id string, author refundflow.MessageAuthor, body string) (*postgres.Ticket, error)
	SetTicketStatus(ctx context.Context, key *refundflow.APIKey, id string, status refundflow.TicketStatus) (*postgres.Ticket, error)
	RemediateOutage(ctx context.Context, key *refundflow.APIKey, id, mode string) (*refundflow.Outage, error)
	CancelRemediation(ctx context.Context, id string) (*refundflow.Outage, error)
	StartReconciliation(ctx context.Context, from, to *time.Time) (*api.ReconciliationStarted, error)
}

// Reports are the figures the console shows and exports; *api.Server
// computes them with the code of the API's reports, so a page and its
// CSV say what GET /v1/reports/... says.
type Reports interface {
	ParseReportWindow(q url.Values) (api.ReportWindow, error)
	RefundsReport(ctx context.Context, w api.ReportWindow) (*api.RefundsReport, error)
	LedgerReport(ctx context.Context, w api.ReportWindow) (*api.LedgerReport, error)
	ReconciliationReport(ctx context.Context, runID string) (*api.ReconciliationReport, error)
	CoursesReport(ctx context.Context) (*api.CoursesReport, error)
	SLAReport(ctx context.Context, w api.ReportWindow) (*api.SLAReport, error)
	DescribeOutages(ctx context.Context, list []*refundflow.Outage) ([]*api.OutageStatus, error)
}

// Server serves the console.
type Server struct {
	DB       *postgres.DB
	Commands Commands
	Reports  Reports
	// TemporalUIURL and Namespace build the links into the Temporal UI.
	TemporalUIURL string
	Namespace     string
	// DevOutbox shows the email sink's messages (dev stack only).
	DevOutbox bool
	Logger    *slog.Logger
	Now       func() time.Time

	pages *pages
}

const (
	agent    = refundflow.RoleAgent
	approver = refundflow.RoleApprover
	admin    = refundflow.RoleAdmin
)

// Handler builds the console's routes, all under /console.
func (s *Server) Handler() http.Handler {
	if s.Now == nil {
		s.Now = time.Now
	}
	s.pages = mustParsePages()
	mux := http.NewServeMux()
	static, _ := fs.Sub(staticFiles, "static")
	mux.Handle("GET /console/static/", http.StripPrefix("/console/static/", http.FileServerFS(static)))
	mux.HandleFunc("GET /console/signin", s.signinPage)
	mux.HandleFunc("POST /console/signin", s.signin)
	mux.HandleFunc("POST /console/lang", s.setLanguage)
	mux.Handle("POST /console/signout", s.auth(nil, s.signout))
	mux.Handle("GET /console/{$}", s.auth(nil, s.home))
	mux.Handle("GET /console/queue", s.auth(roles(agent, approver, admin), s.queue))
	mux.Handle("GET /console/refunds/{id}", s.auth(roles(agent, approver, admin), s.casePage))
	mux.Handle("POST /console/refunds/{id}/approve", s.auth(roles(approver, admin), s.approve))
	mux.Handle("POST /console/refunds/{id}/reject", s.auth(roles(approver, admin), s.reject))
	// Agents work tickets; admins see them (the API lets only agents write).
	mux.Handle("GET /console/tickets", s.auth(roles(agent, admin), s.ticketBoard))
	mux.Handle("GET /console/tickets/{id}", s.auth(roles(agent, admin), s.ticketPage))
	mux.Handle("POST /console/tickets/{id}/messages", s.auth(roles(agent), s.replyToTicket))
	mux.Handle("POST /console/tickets/{id}/status", s.auth(roles(agent), s.setTicketStatus))
	mux.Handle("GET /console/outages", s.auth(roles(admin), s.outages))
	mux.Handle("POST /console/outages/{id}/remediate", s.auth(roles(admin), s.remediate))
	mux.Handle("POST /console/outages/{id}/cancel", s.auth(roles(admin), s.cancelRemediation))
	mux.Handle("GET /console/finance", s.auth(roles(approver, admin), s.finance))
	mux.Handle("GET /console/finance/refunds.csv", s.auth(roles(approver, admin), windowCSV(s, Reports.RefundsReport)))
	mux.Handle("GET /console/finance/ledger.csv", s.auth(roles(approver, admin), windowCSV(s, Reports.LedgerReport)))
	mux.Handle("GET /console/finance/reconciliation.csv", s.auth(roles(approver, admin), s.reconciliationCSV))
	mux.Handle("POST /console/finance/reconcile", s.auth(roles(admin), s.reconcile))
	mux.Handle("GET /console/analytics", s.auth(roles(approver, admin), s.analytics))
	mux.Handle("GET /console/analytics/courses.csv", s.auth(roles(approver, admin), s.coursesCSV))
	mux.Handle("GET /console/analytics/sla.csv", s.auth(roles(approver, admin), windowCSV(s, Reports.SLAReport)))
	if s.DevOutbox {
		mux.Handle("GET /console/outbox", s.auth(roles(agent, approver, admin), s.outbox))
	}
	// Forms are only accepted from the console's own pages: the browser's
	// Fetch Metadata and Origin say where a request comes from.
	protection := http.NewCrossOriginProtection()
	return securityHeaders(protection.Handler(mux))
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

func roles(rs ...refundflow.Role) []refundflow.Role { return rs }

func (s *Server) home(w http.ResponseWriter, r *http.Request, _ *session) {
	http.Redirect(w, r, "/console/queue", http.StatusSeeOther)
}
