package api

import (
	"context"
	"encoding/csv"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/refundflow/refundflow"
	"github.com/refundflow/refundflow/ledger"
	"github.com/refundflow/refundflow/postgres"
	"github.com/refundflow/refundflow/postgres/sqlgen"
)

// ReportWindow is the days a report covers, in its time zone.
type ReportWindow struct {
	From, To string // YYYY-MM-DD, both included
	TZ       string
	// Start is the midnight that begins From, End the one after To.
	Start, End time.Time
	csv        bool
}

// defaultReportDays is what a report covers without from/to.
const (
	defaultReportDays = 31
	maxReportDays     = 366
)

// ParseReportWindow reads ?from=&to= (dates), ?tz= (IANA, default UTC)
// and ?format= (json or csv).
func (s *Server) ParseReportWindow(q url.Values) (ReportWindow, error) {
	var pr refundflow.Problems
	w := ReportWindow{TZ: queryOr(q, "tz", "UTC")}
	loc, err := time.LoadLocation(w.TZ)
	if err != nil || w.TZ == "Local" || w.TZ == "" {
		// "Local" is this process's zone, which PostgreSQL does not know.
		pr.Add("tz", "invalid_time_zone", "must be an IANA time zone such as UTC or Asia/Shanghai")
		loc = time.UTC
	}
	w.csv = wantsCSV(q, &pr)
	today := s.Now().In(loc)
	to := time.Date(today.Year(), today.Month(), today.Day(), 0, 0, 0, 0, loc)
	from := to.AddDate(0, 0, -(defaultReportDays - 1))
	parse := func(field string, into *time.Time) {
		v := q.Get(field)
		if v == "" {
			return
		}
		d, err := time.ParseInLocation(time.DateOnly, v, loc)
		if err != nil {
			pr.Add(field, "invalid_date", "must be a date, YYYY-MM-DD")
			return
		}
		*into = d
	}
	parse("from", &from)
	parse("to", &to)
	switch {
	case q.Get("from") != "" && q.Get("to") == "":
		to = from.AddDate(0, 0, defaultReportDays-1)
	case q.Get("from") == "" && q.Get("to") != "":
		from = to.AddDate(0, 0, -(defaultReportDays - 1))
	}
	switch {
	case to.Before(from):
		pr.Add("to", "invalid_window", "must not be before from")
	case to.Sub(from) > maxReportDays*24*time.Hour:
		pr.Add("to", "window_too_long", "a report covers at most %d days", maxReportDays)
	}
	if err := pr.Err(); err != nil {
		return w, err
	}
	w.From, w.To = from.Format(time.DateOnly), to.Format(time.DateOnly)
	w.Start, w.End = from, to.AddDate(0, 0, 1)
	return w, nil
}

// wantsCSV reads a report's ?format= (json, the default, or csv).
func wantsCSV(q url.Values, pr *refundflow.Problems) bool {
	switch queryOr(q, "format", "json") {
	case "json":
		return false
	case "csv":
		return true
	default:
		pr.Add("format", "invalid_format", "must be json or csv")
		return false
	}
}

// queryOr is the first value of a query parameter that is present (even
// empty), else def.
func queryOr(q url.Values, key, def string) string {
	if vs := q[key]; len(vs) > 0 {
		return vs[0]
	}
	return def
}

// CountAmount is how many and how much, in minor units.
type CountAmount struct {
	Count  int64 `json:"count"`
	Amount int64 `json:"amount"`
}

func (ca *CountAmount) add(n, amount int64) {
	ca.Count += n
	ca.Amount += amount
}

// Clawback is what the refunds took back from one creator.
type Clawback struct {
	CreatorAccount string `json:"creator_account"`
	Count          int64  `json:"count"`
	Amount         int64  `json:"amount"`
}

// RefundFigures is one day (or the whole window) in one currency.
type RefundFigures struct {
	Day      string `json:"day,omitempty"`
	Currency string `json:"currency"`
	// Refunded is every refund booked (ours and adopted dashboard ones),
	// split into full and partial; Manual is the adopted ones.
	Refunded CountAmount `json:"refunded"`
	Full     CountAmount `json:"full"`
	Partial  CountAmount `json:"partial"`
	Manual   CountAmount `json:"manual"`
	// Reversed is refunds that failed after they were booked.
	Reversed CountAmount `json:"reversed"`
	// Retained is cases a retention offer kept: the revenue kept.
	Retained CountAmount `json:"retained"`
	// Pending is money still on its way; Failed, refunds that failed
	// before they were booked.
	Pending                 CountAmount `json:"pending"`
	Failed                  CountAmount `json:"failed"`
	ClawbackAmount          int64       `json:"clawback_amount"`
	Clawbacks               []Clawback  `json:"clawbacks"`
	ApplicationFeesReturned int64       `json:"application_fees_returned"`
	StripeFeesUnrecovered   int64       `json:"stripe_fees_unrecovered"`
}

func (f *RefundFigures) clawback(creator string, n, amount int64) {
	f.ClawbackAmount += amount
	for i := range f.Clawbacks {
		if f.Clawbacks[i].CreatorAccount == creator {
			f.Clawbacks[i].Count += n
			f.Clawbacks[i].Amount += amount
			return
		}
	}
	f.Clawbacks = append(f.Clawbacks, Clawback{CreatorAccount: creator, Count: n, Amount: amount})
}

// figures collects rows per day × currency, and per currency over the
// window.
type figures struct {
	days   map[[2]string]*RefundFigures
	totals map[string]*RefundFigures
}

func (fs *figures) each(day, currency string, fn func(*RefundFigures)) {
	k := [2]string{day, currency}
	if fs.days[k] == nil {
		fs.days[k] = &RefundFigures{Day: day, Currency: currency, Clawbacks: []Clawback{}}
	}
	if fs.totals[currency] == nil {
		fs.totals[currency] = &RefundFigures{Currency: currency, Clawbacks: []Clawback{}}
	}
	fn(fs.days[k])
	fn(fs.totals[currency])
}

// RefundsReport is the refund figures of a window: per day × currency,
// and per currency over the whole window.
type RefundsReport struct {
	Window ReportWindow
	Days   []RefundFigures
	Totals []RefundFigures
}

// refundsReport serves GET /v1/reports/refunds.
func (s *Server) refundsReport(c *gin.Context) {
	serveWindowReport(s, c, s.RefundsReport, func(r *RefundsReport) gin.H { return gin.H{"days": r.Days, "totals": r.Totals} })
}

// serveWindowReport serves a report over the window the query names
// (from, to, tz, format): its CSV, or its JSON body with the window.
func serveWindowReport[R interface{ CSV() CSV }](s *Server, c *gin.Context, compute func(context.Context, ReportWindow) (R, error), body func(R) gin.H) {
	w, err := s.ParseReportWindow(c.Request.URL.Query())
	if err != nil {
		s.fail(c, err)
		return
	}
	r, err := compute(c.Request.Context(), w)
	if err != nil {
		s.fail(c, err)
		return
	}
	if w.csv {
		r.CSV().Serve(c.Writer)
		return
	}
	out := body(r)
	out["from"], out["to"], out["tz"] = w.From, w.To, w.TZ
	c.JSON(http.StatusOK, out)
}

// RefundsReport computes refunds per day × currency — count and sum, full
// vs partial, revenue kept by retention offers, creator clawbacks, money
// pending, refunds failed — from the ledger and the cases.
func (s *Server) RefundsReport(ctx context.Context, w ReportWindow) (*RefundsReport, error) {
	q := s.DB.Queries()
	fs := &figures{days: map[[2]string]*RefundFigures{}, totals: map[string]*RefundFigures{}}
	booked, err := q.RefundLedgerReport(ctx, sqlgen.RefundLedgerReportParams{Tz: w.TZ, FromAt: w.Start, ToAt: w.End})
	if err != nil {
		return nil, err
	}
	for _, r := range booked {
		fs.each(r.Day, r.Currency, func(f *RefundFigures) {
			switch r.Kind {
			case "refund_succeeded", "manual_refund":
				f.Refunded.add(r.Transactions, r.Refunded)
				if r.RefundType == "full" {
					f.Full.add(r.Transactions, r.Refunded)
				} else {
					f.Partial.add(r.Transactions, r.Refunded)
				}
				if r.Kind == "manual_refund" {
					f.Manual.add(r.Transactions, r.Refunded)
				}
			case "refund_reversed":
				f.Reversed.add(r.Transactions, -r.Refunded)
			}
			if r.Clawback != 0 {
				f.clawback(r.Creator, r.Transactions, r.Clawback)
			}
			f.ApplicationFeesReturned += r.FeesReturned
			f.StripeFeesUnrecovered += r.FeesUnrecovered
		})
	}
	retained, err := q.RetainedReport(ctx, sqlgen.RetainedReportParams{Tz: w.TZ, FromAt: &w.Start, ToAt: &w.End})
	if err != nil {
		return nil, err
	}
	for _, r := range retained {
		fs.each(r.Day, r.Currency, func(f *RefundFigures) { f.Retained.add(r.Cases, r.Amount) })
	}
	attempts, err := q.AttemptReport(ctx, sqlgen.AttemptReportParams{Tz: w.TZ, FromAt: w.Start, ToAt: w.End})
	if err != nil {
		return nil, err
	}
	for _, r := range attempts {
		fs.each(r.Day, r.Currency, func(f *RefundFigures) {
			if r.State == "failed" {
				f.Failed.add(r.Attempts, r.Amount)
			} else {
				f.Pending.add(r.Attempts, r.Amount)
			}
		})
	}
	days := make([]RefundFigures, 0, len(fs.days))
	for _, f := range fs.days {
		days = append(days, *f)
	}
	sort.Slice(days, func(i, j int) bool {
		return days[i].Day < days[j].Day || days[i].Day == days[j].Day && days[i].Currency < days[j].Currency
	})
	totals := make([]RefundFigures, 0, len(fs.totals))
	for _, f := range fs.totals {
		totals = append(totals, *f)
	}
	sort.Slice(totals, func(i, j int) bool { return totals[i].Currency < totals[j].Currency })
	return &RefundsReport{Window: w, Days: days, Totals: totals}, nil
}

// CSV is the report in long form — one figure per row — so that a
// spreadsheet can pivot it, clawbacks per creator included.
func (r *RefundsReport) CSV() CSV {
	rows := [][]string{{"day", "currency", "metric", "creator_account", "count", "amount"}}
	i64 := func(v int64) string { return strconv.FormatInt(v, 10) }
	for _, d := range r.Days {
		for _, m := range []struct {
			name string
			v    CountAmount
		}{
			{"refunded", d.Refunded}, {"full", d.Full}, {"partial", d.Partial}, {"manual", d.Manual}, {"reversed", d.Reversed},
			{"retained", d.Retained}, {"pending", d.Pending}, {"failed", d.Failed},
		} {
			rows = append(rows, []string{d.Day, d.Currency, m.name, "", i64(m.v.Count), i64(m.v.Amount)})
		}
		for _, cb := range d.Clawbacks {
			rows = append(rows, []string{d.Day, d.Currency, "clawback", cb.CreatorAccount, i64(cb.Count), i64(cb.Amount)})
		}
		rows = append(rows,
			[]string{d.Day, d.Currency, "application_fees_returned", "", "", i64(d.ApplicationFeesReturned)},
			[]string{d.Day, d.Currency, "stripe_fees_unrecovered", "", "", i64(d.StripeFeesUnrecovered)})
	}
	return CSV{Filename: "refunds-" + r.Window.From + "-" + r.Window.To + ".csv", Rows: rows}
}

// LedgerRow is the postings of one day, currency, account and party.
type LedgerRow struct {
	Day      string `json:"day"`
	Currency string `json:"currency"`
	Account  string `json:"account"`
	Party    string `json:"party"`
	Debit    int64  `json:"debit"`
	Credit   int64  `json:"credit"`
	Net      int64  `json:"net"`
	Postings int64  `json:"postings"`
}

// LedgerTotal is a currency's debits and credits over the window.
type LedgerTotal struct {
	Currency string `json:"currency"`
	Debit    int64  `json:"debit"`
	Credit   int64  `json:"credit"`
	Balanced bool   `json:"balanced"`
}

// LedgerReport is the journal over a window.
type LedgerReport struct {
	Window ReportWindow
	Rows   []LedgerRow
	Totals []LedgerTotal
}

// ledgerReport serves GET /v1/reports/ledger.
func (s *Server) ledgerReport(c *gin.Context) {
	serveWindowReport(s, c, s.LedgerReport, func(r *LedgerReport) gin.H { return gin.H{"rows": r.Rows, "totals": r.Totals} })
}

// LedgerReport sums the journal's postings per day × currency × account
// (and creator), with each currency's debits and credits over the window,
// which always balance.
func (s *Server) LedgerReport(ctx context.Context, w ReportWindow) (*LedgerReport, error) {
	rows, err := s.DB.Queries().LedgerReport(ctx, sqlgen.LedgerReportParams{Tz: w.TZ, FromAt: w.Start, ToAt: w.End})
	if err != nil {
		return nil, err
	}
	out := make([]LedgerRow, 0, len(rows))
	totals := map[string]*LedgerTotal{}
	for _, r := range rows {
		out = append(out, LedgerRow{Day: r.Day, Currency: r.Currency, Account: r.Account, Party: r.Party,
			Debit: r.Debit, Credit: r.Credit, Net: r.Debit - r.Credit, Postings: r.Postings})
		t := totals[r.Currency]
		if t == nil {
			t = &LedgerTotal{Currency: r.Currency}
			totals[r.Currency] = t
		}
		t.Debit += r.Debit
		t.Credit += r.Credit
	}
	sums := make([]LedgerTotal, 0, len(totals))
	for _, t := range totals {
		t.Balanced = t.Debit == t.Credit
		sums = append(sums, *t)
	}
	sort.Slice(sums, func(i, j int) bool { return sums[i].Currency < sums[j].Currency })
	return &LedgerReport{Window: w, Rows: out, Totals: sums}, nil
}

// CSV is one row per day, currency, account and party.
func (r *LedgerReport) CSV() CSV {
	table := [][]string{{"day", "currency", "account", "party", "debit", "credit", "net", "postings"}}
	for _, row := range r.Rows {
		table = append(table, []string{row.Day, row.Currency, row.Account, row.Party, strconv.FormatInt(row.Debit, 10),
			strconv.FormatInt(row.Credit, 10), strconv.FormatInt(row.Net, 10), strconv.FormatInt(row.Postings, 10)})
	}
	return CSV{Filename: "ledger-" + r.Window.From + "-" + r.Window.To + ".csv", Rows: table}
}

// reconciliationReport serves GET /v1/reports/reconciliation: a run
// (?run_id=, else the latest) with its findings.
func (s *Server) reconciliationReport(c *gin.Context) {
	var pr refundflow.Problems
	csv := wantsCSV(c.Request.URL.Query(), &pr)
	if err := pr.Err(); err != nil {
		s.fail(c, err)
		return
	}
	r, err := s.ReconciliationReport(c.Request.Context(), c.Query("run_id"))
	if err != nil {
		s.fail(c, err)
		return
	}
	if csv {
		r.CSV().Serve(c.Writer)
		return
	}
	c.JSON(http.StatusOK, gin.H{"run": r.Run, "findings": r.Findings, "next_scheduled_at": r.NextScheduledAt})
}

// ReconciliationReport is a reconciliation run with its findings.
type ReconciliationReport struct {
	// Run is nil before the first run.
	Run      *ledger.ReconciliationRun
	Findings []postgres.Finding
	// NextScheduledAt is when the daily schedule runs next, nil when
	// Temporal cannot say.
	NextScheduledAt *time.Time
}

// ReconciliationReport returns run runID ("" for the latest) with its
// findings and when the daily schedule runs next. Before the first run
// the latest is an empty report; a runID that names no run is ENOTFOUND.
func (s *Server) ReconciliationReport(ctx context.Context, runID string) (*ReconciliationReport, error) {
	var pr refundflow.Problems
	refundflow.CheckText(&pr, "run_id", runID)
	if err := pr.Err(); err != nil {
		return nil, err
	}
	r := &ReconciliationReport{Findings: []postgres.Finding{}, NextScheduledAt: s.nextScheduledReconciliation(ctx)}
	run, findings, err := s.DB.ReconciliationRun(ctx, runID)
	switch {
	case runID == "" && refundflow.ErrorKind(err) == refundflow.ENOTFOUND:
		return r, nil
	case err != nil:
		return nil, err
	}
	r.Run = run
	if findings != nil {
		r.Findings = findings
	}
	return r, nil
}

// CSV is one row per finding (only the header before the first run).
func (r *ReconciliationReport) CSV() CSV {
	table := [][]string{{"run_id", "kind", "provider_refund_id", "refund_id", "order_id", "payment_intent", "currency",
		"stripe_status", "stripe_amount", "ledger_amount", "detail"}}
	if r.Run == nil {
		return CSV{Filename: "reconciliation.csv", Rows: table}
	}
	for _, f := range r.Findings {
		stripeAmount := ""
		if f.StripeAmount != nil {
			stripeAmount = strconv.FormatInt(*f.StripeAmount, 10)
		}
		table = append(table, []string{r.Run.ID, f.Kind, f.ProviderRefundID, f.RefundID, f.OrderID, f.PaymentIntent, f.Currency,
			f.StripeStatus, stripeAmount, strconv.FormatInt(f.LedgerAmount, 10), f.Detail})
	}
	return CSV{Filename: "reconciliation-" + strings.ReplaceAll(r.Run.ID, "/", "_") + ".csv", Rows: table}
}

// CSV is a report as a CSV attachment.
type CSV struct {
	Filename string
	Rows     [][]string
}

// Serve answers with the attachment. Every cell goes through csvCell:
// the API's exports and the console's downloads are written here alone.
func (t CSV) Serve(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Disposition", fmt.Sprintf("attachment; filename=%q", t.Filename))
	h.Set("Content-Type", "text/csv; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	cw := csv.NewWriter(w)
	for _, row := range t.Rows {
		cells := make([]string, len(row))
		for i, c := range row {
			cells[i] = csvCell(c)
		}
		_ = cw.Write(cells)
	}
	cw.Flush()
}

// plainNumber is how the reports write numbers: an optional minus, digits,
// an optional fraction.
var plainNumber = regexp.MustCompile(`^-?[0-9]+(\.[0-9]+)?$`)

// csvCell keeps a spreadsheet from reading a cell as a formula (CSV
// injection): a cell that begins with = + - @, a tab or a carriage return
// gets a leading ' (OWASP's advice), as titles, creator accounts and
// other text from outside may. A plain number is left as it is — the
// reports write negative amounts (a ledger's net, a reversal) and a
// spreadsheet must still add them up — and no formula is a plain number.
func csvCell(s string) string {
	if s == "" || !strings.ContainsRune("=+-@\t\r", rune(s[0])) || plainNumber.MatchString(s) {
		return s
	}
	return "'" + s
}
