package api

import (
	"slices"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/refundflow/refundflow"
	"github.com/refundflow/refundflow/web"
)

const callerKey = "refundflow.caller"

// authenticate resolves the bearer key and refuses the request unless the
// key's role is one of roles. Secrets are never logged. A key that is not
// valid counts against the client's address (Throttle).
func (s *Server) authenticate(roles ...refundflow.Role) gin.HandlerFunc {
	return func(c *gin.Context) {
		header := c.GetHeader("Authorization")
		if header == "" {
			s.fail(c, refundflow.Errorf(refundflow.EUNAUTHORIZED, "missing_api_key", "send Authorization: Bearer <api key>"))
			return
		}
		scheme, secret, ok := strings.Cut(header, " ")
		secret = strings.TrimSpace(secret)
		if !ok || !strings.EqualFold(scheme, "Bearer") || secret == "" || strings.ContainsAny(secret, " \t") {
			s.failKey(c, refundflow.Errorf(refundflow.EUNAUTHORIZED, "malformed_authorization", "the Authorization header must be: Bearer <api key>"))
			return
		}
		key, err := s.DB.Authenticate(c.Request.Context(), secret)
		if refundflow.ErrorKind(err) == refundflow.EUNAUTHORIZED {
			s.failKey(c, err)
			return
		}
		if err != nil {
			s.fail(c, err)
			return
		}
		if !slices.Contains(roles, key.Role) {
			s.fail(c, refundflow.Errorf(refundflow.EFORBIDDEN, "forbidden_role", "a %s key may not do this", key.Role))
			return
		}
		c.Set(callerKey, key)
	}
}

// failKey answers a key check that failed: 401, or 429 with Retry-After
// once the client's address has used up its budget of failures.
func (s *Server) failKey(c *gin.Context, err error) {
	if wait, refused := s.Throttle.Failed("api", c.ClientIP()); refused {
		c.Header("Retry-After", web.RetryAfterSeconds(wait))
		err = refundflow.Errorf(refundflow.ETHROTTLED, "too_many_failed_keys",
			"too many requests with a key that is not valid came from this address; retry after %s s", web.RetryAfterSeconds(wait))
	}
	s.fail(c, err)
}

// caller is the API key of an authenticated request.
func caller(c *gin.Context) *refundflow.APIKey {
	return c.MustGet(callerKey).(*refundflow.APIKey)
}
