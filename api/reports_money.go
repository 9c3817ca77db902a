package api

import (
	"context"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/refundflow/refundflow"
	"github.com/refundflow/refundflow/cases"
)

// refundsReport serves GET /v1/reports/refunds.
func (s *Server) refundsReport(c *gin.Context) {
	serveWindowReport(s, c, s.RefundsReport, func(r *cases.RefundsReport) gin.H { return gin.H{"days": r.Days, "totals": r.Totals} })
}

// serveWindowReport serves a report over the window the query names
// (from, to, tz, format): its CSV, or its JSON body with the window.
func serveWindowReport[R interface{ CSV() cases.CSV }](s *Server, c *gin.Context, compute func(context.Context, cases.ReportWindow) (R, error), body func(R) gin.H) {
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
	if w.WantsCSV {
		r.CSV().Serve(c.Writer)
		return
	}
	out := body(r)
	out["from"], out["to"], out["tz"] = w.From, w.To, w.TZ
	c.JSON(http.StatusOK, out)
}

// ledgerReport serves GET /v1/reports/ledger.
func (s *Server) ledgerReport(c *gin.Context) {
	serveWindowReport(s, c, s.LedgerReport, func(r *cases.LedgerReport) gin.H { return gin.H{"rows": r.Rows, "totals": r.Totals} })
}

// reconciliationReport serves GET /v1/reports/reconciliation: a run
// (?run_id=, else the latest) with its findings.
func (s *Server) reconciliationReport(c *gin.Context) {
	var pr refundflow.Problems
	csv := cases.FormatCSV(c.Request.URL.Query(), &pr)
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
