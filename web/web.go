package web

import (
	"context"
	"errors"
	"io"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
	"go.temporal.io/api/serviceerror"

	"github.com/refundflow/refundflow"
)

// MaxBodyBytes bounds every request body, the API's and the console's
// forms; nothing either accepts is near it.
const MaxBodyBytes = 1 << 20

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

const (
	CodeTemporalUnavailable = "temporal_unavailable"
	CodeDatabaseUnavailable = "database_unavailable"
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
		return refundflow.Errorf(refundflow.EUNAVAILABLE, CodeTemporalUnavailable, "the workflow service is unavailable; retry shortly")
	case databaseUnavailable(err):
		return refundflow.Errorf(refundflow.EUNAVAILABLE, CodeDatabaseUnavailable, "the database is unavailable; retry shortly")
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

// CheckQuery refuses query parameters that are not storable text
// (refundflow.CheckText), naming the first; the console holds its pages'
// queries to it too.
func CheckQuery(query url.Values) error {
	var pr refundflow.Problems
	for _, name := range slices.Sorted(maps.Keys(query)) {
		for _, v := range query[name] {
			refundflow.CheckText(&pr, name, v)
		}
	}
	return pr.Err()
}
