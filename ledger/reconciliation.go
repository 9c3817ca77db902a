package ledger

import (
	"time"
)

// ReconciliationRun is one comparison of Stripe's refunds with the ledger.
type ReconciliationRun struct {
	ID            string     `json:"id"`
	Trigger       string     `json:"trigger"`
	WindowFrom    time.Time  `json:"window_from"`
	WindowTo      time.Time  `json:"window_to"`
	Status        string     `json:"status"`
	StripeRefunds int        `json:"stripe_refunds"`
	Matched       int        `json:"matched"`
	Pending       int        `json:"pending"`
	Findings      int        `json:"findings"`
	Adopted       int        `json:"adopted"`
	StartedAt     time.Time  `json:"started_at"`
	FinishedAt    *time.Time `json:"finished_at"`
}
