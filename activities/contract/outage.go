package contract

import (
	"time"
)

// OpenOutageCasesInput asks for the next page of an outage's cases.
type OpenOutageCasesInput struct {
	OutageID string
	// After is the order id the page starts after ("" for the first page).
	After string
	Limit int
	// The cases' workflows: who asked for them (their requester, who
	// therefore cannot approve them), their windows, and whether they
	// offer an extension first (offer mode).
	SubmittedBy    string
	OfferWindow    time.Duration
	ApprovalSLA    time.Duration
	ExtensionOffer bool
}

// OutagePageResult says where the next page starts.
type OutagePageResult struct {
	// Started counts the cases whose workflows this page started (the
	// learners' own open cases stand for themselves).
	Started int
	Next    string
	Last    bool
	// Canceled: the remediation was canceled; nothing was opened.
	Canceled bool
}

// RemediationProgress counts an outage's cases by where they stand.
type RemediationProgress struct {
	Opened, Done int
	// Active counts cases the engine still works on before the money
	// moves; cases waiting for a learner or an approver are not active.
	Active int
}

// CompleteRemediationInput ends a remediation whose cases have all ended.
type CompleteRemediationInput struct {
	OutageID string
	At       time.Time
}
