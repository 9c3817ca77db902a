package notify

import (
	"errors"
	"fmt"
	"time"
)

// DeliveryError is a failed email or webhook delivery. Whether to try again
// is the caller's call; Permanent says another attempt with the same input
// cannot succeed (a rejected address, a 4xx from the platform), so the
// caller should stop and raise it with a person instead.
type DeliveryError struct {
	// Op says what failed: "smtp RCPT", "webhook refund.succeeded evt_1", ...
	Op string
	// Code is the SMTP reply code or HTTP status; 0 when there was no reply
	// (network errors, timeouts, invalid input).
	Code      int
	Permanent bool
	// RetryAfter is the receiver's Retry-After (429, 503), 0 when it sent none;
	// a Temporal activity can pass it on as its next retry delay.
	RetryAfter time.Duration
	Err        error
}

func (e *DeliveryError) Error() string {
	kind := "temporary"
	if e.Permanent {
		kind = "permanent"
	}
	return fmt.Sprintf("%s (%s): %v", e.Op, kind, e.Err)
}

func (e *DeliveryError) Unwrap() error { return e.Err }

// IsPermanent reports whether err says that retrying cannot help. Unknown
// errors count as temporary: a lost message is worse than a retried one.
func IsPermanent(err error) bool {
	var d *DeliveryError
	return errors.As(err, &d) && d.Permanent
}

func permanent(op string, err error) error {
	return &DeliveryError{Op: op, Permanent: true, Err: err}
}
