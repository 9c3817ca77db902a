package api

import (
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
)

type reconcileRequest struct {
	From *time.Time `json:"from"`
	To   *time.Time `json:"to"`
}

// postReconciliation serves POST /v1/reconciliations: an on-demand
// reconciliation, answered as soon as it started.
func (s *Server) postReconciliation(c *gin.Context) {
	var req reconcileRequest
	if !s.optionalBody(c, &req) {
		return
	}
	started, err := s.StartReconciliation(c.Request.Context(), req.From, req.To)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.Header("Location", started.ReportURL)
	c.JSON(http.StatusAccepted, started)
}
