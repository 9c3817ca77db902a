package activities

import (
	"context"
	"fmt"
	"time"

	"github.com/refundflow/refundflow/notify"
	"github.com/refundflow/refundflow/postgres"
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

// DueRenewals lists the membership renewals to remind learners of now.
func (a *Activities) DueRenewals(ctx context.Context, in DueRenewalsInput) ([]Renewal, error) {
	rows, err := a.DB.DueRenewals(ctx, in.Now, in.DueBefore, in.Limit)
	if err != nil {
		return nil, err
	}
	out := make([]Renewal, 0, len(rows))
	for _, r := range rows {
		out = append(out, Renewal(r))
	}
	return out, nil
}

// RenewalReminderResult says whether the reminder went out.
type RenewalReminderResult struct {
	// Sent is false when the order no longer announces this renewal (its
	// date moved or auto-renewal was turned off since it was listed).
	Sent   bool
	SentAt *time.Time
}

// SendRenewalReminder reminds the learner that their membership renews (and
// is charged) on a date: email in their language, the in-app message, and
// the platform's renewal.reminder_sent webhook, written with the
// reminder's record in one transaction and delivered from the outbox. That
// record is what the policy's unnotified_renewal rule reads: the in-app
// message is in the learner's list from then on, and the email is
// delivered at least once (or lands in the dead letter, for a person to
// see). Every part is keyed by the renewal, so it is sent once.
func (a *Activities) SendRenewalReminder(ctx context.Context, r Renewal) (RenewalReminderResult, error) {
	order, err := a.DB.GetOrder(ctx, r.OrderID)
	if err != nil {
		return RenewalReminderResult{}, refusal(err)
	}
	if order.NextRenewalAt == nil || !order.NextRenewalAt.Equal(r.RenewsAt) {
		return RenewalReminderResult{}, nil
	}
	product, err := a.DB.GetProduct(ctx, r.ProductID)
	if err != nil {
		return RenewalReminderResult{}, refusal(err)
	}
	msg, err := notify.Render(notify.KindRenewalReminder, order.Locale, notify.MessageData{
		OrderID: order.ID, ProductTitle: product.Title, Amount: order.Amount, Currency: order.Currency, RenewsAt: r.RenewsAt,
	})
	if err != nil {
		return RenewalReminderResult{}, fmt.Errorf("render renewal_reminder of order %s: %w", order.ID, err)
	}
	now := a.now()
	id := renewalNoticeID(r)
	out := notify.Outbox{
		InApp: []notify.InAppMessage{{
			ID: id, LearnerID: r.LearnerID, Kind: string(notify.KindRenewalReminder), Locale: string(msg.Locale),
			Subject: msg.Subject, Body: msg.Text, CreatedAt: now,
		}},
		Emails: []notify.Email{msg.Email(order.LearnerEmail, id)},
		Events: []notify.Event{{ID: "evt_" + id, Type: notify.EventRenewalReminderSent, CreatedAt: now, Data: notify.RenewalReminderData{
			OrderID: r.OrderID, LearnerID: r.LearnerID, ProductID: r.ProductID, RenewsAt: r.RenewsAt,
			Amount: order.Amount, Currency: order.Currency, SentAt: now,
		}}},
	}
	// A try after an earlier one wrote the reminder finds it sent.
	rem, err := a.DB.RemindRenewal(ctx, postgres.Renewal(r), now, out)
	if err != nil {
		return RenewalReminderResult{}, err
	}
	return RenewalReminderResult{Sent: true, SentAt: rem.SentAt}, nil
}

// renewalNoticeID names a renewal's reminder: its email, message and event.
func renewalNoticeID(r Renewal) string {
	return fmt.Sprintf("renewal/%s/%s/%d", r.LearnerID, r.ProductID, r.RenewsAt.Unix())
}
