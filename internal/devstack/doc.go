// Package devstack runs the whole product on one machine with embedded
// parts: a project-local PostgreSQL cluster, an embedded Temporal server on
// SQLite with its UI, stripe-mock, a mail sink, and the API and worker in
// the same process. It is the only package that links go.temporal.io/server;
// the production binary (cmd/refundflow) never imports it. Integration
// tests use StartTemporal for a real server in-process.
package devstack
