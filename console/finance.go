package console

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/refundflow/refundflow"
	"github.com/refundflow/refundflow/cases"
	"github.com/refundflow/refundflow/ledger"
	"github.com/refundflow/refundflow/workflows"
)

// reportZones are the time zones a report's days can be cut in.
var reportZones = []string{"Asia/Shanghai", "UTC"}

// windowForm is the report window a page shows, from its query: the days
// from, to and the time zone (Beijing time by default in Chinese). A bad
// window is reported and the default one shown.
type windowForm struct {
	cases.ReportWindow
	Error string
	Zones []string
}

// Link is path for the same days (a CSV export of the window).
func (w windowForm) Link(path string) string {
	return path + "?" + url.Values{"from": {w.From}, "to": {w.To}, "tz": {w.TZ}}.Encode()
}

func (s *Server) reportWindow(r *http.Request) (windowForm, error) {
	q := r.URL.Query()
	in := url.Values{}
	for _, k := range []string{"from", "to", "tz"} {
		if v := q.Get(k); v != "" {
			in.Set(k, v)
		}
	}
	zone := "UTC"
	if language(r) == "zh-CN" {
		zone = "Asia/Shanghai"
	}
	if in.Get("tz") == "" {
		in.Set("tz", zone)
	}
	form := windowForm{Zones: reportZones}
	w, err := s.Reports.ParseReportWindow(in)
	if err != nil {
		form.Error = err.Error()
		w, err = s.Reports.ParseReportWindow(url.Values{"tz": {zone}})
	}
	form.ReportWindow = w
	if !slices.Contains(form.Zones, w.TZ) {
		form.Zones = append(slices.Clone(form.Zones), w.TZ)
	}
	return form, err
}

type financePage struct {
	Window    windowForm
	Refunds   *cases.RefundsReport
	Clawbacks []clawbackRow
	Ledger    ledgerSummary
	// Reconciliation is the run just started from this page (RunID), else
	// the latest; its Run is nil before the first.
	Reconciliation *cases.ReconciliationReport
	RunID          string
	// Starting: the run RunID was started but has not recorded itself yet.
	Starting bool
	// Refresh asks the page to reload itself (seconds) until the run shown
	// has finished.
	Refresh      int
	Flash        *flash
	CanReconcile bool
}

type clawbackRow struct {
	Currency string
	cases.Clawback
}

// ledgerSummary is the journal per day × currency with one column per
// account: what each account moved (debit − credit).
type ledgerSummary struct {
	Accounts []string
	Rows     []ledgerDay
	Totals   []cases.LedgerTotal
}

type ledgerDay struct {
	Day, Currency string
	Net           []int64 // by Accounts
	Debit, Credit int64
}

// accountOrder is the order the ledger's accounts read in: the refund,
// where its money came from, then who bears what.
var accountOrder = []string{string(ledger.Refunds), string(ledger.StripeBalance), string(ledger.CreatorPayable),
	string(ledger.ApplicationFees), string(ledger.StripeFees), string(ledger.StripeFeesUnrecovered)}

func summarize(l *cases.LedgerReport) ledgerSummary {
	sum := ledgerSummary{Totals: l.Totals}
	for _, r := range l.Rows {
		if !slices.Contains(sum.Accounts, r.Account) {
			sum.Accounts = append(sum.Accounts, r.Account)
		}
	}
	slices.SortFunc(sum.Accounts, func(a, b string) int {
		ia, ib := slices.Index(accountOrder, a), slices.Index(accountOrder, b)
		switch {
		case ia < 0 && ib < 0:
			return strings.Compare(a, b)
		case ia < 0:
			return 1
		case ib < 0:
			return -1
		}
		return ia - ib
	})
	for _, r := range l.Rows {
		n := len(sum.Rows)
		if n == 0 || sum.Rows[n-1].Day != r.Day || sum.Rows[n-1].Currency != r.Currency {
			sum.Rows = append(sum.Rows, ledgerDay{Day: r.Day, Currency: r.Currency, Net: make([]int64, len(sum.Accounts))})
			n++
		}
		d := &sum.Rows[n-1]
		d.Net[slices.Index(sum.Accounts, r.Account)] += r.Net
		d.Debit += r.Debit
		d.Credit += r.Credit
	}
	return sum
}

// finance shows the money of a window: refunds per day × currency (full
// vs partial, retained, pending, failed), clawbacks per creator, the
// ledger per day × currency, and the latest reconciliation's findings,
// with the CSV exports of each.
func (s *Server) finance(w http.ResponseWriter, r *http.Request, sess *session) {
	ctx := r.Context()
	win, err := s.reportWindow(r)
	if err != nil {
		s.failPage(w, r, err)
		return
	}
	refunds, err := s.Reports.RefundsReport(ctx, win.ReportWindow)
	if err != nil {
		s.failPage(w, r, err)
		return
	}
	journal, err := s.Reports.LedgerReport(ctx, win.ReportWindow)
	if err != nil {
		s.failPage(w, r, err)
		return
	}
	q := r.URL.Query()
	page := financePage{Window: win, Refunds: refunds, Ledger: summarize(journal),
		RunID: runIDParam(q.Get("run")), Flash: readFlash(language(r), q, "", financeDone), CanReconcile: sess.can(refundflow.RunReconciliations...)}
	for _, t := range refunds.Totals {
		for _, c := range t.Clawbacks {
			page.Clawbacks = append(page.Clawbacks, clawbackRow{Currency: t.Currency, Clawback: c})
		}
	}
	recon, err := s.Reports.ReconciliationReport(ctx, page.RunID)
	if page.RunID != "" && refundflow.ErrorKind(err) == refundflow.ENOTFOUND {
		page.Starting = true
		recon, err = s.Reports.ReconciliationReport(ctx, "")
	}
	if err != nil {
		s.failPage(w, r, err)
		return
	}
	page.Reconciliation = recon
	if page.Starting || recon.Run != nil && recon.Run.FinishedAt == nil {
		page.Refresh = 3
	}
	s.render(w, r, sess, http.StatusOK, "finance", page)
}

// runIDParam is the reconciliation run a query names, "" for anything
// that is not a run's id (which then never reaches PostgreSQL).
func runIDParam(v string) string {
	name, ok := strings.CutPrefix(v, workflows.ReconcileWorkflowID(""))
	if !ok || !refundflow.ValidID(name) {
		return ""
	}
	return v
}

// reconcile starts a reconciliation of the page's days, up to now, through
// the API's own command, and shows the run.
func (s *Server) reconcile(w http.ResponseWriter, r *http.Request, _ *session) {
	win, err := s.reportWindow(r)
	if err != nil {
		s.failPage(w, r, err)
		return
	}
	q := url.Values{"from": {win.From}, "to": {win.To}, "tz": {win.TZ}}
	if win.Error != "" {
		s.redirectAfterPost(w, r, "/console/finance", q, "", refundflow.Errorf(refundflow.EINVALID, "invalid_window", "%s", win.Error))
		return
	}
	from, to := win.Start, &win.End
	if to.After(s.Now()) {
		to = nil // the days so far: the API ends the window now
	}
	started, err := s.Commands.StartReconciliation(r.Context(), &from, to)
	if err == nil {
		q.Set("run", started.RunID)
	}
	s.redirectAfterPost(w, r, "/console/finance", q, "reconciliation_started", err)
}

// The CSV exports answer with the API's CSV of the same report, for the
// signed-in session (the API's routes want a bearer key).

// windowCSV serves the CSV of a report over the window the query names
// (compute is a method expression of Reports, e.g. Reports.LedgerReport).
func windowCSV[R interface{ CSV() cases.CSV }](s *Server, compute func(Reports, context.Context, cases.ReportWindow) (R, error)) func(http.ResponseWriter, *http.Request, *session) {
	return func(w http.ResponseWriter, r *http.Request, _ *session) {
		win, ok := s.csvWindow(w, r)
		if !ok {
			return
		}
		rep, err := compute(s.Reports, r.Context(), win)
		if err != nil {
			s.failPage(w, r, err)
			return
		}
		rep.CSV().Serve(w)
	}
}

func (s *Server) reconciliationCSV(w http.ResponseWriter, r *http.Request, sess *session) {
	rep, err := s.Reports.ReconciliationReport(r.Context(), r.URL.Query().Get("run_id"))
	if refundflow.ErrorKind(err) == refundflow.ENOTFOUND {
		s.render(w, r, sess, http.StatusNotFound, "error", errorPage{Title: "not_found", Message: "no_reconciliation"})
		return
	}
	if err != nil {
		s.failPage(w, r, err)
		return
	}
	rep.CSV().Serve(w)
}

// csvWindow reads an export's window; a bad one is answered 400 with the
// API's explanation.
func (s *Server) csvWindow(w http.ResponseWriter, r *http.Request) (cases.ReportWindow, bool) {
	win, err := s.reportWindow(r)
	if err != nil {
		s.failPage(w, r, err)
		return cases.ReportWindow{}, false
	}
	if win.Error != "" {
		http.Error(w, win.Error, http.StatusBadRequest)
		return cases.ReportWindow{}, false
	}
	return win.ReportWindow, true
}
