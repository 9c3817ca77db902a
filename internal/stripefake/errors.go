package stripefake

import (
	"errors"
	"fmt"
	"net/http"
)

// Errors returned by the admin methods; the /_fake/ API maps them to HTTP
// statuses in one place (adminStatus).
var (
	ErrNotFound = errors.New("not found")
	ErrExists   = errors.New("already exists")
	ErrInvalid  = errors.New("invalid")
)

// Stripe error types, as stripe-go decodes them into *stripe.Error.Type.
const (
	typeInvalidRequest = "invalid_request_error"
	typeIdempotency    = "idempotency_error"
	typeAPI            = "api_error"
)

// apiError is a refusal in Stripe's wire shape: {"error": {type, code,
// message, param}} with the HTTP status Stripe uses for it.
type apiError struct {
	status  int
	Type    string `json:"type"`
	Code    string `json:"code,omitempty"`
	Message string `json:"message"`
	Param   string `json:"param,omitempty"`
}

func (e *apiError) Error() string { return e.Message }

func invalidRequest(param, code, format string, args ...any) *apiError {
	return &apiError{
		status:  http.StatusBadRequest,
		Type:    typeInvalidRequest,
		Code:    code,
		Message: fmt.Sprintf(format, args...),
		Param:   param,
	}
}

// noSuch is Stripe's 404 for an id that does not exist, e.g.
// "No such payment_intent: 'pi_123'".
func noSuch(kind, id, param string) *apiError {
	return &apiError{
		status:  http.StatusNotFound,
		Type:    typeInvalidRequest,
		Code:    "resource_missing",
		Message: fmt.Sprintf("No such %s: '%s'", kind, id),
		Param:   param,
	}
}

func unknownParameter(name string) *apiError {
	return invalidRequest(name, "parameter_unknown", "Received unknown parameter: %s", name)
}

func rateLimited() *apiError {
	return &apiError{
		status:  http.StatusTooManyRequests,
		Type:    typeInvalidRequest,
		Code:    "rate_limit",
		Message: "Request rate limit exceeded. You can learn more about rate limits here https://stripe.com/docs/rate-limits.",
	}
}

// lockTimeout is the other 429 Stripe sends: a conflict on one object, which
// stripe-go does retry (unlike rate_limit).
func lockTimeout() *apiError {
	return &apiError{
		status:  http.StatusTooManyRequests,
		Type:    typeInvalidRequest,
		Code:    "lock_timeout",
		Message: "This object cannot be accessed right now because another API request or Stripe process is currently accessing it. If you see this error intermittently, retry the request.",
	}
}

func serverError(status int) *apiError {
	return &apiError{
		status:  status,
		Type:    typeAPI,
		Message: "Sorry, something went wrong. We've already been notified of the problem, but if you need any help, you can reach us at support.stripe.com/contact.",
	}
}

func keyInUse(key string) *apiError {
	return &apiError{
		status:  http.StatusConflict,
		Type:    typeInvalidRequest,
		Code:    "idempotency_key_in_use",
		Message: fmt.Sprintf("There is currently another in-progress request using this Idempotent Key (that probably means you submitted twice, and the other request is still going through): %s. Please try again later.", key),
	}
}

func keyOtherParams(key string) *apiError {
	return &apiError{
		status:  http.StatusBadRequest,
		Type:    typeIdempotency,
		Message: fmt.Sprintf("Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '%s' if you meant to execute a different request.", key),
	}
}

func keyOtherEndpoint(key, first, now string) *apiError {
	return &apiError{
		status:  http.StatusBadRequest,
		Type:    typeIdempotency,
		Message: fmt.Sprintf("Keys for idempotent requests can only be used for the same endpoint they were first used for ('%s' vs '%s'). Try using a key other than '%s' if you meant to execute a different request.", first, now, key),
	}
}

func unauthorized(format string, args ...any) *apiError {
	return &apiError{
		status:  http.StatusUnauthorized,
		Type:    typeInvalidRequest,
		Message: fmt.Sprintf(format, args...),
	}
}
