package console

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"

	"github.com/refundflow/refundflow"
	"github.com/refundflow/refundflow/web"
)

// A form post answers with a redirect back to its page (post/redirect/
// get) that says what happened by a code — done=<code> or error=<code> —
// and the id of what it acted on. The page shows the code's fixed words in
// its language. Nothing else from the link reaches the page: the words
// are never formatted from it nor shown as they are, so a link someone
// sends to staff cannot put its own words (or megabytes) on a console
// page; the id is shown only when it is an id.

// flash is what a form did, as its page shows it.
type flash struct {
	OK   bool
	ID   string // of the case or outage a refusal is about
	Text string
}

// The done codes of each page: each has words "done_<code>", with the
// id in them (%s) on the pages that name one.
var (
	queueDone    = []string{"approved", "approval_recorded", "rejected"}
	outagesDone  = []string{"remediation_started", "remediation_canceled"}
	financeDone  = []string{"reconciliation_started"}
	webhooksDone = []string{"redelivered", "redelivered_failed", "nothing_to_redeliver"}
	ticketDone   = append([]string{"replied"}, movedCodes()...)
)

func movedCodes() []string {
	var out []string
	for _, s := range refundflow.TicketStatuses {
		out = append(out, "moved_"+string(s))
	}
	return out
}

// refusalCodes are the refusals the console's forms meet that have words
// of their own ("refusal_<code>"); any other shows refusal_other.
var refusalCodes = []string{
	// Any form.
	"not_found", "too_long", "invalid_text", "temporal_unavailable", "database_unavailable", "timeout", "workflow_unavailable",
	// Approve and reject.
	"case_closed", "invalid_amount", "amount_not_positive", "amount_too_large", "amount_required", "amount_exceeds_refundable",
	"amount_mismatch", "missing_reason", "already_approved", "not_awaiting_approval", "approver_is_requester",
	"appeal_needs_another_approver",
	// Tickets.
	"ticket_closed", "missing_field", "missing_body", "invalid_status", "status_unchanged", "illegal_status_change",
	"reopen_window_closed",
	// Outages.
	"invalid_mode", "outage_not_ended", "outage_too_short", "remediation_mode_differs", "remediation_completed",
	"remediation_stopping", "remediation_not_started",
	// Reconciliation.
	"invalid_window",
	// Webhook redelivery.
	"delivery_pending", "delivery_not_configured", "delivery_changed", "invalid_since",
}

// readFlash reads a page's flash from its query: done codes among done,
// any error code; idKey names the query parameter of the id ("" when the
// page names none).
func readFlash(lang string, q url.Values, idKey string, done []string) *flash {
	id := q.Get(idKey)
	if idKey != "" && !refundflow.ValidID(id) {
		return nil
	}
	if code := q.Get("done"); code != "" {
		if !slices.Contains(done, code) {
			return nil
		}
		text := translate(lang, "done_"+code)
		if idKey != "" {
			text = fmt.Sprintf(text, id) // our own words, with the id in them
		}
		return &flash{OK: true, Text: text}
	}
	if code := q.Get("error"); code != "" {
		return &flash{ID: id, Text: translate(lang, refusalKey(code))}
	}
	return nil
}

// refusalKey is the catalog key of a refusal code's words.
func refusalKey(code string) string {
	if slices.Contains(refusalCodes, code) {
		return "refusal_" + code
	}
	return "refusal_other"
}

// redirectAfterPost answers a form post: back to page with q and what
// happened — done, or the refusal's code (a dependency that is down is a
// refusal too: the user may try again). Any other error is a server error
// page.
func (s *Server) redirectAfterPost(w http.ResponseWriter, r *http.Request, page string, q url.Values, done string, err error) {
	if err != nil {
		e := web.Refusal(err)
		if e == nil {
			s.failPage(w, r, err)
			return
		}
		q.Set("error", e.Code)
	} else {
		q.Set("done", done)
	}
	http.Redirect(w, r, page+"?"+q.Encode(), http.StatusSeeOther)
}
