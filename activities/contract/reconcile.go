package contract

import (
	"time"
)

// ReconcileRun names one reconciliation of the Stripe refunds created in
// [From, To) with the ledger.
type ReconcileRun struct {
	RunID   string
	Trigger string // schedule, manual
	From    time.Time
	To      time.Time
}

// ReconcilePageInput asks for the page of Stripe's refunds after
// StartingAfter ("" = the newest).
type ReconcilePageInput struct {
	Run           ReconcileRun
	StartingAfter string
}

// ReconcilePageResult says where the next page starts.
type ReconcilePageResult struct {
	Last    string
	HasMore bool
	Seen    int
}
