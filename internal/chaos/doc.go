// Package chaos proves SPEC 7's reliability bar by breaking things on
// purpose (make chaos): it runs the product as separate processes — the
// Temporal server, the API, workers, the fake Stripe and PostgreSQL, all on
// loopback, with a real SMTP server (the learners' mail) and the
// platform's webhook receiver in the run's own process — submits hundreds
// of refund cases of every path through the HTTP API, and meanwhile:
//
//   - kills workers with SIGKILL (also while Stripe holds a committed
//     refund's answer, and while the mail server or the receiver holds the
//     answer to a message it took), the API mid-request and the Temporal
//     server, and starts them again;
//   - restarts PostgreSQL the way a crash would;
//   - makes Stripe fail, throttle, stall and drop connections, and sends
//     its webhooks twice, out of order and again later;
//   - takes the mail server and the receiver down for a while, and makes
//     the receiver answer 5xx (before it took an event, and after);
//   - sends some requests without an Idempotency-Key, a few of them while
//     the API or Temporal is down, and retries every request as a
//     platform would: on no answer or a 5xx, and on a 409
//     refund_in_progress takes the case the error names.
//
// Then it checks what must hold whatever happened:
//
//   - every request got a case (its id, or a 409 naming it), no case
//     exists that no answer named, and every case reached a terminal state
//     (the one its path leads to) — none left evaluating;
//   - exactly one Stripe refund, succeeded, per refunded case (found by
//     its metadata), none for cases that did not refund — a failed case
//     may have a failed refund, never a succeeded one;
//   - refunded ≤ paid for every order, nothing left in flight, and the
//     order's refunded amount equal to what Stripe refunded;
//   - the ledger balanced per currency, its refunds equal to Stripe's
//     succeeded refunds per currency and per order, clawbacks equal to
//     Stripe's transfer reversals;
//   - the platform told to revoke access exactly for the cases whose money
//     moved;
//   - every message: each step of a case wrote the messages it causes and
//     no others; every email and platform event in the outbox was
//     delivered (none pending, none dead) and arrived — once after
//     deduplication by Message-ID and event id, signed, with the content
//     the outbox holds — and nothing arrived that the outbox does not
//     hold; each says what was true at its step (an event's status is the
//     case's status at the step its id names, revoke_access only on
//     refund.succeeded), and a learner's email and in-app message with the
//     same id say the same.
//
// Run returns a Report: one summary line (outcomes, requests, faults of
// each kind, messages checked and deduplicated), and findings for
// diagnosis. cmd/refundflow-chaos is the command; a short run is a test of
// this package, so it is part of make test.
package chaos
