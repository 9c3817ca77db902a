package activities

import (
	"context"
	"fmt"

	"github.com/refundflow/refundflow/activities/contract"
	"github.com/refundflow/refundflow/notify"
	"github.com/refundflow/refundflow/postgres"
)

// DueRenewals lists the membership renewals to remind learners of now.
func (a *Activities) DueRenewals(ctx context.Context, in contract.DueRenewalsInput) ([]contract.Renewal, error) {
	rows, err := a.DB.DueRenewals(ctx, in.Now, in.DueBefore, in.Limit)
	if err != nil {
		return nil, err
	}
	out := make([]contract.Renewal, 0, len(rows))
	for _, r := range rows {
		out = append(out, contract.Renewal(r))
	}
	return out, nil
}

// SendRenewalReminder reminds the learner that their membership renews (and
// is charged) on a date: email in their language, the in-app message, and
// the platform's renewal.reminder_sent webhook, written with the
// reminder's record in one transaction and delivered from the outbox. That
// record is what the policy's unnotified_renewal rule reads: the in-app
// message is in the learner's list from then on, and the email is
// delivered at least once (or lands in the dead letter, for a person to
// see). Every part is keyed by the renewal, so it is sent once.
func (a *Activities) SendRenewalReminder(ctx context.Context, r contract.Renewal) (contract.RenewalReminderResult, error) {
	order, err := a.DB.GetOrder(ctx, r.OrderID)
	if err != nil {
		return contract.RenewalReminderResult{}, refusal(err)
	}
	if order.NextRenewalAt == nil || !order.NextRenewalAt.Equal(r.RenewsAt) {
		return contract.RenewalReminderResult{}, nil
	}
	product, err := a.DB.GetProduct(ctx, r.ProductID)
	if err != nil {
		return contract.RenewalReminderResult{}, refusal(err)
	}
	msg, err := notify.Render(notify.KindRenewalReminder, order.Locale, notify.MessageData{
		OrderID: order.ID, ProductTitle: product.Title, Amount: order.Amount, Currency: order.Currency, RenewsAt: r.RenewsAt,
	})
	if err != nil {
		return contract.RenewalReminderResult{}, fmt.Errorf("render renewal_reminder of order %s: %w", order.ID, err)
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
		return contract.RenewalReminderResult{}, err
	}
	return contract.RenewalReminderResult{Sent: true, SentAt: rem.SentAt}, nil
}

// renewalNoticeID names a renewal's reminder: its email, message and event.
func renewalNoticeID(r contract.Renewal) string {
	return fmt.Sprintf("renewal/%s/%s/%d", r.LearnerID, r.ProductID, r.RenewsAt.Unix())
}
