// Package contract is what the workflows and the activities agree on: the
// activities' names, their inputs and results, and the error types a
// workflow tells apart. It imports only the domain, so the workflows —
// which call activities by these names — never see PostgreSQL, Stripe or
// any other adapter; package activities implements each name as a method
// of *activities.Activities with the same name.
package contract

// The activities, by name. A name is part of every recorded history:
// renaming one is a change of the workflows' shape (re-record the replay
// histories).
const (
	// Refund cases.
	DecideRefund     = "DecideRefund"
	ChooseOffers     = "ChooseOffers"
	RecordRefundStep = "RecordRefundStep"
	VerifyApproval   = "VerifyApproval"
	OpenAppealTicket = "OpenAppealTicket"

	// Moving money (the payments task queue, except SettleRefund and
	// ReverseRefundBooking, which only write the ledger).
	RefundThroughStripe  = "RefundThroughStripe"
	GetStripeRefund      = "GetStripeRefund"
	SettleRefund         = "SettleRefund"
	ReverseRefundBooking = "ReverseRefundBooking"

	// Tickets.
	OpenTicket       = "OpenTicket"
	RecordTicketStep = "RecordTicketStep"

	// Outage remediation.
	OpenOutageCases        = "OpenOutageCases"
	GetRemediationProgress = "GetRemediationProgress"
	CompleteRemediation    = "CompleteRemediation"

	// Schedules: reconciliation, renewals, the refund-rate monitor, the
	// case sweeper.
	StartReconciliation  = "StartReconciliation"
	ReconcileStripePage  = "ReconcileStripePage"
	ReconcileLedgerSide  = "ReconcileLedgerSide"
	FinishReconciliation = "FinishReconciliation"
	DueRenewals          = "DueRenewals"
	SendRenewalReminder  = "SendRenewalReminder"
	MonitorCourses       = "MonitorCourses"
	OpenCourseReview     = "OpenCourseReview"
	SweepCases           = "SweepCases"
)
