package payments

import (
	"context"
	"errors"
	"net"
	"net/http"

	"github.com/stripe/stripe-go/v76"
)

// Class says what to do about a failed call.
type Class int

const (
	// Ambiguous: the call may or may not have taken effect (timeout, 5xx,
	// dropped connection). Retry, but first look for a refund already made.
	Ambiguous Class = iota
	// RateLimited: Stripe refused before doing anything; retry with backoff
	// (stripe-go does not retry these itself).
	RateLimited
	// Permanent: retrying cannot help (already refunded, disputed, amount too
	// large, no such payment, bad request).
	Permanent
	// Misconfigured: Stripe refused our credentials or account, before
	// doing anything. Nothing moved and every refund would fail the same
	// way, so failing the cases would only leave finance to re-drive them;
	// retry with backoff instead until an operator fixes the key.
	Misconfigured
)

// Classify sorts an error from this package, with a short stable code for
// logs, metrics and the case timeline.
func Classify(err error) (Class, string) {
	var se *stripe.Error
	if errors.As(err, &se) {
		switch {
		case se.HTTPStatusCode == http.StatusTooManyRequests && se.Code == stripe.ErrorCodeRateLimit:
			return RateLimited, "rate_limit"
		case se.HTTPStatusCode == http.StatusTooManyRequests:
			return RateLimited, "lock_timeout"
		case se.Code == stripe.ErrorCodeChargeAlreadyRefunded:
			return Permanent, "already_refunded"
		case se.Code == stripe.ErrorCodeChargeDisputed || se.Code == stripe.ErrorCodeRefundDisputedPayment:
			return Permanent, "disputed"
		case se.Code == stripe.ErrorCodeAmountTooLarge:
			return Permanent, "amount_too_large"
		case se.Code == stripe.ErrorCodeResourceMissing:
			return Permanent, "no_such_payment"
		case se.Type == stripe.ErrorTypeIdempotency:
			// Same key, other parameters: a bug on our side, never a retry.
			return Permanent, "idempotency_mismatch"
		case se.HTTPStatusCode == http.StatusConflict:
			return Ambiguous, "in_flight"
		case se.HTTPStatusCode >= 500:
			return Ambiguous, "stripe_5xx"
		case se.HTTPStatusCode == http.StatusUnauthorized || se.HTTPStatusCode == http.StatusForbidden:
			return Misconfigured, "stripe_auth"
		case se.HTTPStatusCode >= 400:
			return Permanent, "stripe_" + string(se.Code)
		}
	}
	var dup *DuplicateError
	if errors.As(err, &dup) {
		return Permanent, "duplicate_refunds"
	}
	var ne net.Error
	if errors.As(err, &ne) || errors.Is(err, context.DeadlineExceeded) {
		return Ambiguous, "network"
	}
	return Ambiguous, "unknown"
}

// Replayed reports whether err is Stripe's saved answer to an earlier
// request made with the same idempotency key (Stripe marks it
// Idempotent-Replayed), not the outcome of this request. Stripe saves
// 5xx answers too: a key whose first request failed that way answers
// every retry with the same error, for as long as Stripe remembers it.
func Replayed(err error) bool {
	var se *stripe.Error
	return errors.As(err, &se) && se.LastResponse != nil && se.LastResponse.Header.Get("Idempotent-Replayed") == "true"
}
