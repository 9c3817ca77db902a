package payments

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"testing"

	"github.com/stripe/stripe-go/v76"
)

func TestClassifyTellsRetryFromRefusal(t *testing.T) {
	stripeErr := func(status int, code stripe.ErrorCode, typ stripe.ErrorType) error {
		return fmt.Errorf("create: %w", &stripe.Error{HTTPStatusCode: status, Code: code, Type: typ})
	}
	cases := []struct {
		name  string
		err   error
		class Class
		code  string
	}{
		{"rate limit", stripeErr(429, stripe.ErrorCodeRateLimit, stripe.ErrorTypeInvalidRequest), RateLimited, "rate_limit"},
		{"lock timeout", stripeErr(429, stripe.ErrorCodeLockTimeout, stripe.ErrorTypeInvalidRequest), RateLimited, "lock_timeout"},
		{"already refunded", stripeErr(400, stripe.ErrorCodeChargeAlreadyRefunded, stripe.ErrorTypeInvalidRequest), Permanent, "already_refunded"},
		{"disputed", stripeErr(400, stripe.ErrorCodeChargeDisputed, stripe.ErrorTypeInvalidRequest), Permanent, "disputed"},
		{"amount too large", stripeErr(400, stripe.ErrorCodeAmountTooLarge, stripe.ErrorTypeInvalidRequest), Permanent, "amount_too_large"},
		{"no such payment", stripeErr(404, stripe.ErrorCodeResourceMissing, stripe.ErrorTypeInvalidRequest), Permanent, "no_such_payment"},
		{"key reused with other parameters", stripeErr(400, "", stripe.ErrorTypeIdempotency), Permanent, "idempotency_mismatch"},
		{"bad key", stripeErr(http.StatusUnauthorized, "", stripe.ErrorTypeInvalidRequest), Misconfigured, "stripe_auth"},
		{"account not allowed", stripeErr(http.StatusForbidden, "", stripe.ErrorTypeInvalidRequest), Misconfigured, "stripe_auth"},
		{"key in use", stripeErr(409, stripe.ErrorCodeIdempotencyKeyInUse, stripe.ErrorTypeInvalidRequest), Ambiguous, "in_flight"},
		{"server error", stripeErr(500, "", stripe.ErrorTypeAPI), Ambiguous, "stripe_5xx"},
		{"timeout", fmt.Errorf("create: %w", context.DeadlineExceeded), Ambiguous, "network"},
		{"two refunds for one case", &DuplicateError{RefundID: "rf_1"}, Permanent, "duplicate_refunds"},
		{"anything else", errors.New("boom"), Ambiguous, "unknown"},
	}
	for _, c := range cases {
		class, code := Classify(c.err)
		if class != c.class || code != c.code {
			t.Errorf("%s: Classify = %v %q, want %v %q", c.name, class, code, c.class, c.code)
		}
	}
}
