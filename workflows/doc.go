// Package workflows tells refundflow's durable processes: the refund case
// (RefundWorkflow), ticket escalation, outage remediation and the scheduled
// jobs. Workflow code is deterministic; every side effect happens in an
// activity, called by its name in package contract (package activities
// implements them): the workflows never import PostgreSQL, Stripe or any
// other adapter. Names that cross process boundaries — task queues,
// workflow ids, signals, updates, queries, search attributes — live in
// names.go.
package workflows
