package refundflow

// Remediation modes (SPEC 4.9): refund at once, or offer an extension first.
const (
	RemediateRefund = "refund"
	RemediateOffer  = "offer"
)

// Remediation statuses.
const (
	RemediationRunning   = "running"
	RemediationCompleted = "completed"
	RemediationCanceled  = "canceled"
)
