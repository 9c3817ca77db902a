package stripefake

import (
	"time"
)

// Stripe's idempotency layer, as documented at
// https://docs.stripe.com/api/idempotent_requests:
//
//   - the status and body of the first request made with a key are saved once
//     the endpoint starts executing, whatever they are (500s included), and
//     every later request with that key gets them back;
//   - the same key with other parameters, or on another endpoint, is an
//     idempotency_error;
//   - a request whose key is still executing gets 409 idempotency_key_in_use;
//   - a request refused by parameter validation never reached the endpoint,
//     so nothing is saved and the key stays free;
//   - keys may be pruned once they are at least 24 hours old, after which the
//     same key executes again.
//
// Keys are scoped per account (the Stripe-Account header), as Stripe scopes
// them per account and mode.

type idemScope struct {
	account string
	key     string
}

type idemEntry struct {
	endpoint  string // request path, compared on reuse
	params    string // canonical form encoding, compared on reuse
	firstUsed time.Time
	done      bool
	status    int
	body      []byte
	requestID string // the request whose outcome is saved, sent back as Original-Request
}

type idemVerdict int

const (
	idemExecute idemVerdict = iota
	idemReplay
	idemInUse
	idemOtherEndpoint
	idemOtherParams
)

type idemStore struct {
	ttl       time.Duration
	entries   map[idemScope]*idemEntry
	lastSweep time.Time
}

func newIdemStore(ttl time.Duration) idemStore {
	return idemStore{ttl: ttl, entries: map[idemScope]*idemEntry{}}
}

// begin decides what a request carrying a key does. With idemExecute the
// returned entry is reserved (in flight) and the caller must complete it.
func (st *idemStore) begin(scope idemScope, endpoint, params string, now time.Time) (idemVerdict, *idemEntry) {
	st.sweep(now)
	e, ok := st.entries[scope]
	if ok && st.expired(e, now) {
		delete(st.entries, scope)
		ok = false
	}
	if !ok {
		e = &idemEntry{endpoint: endpoint, params: params, firstUsed: now}
		st.entries[scope] = e
		return idemExecute, e
	}
	switch {
	case !e.done:
		return idemInUse, e
	case e.endpoint != endpoint:
		return idemOtherEndpoint, e
	case e.params != params:
		return idemOtherParams, e
	}
	return idemReplay, e
}

func (st *idemStore) expired(e *idemEntry, now time.Time) bool {
	return e.done && !now.Before(e.firstUsed.Add(st.ttl))
}

// sweep drops expired keys now and then, so that a long benchmark run does not
// keep every key it ever used; lookups check expiry themselves.
func (st *idemStore) sweep(now time.Time) {
	if now.Sub(st.lastSweep) < time.Minute {
		return
	}
	st.lastSweep = now
	for scope, e := range st.entries {
		if st.expired(e, now) {
			delete(st.entries, scope)
		}
	}
}

func (e *idemEntry) complete(status int, body []byte, requestID string) {
	e.done = true
	e.status = status
	e.body = body
	e.requestID = requestID
}
