// Package refundflow holds the domain vocabulary that every part of the
// product shares: the facts the platform pushes (products, orders, progress,
// outages), refund reasons, and the error type that carries a machine code
// from the domain to the HTTP edge.
//
// It has no dependencies on Temporal, PostgreSQL or HTTP; adapters live in
// their own packages (postgres, payments, api, ...).
package refundflow

import (
	"errors"
	"fmt"
)

// Kind says what sort of failure an error is; the HTTP layer maps each kind
// to one status code in one place (api/errors.go).
type Kind string

const (
	EINVALID       Kind = "invalid"       // the request is malformed or a field is wrong (400)
	EUNAUTHORIZED  Kind = "unauthorized"  // no or unknown credentials (401)
	EFORBIDDEN     Kind = "forbidden"     // known caller, not allowed (403)
	ENOTFOUND      Kind = "not_found"     // the thing does not exist (404)
	ECONFLICT      Kind = "conflict"      // the thing exists or is in the wrong state (409)
	ETOOLARGE      Kind = "too_large"     // the request body is over the limit (413)
	EUNPROCESSABLE Kind = "unprocessable" // well-formed but breaks a business rule (422)
	ETHROTTLED     Kind = "throttled"     // too many failed attempts from this client; wait (429)
	EUNAVAILABLE   Kind = "unavailable"   // a dependency is down; try again (503)
	EINTERNAL      Kind = "internal"      // a bug or an unexpected failure (500)
)

// Error is a failure the caller can act on. Code is a precise, stable,
// snake_case identifier (e.g. "unknown_currency"); Field names the input at
// fault, as a JSON path, when there is one.
type Error struct {
	Kind    Kind
	Code    string
	Field   string
	Message string
	// Details lists further problems found in the same input, so a client can
	// fix all of them at once.
	Details []*Error
}

func (e *Error) Error() string {
	if e.Field != "" {
		return fmt.Sprintf("%s: %s", e.Field, e.Message)
	}
	return e.Message
}

// Errorf returns an *Error of the given kind and code.
func Errorf(kind Kind, code, format string, args ...any) *Error {
	return &Error{Kind: kind, Code: code, Message: fmt.Sprintf(format, args...)}
}

// FieldError returns an EINVALID error about one input field.
func FieldError(field, code, format string, args ...any) *Error {
	return &Error{Kind: EINVALID, Code: code, Field: field, Message: fmt.Sprintf(format, args...)}
}

// ErrorKind returns the kind of the first *Error in err's chain, or EINTERNAL.
func ErrorKind(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return EINTERNAL
}

// ErrorCode returns the code of the first *Error in err's chain, or "internal".
func ErrorCode(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return "internal"
}

// Problems collects field errors while validating one input, so that all of
// them are reported together.
type Problems []*Error

// Add records a field error.
func (p *Problems) Add(field, code, format string, args ...any) {
	*p = append(*p, FieldError(field, code, format, args...))
}

// Err returns nil when nothing was recorded, otherwise the first problem with
// all of them as its details.
func (p Problems) Err() error {
	if len(p) == 0 {
		return nil
	}
	first := *p[0]
	first.Details = p
	return &first
}

// ErrOfKind is Err for problems that are not about the input's form: the
// error and its details are of kind (a conflict, say, or unprocessable).
func (p Problems) ErrOfKind(kind Kind) error {
	for _, e := range p {
		e.Kind = kind
	}
	return p.Err()
}
