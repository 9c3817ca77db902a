package api

import (
	"context"
	"errors"
	"net/http"
	"net/mail"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/refundflow/refundflow"
	"github.com/refundflow/refundflow/cases"
	"github.com/refundflow/refundflow/postgres"
	"github.com/refundflow/refundflow/sla"
	"github.com/refundflow/refundflow/workflows"
)

// Tickets (SPEC 4.8, 5): each is a Temporal workflow ticket/<id> that keeps
// its SLA clocks; reads come from the read model, messages and status
// changes are updates with validators, so an illegal change is refused at
// once with a code and changes nothing.

type ticketRequest struct {
	Tier         string `json:"tier"`
	Priority     string `json:"priority"`
	LearnerID    string `json:"learner_id"`
	LearnerEmail string `json:"learner_email"`
	Locale       string `json:"locale"`
	OrderID      string `json:"order_id"`
	RefundID     string `json:"refund_id"`
	Subject      string `json:"subject"`
	Body         string `json:"body"`
}

func (r *ticketRequest) validate() error {
	var pr refundflow.Problems
	if !sla.Tier(r.Tier).Valid() {
		pr.Add("tier", "unknown_tier", "must be one of free, paid, vip")
	}
	if r.Priority != "" && !sla.Priority(r.Priority).Valid() {
		pr.Add("priority", "invalid_priority", "must be normal or urgent")
	}
	checkOptionalIDs(&pr, map[string]string{"learner_id": r.LearnerID, "order_id": r.OrderID, "refund_id": r.RefundID})
	if r.LearnerID == "" && r.OrderID == "" && r.RefundID == "" {
		pr.Add("learner_id", "missing_field", "is required unless the ticket links to an order or a refund")
	}
	if r.LearnerEmail != "" && !validEmail(r.LearnerEmail) {
		pr.Add("learner_email", "invalid_email", "must be an email address")
	}
	if r.Locale != "" && r.Locale != string(refundflow.LocaleZhCN) && r.Locale != string(refundflow.LocaleEn) {
		pr.Add("locale", "invalid_locale", "must be zh-CN or en")
	}
	refundflow.CheckRequiredText(&pr, "subject", r.Subject, refundflow.MaxTicketSubjectBytes)
	refundflow.CheckRequiredText(&pr, "body", r.Body, refundflow.MaxTicketMessageBytes)
	return pr.Err()
}

func validEmail(s string) bool {
	a, err := mail.ParseAddress(s)
	return len(s) <= 254 && err == nil && a.Address == s
}

// postTicket opens a ticket: the row in the read model first, with its
// deadlines, then the workflow that keeps them.
func (s *Server) postTicket(c *gin.Context) {
	var req ticketRequest
	if err := decode(c, &req); err != nil {
		s.fail(c, err)
		return
	}
	if err := req.validate(); err != nil {
		s.fail(c, err)
		return
	}
	if req.Priority == "" {
		req.Priority = string(sla.Normal)
	}
	ctx := c.Request.Context()
	by := refundflow.ActorFor(caller(c))
	if caller(c).Role == refundflow.RolePlatform {
		by = learnerActor(c)
	}
	t, err := s.DB.OpenTicket(ctx, postgres.NewTicket{
		ID: refundflow.NewID("tk"), Tier: sla.Tier(req.Tier), Priority: sla.Priority(req.Priority), LearnerID: req.LearnerID,
		LearnerEmail: req.LearnerEmail, Locale: refundflow.Locale(req.Locale), OrderID: req.OrderID, RefundID: req.RefundID,
		Subject: req.Subject, Body: req.Body, OpenedBy: by, OpenedAt: s.Now().UTC(), Level: 1,
	})
	if err != nil {
		s.fail(c, err)
		return
	}
	if err := s.startTicketWorkflow(ctx, t); err != nil {
		s.fail(c, err)
		return
	}
	s.respondTicket(c, http.StatusCreated, t.ID)
}

// startTicketWorkflow starts the ticket's workflow. When the start fails
// for sure, the ticket is removed again so that nobody waits on a ticket
// whose clocks do not run.
func (s *Server) startTicketWorkflow(ctx context.Context, t *postgres.Ticket) error {
	attrs := []temporal.SearchAttributeUpdate{
		workflows.TicketTierKey.ValueSet(string(t.Tier)),
		workflows.EscalationLevelKey.ValueSet(int64(t.SLA.EscalationLevel)),
	}
	if t.OrderID != "" {
		attrs = append(attrs, workflows.OrderIDKey.ValueSet(t.OrderID))
	}
	opts := client.StartWorkflowOptions{
		ID:                       workflows.TicketWorkflowID(t.ID),
		TaskQueue:                workflows.RefundsTaskQueue,
		WorkflowIDReusePolicy:    enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		TypedSearchAttributes:    temporal.NewSearchAttributes(attrs...),
	}
	_, err := s.Temporal.ExecuteWorkflow(ctx, opts, workflows.Ticket, workflows.TicketInput{TicketID: t.ID})
	if err == nil {
		return nil
	}
	if _, derr := s.Temporal.DescribeWorkflowExecution(context.WithoutCancel(ctx), opts.ID, ""); derr != nil {
		var nf *serviceerror.NotFound
		if errors.As(derr, &nf) {
			if delErr := s.DB.DeleteUnstartedTicket(context.WithoutCancel(ctx), t.ID); delErr != nil {
				s.Logger.Error("could not remove a ticket whose workflow did not start", "ticket", t.ID, "error", delErr)
			}
		}
	}
	s.Logger.Error("start ticket workflow", "ticket", t.ID, "error", err)
	return refundflow.Errorf(refundflow.EUNAVAILABLE, "workflow_unavailable", "the ticket could not be opened now; try again")
}

func (s *Server) getTicket(c *gin.Context) {
	s.respondTicket(c, http.StatusOK, c.Param("id"))
}

func (s *Server) respondTicket(c *gin.Context, status int, id string) {
	if err := refundflow.KnownID("ticket", id); err != nil {
		s.fail(c, err)
		return
	}
	t, err := s.DB.GetTicket(c.Request.Context(), id)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(status, s.ticketJSON(t))
}

// listTickets serves GET /v1/tickets, newest first, with filters and a
// cursor.
func (s *Server) listTickets(c *gin.Context) {
	f := postgres.TicketFilter{
		Status: refundflow.TicketStatus(c.Query("status")), Tier: sla.Tier(c.Query("tier")), SLAState: c.Query("sla_state"),
		LearnerID: c.Query("learner_id"), OrderID: c.Query("order_id"), RefundID: c.Query("refund_id"),
	}
	var pr refundflow.Problems
	if f.Status != "" && !f.Status.Valid() {
		pr.Add("status", "invalid_status", "must be one of open, waiting_on_customer, resolved, closed")
	}
	if f.Tier != "" && !f.Tier.Valid() {
		pr.Add("tier", "unknown_tier", "must be one of free, paid, vip")
	}
	checkOptionalIDs(&pr, map[string]string{"learner_id": f.LearnerID, "order_id": f.OrderID, "refund_id": f.RefundID})
	if f.SLAState != "" && !slices.Contains(sla.States, f.SLAState) {
		pr.Add("sla_state", "invalid_sla_state", "must be one of %s", strings.Join(sla.States, ", "))
	}
	if v := c.Query("level"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > workflows.MaxEscalationLevel {
			pr.Add("level", "invalid_level", "must be 1, 2 or 3")
		}
		f.Level = n
	}
	pg := parsePage(c, &pr)
	f.Limit, f.AfterAt, f.AfterID = pg.Limit, pg.AfterAt, pg.AfterID
	if err := pr.Err(); err != nil {
		s.fail(c, err)
		return
	}
	rows, err := s.DB.ListTickets(c.Request.Context(), f)
	if err != nil {
		s.fail(c, err)
		return
	}
	items := make([]ticketSummaryJSON, 0, len(rows))
	for _, t := range rows {
		items = append(items, s.ticketSummary(t))
	}
	next := nextCursor(pg, rows, func(t *postgres.Ticket) (time.Time, string) { return t.CreatedAt, t.ID })
	c.JSON(http.StatusOK, gin.H{"data": items, "next_cursor": next})
}

// --- commands: Temporal updates ---

type ticketMessageRequest struct {
	Author string `json:"author"`
	Body   string `json:"body"`
}

type ticketStatusRequest struct {
	Status string `json:"status"`
}

// postTicketMessage adds an agent's answer or the learner's message. The
// platform writes for the learner; an agent key may also record what a
// learner said on the phone (author customer).
func (s *Server) postTicketMessage(c *gin.Context) {
	var req ticketMessageRequest
	if err := decode(c, &req); err != nil {
		s.fail(c, err)
		return
	}
	t, err := s.PostTicketMessage(c.Request.Context(), caller(c), c.Param("id"), refundflow.MessageAuthor(req.Author), req.Body)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, s.ticketJSON(t))
}

func (s *Server) postTicketStatus(c *gin.Context) {
	var req ticketStatusRequest
	if err := decode(c, &req); err != nil {
		s.fail(c, err)
		return
	}
	t, err := s.SetTicketStatus(c.Request.Context(), caller(c), c.Param("id"), refundflow.TicketStatus(req.Status))
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, s.ticketJSON(t))
}

type csatRequest struct {
	Score   *int   `json:"score"`
	Comment string `json:"comment"`
}

// postTicketCSAT stores the learner's rating of a resolved ticket (1–5);
// a new rating replaces the previous one.
func (s *Server) postTicketCSAT(c *gin.Context) {
	var req csatRequest
	if err := decode(c, &req); err != nil {
		s.fail(c, err)
		return
	}
	var pr refundflow.Problems
	if req.Score == nil || *req.Score < 1 || *req.Score > 5 {
		pr.Add("score", "invalid_score", "must be a whole number from 1 (very poor) to 5 (excellent)")
	}
	refundflow.CheckNote(&pr, "comment", req.Comment)
	if err := pr.Err(); err != nil {
		s.fail(c, err)
		return
	}
	id := c.Param("id")
	if err := refundflow.KnownID("ticket", id); err != nil {
		s.fail(c, err)
		return
	}
	if _, err := s.DB.RateTicket(c.Request.Context(), id, postgres.CSAT{Score: *req.Score, Comment: req.Comment, RatedAt: s.Now().UTC()}, caller(c).ID); err != nil {
		s.fail(c, err)
		return
	}
	s.respondTicket(c, http.StatusOK, id)
}

// --- SLA policies ---

type slaPolicyRequest struct {
	Tier          *string  `json:"tier"`
	Calendar      string   `json:"calendar"`
	FirstResponse string   `json:"first_response"`
	Resolution    string   `json:"resolution"`
	WarnAt        *float64 `json:"warn_at"`
}

func (s *Server) getSLAPolicy(c *gin.Context) {
	tier := sla.Tier(c.Param("tier"))
	if !tier.Valid() {
		s.fail(c, refundflow.Errorf(refundflow.ENOTFOUND, "unknown_tier", "%q is not a tier: use free, paid or vip", tier))
		return
	}
	p, err := s.DB.SLAPolicy(c.Request.Context(), tier)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, p.JSON())
}

// putSLAPolicy replaces a tier's policy. Tickets already open keep the
// policy they opened with; new tickets get this one.
func (s *Server) putSLAPolicy(c *gin.Context) {
	ctx := c.Request.Context()
	tier := c.Param("tier")
	if !sla.Tier(tier).Valid() {
		s.fail(c, refundflow.Errorf(refundflow.ENOTFOUND, "unknown_tier", "%q is not a tier: use free, paid or vip", tier))
		return
	}
	var req slaPolicyRequest
	if err := decode(c, &req); err != nil {
		s.fail(c, err)
		return
	}
	if req.Tier != nil && *req.Tier != tier {
		s.fail(c, refundflow.FieldError("tier", "tier_mismatch", "is %q but the URL names %q", *req.Tier, tier))
		return
	}
	cals, err := s.DB.CalendarRegistry(ctx)
	if err != nil {
		s.fail(c, err)
		return
	}
	p, err := sla.ParsePolicy(sla.PolicyInput{
		Tier: tier, Calendar: req.Calendar, FirstResponse: req.FirstResponse, Resolution: req.Resolution, WarnAt: req.WarnAt,
	}, cals)
	if err != nil {
		s.fail(c, err)
		return
	}
	stored, err := s.DB.PutSLAPolicy(ctx, p, caller(c).ID)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, stored.JSON())
}

// --- the SLA report ---

// getSLAReport serves GET /v1/reports/sla.
func (s *Server) getSLAReport(c *gin.Context) {
	serveWindowReport(s, c, s.SLAReport, func(r *cases.SLAReport) gin.H { return gin.H{"by_tier": r.ByTier, "by_agent": r.ByAgent} })
}

// --- the ticket JSON (SPEC 5) ---

type ticketJSON struct {
	ID            string                         `json:"id"`
	Status        refundflow.TicketStatus        `json:"status"`
	Tier          sla.Tier                       `json:"tier"`
	Priority      sla.Priority                   `json:"priority"`
	LearnerID     string                         `json:"learner_id"`
	OrderID       *string                        `json:"order_id"`
	RefundID      *string                        `json:"refund_id"`
	Subject       string                         `json:"subject"`
	Messages      []postgres.TicketMessage       `json:"messages"`
	SLA           sla.Status                     `json:"sla"`
	SLAState      string                         `json:"sla_state"`
	CSAT          *postgres.CSAT                 `json:"csat"`
	Timeline      []postgres.TicketTimelineEntry `json:"timeline"`
	WorkflowID    string                         `json:"workflow_id"`
	TemporalUIURL string                         `json:"temporal_ui_url"`
	CreatedAt     time.Time                      `json:"created_at"`
	UpdatedAt     time.Time                      `json:"updated_at"`
	ClosedAt      *time.Time                     `json:"closed_at"`
}

type ticketSummaryJSON struct {
	ID        string                  `json:"id"`
	Status    refundflow.TicketStatus `json:"status"`
	Tier      sla.Tier                `json:"tier"`
	Priority  sla.Priority            `json:"priority"`
	LearnerID string                  `json:"learner_id"`
	OrderID   *string                 `json:"order_id"`
	RefundID  *string                 `json:"refund_id"`
	Subject   string                  `json:"subject"`
	SLA       sla.Status              `json:"sla"`
	SLAState  string                  `json:"sla_state"`
	CreatedAt time.Time               `json:"created_at"`
	UpdatedAt time.Time               `json:"updated_at"`
	ClosedAt  *time.Time              `json:"closed_at"`
}

func (s *Server) ticketJSON(t *postgres.Ticket) ticketJSON {
	id := workflows.TicketWorkflowID(t.ID)
	return ticketJSON{
		ID: t.ID, Status: t.Status, Tier: t.Tier, Priority: t.Priority, LearnerID: t.LearnerID,
		OrderID: optional(t.OrderID), RefundID: optional(t.RefundID), Subject: t.Subject,
		Messages: nonNilSlice(t.Messages), SLA: t.SLA, SLAState: t.SLAState, CSAT: t.CSAT, Timeline: nonNilSlice(t.Timeline),
		WorkflowID: id, TemporalUIURL: s.WorkflowURL(id), CreatedAt: t.CreatedAt, UpdatedAt: t.UpdatedAt, ClosedAt: t.ClosedAt,
	}
}

func (s *Server) ticketSummary(t *postgres.Ticket) ticketSummaryJSON {
	return ticketSummaryJSON{
		ID: t.ID, Status: t.Status, Tier: t.Tier, Priority: t.Priority, LearnerID: t.LearnerID,
		OrderID: optional(t.OrderID), RefundID: optional(t.RefundID), Subject: t.Subject, SLA: t.SLA, SLAState: t.SLAState,
		CreatedAt: t.CreatedAt, UpdatedAt: t.UpdatedAt, ClosedAt: t.ClosedAt,
	}
}

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
