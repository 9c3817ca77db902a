// Package stripefake is a stateful, Stripe-compatible HTTP server for the
// refund part of Stripe's API, so that refundflow's exactly-once refund logic
// can be tested against something that remembers: stripe-mock answers every
// call from fixtures, so the same idempotency key gives two different refunds
// there, and nothing can be listed afterwards.
//
// It speaks Stripe's wire protocol (form-encoded requests, JSON objects and
// Stripe's error JSON, API version 2023-10-16) well enough for stripe-go v76 to
// be pointed at it:
//
//	fake := stripefake.New(stripefake.Options{})
//	srv := httptest.NewServer(fake)
//	backend := stripe.GetBackendWithConfig(stripe.APIBackend, &stripe.BackendConfig{URL: stripe.String(srv.URL)})
//	sc := client.New("sk_test_anything", &stripe.Backends{API: backend})
//
// What it keeps: payment intents with one charge each (seeded through the
// admin API, with caller-chosen ids so a product database and the fake agree),
// refunds and their life cycle, Connect transfer reversals and application-fee
// refunds, idempotency keys exactly as Stripe documents them, and the events
// it sends to a webhook endpoint, signed like Stripe's.
//
// What it lets a test do to the caller: fail a request before or after the
// refund is committed, answer 429 (rate_limit, which stripe-go does not retry,
// or lock_timeout, which it does), hold a response past the client's timeout,
// drop the connection after the commit, rate-limit each endpoint for real,
// move refunds through pending / requires_action to succeeded or failed,
// deliver webhooks twice or out of order, and jump the clock past Stripe's
// 24-hour idempotency window.
//
// Everything a test can do in process through methods on [Server] is also
// available as JSON under /_fake/ for other processes (see cmd/stripefake).
package stripefake
