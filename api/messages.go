package api

import (
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/refundflow/refundflow"
)

// learnerMessages serves the learner's in-app messages, newest first: what
// the emails also said, for the platform's app to show.
func (s *Server) learnerMessages(c *gin.Context) {
	limit := 50
	var pr refundflow.Problems
	if v := c.Query("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 200 {
			pr.Add("limit", "invalid_limit", "must be a whole number from 1 to 200")
		}
		limit = n
	}
	var afterID string
	var afterAt *time.Time
	if v := c.Query("cursor"); v != "" {
		at, id, ok := parseCursor(v)
		if !ok {
			pr.Add("cursor", "invalid_cursor", "use the next_cursor of a previous page")
		}
		afterAt, afterID = &at, id
	}
	if err := pr.Err(); err != nil {
		s.fail(c, err)
		return
	}
	msgs, err := s.DB.LearnerMessages(c.Request.Context(), c.Param("id"), afterAt, afterID, limit)
	if err != nil {
		s.fail(c, err)
		return
	}
	var next any
	if len(msgs) == limit {
		last := msgs[len(msgs)-1]
		next = makeCursor(last.CreatedAt, last.ID)
	}
	c.JSON(http.StatusOK, gin.H{"data": msgs, "next_cursor": next})
}
