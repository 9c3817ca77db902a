package api

import (
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/refundflow/refundflow"
	"github.com/refundflow/refundflow/postgres"
)

// learnerMessages serves the learner's in-app messages, newest first: what
// the emails also said, for the platform's app to show.
func (s *Server) learnerMessages(c *gin.Context) {
	var pr refundflow.Problems
	pg := parsePage(c, &pr)
	if err := pr.Err(); err != nil {
		s.fail(c, err)
		return
	}
	msgs, err := s.DB.LearnerMessages(c.Request.Context(), c.Param("id"), pg.AfterAt, pg.AfterID, pg.Limit)
	if err != nil {
		s.fail(c, err)
		return
	}
	next := nextCursor(pg, msgs, func(m postgres.LearnerMessage) (time.Time, string) { return m.CreatedAt, m.ID })
	c.JSON(http.StatusOK, gin.H{"data": msgs, "next_cursor": next})
}
