package console

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/refundflow/refundflow"
	"github.com/refundflow/refundflow/postgres"
	"github.com/refundflow/refundflow/workflows"
)

type queuePage struct {
	Cases []*postgres.RefundCase
	Flash *flash
}

// queue lists the cases waiting for approval, the most urgent deadline first.
func (s *Server) queue(w http.ResponseWriter, r *http.Request, sess *session) {
	cases, err := s.DB.ApprovalQueue(r.Context(), 200)
	if err != nil {
		s.failPage(w, r, err)
		return
	}
	s.render(w, r, sess, http.StatusOK, "queue", queuePage{Cases: cases, Flash: readFlash(language(r), r.URL.Query(), "case", queueDone)})
}

type casePage struct {
	Case          *postgres.RefundCase
	Order         *refundflow.Order
	Product       *refundflow.Product
	Progress      refundflow.Progress
	TemporalUIURL string
}

func (s *Server) casePage(w http.ResponseWriter, r *http.Request, sess *session) {
	ctx := r.Context()
	id := r.PathValue("id")
	err := refundflow.KnownID("case", id)
	var c *postgres.RefundCase
	if err == nil {
		c, err = s.DB.GetRefund(ctx, id)
	}
	if refundflow.ErrorKind(err) == refundflow.ENOTFOUND {
		s.render(w, r, sess, http.StatusNotFound, "error", errorPage{Title: "not_found", Message: "case_not_found"})
		return
	}
	if err != nil {
		s.failPage(w, r, err)
		return
	}
	order, err := s.DB.GetOrder(ctx, c.OrderID)
	if err != nil {
		s.failPage(w, r, err)
		return
	}
	product, err := s.DB.GetProduct(ctx, c.ProductID)
	if err != nil {
		s.failPage(w, r, err)
		return
	}
	progress, err := s.DB.GetProgress(ctx, c.OrderID)
	if err != nil {
		s.failPage(w, r, err)
		return
	}
	s.render(w, r, sess, http.StatusOK, "case", casePage{
		Case: c, Order: order, Product: product, Progress: progress,
		TemporalUIURL: s.temporalUIURL(workflows.RefundWorkflowID(c.ID)),
	})
}

func (s *Server) approve(w http.ResponseWriter, r *http.Request, sess *session) {
	id := r.PathValue("id")
	var amount *int64
	if v := strings.TrimSpace(r.PostFormValue("amount")); v != "" {
		n, err := parseAmount(v)
		if err != nil {
			s.backToQueue(w, r, id, "", err)
			return
		}
		amount = &n
	}
	c, err := s.Commands.ApproveRefund(r.Context(), sess.key, id, amount, r.PostFormValue("note"))
	if err != nil {
		s.backToQueue(w, r, id, "", err)
		return
	}
	done := "approved"
	if c.Status == refundflow.StatusAwaitingApproval {
		done = "approval_recorded"
	}
	s.backToQueue(w, r, id, done, nil)
}

func (s *Server) reject(w http.ResponseWriter, r *http.Request, sess *session) {
	id := r.PathValue("id")
	if _, err := s.Commands.RejectRefund(r.Context(), sess.key, id, r.PostFormValue("reason")); err != nil {
		s.backToQueue(w, r, id, "", err)
		return
	}
	s.backToQueue(w, r, id, "rejected", nil)
}

// backToQueue answers a form post by sending the browser back to the
// queue with what happened.
func (s *Server) backToQueue(w http.ResponseWriter, r *http.Request, id, done string, err error) {
	s.redirectAfterPost(w, r, "/console/queue", url.Values{"case": {id}}, done, err)
}

// temporalUIURL opens a workflow (its latest run) in the Temporal UI.
func (s *Server) temporalUIURL(workflowID string) string {
	return workflows.UIURL(s.TemporalUIURL, s.Namespace, workflowID)
}

// parseAmount reads the amount field, which is in minor units (fen,
// cents) like everywhere else in refundflow: digits only, so a typed
// decimal point or sign is refused rather than guessed at. Its range is
// the API's rule, which ApproveRefund applies.
func parseAmount(v string) (int64, error) {
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || strings.Trim(v, "0123456789") != "" {
		return 0, refundflow.FieldError("amount", "invalid_amount", "the amount is a whole number of minor units (fen, cents)")
	}
	return n, nil
}

type outboxPage struct {
	DeadEmails []*postgres.EmailRecord
	DeadEvents []*postgres.EventRecord
	Emails     []*postgres.EmailRecord
	Events     []*postgres.EventRecord
	// Sink: without SMTP_URL the emails stay here (the dev stack).
	Sink bool
}

// outbox shows the messages the steps wrote and how their delivery went:
// the dead letter first — what could not be delivered, with its attempts
// and last error, for staff to act on — then the newest emails (the dev
// stack's sink among them) and platform events.
func (s *Server) outbox(w http.ResponseWriter, r *http.Request, sess *session) {
	ctx := r.Context()
	page := outboxPage{Sink: s.DevOutbox}
	var err error
	if page.DeadEmails, page.DeadEvents, err = s.DB.DeadLetter(ctx, 100); err != nil {
		s.failPage(w, r, err)
		return
	}
	if page.Emails, err = s.DB.Emails(ctx, 100); err != nil {
		s.failPage(w, r, err)
		return
	}
	if page.Events, err = s.DB.Events(ctx, 100); err != nil {
		s.failPage(w, r, err)
		return
	}
	s.render(w, r, sess, http.StatusOK, "outbox", page)
}
