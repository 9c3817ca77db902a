package api

import (
	"context"
	"errors"
	"fmt"
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

const (
	maxSubjectBytes = 200
	maxBodyBytesMsg = 10000
)

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
	checkText(&pr, "subject", r.Subject, maxSubjectBytes)
	checkText(&pr, "body", r.Body, maxBodyBytesMsg)
	return pr.Err()
}

func checkText(pr *refundflow.Problems, field, s string, max int) {
	switch {
	case strings.TrimSpace(s) == "":
		pr.Add(field, "missing_field", "is required")
	case len(s) > max:
		pr.Add(field, "too_long", "must be at most %d bytes", max)
	default:
		refundflow.CheckText(pr, field, s)
	}
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
		ID: newID("tk"), Tier: sla.Tier(req.Tier), Priority: sla.Priority(req.Priority), LearnerID: req.LearnerID,
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
	_, err := s.Temporal.ExecuteWorkflow(ctx, opts, workflows.Escalation, workflows.TicketInput{TicketID: t.ID})
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
	if err := KnownID("ticket", id); err != nil {
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

// PostTicketMessage adds a message to a ticket as the key's holder (the
// console uses it; the HTTP route is postTicketMessage) and returns the
// ticket as the read model holds it afterwards.
func (s *Server) PostTicketMessage(ctx context.Context, key *refundflow.APIKey, id string, author refundflow.MessageAuthor, body string) (*postgres.Ticket, error) {
	var pr refundflow.Problems
	switch {
	case !author.Valid():
		pr.Add("author", "invalid_author", "must be agent or customer")
	case !author.WritableBy(key.Role):
		return nil, &refundflow.Error{Kind: refundflow.EFORBIDDEN, Code: "author_not_allowed", Field: "author",
			Message: fmt.Sprintf("a %s key writes as the customer only", key.Role)}
	}
	checkText(&pr, "body", body, maxBodyBytesMsg)
	if err := pr.Err(); err != nil {
		return nil, err
	}
	by := refundflow.ActorFor(key)
	if author == refundflow.AuthorCustomer && key.Role == refundflow.RolePlatform {
		by = learnerVia(key)
	}
	return s.commandTicket(ctx, id, workflows.TicketMessageUpdate, workflows.TicketMessageRequest{Author: author, By: by, Body: body})
}

// SetTicketStatus moves a ticket to status as the key's holder; the
// ticket's workflow refuses what its state machine does not allow.
func (s *Server) SetTicketStatus(ctx context.Context, key *refundflow.APIKey, id string, status refundflow.TicketStatus) (*postgres.Ticket, error) {
	if !status.Valid() {
		return nil, refundflow.FieldError("status", "invalid_status", "must be one of open, waiting_on_customer, resolved, closed")
	}
	if !status.SettableBy(key.Role) {
		return nil, &refundflow.Error{Kind: refundflow.EFORBIDDEN, Code: "status_not_allowed", Field: "status",
			Message: fmt.Sprintf("a %s key may only take a ticket back to open; %s is an agent's to set", key.Role, status)}
	}
	return s.commandTicket(ctx, id, workflows.TicketStatusUpdate, workflows.TicketStatusRequest{Status: status, By: refundflow.ActorFor(key)})
}

// commandTicket sends an update to the ticket's workflow and returns the
// ticket as the read model holds it afterwards. A closed ticket's workflow
// has ended, so the read model refuses for it.
func (s *Server) commandTicket(ctx context.Context, id, name string, arg any) (*postgres.Ticket, error) {
	if err := KnownID("ticket", id); err != nil {
		return nil, err
	}
	t, err := s.DB.GetTicket(ctx, id)
	if err != nil {
		return nil, err
	}
	closed := refundflow.Errorf(refundflow.ECONFLICT, "ticket_closed", "ticket %s is closed and takes no more changes; open a new one", id)
	if t.Status == refundflow.TicketClosed {
		return nil, closed
	}
	if err := s.update(ctx, workflows.TicketWorkflowID(id), name, arg, closed); err != nil {
		return nil, err
	}
	return s.DB.GetTicket(ctx, id)
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
	if err := KnownID("ticket", id); err != nil {
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

// SLAReportRow is one tier's or one agent's SLA figures.
type SLAReportRow struct {
	Key                        string   `json:"key"`
	Name                       string   `json:"name"`
	Tickets                    int      `json:"tickets"`
	Breached                   int      `json:"breached"`
	BreachRate                 *float64 `json:"breach_rate"`
	Responded                  int      `json:"responded"`
	FirstResponseP50Seconds    *float64 `json:"first_response_p50_seconds"`
	FirstResponseP90Seconds    *float64 `json:"first_response_p90_seconds"`
	Resolved                   int      `json:"resolved"`
	ResolutionP50Seconds       *float64 `json:"resolution_p50_seconds"`
	ResolutionP90Seconds       *float64 `json:"resolution_p90_seconds"`
	FirstContactResolutions    int      `json:"first_contact_resolutions"`
	FirstContactResolutionRate *float64 `json:"first_contact_resolution_rate"`
	CSATCount                  int      `json:"csat_count"`
	CSATAverage                *float64 `json:"csat_average"`
}

// SLAReport is the SLA figures of the tickets opened in a window.
type SLAReport struct {
	Window  ReportWindow
	ByTier  []SLAReportRow
	ByAgent []SLAReportRow
}

// getSLAReport serves GET /v1/reports/sla.
func (s *Server) getSLAReport(c *gin.Context) {
	serveWindowReport(s, c, s.SLAReport, func(r *SLAReport) gin.H { return gin.H{"by_tier": r.ByTier, "by_agent": r.ByAgent} })
}

// SLAReport measures the tickets opened in the window: first response and
// resolution times (p50, p90, business time on each ticket's calendar),
// breach rate, first-contact resolution and CSAT, by tier and by the agent
// who answered first.
func (s *Server) SLAReport(ctx context.Context, w ReportWindow) (*SLAReport, error) {
	rows, err := s.DB.SLAReport(ctx, w.Start, w.End)
	if err != nil {
		return nil, err
	}
	byTier := map[string]SLAReportRow{}
	var byAgent []SLAReportRow
	for _, r := range rows {
		j := slaReportRow(r)
		if r.Group == "tier" {
			byTier[r.Key] = j
		} else {
			byAgent = append(byAgent, j)
		}
	}
	tiers := make([]SLAReportRow, 0, len(sla.Tiers))
	for _, t := range sla.Tiers {
		row, ok := byTier[string(t)]
		if !ok {
			row = SLAReportRow{Key: string(t)}
		}
		tiers = append(tiers, row)
	}
	if byAgent == nil {
		byAgent = []SLAReportRow{}
	}
	return &SLAReport{Window: w, ByTier: tiers, ByAgent: byAgent}, nil
}

// CSV is one row per tier, then one per agent.
func (r *SLAReport) CSV() CSV {
	table := [][]string{{"group", "key", "name", "tickets", "breached", "breach_rate", "responded",
		"first_response_p50_seconds", "first_response_p90_seconds", "resolved", "resolution_p50_seconds",
		"resolution_p90_seconds", "first_contact_resolutions", "first_contact_resolution_rate", "csat_count", "csat_average"}}
	for _, group := range []struct {
		name string
		rows []SLAReportRow
	}{{"tier", r.ByTier}, {"agent", r.ByAgent}} {
		for _, g := range group.rows {
			table = append(table, []string{group.name, g.Key, g.Name, strconv.Itoa(g.Tickets), strconv.Itoa(g.Breached),
				num(g.BreachRate), strconv.Itoa(g.Responded), num(g.FirstResponseP50Seconds), num(g.FirstResponseP90Seconds),
				strconv.Itoa(g.Resolved), num(g.ResolutionP50Seconds), num(g.ResolutionP90Seconds),
				strconv.Itoa(g.FirstContactResolutions), num(g.FirstContactResolutionRate), strconv.Itoa(g.CSATCount), num(g.CSATAverage)})
		}
	}
	return CSV{Filename: "sla-" + r.Window.From + "-" + r.Window.To + ".csv", Rows: table}
}

func slaReportRow(r postgres.SLAReportRow) SLAReportRow {
	ratio := func(n, of int) *float64 {
		if of == 0 {
			return nil
		}
		v := float64(n) / float64(of)
		return &v
	}
	seconds := func(d time.Duration, count int) *float64 {
		if count == 0 {
			return nil
		}
		v := d.Seconds()
		return &v
	}
	j := SLAReportRow{
		Key: r.Key, Name: r.Name, Tickets: r.Tickets, Breached: r.Breached, BreachRate: ratio(r.Breached, r.Tickets),
		Responded: r.Responded, FirstResponseP50Seconds: seconds(r.FirstResponseP50, r.Responded),
		FirstResponseP90Seconds: seconds(r.FirstResponseP90, r.Responded), Resolved: r.Resolved,
		ResolutionP50Seconds: seconds(r.ResolutionP50, r.Resolved), ResolutionP90Seconds: seconds(r.ResolutionP90, r.Resolved),
		FirstContactResolutions: r.FirstContactResolutions, FirstContactResolutionRate: ratio(r.FirstContactResolutions, r.Resolved),
		CSATCount: r.CSATCount,
	}
	if r.CSATCount > 0 {
		avg := r.CSATAverage
		j.CSATAverage = &avg
	}
	return j
}

// num writes an optional figure for CSV: empty when there is none.
func num(v *float64) string {
	if v == nil {
		return ""
	}
	return strconv.FormatFloat(*v, 'f', -1, 64)
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
		WorkflowID: id, TemporalUIURL: s.temporalUIURL(id), CreatedAt: t.CreatedAt, UpdatedAt: t.UpdatedAt, ClosedAt: t.ClosedAt,
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
