// Package chaos proves SPEC 7's reliability bar by breaking things on
// purpose (make chaos): it runs the product as separate processes — the
// Temporal server, the API, workers, the fake Stripe and PostgreSQL, all on
// loopback — submits hundreds of refund cases of every path through the
// HTTP API, and meanwhile kills workers with SIGKILL, restarts PostgreSQL
// the way a crash would, makes Stripe fail, throttle, stall and drop
// connections, and sends Stripe's webhooks twice, out of order and again
// later. Then it checks what must hold whatever happened:
//
//   - every case reached a terminal state (and the one its path leads to);
//   - exactly one Stripe refund, succeeded, per refunded case (found by
//     its metadata), none for cases that did not refund — a failed case
//     may have a failed refund, never a succeeded one;
//   - refunded ≤ paid for every order, nothing left in flight, and the
//     order's refunded amount equal to what Stripe refunded;
//   - the ledger balanced per currency, its refunds equal to Stripe's
//     succeeded refunds per currency and per order, clawbacks equal to
//     Stripe's transfer reversals;
//   - the platform told to revoke access exactly for the cases whose money
//     moved.
//
// Run returns a Report: one summary line, and findings for diagnosis.
// cmd/refundflow-chaos is the command; a short run is a test of this
// package, so it is part of make test.
package chaos
