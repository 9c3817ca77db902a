package api

import (
	"context"
	"fmt"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/refundflow/refundflow"
	"github.com/refundflow/refundflow/money"
)

// productRequest is the body of PUT /v1/products/{id}. Times are strings
// here so that a malformed one is reported with its field name.
type productRequest struct {
	ID                *string                `json:"id"`
	Type              refundflow.ProductType `json:"type"`
	Title             string                 `json:"title"`
	LessonsTotal      int                    `json:"lessons_total"`
	SessionsTotal     int                    `json:"sessions_total"`
	SessionsHeld      int                    `json:"sessions_held"`
	StartsAt          *string                `json:"starts_at"`
	AppointmentAt     *string                `json:"appointment_at"`
	NoRefund          bool                   `json:"no_refund"`
	NoRefundDisclosed bool                   `json:"no_refund_disclosed"`
	CreatorAccount    string                 `json:"creator_account"`
	Alternatives      []string               `json:"alternatives"`
}

func (s *Server) putProduct(c *gin.Context) {
	var req productRequest
	if err := decode(c, &req); err != nil {
		s.fail(c, err)
		return
	}
	var pr refundflow.Problems
	checkPathID(&pr, c.Param("id"), req.ID)
	p := &refundflow.Product{
		ID:                c.Param("id"),
		Type:              req.Type,
		Title:             req.Title,
		LessonsTotal:      req.LessonsTotal,
		SessionsTotal:     req.SessionsTotal,
		SessionsHeld:      req.SessionsHeld,
		StartsAt:          parseTime(&pr, "starts_at", req.StartsAt),
		AppointmentAt:     parseTime(&pr, "appointment_at", req.AppointmentAt),
		NoRefund:          req.NoRefund,
		NoRefundDisclosed: req.NoRefundDisclosed,
		CreatorAccount:    req.CreatorAccount,
		Alternatives:      req.Alternatives,
	}
	if err := validate(pr, p.Validate()); err != nil {
		s.fail(c, err)
		return
	}
	created, err := s.DB.UpsertProduct(c.Request.Context(), p)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(createdOrOK(created), p)
}

func (s *Server) getProduct(c *gin.Context) {
	p, err := s.DB.GetProduct(c.Request.Context(), c.Param("id"))
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, p)
}

type renewalRequest struct {
	PeriodStart    *string `json:"period_start"`
	ReminderSentAt *string `json:"reminder_sent_at"`
}

// orderRequest is the body of PUT /v1/orders/{id}. refunded_amount and the
// pinned policy are refundflow's own and cannot be sent.
type orderRequest struct {
	ID                   *string           `json:"id"`
	LearnerID            string            `json:"learner_id"`
	LearnerEmail         string            `json:"learner_email"`
	Locale               refundflow.Locale `json:"locale"`
	ProductID            string            `json:"product_id"`
	Amount               int64             `json:"amount"`
	Currency             string            `json:"currency"`
	PurchasedAt          *string           `json:"purchased_at"`
	PaymentIntent        string            `json:"payment_intent"`
	ApplicationFeeAmount int64             `json:"application_fee_amount"`
	Renewal              *renewalRequest   `json:"renewal"`
	NextRenewalAt        *string           `json:"next_renewal_at"`
	Disputed             bool              `json:"disputed"`
}

func (s *Server) putOrder(c *gin.Context) {
	var req orderRequest
	if err := decode(c, &req); err != nil {
		s.fail(c, err)
		return
	}
	var pr refundflow.Problems
	checkPathID(&pr, c.Param("id"), req.ID)
	o := &refundflow.Order{
		ID:                   c.Param("id"),
		LearnerID:            req.LearnerID,
		LearnerEmail:         req.LearnerEmail,
		Locale:               req.Locale,
		ProductID:            req.ProductID,
		Amount:               req.Amount,
		Currency:             money.Currency(req.Currency),
		PurchasedAt:          requireTime(&pr, "purchased_at", req.PurchasedAt),
		PaymentIntent:        req.PaymentIntent,
		ApplicationFeeAmount: req.ApplicationFeeAmount,
		NextRenewalAt:        parseTime(&pr, "next_renewal_at", req.NextRenewalAt),
		Disputed:             req.Disputed,
	}
	if req.Renewal != nil {
		o.Renewal = &refundflow.Renewal{
			PeriodStart:    requireTime(&pr, "renewal.period_start", req.Renewal.PeriodStart),
			ReminderSentAt: parseTime(&pr, "renewal.reminder_sent_at", req.Renewal.ReminderSentAt),
		}
	}
	if err := validate(pr, o.Validate()); err != nil {
		s.fail(c, err)
		return
	}
	if err := o.CheckTimes(s.Now()); err != nil {
		s.fail(c, err)
		return
	}
	if err := s.renewsOnlyMemberships(c.Request.Context(), o); err != nil {
		s.fail(c, err)
		return
	}
	created, err := s.DB.UpsertOrder(c.Request.Context(), o, s.PinPolicy)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(createdOrOK(created), o)
}

// renewsOnlyMemberships refuses a renewal date on an order of anything but
// a membership: nothing else renews. An unknown product is left for the
// upsert to report.
func (s *Server) renewsOnlyMemberships(ctx context.Context, o *refundflow.Order) error {
	if o.NextRenewalAt == nil {
		return nil
	}
	p, err := s.DB.GetProduct(ctx, o.ProductID)
	if refundflow.ErrorKind(err) == refundflow.ENOTFOUND {
		return nil
	}
	if err != nil {
		return err
	}
	if p.Type != refundflow.Membership {
		return &refundflow.Error{Kind: refundflow.EUNPROCESSABLE, Code: "not_a_membership", Field: "next_renewal_at",
			Message: fmt.Sprintf("product %s is a %s; only a membership renews", p.ID, p.Type)}
	}
	return nil
}

func (s *Server) getOrder(c *gin.Context) {
	o, err := s.DB.GetOrder(c.Request.Context(), c.Param("id"))
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, o)
}

type progressRequest struct {
	WatchedRatio     *float64 `json:"watched_ratio"`
	LessonsCompleted *int     `json:"lessons_completed"`
	SessionsAttended *int     `json:"sessions_attended"`
}

// postProgress raises the order's consumption figures. Figures left out
// stay as they are; a lower figure than the stored one changes nothing.
func (s *Server) postProgress(c *gin.Context) {
	var req progressRequest
	if err := decode(c, &req); err != nil {
		s.fail(c, err)
		return
	}
	var p refundflow.Progress
	if req.WatchedRatio != nil {
		p.WatchedRatio = *req.WatchedRatio
	}
	if req.LessonsCompleted != nil {
		p.LessonsCompleted = *req.LessonsCompleted
	}
	if req.SessionsAttended != nil {
		p.SessionsAttended = *req.SessionsAttended
	}
	if req.WatchedRatio == nil && req.LessonsCompleted == nil && req.SessionsAttended == nil {
		s.fail(c, refundflow.Errorf(refundflow.EINVALID, "empty_progress", "send at least one of watched_ratio, lessons_completed, sessions_attended"))
		return
	}
	if err := p.Validate(); err != nil {
		s.fail(c, err)
		return
	}
	ctx := c.Request.Context()
	order, err := s.DB.GetOrder(ctx, c.Param("id"))
	if err != nil {
		s.fail(c, err)
		return
	}
	product, err := s.DB.GetProduct(ctx, order.ProductID)
	if err != nil {
		s.fail(c, err)
		return
	}
	if err := progressFits(p, product); err != nil {
		s.fail(c, err)
		return
	}
	stored, err := s.DB.RecordProgress(ctx, order.ID, p)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, stored)
}

// progressFits refuses consumption the product cannot have: more lessons
// or sessions than it has. A product without lessons has none to complete:
// the policy could not decide on an order that claims some.
func progressFits(p refundflow.Progress, product *refundflow.Product) error {
	var pr refundflow.Problems
	if p.LessonsCompleted > product.LessonsTotal {
		pr.Add("lessons_completed", "exceeds_lessons_total", "is %d but the product has %d lessons", p.LessonsCompleted, product.LessonsTotal)
	}
	if p.SessionsAttended > product.SessionsTotal && product.Type == refundflow.LiveCourse {
		pr.Add("sessions_attended", "exceeds_sessions_total", "is %d but the product has %d sessions", p.SessionsAttended, product.SessionsTotal)
	}
	return pr.ErrOfKind(refundflow.EUNPROCESSABLE)
}

// validate joins the problems found while reading a request with those the
// domain's validation found, so the client sees all of them at once.
func validate(pr refundflow.Problems, domainErr error) error {
	if e, ok := domainErr.(*refundflow.Error); ok {
		pr = append(pr, e.Details...)
	}
	return pr.Err()
}

func createdOrOK(created bool) int {
	if created {
		return http.StatusCreated
	}
	return http.StatusOK
}
