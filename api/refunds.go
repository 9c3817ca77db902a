package api

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/refundflow/refundflow"
	"github.com/refundflow/refundflow/activities"
	"github.com/refundflow/refundflow/policy"
	"github.com/refundflow/refundflow/postgres"
	"github.com/refundflow/refundflow/refund"
	"github.com/refundflow/refundflow/workflows"
)

type refundRequest struct {
	OrderID       string   `json:"order_id"`
	Reason        string   `json:"reason"`
	Description   string   `json:"description"`
	Evidence      []string `json:"evidence"`
	SkipRetention bool     `json:"skip_retention"`
}

func (r *refundRequest) validate() error {
	var pr refundflow.Problems
	if !refundflow.ValidID(r.OrderID) {
		pr.Add("order_id", "invalid_id", "must be the id of an order")
	}
	if !policy.Reason(r.Reason).Valid() {
		pr.Add("reason", "invalid_reason", "must be one of changed_mind, not_as_expected, quality_issue, false_advertising, technical_failure, unnotified_renewal, schedule_change, other")
	}
	if len(r.Description) > 5000 {
		pr.Add("description", "too_long", "must be at most 5000 bytes")
	} else {
		refundflow.CheckText(&pr, "description", r.Description)
	}
	if len(r.Evidence) > 20 {
		pr.Add("evidence", "too_many", "at most 20 items")
	}
	for i, e := range r.Evidence {
		if e == "" || len(e) > 2048 {
			pr.Add("evidence["+itoa(i)+"]", "invalid_evidence", "must be 1 to 2048 bytes (a URL or a reference)")
		} else {
			refundflow.CheckText(&pr, "evidence["+itoa(i)+"]", e)
		}
	}
	return pr.Err()
}

// postRefund opens a case: the row in the read model first (PostgreSQL
// enforces one open case per order), then the workflow. With an
// Idempotency-Key, the same request gets the same case back.
func (s *Server) postRefund(c *gin.Context) {
	var req refundRequest
	if err := decode(c, &req); err != nil {
		s.fail(c, err)
		return
	}
	if err := req.validate(); err != nil {
		s.fail(c, err)
		return
	}
	key := c.GetHeader("Idempotency-Key")
	if len(key) > 255 {
		s.fail(c, refundflow.FieldError("Idempotency-Key", "invalid_idempotency_key", "must be at most 255 characters"))
		return
	}
	ctx := c.Request.Context()
	submitter := caller(c)
	canonical, _ := json.Marshal(req)
	hash := sha256.Sum256(canonical)

	if key != "" {
		if existing, err := s.DB.GetRefundByIdempotencyKey(ctx, submitter.ID, key); err == nil {
			s.replayRefund(c, existing, hash[:])
			return
		}
	}
	order, err := s.DB.GetOrder(ctx, req.OrderID)
	if refundflow.ErrorKind(err) == refundflow.ENOTFOUND {
		s.fail(c, &refundflow.Error{Kind: refundflow.EUNPROCESSABLE, Code: "unknown_order", Field: "order_id",
			Message: fmt.Sprintf("order %q is not known; PUT /v1/orders/%s first", req.OrderID, req.OrderID)})
		return
	}
	if err != nil {
		s.fail(c, err)
		return
	}
	rc, err := s.DB.InsertRefund(ctx, postgres.NewRefund{
		ID: refundflow.NewID("rf"), Order: order, Reason: policy.Reason(req.Reason), Description: req.Description,
		Evidence: req.Evidence, SkipRetention: req.SkipRetention, SubmittedBy: submitter.ID,
		IdempotencyKey: key, RequestHash: hash[:],
	})
	switch refundflow.ErrorCode(err) {
	case "idempotency_key_used":
		// Another request with the same key won the race.
		if existing, gerr := s.DB.GetRefundByIdempotencyKey(ctx, submitter.ID, key); gerr == nil {
			s.replayRefund(c, existing, hash[:])
			return
		}
	case "refund_in_progress":
		// A platform retrying without a key meets its own case here: the
		// first request may have died between the row and the workflow.
		s.startOpenCase(ctx, err)
	}
	if err != nil {
		s.fail(c, err)
		return
	}
	if err := s.startRefundWorkflow(ctx, rc); err != nil {
		s.fail(c, err)
		return
	}
	s.respondCase(c, http.StatusCreated, rc.ID)
}

// startOpenCase starts the workflow of the open case a refund_in_progress
// refusal names, if it has none; the refusal is the answer either way
// (and the sweeper starts the case later if Temporal does not answer now).
func (s *Server) startOpenCase(ctx context.Context, refused error) {
	var e *refundflow.Error
	if !errors.As(refused, &e) || len(e.Details) == 0 {
		return
	}
	open, err := s.DB.GetRefund(ctx, e.Details[0].Message)
	if err != nil {
		return
	}
	if err := s.startRefundWorkflow(ctx, open); err != nil {
		s.Logger.Warn("the open case's workflow could not be started; the sweeper will", "refund", open.ID, "error", err)
	}
}

// replayRefund answers a repeated Idempotency-Key: the same case for the
// same request, 422 for a different one.
func (s *Server) replayRefund(c *gin.Context, existing *postgres.RefundCase, hash []byte) {
	if string(existing.RequestHash) != string(hash) {
		s.fail(c, refundflow.Errorf(refundflow.EUNPROCESSABLE, "idempotency_key_reused",
			"Idempotency-Key was used for a different request (case %s); use a new key for a new request", existing.ID))
		return
	}
	// The first request may have died between the row and the workflow.
	if err := s.startRefundWorkflow(c.Request.Context(), existing); err != nil {
		s.fail(c, err)
		return
	}
	s.respondCase(c, http.StatusOK, existing.ID)
}

// startTimeout bounds how long a request waits for Temporal to start a
// case: an unreachable cluster is answered 503 in seconds, not minutes.
const startTimeout = 5 * time.Second

// startRefundWorkflow starts the case's workflow; starting one that runs,
// or ran, already is not an error. A case whose workflow cannot be
// started now stays recorded: the sweeper starts it within a minute or
// two, and the answer says so and names it.
func (s *Server) startRefundWorkflow(ctx context.Context, rc *postgres.RefundCase) error {
	ctx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()
	err := workflows.Engine{Client: s.Temporal}.StartRefund(ctx, activities.RefundStartOf(rc, s.Config.OfferWindow, s.Config.ApprovalSLA))
	if err == nil {
		return nil
	}
	s.Logger.Error("start refund workflow", "refund", rc.ID, "error", err)
	return &refundflow.Error{Kind: refundflow.EUNAVAILABLE, Code: "workflow_unavailable",
		Message: fmt.Sprintf("case %s is recorded but could not be started now; it starts as soon as Temporal answers — retry with the same Idempotency-Key to see it", rc.ID),
		Details: []*refundflow.Error{{Kind: refundflow.EUNAVAILABLE, Code: "refund_id", Message: rc.ID}}}
}

func (s *Server) getRefund(c *gin.Context) {
	s.respondCase(c, http.StatusOK, c.Param("id"))
}

func (s *Server) respondCase(c *gin.Context, status int, id string) {
	rc, err := s.DB.GetRefund(c.Request.Context(), id)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(status, s.caseJSON(rc))
}

// listRefunds serves GET /v1/refunds with filters and a cursor.
func (s *Server) listRefunds(c *gin.Context) {
	f := postgres.RefundFilter{
		Status: refundflow.RefundStatus(c.Query("status")), OrderID: c.Query("order_id"), LearnerID: c.Query("learner_id"),
	}
	var pr refundflow.Problems
	if f.Status != "" && !f.Status.Valid() {
		pr.Add("status", "invalid_status", "must be one of evaluating, offered, awaiting_approval, refunding, refunded, retained, rejected, withdrawn, failed")
	}
	checkOptionalIDs(&pr, map[string]string{"order_id": f.OrderID, "learner_id": f.LearnerID})
	pg := parsePage(c, &pr)
	f.Limit, f.AfterAt, f.AfterID = pg.Limit, pg.AfterAt, pg.AfterID
	if err := pr.Err(); err != nil {
		s.fail(c, err)
		return
	}
	rows, err := s.DB.ListRefunds(c.Request.Context(), f)
	if err != nil {
		s.fail(c, err)
		return
	}
	items := make([]caseSummaryJSON, 0, len(rows))
	for _, r := range rows {
		items = append(items, s.caseSummary(r))
	}
	next := nextCursor(pg, rows, func(r *postgres.RefundCase) (time.Time, string) { return r.CreatedAt, r.ID })
	c.JSON(http.StatusOK, gin.H{"data": items, "next_cursor": next})
}

// --- commands: Temporal updates, answered honestly at once ---

type noteRequest struct {
	Note string `json:"note"`
}

type approveRequest struct {
	Note   string `json:"note"`
	Amount *int64 `json:"amount"`
}

type rejectRequest struct {
	Reason string `json:"reason"`
}

func (s *Server) acceptOffer(c *gin.Context) {
	s.updateCase(c, workflows.AcceptOfferUpdate, workflows.AcceptOfferRequest{OfferID: c.Param("offer_id"), By: learnerActor(c)})
}

func (s *Server) declineOffer(c *gin.Context) {
	var req noteRequest
	if !s.noteBody(c, &req) {
		return
	}
	s.updateCase(c, workflows.DeclineOfferUpdate, workflows.LearnerRequest{By: learnerActor(c), Note: req.Note})
}

func (s *Server) appealRefund(c *gin.Context) {
	var req noteRequest
	if !s.noteBody(c, &req) {
		return
	}
	s.updateCase(c, workflows.AppealUpdate, workflows.LearnerRequest{By: learnerActor(c), Note: req.Note}, func(rc *postgres.RefundCase) error {
		if rc.Appealed {
			return refundflow.Errorf(refundflow.ECONFLICT, "appeal_used", "case %s was appealed once already; an appeal is possible once", rc.ID)
		}
		return nil
	})
}

func (s *Server) withdrawRefund(c *gin.Context) {
	var req noteRequest
	if !s.noteBody(c, &req) {
		return
	}
	s.updateCase(c, workflows.WithdrawUpdate, workflows.LearnerRequest{By: learnerActor(c), Note: req.Note})
}

func (s *Server) approveRefund(c *gin.Context) {
	var req approveRequest
	if !s.optionalBody(c, &req) {
		return
	}
	rc, err := s.ApproveRefund(c.Request.Context(), caller(c), c.Param("id"), req.Amount, req.Note)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, s.caseJSON(rc))
}

func (s *Server) rejectRefund(c *gin.Context) {
	var req rejectRequest
	if err := decode(c, &req); err != nil {
		s.fail(c, err)
		return
	}
	rc, err := s.RejectRefund(c.Request.Context(), caller(c), c.Param("id"), req.Reason)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, s.caseJSON(rc))
}

// noteBody decodes the learner's optional note.
func (s *Server) noteBody(c *gin.Context, req *noteRequest) bool {
	if !s.optionalBody(c, req) {
		return false
	}
	var pr refundflow.Problems
	refundflow.CheckNote(&pr, "note", req.Note)
	if err := pr.Err(); err != nil {
		s.fail(c, err)
		return false
	}
	return true
}

// optionalBody decodes a body that may be empty.
func (s *Server) optionalBody(c *gin.Context, v any) bool {
	if c.Request.ContentLength == 0 {
		return true
	}
	if err := decode(c, v); err != nil && refundflow.ErrorCode(err) != "empty_body" {
		s.fail(c, err)
		return false
	}
	return true
}

// updateCase sends an update to the case's workflow and answers with the
// case as the read model holds it afterwards.
func (s *Server) updateCase(c *gin.Context, name string, arg any, checks ...func(*postgres.RefundCase) error) {
	rc, err := s.CommandCase(c.Request.Context(), c.Param("id"), name, arg, checks...)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, s.caseJSON(rc))
}

// learnerActor is the learner, acting through the platform's key.
func learnerActor(c *gin.Context) refundflow.Actor { return refundflow.LearnerVia(caller(c)) }

// --- the case JSON (SPEC 5) ---

type paymentJSON struct {
	ProviderRefundID string `json:"provider_refund_id"`
	Status           string `json:"status"`
	Amount           *int64 `json:"amount"`
}

type slaJSON struct {
	DueAt           *time.Time `json:"due_at"`
	EscalationLevel int        `json:"escalation_level"`
}

type appealJSON struct {
	Appealed bool       `json:"appealed"`
	Until    *time.Time `json:"until"`
}

type caseJSON struct {
	ID            string                  `json:"id"`
	OrderID       string                  `json:"order_id"`
	LearnerID     string                  `json:"learner_id"`
	ProductID     string                  `json:"product_id"`
	Status        refundflow.RefundStatus `json:"status"`
	Reason        policy.Reason           `json:"reason"`
	Description   string                  `json:"description"`
	Evidence      []string                `json:"evidence"`
	SkipRetention bool                    `json:"skip_retention"`
	Amount        *int64                  `json:"amount"`
	Currency      string                  `json:"currency"`
	Decision      *policy.Decision        `json:"decision"`
	Offers        []refundflow.Offer      `json:"offers"`
	Approvals     []refund.Approval       `json:"approvals"`
	Payment       *paymentJSON            `json:"payment"`
	SLA           slaJSON                 `json:"sla"`
	Appeal        appealJSON              `json:"appeal"`
	Timeline      []refund.TimelineEntry  `json:"timeline"`
	WorkflowID    string                  `json:"workflow_id"`
	TemporalUIURL string                  `json:"temporal_ui_url"`
	CreatedAt     time.Time               `json:"created_at"`
	UpdatedAt     time.Time               `json:"updated_at"`
	ClosedAt      *time.Time              `json:"closed_at"`
}

type caseSummaryJSON struct {
	ID              string                  `json:"id"`
	OrderID         string                  `json:"order_id"`
	LearnerID       string                  `json:"learner_id"`
	Status          refundflow.RefundStatus `json:"status"`
	Reason          policy.Reason           `json:"reason"`
	Amount          *int64                  `json:"amount"`
	Currency        string                  `json:"currency"`
	Outcome         string                  `json:"outcome"`
	Rule            string                  `json:"rule"`
	EscalationLevel int                     `json:"escalation_level"`
	SLADueAt        *time.Time              `json:"sla_due_at"`
	CreatedAt       time.Time               `json:"created_at"`
	UpdatedAt       time.Time               `json:"updated_at"`
}

func (s *Server) caseJSON(rc *postgres.RefundCase) caseJSON {
	out := caseJSON{
		ID: rc.ID, OrderID: rc.OrderID, LearnerID: rc.LearnerID, ProductID: rc.ProductID, Status: rc.Status,
		Reason: rc.Reason, Description: rc.Description, Evidence: rc.Evidence, SkipRetention: rc.SkipRetention,
		Amount: rc.Amount, Currency: string(rc.Currency), Decision: rc.Decision,
		Offers: nonNilSlice(rc.Offers), Approvals: nonNilSlice(rc.Approvals), Timeline: nonNilSlice(rc.Timeline),
		SLA:        slaJSON{DueAt: rc.SLADueAt, EscalationLevel: rc.EscalationLevel},
		Appeal:     appealJSON{Appealed: rc.Appealed, Until: rc.AppealUntil},
		WorkflowID: workflows.RefundWorkflowID(rc.ID), TemporalUIURL: s.WorkflowURL(workflows.RefundWorkflowID(rc.ID)),
		CreatedAt: rc.CreatedAt, UpdatedAt: rc.UpdatedAt, ClosedAt: rc.ClosedAt,
	}
	if rc.PaymentStatus != "" || rc.ProviderRefundID != "" {
		out.Payment = &paymentJSON{ProviderRefundID: rc.ProviderRefundID, Status: rc.PaymentStatus, Amount: rc.PaymentAmount}
	}
	return out
}

func (s *Server) caseSummary(rc *postgres.RefundCase) caseSummaryJSON {
	out := caseSummaryJSON{
		ID: rc.ID, OrderID: rc.OrderID, LearnerID: rc.LearnerID, Status: rc.Status, Reason: rc.Reason,
		Amount: rc.Amount, Currency: string(rc.Currency), EscalationLevel: rc.EscalationLevel, SLADueAt: rc.SLADueAt,
		CreatedAt: rc.CreatedAt, UpdatedAt: rc.UpdatedAt,
	}
	if rc.Decision != nil {
		out.Outcome, out.Rule = string(rc.Decision.Outcome), string(rc.Decision.Rule)
	}
	return out
}

func nonNilSlice[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
