// Package api translates HTTP into refundflow: a gin router with bearer
// API keys and roles, strict JSON decoding, one error format, and handlers
// that read the PostgreSQL read model and send commands to workflows.
package api

import (
	"context"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.temporal.io/sdk/client"

	"github.com/refundflow/refundflow"
	"github.com/refundflow/refundflow/cases"
	"github.com/refundflow/refundflow/postgres"
	"github.com/refundflow/refundflow/web"
)

// Server holds what the handlers need. Build it in cmd and call Handler.
type Server struct {
	// Service is the application layer: the commands and reports that the
	// console offers too. Its DB, Temporal client, configuration, logger
	// and clock are the handlers' as well.
	*cases.Service
	// Registry is served at /metrics; the Temporal SDK's metrics go to it too.
	Registry *prometheus.Registry
	// PinPolicy names the policy version a new order pins.
	PinPolicy postgres.PolicyPinner
	// Console, when set, is served under /console (package console).
	Console http.Handler
	// Throttle counts failed key checks per client address; Handler makes
	// one with the defaults when it is nil. Share it with the console.
	Throttle *web.AuthThrottle
}

// Handler builds the router.
func (s *Server) Handler() http.Handler {
	if s.Now == nil {
		s.Now = time.Now
	}
	if s.PinPolicy == nil {
		s.PinPolicy = postgres.DefaultPolicyV1
	}
	if s.Throttle == nil {
		s.Throttle = web.NewAuthThrottle(s.Registry, s.Logger)
	}
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.HandleMethodNotAllowed = true
	r.ContextWithFallback = true
	// gin trusts X-Forwarded-For from everyone by default, which would let
	// any client pick the address it is throttled as: only the proxies
	// TRUSTED_PROXIES names (config.Validate checked them) may say who the
	// client is.
	if err := r.SetTrustedProxies(s.Config.TrustedProxies); err != nil {
		panic(err)
	}
	r.Use(s.recover, s.observe(), limitBody)
	r.NoRoute(func(c *gin.Context) {
		s.fail(c, refundflow.Errorf(refundflow.ENOTFOUND, "route_not_found", "no route %s %s", c.Request.Method, c.Request.URL.Path))
	})
	r.NoMethod(func(c *gin.Context) {
		c.AbortWithStatusJSON(http.StatusMethodNotAllowed, errorBody{Error: errorJSON{
			Code: "method_not_allowed", Message: c.Request.Method + " is not allowed on " + c.Request.URL.Path, Details: []detailsJSON{}}})
	})

	r.GET("/healthz", s.healthz)
	r.GET("/readyz", s.readyz)
	// A count the database cannot give now is left out, not the page.
	r.GET("/metrics", gin.WrapH(promhttp.HandlerFor(s.Registry, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError})))
	r.GET("/openapi.yaml", serveOpenAPI)
	if s.Console != nil {
		r.Any("/console/*path", func(c *gin.Context) { s.Console.ServeHTTP(c.Writer, withClientAddress(c)) })
		r.GET("/console", func(c *gin.Context) { c.Redirect(http.StatusSeeOther, "/console/") })
	}

	const (
		platform = refundflow.RolePlatform
		agent    = refundflow.RoleAgent
		approver = refundflow.RoleApprover
		admin    = refundflow.RoleAdmin
	)
	v1 := r.Group("/v1", checkPathParams)
	v1.PUT("/products/:id", s.authenticate(platform), s.putProduct)
	v1.GET("/products/:id", s.authenticate(platform, agent, approver, admin), s.getProduct)
	v1.PUT("/orders/:id", s.authenticate(platform), s.putOrder)
	v1.GET("/orders/:id", s.authenticate(platform, agent, approver, admin), s.getOrder)
	v1.POST("/orders/:id/progress", s.authenticate(platform), s.postProgress)
	v1.POST("/refunds", s.authenticate(platform), s.postRefund)
	v1.GET("/refunds", s.authenticate(refundflow.ReadCases...), s.listRefunds)
	v1.GET("/refunds/:id", s.authenticate(refundflow.ReadCases...), s.getRefund)
	v1.POST("/refunds/:id/offers/:offer_id/accept", s.authenticate(platform), s.acceptOffer)
	v1.POST("/refunds/:id/offers/decline", s.authenticate(platform), s.declineOffer)
	v1.POST("/refunds/:id/approve", s.authenticate(refundflow.DecideCases...), s.approveRefund)
	v1.POST("/refunds/:id/reject", s.authenticate(refundflow.DecideCases...), s.rejectRefund)
	v1.POST("/refunds/:id/appeal", s.authenticate(platform), s.appealRefund)
	v1.POST("/refunds/:id/withdraw", s.authenticate(platform), s.withdrawRefund)
	v1.GET("/learners/:id/messages", s.authenticate(platform), s.learnerMessages)
	v1.POST("/outages", s.authenticate(refundflow.ManageOutages...), s.postOutage)
	v1.GET("/outages/:id", s.authenticate(refundflow.ManageOutages...), s.getOutage)
	v1.POST("/outages/:id/remediate", s.authenticate(refundflow.ManageOutages...), s.postRemediate)
	v1.POST("/outages/:id/cancel", s.authenticate(refundflow.ManageOutages...), s.postCancelRemediation)
	v1.GET("/reports/courses", s.authenticate(refundflow.ReadReports...), s.coursesReport)
	v1.GET("/policies/:name", s.authenticate(admin), s.getPolicy)
	v1.PUT("/policies/:name", s.authenticate(admin), s.putPolicy)
	v1.POST("/policies/evaluate", s.authenticate(agent, admin), s.evaluatePolicy)
	v1.POST("/policies/simulate", s.authenticate(admin), s.simulatePolicy)
	v1.GET("/calendars/:name", s.authenticate(agent, admin), s.getCalendar)
	v1.PUT("/calendars/:name", s.authenticate(admin), s.putCalendar)
	v1.POST("/webhooks/stripe", s.stripeWebhook) // verified by Stripe's signature, not a key
	v1.GET("/reports/refunds", s.authenticate(refundflow.ReadReports...), s.refundsReport)
	v1.GET("/reports/ledger", s.authenticate(refundflow.ReadReports...), s.ledgerReport)
	v1.GET("/reports/reconciliation", s.authenticate(refundflow.ReadReports...), s.reconciliationReport)
	v1.POST("/reconciliations", s.authenticate(refundflow.RunReconciliations...), s.postReconciliation)
	// Tickets and SLAs (SPEC 4.8): tickets.go.
	v1.POST("/tickets", s.authenticate(refundflow.WorkTickets...), s.postTicket)
	v1.GET("/tickets", s.authenticate(refundflow.WorkTickets...), s.listTickets)
	v1.GET("/tickets/:id", s.authenticate(refundflow.WorkTickets...), s.getTicket)
	v1.POST("/tickets/:id/messages", s.authenticate(refundflow.WorkTickets...), s.postTicketMessage)
	v1.POST("/tickets/:id/status", s.authenticate(refundflow.WorkTickets...), s.postTicketStatus)
	v1.POST("/tickets/:id/csat", s.authenticate(platform), s.postTicketCSAT)
	v1.GET("/sla-policies/:tier", s.authenticate(admin), s.getSLAPolicy)
	v1.PUT("/sla-policies/:tier", s.authenticate(admin), s.putSLAPolicy)
	v1.GET("/reports/sla", s.authenticate(refundflow.ReadReports...), s.getSLAReport)
	// The event log and the webhooks' delivery log: events.go.
	v1.GET("/events", s.authenticate(refundflow.ReadEvents...), s.listEvents)
	v1.GET("/webhook-deliveries", s.authenticate(refundflow.ReadWebhookDeliveries...), s.listDeliveries)
	v1.POST("/webhook-deliveries/:id/redeliver", s.authenticate(refundflow.RedeliverWebhooks...), s.redeliver)
	return r
}

// checkPathParams refuses a path whose ids are not well-formed, and a
// query parameter that is not storable text, before anything looks them up
// (an id that is not even UTF-8 never reaches PostgreSQL).
func checkPathParams(c *gin.Context) {
	for _, p := range c.Params {
		if !refundflow.ValidID(p.Value) {
			c.AbortWithStatusJSON(http.StatusBadRequest, errorBody{Error: errorJSON{
				Code: "invalid_id", Field: p.Key, Message: p.Key + ": must be 1 to 128 characters of A-Z a-z 0-9 - _ . :", Details: []detailsJSON{}}})
			return
		}
	}
	if err := web.CheckQuery(c.Request.URL.Query()); err != nil {
		e := err.(*refundflow.Error)
		c.AbortWithStatusJSON(http.StatusBadRequest, errorBody{Error: errorJSON{Code: e.Code, Field: e.Field, Message: e.Error(), Details: []detailsJSON{}}})
	}
}

func (s *Server) healthz(c *gin.Context) {
	c.JSON(http.StatusOK, gin.H{"status": "ok"})
}

// readyz answers 200 only when PostgreSQL and Temporal both really answer.
func (s *Server) readyz(c *gin.Context) {
	ctx, cancel := context.WithTimeout(c.Request.Context(), 3*time.Second)
	defer cancel()
	checks := gin.H{}
	ready := true
	if err := s.DB.Ping(ctx); err != nil {
		checks["postgres"], ready = err.Error(), false
	} else {
		checks["postgres"] = "ok"
	}
	if s.Temporal == nil {
		checks["temporal"], ready = "not configured", false
	} else if _, err := s.Temporal.CheckHealth(ctx, &client.CheckHealthRequest{}); err != nil {
		checks["temporal"], ready = err.Error(), false
	} else {
		checks["temporal"] = "ok"
	}
	status := http.StatusOK
	if !ready {
		status = http.StatusServiceUnavailable
	}
	c.JSON(status, gin.H{"ready": ready, "checks": checks})
}

// recover turns a panic into a logged 500 in the API's error format.
func (s *Server) recover(c *gin.Context) {
	defer func() {
		if r := recover(); r != nil {
			if r == http.ErrAbortHandler {
				panic(r)
			}
			s.Logger.Error("panic in handler", "route", c.FullPath(), "panic", r)
			c.AbortWithStatusJSON(http.StatusInternalServerError, errorBody{Error: errorJSON{
				Code: "internal", Message: "something went wrong on our side; it has been logged", Details: []detailsJSON{}}})
		}
	}()
	c.Next()
}

func limitBody(c *gin.Context) {
	if c.Request.Body != nil {
		c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, web.MaxBodyBytes)
	}
	c.Next()
}

// observe logs each request and counts it for /metrics, by route pattern
// (never by raw path, which would explode the label space).
func (s *Server) observe() gin.HandlerFunc {
	duration := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "refundflow_http_request_duration_seconds",
		Help:    "HTTP requests by route, method and status.",
		Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
	}, []string{"route", "method", "status"})
	s.Registry.MustRegister(duration)
	return func(c *gin.Context) {
		start := time.Now()
		c.Next()
		route := c.FullPath()
		if route == "" {
			route = "unmatched"
		}
		status := c.Writer.Status()
		elapsed := time.Since(start)
		duration.WithLabelValues(route, c.Request.Method, strconv.Itoa(status)).Observe(elapsed.Seconds())
		level := slog.LevelDebug
		if status >= 500 {
			level = slog.LevelWarn
		}
		s.Logger.Log(c.Request.Context(), level, "http", "method", c.Request.Method, "route", route, "status", status, "duration", elapsed)
	}
}

// newID returns prefix_ and 16 random hex characters.
func itoa(i int) string { return strconv.Itoa(i) }
