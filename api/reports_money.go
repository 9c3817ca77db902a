package api

import (
	"context"
	"encoding/csv"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"

	"github.com/refundflow/refundflow"
	"github.com/refundflow/refundflow/postgres"
	"github.com/refundflow/refundflow/postgres/sqlgen"
	"github.com/refundflow/refundflow/workflows"
)

// reportWindow is the days a finance report covers, in its time zone.
type reportWindow struct {
	From, To string // YYYY-MM-DD, both included
	TZ       string
	fromAt   time.Time
	toAt     time.Time // the midnight after To
	csv      bool
}

// defaultReportDays is what a report covers without from/to.
const (
	defaultReportDays = 31
	maxReportDays     = 366
)

// parseReportWindow reads ?from=&to= (dates), ?tz= (IANA, default UTC)
// and ?format= (json or csv).
func (s *Server) parseReportWindow(c *gin.Context) (reportWindow, error) {
	var pr refundflow.Problems
	w := reportWindow{TZ: c.DefaultQuery("tz", "UTC")}
	loc, err := time.LoadLocation(w.TZ)
	if err != nil || w.TZ == "Local" || w.TZ == "" {
		// "Local" is this process's zone, which PostgreSQL does not know.
		pr.Add("tz", "invalid_time_zone", "must be an IANA time zone such as UTC or Asia/Shanghai")
		loc = time.UTC
	}
	switch c.DefaultQuery("format", "json") {
	case "json":
	case "csv":
		w.csv = true
	default:
		pr.Add("format", "invalid_format", "must be json or csv")
	}
	today := s.Now().In(loc)
	to := time.Date(today.Year(), today.Month(), today.Day(), 0, 0, 0, 0, loc)
	from := to.AddDate(0, 0, -(defaultReportDays - 1))
	parse := func(field string, into *time.Time) {
		v := c.Query(field)
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
	case c.Query("from") != "" && c.Query("to") == "":
		to = from.AddDate(0, 0, defaultReportDays-1)
	case c.Query("from") == "" && c.Query("to") != "":
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
	w.fromAt, w.toAt = from, to.AddDate(0, 0, 1)
	return w, nil
}

type countAmount struct {
	Count  int64 `json:"count"`
	Amount int64 `json:"amount"`
}

func (ca *countAmount) add(n, amount int64) {
	ca.Count += n
	ca.Amount += amount
}

type clawbackJSON struct {
	CreatorAccount string `json:"creator_account"`
	Count          int64  `json:"count"`
	Amount         int64  `json:"amount"`
}

// refundFiguresJSON is one day (or the whole window) in one currency.
type refundFiguresJSON struct {
	Day      string `json:"day,omitempty"`
	Currency string `json:"currency"`
	// Refunded is every refund booked (ours and adopted dashboard ones),
	// split into full and partial; Manual is the adopted ones.
	Refunded countAmount `json:"refunded"`
	Full     countAmount `json:"full"`
	Partial  countAmount `json:"partial"`
	Manual   countAmount `json:"manual"`
	// Reversed is refunds that failed after they were booked.
	Reversed countAmount `json:"reversed"`
	// Retained is cases a retention offer kept: the revenue kept.
	Retained countAmount `json:"retained"`
	// Pending is money still on its way; Failed, refunds that failed
	// before they were booked.
	Pending                 countAmount    `json:"pending"`
	Failed                  countAmount    `json:"failed"`
	ClawbackAmount          int64          `json:"clawback_amount"`
	Clawbacks               []clawbackJSON `json:"clawbacks"`
	ApplicationFeesReturned int64          `json:"application_fees_returned"`
	StripeFeesUnrecovered   int64          `json:"stripe_fees_unrecovered"`
}

func (f *refundFiguresJSON) clawback(creator string, n, amount int64) {
	f.ClawbackAmount += amount
	for i := range f.Clawbacks {
		if f.Clawbacks[i].CreatorAccount == creator {
			f.Clawbacks[i].Count += n
			f.Clawbacks[i].Amount += amount
			return
		}
	}
	f.Clawbacks = append(f.Clawbacks, clawbackJSON{CreatorAccount: creator, Count: n, Amount: amount})
}

// figures collects rows per day × currency, and per currency over the
// window.
type figures struct {
	days   map[[2]string]*refundFiguresJSON
	totals map[string]*refundFiguresJSON
}

func (fs *figures) each(day, currency string, fn func(*refundFiguresJSON)) {
	k := [2]string{day, currency}
	if fs.days[k] == nil {
		fs.days[k] = &refundFiguresJSON{Day: day, Currency: currency, Clawbacks: []clawbackJSON{}}
	}
	if fs.totals[currency] == nil {
		fs.totals[currency] = &refundFiguresJSON{Currency: currency, Clawbacks: []clawbackJSON{}}
	}
	fn(fs.days[k])
	fn(fs.totals[currency])
}

// refundsReport serves GET /v1/reports/refunds: refunds per day ×
// currency — count and sum, full vs partial, revenue kept by retention
// offers, creator clawbacks, money pending, refunds failed — from the
// ledger and the cases.
func (s *Server) refundsReport(c *gin.Context) {
	w, err := s.parseReportWindow(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	ctx := c.Request.Context()
	q := s.DB.Queries()
	fs := &figures{days: map[[2]string]*refundFiguresJSON{}, totals: map[string]*refundFiguresJSON{}}
	booked, err := q.RefundLedgerReport(ctx, sqlgen.RefundLedgerReportParams{Tz: w.TZ, FromAt: w.fromAt, ToAt: w.toAt})
	if err != nil {
		s.fail(c, err)
		return
	}
	for _, r := range booked {
		fs.each(r.Day, r.Currency, func(f *refundFiguresJSON) {
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
	retained, err := q.RetainedReport(ctx, sqlgen.RetainedReportParams{Tz: w.TZ, FromAt: &w.fromAt, ToAt: &w.toAt})
	if err != nil {
		s.fail(c, err)
		return
	}
	for _, r := range retained {
		fs.each(r.Day, r.Currency, func(f *refundFiguresJSON) { f.Retained.add(r.Cases, r.Amount) })
	}
	attempts, err := q.AttemptReport(ctx, sqlgen.AttemptReportParams{Tz: w.TZ, FromAt: w.fromAt, ToAt: w.toAt})
	if err != nil {
		s.fail(c, err)
		return
	}
	for _, r := range attempts {
		fs.each(r.Day, r.Currency, func(f *refundFiguresJSON) {
			if r.State == "failed" {
				f.Failed.add(r.Attempts, r.Amount)
			} else {
				f.Pending.add(r.Attempts, r.Amount)
			}
		})
	}
	days := make([]refundFiguresJSON, 0, len(fs.days))
	for _, f := range fs.days {
		days = append(days, *f)
	}
	sort.Slice(days, func(i, j int) bool {
		return days[i].Day < days[j].Day || days[i].Day == days[j].Day && days[i].Currency < days[j].Currency
	})
	totals := make([]refundFiguresJSON, 0, len(fs.totals))
	for _, f := range fs.totals {
		totals = append(totals, *f)
	}
	sort.Slice(totals, func(i, j int) bool { return totals[i].Currency < totals[j].Currency })
	if w.csv {
		writeCSV(c, "refunds-"+w.From+"-"+w.To+".csv", refundsCSV(days))
		return
	}
	c.JSON(http.StatusOK, gin.H{"from": w.From, "to": w.To, "tz": w.TZ, "days": days, "totals": totals})
}

// refundsCSV is the report in long form — one figure per row — so that a
// spreadsheet can pivot it, clawbacks per creator included.
func refundsCSV(days []refundFiguresJSON) [][]string {
	rows := [][]string{{"day", "currency", "metric", "creator_account", "count", "amount"}}
	i64 := func(v int64) string { return strconv.FormatInt(v, 10) }
	for _, d := range days {
		for _, m := range []struct {
			name string
			v    countAmount
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
	return rows
}

type ledgerRowJSON struct {
	Day      string `json:"day"`
	Currency string `json:"currency"`
	Account  string `json:"account"`
	Party    string `json:"party"`
	Debit    int64  `json:"debit"`
	Credit   int64  `json:"credit"`
	Net      int64  `json:"net"`
	Postings int64  `json:"postings"`
}

type ledgerTotalJSON struct {
	Currency string `json:"currency"`
	Debit    int64  `json:"debit"`
	Credit   int64  `json:"credit"`
	Balanced bool   `json:"balanced"`
}

// ledgerReport serves GET /v1/reports/ledger: the journal's postings per
// day × currency × account (and creator), with each currency's debits and
// credits over the window, which always balance.
func (s *Server) ledgerReport(c *gin.Context) {
	w, err := s.parseReportWindow(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	rows, err := s.DB.Queries().LedgerReport(c.Request.Context(), sqlgen.LedgerReportParams{Tz: w.TZ, FromAt: w.fromAt, ToAt: w.toAt})
	if err != nil {
		s.fail(c, err)
		return
	}
	out := make([]ledgerRowJSON, 0, len(rows))
	totals := map[string]*ledgerTotalJSON{}
	for _, r := range rows {
		out = append(out, ledgerRowJSON{Day: r.Day, Currency: r.Currency, Account: r.Account, Party: r.Party,
			Debit: r.Debit, Credit: r.Credit, Net: r.Debit - r.Credit, Postings: r.Postings})
		t := totals[r.Currency]
		if t == nil {
			t = &ledgerTotalJSON{Currency: r.Currency}
			totals[r.Currency] = t
		}
		t.Debit += r.Debit
		t.Credit += r.Credit
	}
	sums := make([]ledgerTotalJSON, 0, len(totals))
	for _, t := range totals {
		t.Balanced = t.Debit == t.Credit
		sums = append(sums, *t)
	}
	sort.Slice(sums, func(i, j int) bool { return sums[i].Currency < sums[j].Currency })
	if w.csv {
		table := [][]string{{"day", "currency", "account", "party", "debit", "credit", "net", "postings"}}
		for _, r := range out {
			table = append(table, []string{r.Day, r.Currency, r.Account, r.Party, strconv.FormatInt(r.Debit, 10),
				strconv.FormatInt(r.Credit, 10), strconv.FormatInt(r.Net, 10), strconv.FormatInt(r.Postings, 10)})
		}
		writeCSV(c, "ledger-"+w.From+"-"+w.To+".csv", table)
		return
	}
	c.JSON(http.StatusOK, gin.H{"from": w.From, "to": w.To, "tz": w.TZ, "rows": out, "totals": sums})
}

// reconciliationReport serves GET /v1/reports/reconciliation: a run
// (?run_id=, else the latest) with its findings.
func (s *Server) reconciliationReport(c *gin.Context) {
	format := c.DefaultQuery("format", "json")
	if format != "json" && format != "csv" {
		s.fail(c, refundflow.FieldError("format", "invalid_format", "must be json or csv"))
		return
	}
	run, findings, err := s.DB.ReconciliationRun(c.Request.Context(), c.Query("run_id"))
	if err != nil {
		s.fail(c, err)
		return
	}
	if findings == nil {
		findings = []postgres.Finding{}
	}
	if format == "csv" {
		table := [][]string{{"run_id", "kind", "provider_refund_id", "refund_id", "order_id", "payment_intent", "currency",
			"stripe_status", "stripe_amount", "ledger_amount", "detail"}}
		for _, f := range findings {
			stripeAmount := ""
			if f.StripeAmount != nil {
				stripeAmount = strconv.FormatInt(*f.StripeAmount, 10)
			}
			table = append(table, []string{run.ID, f.Kind, f.ProviderRefundID, f.RefundID, f.OrderID, f.PaymentIntent, f.Currency,
				f.StripeStatus, stripeAmount, strconv.FormatInt(f.LedgerAmount, 10), f.Detail})
		}
		writeCSV(c, "reconciliation-"+strings.ReplaceAll(run.ID, "/", "_")+".csv", table)
		return
	}
	c.JSON(http.StatusOK, gin.H{"run": run, "findings": findings})
}

type reconcileRequest struct {
	From *time.Time `json:"from"`
	To   *time.Time `json:"to"`
}

// maxReconcileWindow bounds an on-demand run.
const maxReconcileWindow = 93 * 24 * time.Hour

// runReconciliation serves POST /v1/reports/reconciliation/run: an
// on-demand reconciliation of the refunds Stripe created in [from, to)
// (default: the UTC day before), answered as soon as it started.
func (s *Server) runReconciliation(c *gin.Context) {
	var req reconcileRequest
	if !s.optionalBody(c, &req) {
		return
	}
	day := s.Now().UTC().Truncate(24 * time.Hour)
	in := workflows.ReconcileInput{From: day.Add(-24 * time.Hour), To: day, Trigger: workflows.ReconcileTriggerManual}
	if req.From != nil {
		in.From = *req.From
	}
	if req.To != nil {
		in.To = *req.To
	}
	switch {
	case !in.To.After(in.From):
		s.fail(c, refundflow.FieldError("to", "invalid_window", "must be after from"))
		return
	case in.To.Sub(in.From) > maxReconcileWindow:
		s.fail(c, refundflow.FieldError("to", "window_too_long", "a run covers at most %d days", int(maxReconcileWindow.Hours()/24)))
		return
	}
	if s.Temporal == nil {
		s.fail(c, refundflow.Errorf(refundflow.EUNAVAILABLE, "temporal_unavailable", "Temporal is not reachable; try again"))
		return
	}
	id := workflows.ReconcileWorkflowID(newID("manual"))
	if err := s.startReconcile(c.Request.Context(), id, in); err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusAccepted, gin.H{
		"run_id": id, "workflow_id": id, "window_from": in.From.UTC(), "window_to": in.To.UTC(), "temporal_ui_url": s.temporalUIURL(id),
	})
}

func (s *Server) startReconcile(ctx context.Context, id string, in workflows.ReconcileInput) error {
	_, err := s.Temporal.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID: id, TaskQueue: workflows.RefundsTaskQueue, WorkflowIDReusePolicy: enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
	}, workflows.Reconcile, in)
	if err != nil {
		s.Logger.Error("start reconciliation", "run", id, "error", err)
		return refundflow.Errorf(refundflow.EUNAVAILABLE, "workflow_unavailable", "the reconciliation could not be started now; try again")
	}
	return nil
}

// writeCSV answers with a CSV attachment.
func writeCSV(c *gin.Context, filename string, rows [][]string) {
	c.Header("Content-Disposition", fmt.Sprintf("attachment; filename=%q", filename))
	c.Status(http.StatusOK)
	c.Header("Content-Type", "text/csv; charset=utf-8")
	w := csv.NewWriter(c.Writer)
	_ = w.WriteAll(rows)
}
