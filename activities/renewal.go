package activities

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"

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

// DueRenewals lists the membership renewals to remind learners of now.
func (a *Activities) DueRenewals(ctx context.Context, in DueRenewalsInput) ([]postgres.Renewal, error) {
	return a.DB.DueRenewals(ctx, in.Now, in.DueBefore, in.Limit)
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
// the platform's renewal.reminder_sent webhook. The reminder is recorded
// before it is sent and stamped once the email is out; that stamp is what
// the policy's unnotified_renewal rule reads. Every part is keyed by the
// renewal, so a retry sends nothing twice.
func (a *Activities) SendRenewalReminder(ctx context.Context, r postgres.Renewal) (RenewalReminderResult, error) {
	order, err := a.DB.GetOrder(ctx, r.OrderID)
	if err != nil {
		return RenewalReminderResult{}, refusal(err)
	}
	rem, err := a.DB.ClaimRenewalReminder(ctx, r)
	if err != nil {
		return RenewalReminderResult{}, err
	}
	if rem.SentAt == nil && (order.NextRenewalAt == nil || !order.NextRenewalAt.Equal(r.RenewsAt)) {
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
		return RenewalReminderResult{}, temporal.NewNonRetryableApplicationError("render renewal_reminder", ErrBusinessRefusal, err)
	}
	id := renewalNoticeID(r)
	if rem.SentAt == nil {
		if err := a.DB.AddLearnerMessage(ctx, r.LearnerID, postgres.LearnerMessage{
			ID: id, Kind: string(notify.KindRenewalReminder), Locale: string(msg.Locale), Subject: msg.Subject, Body: msg.Text, CreatedAt: a.now(),
		}); err != nil {
			return RenewalReminderResult{}, err
		}
		if err := a.sendEmail(ctx, msg.Email(order.LearnerEmail, id), ""); err != nil {
			return RenewalReminderResult{}, err
		}
		if rem, err = a.DB.RenewalReminderSent(ctx, r, a.now()); err != nil {
			return RenewalReminderResult{}, err
		}
	}
	payload, err := json.Marshal(notify.RenewalReminderData{
		OrderID: r.OrderID, LearnerID: r.LearnerID, ProductID: r.ProductID, RenewsAt: r.RenewsAt,
		Amount: order.Amount, Currency: order.Currency, SentAt: *rem.SentAt,
	})
	if err != nil {
		return RenewalReminderResult{}, err
	}
	if err := a.deliverEvent(ctx, "evt_"+id, notify.EventRenewalReminderSent, payload, time.Time{}); err != nil {
		return RenewalReminderResult{}, err
	}
	return RenewalReminderResult{Sent: true, SentAt: rem.SentAt}, nil
}

// renewalNoticeID names a renewal's reminder: its email, message and event.
func renewalNoticeID(r postgres.Renewal) string {
	return fmt.Sprintf("renewal/%s/%s/%d", r.LearnerID, r.ProductID, r.RenewsAt.Unix())
}
