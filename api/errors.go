package api

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"
	"github.com/jackc/pgx/v5/pgconn"
	"go.temporal.io/api/serviceerror"

	"github.com/refundflow/refundflow"
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

// StatusOf is the one place where error kinds become HTTP statuses (the
// console's pages answer with them too).
func StatusOf(kind refundflow.Kind) int {
	switch kind {
	case refundflow.EINVALID:
		return http.StatusBadRequest
	case refundflow.EUNAUTHORIZED:
		return http.StatusUnauthorized
	case refundflow.EFORBIDDEN:
		return http.StatusForbidden
	case refundflow.ENOTFOUND:
		return http.StatusNotFound
	case refundflow.ECONFLICT:
		return http.StatusConflict
	case refundflow.ETOOLARGE:
		return http.StatusRequestEntityTooLarge
	case refundflow.EUNPROCESSABLE:
		return http.StatusUnprocessableEntity
	case refundflow.ETHROTTLED:
		return http.StatusTooManyRequests
	case refundflow.EUNAVAILABLE:
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

// fail writes err in the API's error format and stops the handler chain.
// Errors that are not *refundflow.Error are internal: they are logged and
// the client sees a generic message, never the details.
func (s *Server) fail(c *gin.Context, err error) {
	e := Refusal(err)
	switch {
	case e == nil:
		s.Logger.Error("request failed", "method", c.Request.Method, "route", c.FullPath(), "error", err)
		e = refundflow.Errorf(refundflow.EINTERNAL, "internal", "something went wrong on our side; it has been logged")
	case e.Code == codeTemporalUnavailable || e.Code == codeDatabaseUnavailable:
		s.Logger.Warn("a dependency is unavailable", "method", c.Request.Method, "route", c.FullPath(), "error", err)
	}
	body := errorBody{Error: errorJSON{Code: e.Code, Message: e.Error(), Field: e.Field, Details: []detailsJSON{}}}
	for _, d := range e.Details {
		body.Error.Details = append(body.Error.Details, detailsJSON{Code: d.Code, Field: d.Field, Message: d.Error()})
	}
	c.AbortWithStatusJSON(StatusOf(e.Kind), body)
}

const (
	codeTemporalUnavailable = "temporal_unavailable"
	codeDatabaseUnavailable = "database_unavailable"
)

// Refusal is err as a caller is told it: the *refundflow.Error it
// carries, or what a dependency's failure is (Temporal or PostgreSQL
// unavailable, a timeout: the request was fine and may be retried). It is
// nil for any other error, which is internal: logged, never shown. The
// console tells its users what the API tells a client.
func Refusal(err error) *refundflow.Error {
	var e *refundflow.Error
	switch {
	case errors.As(err, &e):
		return e
	case unavailable(err):
		return refundflow.Errorf(refundflow.EUNAVAILABLE, codeTemporalUnavailable, "the workflow service is unavailable; retry shortly")
	case databaseUnavailable(err):
		return refundflow.Errorf(refundflow.EUNAVAILABLE, codeDatabaseUnavailable, "the database is unavailable; retry shortly")
	case errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled):
		return refundflow.Errorf(refundflow.EUNAVAILABLE, "timeout", "the request timed out; it is safe to retry")
	}
	return nil
}

// unavailable reports whether Temporal could not be reached or did not
// answer in time: the request was fine, the caller may retry.
func unavailable(err error) bool {
	var u *serviceerror.Unavailable
	var d *serviceerror.DeadlineExceeded
	var r *serviceerror.ResourceExhausted
	return errors.As(err, &u) || errors.As(err, &d) || errors.As(err, &r)
}

// databaseUnavailable reports whether PostgreSQL could not be reached or
// dropped the connection (restarting, shutting down, a crash): the request
// was fine, the caller may retry.
func databaseUnavailable(err error) bool {
	var ce *pgconn.ConnectError
	if errors.As(err, &ce) {
		return true
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		// 08: connection exception; 57P: the server is shutting down,
		// crashed, or cannot take connections yet.
		return strings.HasPrefix(pe.Code, "08") || strings.HasPrefix(pe.Code, "57P")
	}
	return errors.Is(err, io.ErrUnexpectedEOF)
}
