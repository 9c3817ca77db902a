package refundflow

import (
	"strings"
	"time"
	"unicode/utf8"

	"github.com/refundflow/refundflow/money"
)

// Bounds on what comes in from outside. Every one of them sits well inside
// what the PostgreSQL column holds and what the policy evaluates, so a fact
// that is accepted is stored exactly and can always be decided on.
const (
	// MaxCount bounds lessons and sessions (totals and progress). Ten
	// thousand is a live class every day for 27 years; anything above it is
	// a mistake. It keeps counts far inside PostgreSQL's integer (a Go int
	// above 2^31 was truncated on the way in) and inside the policy's own
	// bound (one million), so an accepted product never fails a decision.
	MaxCount = 10_000
	// MaxClockSkew is how far ahead of our clock a time the platform reports
	// as past (a purchase, a reminder sent, an outage) may be: clocks differ
	// by seconds; a purchase days ahead is a bug or a trick (it got a
	// cooling-off refund "0 s after purchase").
	MaxClockSkew = 5 * time.Minute
	// MaxNoteBytes bounds the short free texts people type: notes, reasons,
	// comments.
	MaxNoteBytes = 2000
	// MaxAlternatives bounds a product's alternatives: a retention offer
	// shows a handful, not a catalogue.
	MaxAlternatives = 20
	// MaxOutageProducts bounds an outage's product list; an outage of
	// everything leaves the list out.
	MaxOutageProducts = 1000
	// MaxTicketSubjectBytes and MaxTicketMessageBytes bound a ticket's
	// subject and each of its messages.
	MaxTicketSubjectBytes = 200
	MaxTicketMessageBytes = 10000
)

// CheckRequiredText records a problem when s is blank, longer than max
// bytes, or not storable text.
func CheckRequiredText(pr *Problems, field, s string, max int) {
	switch {
	case strings.TrimSpace(s) == "":
		pr.Add(field, "missing_field", "is required")
	case len(s) > max:
		pr.Add(field, "too_long", "must be at most %d bytes", max)
	default:
		CheckText(pr, field, s)
	}
}

// CheckText records a problem when s is not text PostgreSQL can store:
// bytes that are not UTF-8, or a NUL character.
func CheckText(pr *Problems, field, s string) {
	switch {
	case !utf8.ValidString(s):
		pr.Add(field, "invalid_text", "must be UTF-8 text")
	case strings.ContainsRune(s, 0):
		pr.Add(field, "invalid_text", "must not contain NUL characters")
	}
}

// CheckNote records a problem when an optional note is not storable text
// or is longer than MaxNoteBytes.
func CheckNote(pr *Problems, field, s string) {
	if len(s) > MaxNoteBytes {
		pr.Add(field, "too_long", "must be at most %d bytes", MaxNoteBytes)
		return
	}
	CheckText(pr, field, s)
}

// CheckAmount records a problem when an amount in minor units is not one
// refundflow takes: 1 to money.MaxAmount.
func CheckAmount(pr *Problems, field string, amount int64) {
	switch {
	case amount <= 0:
		pr.Add(field, "amount_not_positive", "must be a positive integer in minor units")
	case amount > money.MaxAmount:
		pr.Add(field, "amount_too_large", "is %d; at most %d minor units is accepted (the most one Stripe charge can be)", amount, money.MaxAmount)
	}
}

// checkCount records a problem when a count is negative or above MaxCount.
func checkCount(pr *Problems, field string, n int) {
	switch {
	case n < 0:
		pr.Add(field, "negative_count", "must not be negative")
	case n > MaxCount:
		pr.Add(field, "count_out_of_range", "is %d; at most %d is accepted", n, MaxCount)
	}
}

// checkPast records a problem when t, a time that has already happened,
// lies more than MaxClockSkew after now.
func checkPast(pr *Problems, field string, t *time.Time, now time.Time) {
	if t != nil && t.After(now.Add(MaxClockSkew)) {
		pr.Add(field, "in_the_future", "is %s, later than now (%s): it has to have happened",
			t.UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339))
	}
}
