package stripefake

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"time"
)

// Endpoints the fake serves. They are the net/http routing patterns, and name
// an endpoint wherever one is needed: fault rules, the rate limiter and the
// request counters.
const (
	EndpointCreateRefund          = "POST /v1/refunds"
	EndpointListRefunds           = "GET /v1/refunds"
	EndpointGetRefund             = "GET /v1/refunds/{id}"
	EndpointUpdateRefund          = "POST /v1/refunds/{id}"
	EndpointCancelRefund          = "POST /v1/refunds/{id}/cancel"
	EndpointGetPaymentIntent      = "GET /v1/payment_intents/{id}"
	EndpointGetCharge             = "GET /v1/charges/{id}"
	EndpointGetTransfer           = "GET /v1/transfers/{id}"
	EndpointGetApplicationFee     = "GET /v1/application_fees/{id}"
	EndpointGetBalanceTransaction = "GET /v1/balance_transactions/{id}"
)

var endpoints = []string{
	EndpointCreateRefund, EndpointListRefunds, EndpointGetRefund, EndpointUpdateRefund,
	EndpointCancelRefund, EndpointGetPaymentIntent, EndpointGetCharge, EndpointGetTransfer,
	EndpointGetApplicationFee, EndpointGetBalanceTransaction,
}

// FaultKind is what an injected fault does to a request.
type FaultKind string

const (
	// FaultErrorBeforeCommit answers 5xx without executing: nothing is
	// created, and the error is saved under the idempotency key like any
	// outcome of an executed request, so a retry with the same key gets the
	// same error (Stripe saves 500s too).
	FaultErrorBeforeCommit FaultKind = "error_before_commit"
	// FaultErrorAfterCommit executes the request, then answers 5xx: the
	// refund exists but the caller sees an error, and the same key replays it.
	FaultErrorAfterCommit FaultKind = "error_after_commit"
	// FaultRateLimit answers 429 rate_limit in front of everything (nothing is
	// executed or saved). stripe-go does not retry these.
	FaultRateLimit FaultKind = "rate_limit"
	// FaultLockTimeout answers 429 lock_timeout in front of everything.
	// stripe-go retries these.
	FaultLockTimeout FaultKind = "lock_timeout"
	// FaultDelayAfterCommit executes and saves the outcome, then holds the
	// response for Delay: long enough and the caller times out not knowing
	// the refund exists.
	FaultDelayAfterCommit FaultKind = "delay_after_commit"
	// FaultDropAfterCommit executes and saves the outcome, then closes the
	// connection without answering.
	FaultDropAfterCommit FaultKind = "drop_after_commit"
)

// Fault is a rule for the next Times requests to one endpoint. Rules of an
// endpoint are consumed in the order they were injected. Rate-limit and
// lock-timeout rules are consumed by the next requests that arrive; the
// others only by requests that execute (not by a replay, a 409 or a request
// refused by parameter validation), because they are about what happens to
// an execution.
type Fault struct {
	Endpoint string        `json:"endpoint"`         // one of the Endpoint constants; empty = EndpointCreateRefund
	Kind     FaultKind     `json:"kind"`             //
	Times    int           `json:"times"`            // how many requests the rule applies to; 0 = 1
	Delay    time.Duration `json:"delay,omitempty"`  // FaultDelayAfterCommit only
	Status   int           `json:"status,omitempty"` // error kinds: 500 (default) to 599; 503 is one stripe-go retries even for POST
}

func (f Fault) frontDoor() bool {
	return f.Kind == FaultRateLimit || f.Kind == FaultLockTimeout
}

func (f *Fault) normalize() error {
	if f.Endpoint == "" {
		f.Endpoint = EndpointCreateRefund
	}
	if !slices.Contains(endpoints, f.Endpoint) {
		return fmt.Errorf("fault endpoint %q: %w", f.Endpoint, ErrInvalid)
	}
	if f.Times < 0 {
		return fmt.Errorf("fault times %d: %w", f.Times, ErrInvalid)
	}
	if f.Times == 0 {
		f.Times = 1
	}
	switch f.Kind {
	case FaultErrorBeforeCommit, FaultErrorAfterCommit:
		if f.Status == 0 {
			f.Status = http.StatusInternalServerError
		}
		if f.Status < 500 || f.Status > 599 {
			return fmt.Errorf("fault status %d is not a 5xx: %w", f.Status, ErrInvalid)
		}
	case FaultDelayAfterCommit:
		if f.Delay <= 0 {
			return fmt.Errorf("fault %s needs a delay: %w", f.Kind, ErrInvalid)
		}
	case FaultRateLimit, FaultLockTimeout, FaultDropAfterCommit:
	default:
		return fmt.Errorf("fault kind %q: %w", f.Kind, ErrInvalid)
	}
	return nil
}

// faultQueue holds the rules per endpoint, head first.
type faultQueue map[string][]*Fault

// take consumes one use of the head rule of endpoint if it is of the class
// asked for (front door or execution).
func (q faultQueue) take(endpoint string, frontDoor bool) *Fault {
	rules := q[endpoint]
	if len(rules) == 0 || rules[0].frontDoor() != frontDoor {
		return nil
	}
	head := rules[0]
	taken := *head
	taken.Times = 1
	head.Times--
	if head.Times == 0 {
		q[endpoint] = rules[1:]
	}
	return &taken
}

func (q faultQueue) pending() []Fault {
	var out []Fault
	for _, ep := range endpoints {
		for _, f := range q[ep] {
			out = append(out, *f)
		}
	}
	return out
}

// MarshalJSON writes Delay as Go duration syntax ("1.5s") for the admin API.
func (f Fault) MarshalJSON() ([]byte, error) {
	type plain Fault
	return json.Marshal(struct {
		plain
		Delay durationJSON `json:"delay,omitempty"`
	}{plain(f), durationJSON(f.Delay)})
}

// UnmarshalJSON reads Delay as Go duration syntax ("1.5s").
func (f *Fault) UnmarshalJSON(b []byte) error {
	type plain Fault
	var w struct {
		plain
		Delay durationJSON `json:"delay"`
	}
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	*f = Fault(w.plain)
	f.Delay = time.Duration(w.Delay)
	return nil
}

// durationJSON is a time.Duration that the admin API reads and writes as Go
// syntax ("250ms", "25h") rather than as nanoseconds.
type durationJSON time.Duration

func (d durationJSON) MarshalJSON() ([]byte, error) {
	return json.Marshal(time.Duration(d).String())
}

func (d *durationJSON) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("duration must be a string like \"250ms\": %w", err)
	}
	if s == "" {
		*d = 0
		return nil
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return err
	}
	*d = durationJSON(v)
	return nil
}
