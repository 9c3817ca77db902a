package console

import (
	"fmt"
	"html/template"
	"net/http"
	"net/url"

	"github.com/refundflow/refundflow"
	"github.com/refundflow/refundflow/api"
)

// outagesShown is how many of the latest outages the page lists.
const outagesShown = 50

type outagesPage struct {
	Outages []outageRow
	// Refresh asks the page to reload itself (seconds) while a
	// remediation runs.
	Refresh int
	Flash   *flash
}

type outageRow struct {
	*api.OutageStatus
	Progress template.HTML
	// CanStart: the remediation may be started (or resumed) from here:
	// the API would take it.
	CanStart bool
}

// Mode is the remediation's mode, "" before one is started.
func (o outageRow) Mode() string {
	if m := o.Remediation.Mode; m != nil {
		return *m
	}
	return ""
}

// outages lists the latest outages with the progress of their
// remediations, and lets an admin start or cancel one.
func (s *Server) outages(w http.ResponseWriter, r *http.Request, sess *session) {
	ctx := r.Context()
	list, err := s.DB.ListOutages(ctx, outagesShown)
	if err != nil {
		s.failPage(w, r, err)
		return
	}
	lang := language(r)
	page := outagesPage{Flash: readFlash(lang, r.URL.Query(), "outage", outagesDone)}
	described, err := s.Reports.DescribeOutages(ctx, list)
	if err != nil {
		s.failPage(w, r, err)
		return
	}
	for i, st := range described {
		rem := st.Remediation
		row := outageRow{OutageStatus: st, CanStart: api.Remediable(list[i]) == nil &&
			(rem.Status == "not_started" || rem.Status == refundflow.RemediationCanceled)}
		if rem.Status != "not_started" {
			row.Progress = remediationBar(lang, rem)
		}
		if rem.Status == refundflow.RemediationRunning {
			page.Refresh = 5
		}
		page.Outages = append(page.Outages, row)
	}
	s.render(w, r, sess, http.StatusOK, "outages", page)
}

// remediationBar draws a remediation's cases: refunded, retained, failed,
// otherwise closed (rejected, withdrawn), out of the affected orders.
func remediationBar(lang string, r api.RemediationStatus) template.HTML {
	closed := r.Done - r.Refunded - r.Retained - r.Failed
	return ProgressBar{
		Title: fmt.Sprintf(translate(lang, "progress_title"), r.Done, r.Total),
		Total: float64(r.Total),
		Parts: []Segment{
			{Name: translate(lang, "refunded"), Class: "c-refunded", Value: float64(r.Refunded)},
			{Name: translate(lang, "retained"), Class: "c-retained", Value: float64(r.Retained)},
			{Name: translate(lang, "failed"), Class: "c-failed", Value: float64(r.Failed)},
			{Name: translate(lang, "closed_otherwise"), Class: "c-closed", Value: float64(closed)},
		},
	}.SVG()
}

func (s *Server) remediate(w http.ResponseWriter, r *http.Request, sess *session) {
	id := r.PathValue("id")
	_, err := s.Commands.RemediateOutage(r.Context(), sess.key, id, r.PostFormValue("mode"))
	s.backToOutages(w, r, id, "remediation_started", err)
}

func (s *Server) cancelRemediation(w http.ResponseWriter, r *http.Request, sess *session) {
	id := r.PathValue("id")
	_, err := s.Commands.CancelRemediation(r.Context(), id)
	s.backToOutages(w, r, id, "remediation_canceled", err)
}

// backToOutages answers a form post by sending the browser back to the
// outages with what happened.
func (s *Server) backToOutages(w http.ResponseWriter, r *http.Request, id, done string, err error) {
	s.redirectAfterPost(w, r, "/console/outages", url.Values{"outage": {id}}, done, err)
}
