package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/refundflow/refundflow/notify"
	"github.com/refundflow/refundflow/postgres/sqlgen"
)

// Renewal is a membership renewal an order announced (next_renewal_at):
// the learner, the membership and the date are what a reminder is about.
type Renewal struct {
	OrderID   string
	LearnerID string
	ProductID string
	RenewsAt  time.Time
}

// RenewalReminder is a reminder refundflow recorded for a renewal; SentAt is
// when its messages were written for delivery.
type RenewalReminder struct {
	Renewal
	SentAt *time.Time
}

// DueRenewals lists membership renewals after now whose reminder is due by
// dueBefore and not sent yet, at most limit, one per learner, membership
// and date. A renewal whose date moved is listed under its new date; one
// turned off is not listed.
func (db *DB) DueRenewals(ctx context.Context, now, dueBefore time.Time, limit int) ([]Renewal, error) {
	rows, err := db.q.DueRenewals(ctx, sqlgen.DueRenewalsParams{Now: now, DueBefore: dueBefore, MaxRows: int32(limit)})
	if err != nil {
		return nil, fmt.Errorf("due renewals: %w", err)
	}
	out := make([]Renewal, 0, len(rows))
	for _, r := range rows {
		out = append(out, Renewal{OrderID: r.ID, LearnerID: r.LearnerID, ProductID: r.ProductID, RenewsAt: r.RenewsAt.UTC()})
	}
	return out, nil
}

// RemindRenewal records that the learner is reminded of a renewal at at —
// on the reminder and on the renewal order the platform may have pushed
// already (one pushed later gets it when it is stored) — and writes the
// reminder's messages, in one transaction. A renewal reminded already is
// left as it was: the reminder says when it went out.
func (db *DB) RemindRenewal(ctx context.Context, r Renewal, at time.Time, out notify.Outbox) (rem *RenewalReminder, err error) {
	err = db.InTx(ctx, func(q *sqlgen.Queries) error {
		row, err := q.ClaimRenewalReminder(ctx, sqlgen.ClaimRenewalReminderParams{
			LearnerID: r.LearnerID, ProductID: r.ProductID, RenewsAt: r.RenewsAt, OrderID: r.OrderID,
		})
		if err != nil {
			return err
		}
		if row.SentAt != nil {
			rem = reminderFromRow(row)
			return nil
		}
		if row, err = q.MarkRenewalReminderSent(ctx, sqlgen.MarkRenewalReminderSentParams{
			SentAt: at, LearnerID: r.LearnerID, ProductID: r.ProductID, RenewsAt: r.RenewsAt,
		}); err != nil {
			return err
		}
		rem = reminderFromRow(row)
		if _, err := q.RecordReminderOnRenewals(ctx, sqlgen.RecordReminderOnRenewalsParams{
			SentAt: rem.SentAt, LearnerID: r.LearnerID, ProductID: r.ProductID, RenewsAt: &r.RenewsAt,
		}); err != nil {
			return err
		}
		return writeOutbox(ctx, q, out)
	})
	if err != nil {
		return nil, fmt.Errorf("remind the renewal of order %s: %w", r.OrderID, err)
	}
	return rem, nil
}

// RenewalReminders lists the reminders of a learner's membership by date.
func (db *DB) RenewalReminders(ctx context.Context, learnerID, productID string) ([]RenewalReminder, error) {
	rows, err := db.q.ListRenewalReminders(ctx, sqlgen.ListRenewalRemindersParams{LearnerID: learnerID, ProductID: productID})
	if err != nil {
		return nil, err
	}
	out := make([]RenewalReminder, 0, len(rows))
	for _, r := range rows {
		out = append(out, *reminderFromRow(r))
	}
	return out, nil
}

func reminderFromRow(r sqlgen.RenewalReminder) *RenewalReminder {
	return &RenewalReminder{
		Renewal: Renewal{OrderID: r.OrderID, LearnerID: r.LearnerID, ProductID: r.ProductID, RenewsAt: r.RenewsAt.UTC()},
		SentAt:  utcPtr(r.SentAt),
	}
}
