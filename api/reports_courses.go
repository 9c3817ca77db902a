package api

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/refundflow/refundflow"
	"github.com/refundflow/refundflow/cases"
)

// coursesReport serves GET /v1/reports/courses.
func (s *Server) coursesReport(c *gin.Context) {
	var pr refundflow.Problems
	csv := cases.FormatCSV(c.Request.URL.Query(), &pr)
	if err := pr.Err(); err != nil {
		s.fail(c, err)
		return
	}
	out, err := s.CoursesReport(c.Request.Context())
	if err != nil {
		s.fail(c, err)
		return
	}
	if csv {
		out.CSV().Serve(c.Writer)
		return
	}
	c.JSON(http.StatusOK, out)
}
