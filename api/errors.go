package api

import (
	"github.com/gin-gonic/gin"

	"github.com/refundflow/refundflow"
	"github.com/refundflow/refundflow/web"
)

// errorBody is the one error format of the API (SPEC 5).
type errorBody struct {
	Error errorJSON `json:"error"`
}

type errorJSON struct {
	Code    string        `json:"code"`
	Message string        `json:"message"`
	Field   string        `json:"field,omitempty"`
	Details []detailsJSON `json:"details"`
}

type detailsJSON struct {
	Code    string `json:"code"`
	Field   string `json:"field,omitempty"`
	Message string `json:"message"`
}

// fail writes err in the API's error format and stops the handler chain.
// Errors that are not *refundflow.Error are internal: they are logged and
// the client sees a generic message, never the details.
func (s *Server) fail(c *gin.Context, err error) {
	e := web.Refusal(err)
	switch {
	case e == nil:
		s.Logger.Error("request failed", "method", c.Request.Method, "route", c.FullPath(), "error", err)
		e = refundflow.Errorf(refundflow.EINTERNAL, "internal", "something went wrong on our side; it has been logged")
	case e.Code == web.CodeTemporalUnavailable || e.Code == web.CodeDatabaseUnavailable:
		s.Logger.Warn("a dependency is unavailable", "method", c.Request.Method, "route", c.FullPath(), "error", err)
	}
	body := errorBody{Error: errorJSON{Code: e.Code, Message: e.Error(), Field: e.Field, Details: []detailsJSON{}}}
	for _, d := range e.Details {
		body.Error.Details = append(body.Error.Details, detailsJSON{Code: d.Code, Field: d.Field, Message: d.Error()})
	}
	c.AbortWithStatusJSON(web.StatusOf(e.Kind), body)
}
