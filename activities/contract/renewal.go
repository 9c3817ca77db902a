package contract

import (
	"time"
)

// DueRenewalsInput asks for the renewals whose reminder is due: renewals
// after Now and up to DueBefore, not reminded yet.
type DueRenewalsInput struct {
	Now       time.Time
	DueBefore time.Time
	Limit     int
}

// Renewal is a membership renewal an order announced: the learner, the
// membership and the date are what a reminder is about.
type Renewal struct {
	OrderID   string
	LearnerID string
	ProductID string
	RenewsAt  time.Time
}

// RenewalReminderResult says whether the reminder went out.
type RenewalReminderResult struct {
	// Sent is false when the order no longer announces this renewal (its
	// date moved or auto-renewal was turned off since it was listed).
	Sent   bool
	SentAt *time.Time
}
