package activities

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/refundflow/refundflow"
	"github.com/refundflow/refundflow/notify"
	"github.com/refundflow/refundflow/offers"
	"github.com/refundflow/refundflow/policy"
	"github.com/refundflow/refundflow/postgres"
)

// ErrPermanentDelivery is an email or webhook the receiver refused for good.
const ErrPermanentDelivery = "permanent_delivery"

// LearnerNotice asks for the learner's message about a step of a case.
// ID is stable for the step, so retries send it once.
type LearnerNotice struct {
	ID       string
	RefundID string
	Kind     string
	// At is when the step happened (the workflow's clock): the message's
	// place in the learner's list, whatever order the sends finish in.
	At time.Time
}

// NotifyLearner writes the message to the learner's in-app list and sends
// it by email in their language (or keeps it in the email sink when no
// SMTP server is configured).
func (a *Activities) NotifyLearner(ctx context.Context, n LearnerNotice) error {
	c, err := a.DB.GetRefund(ctx, n.RefundID)
	if err != nil {
		return refusal(err)
	}
	order, err := a.DB.GetOrder(ctx, c.OrderID)
	if err != nil {
		return refusal(err)
	}
	product, err := a.DB.GetProduct(ctx, c.ProductID)
	if err != nil {
		return refusal(err)
	}
	data, err := a.messageData(ctx, c, product)
	if err != nil {
		return err
	}
	msg, err := notify.Render(notify.MessageKind(n.Kind), order.Locale, data)
	if err != nil {
		return temporal.NewNonRetryableApplicationError("render "+n.Kind, ErrBusinessRefusal, err)
	}
	if err := a.DB.AddLearnerMessage(ctx, order.LearnerID, postgres.LearnerMessage{
		ID: n.ID, RefundID: c.ID, Kind: n.Kind, Locale: string(msg.Locale), Subject: msg.Subject, Body: msg.Text, CreatedAt: n.At,
	}); err != nil {
		return err
	}
	return a.sendEmail(ctx, msg.Email(order.LearnerEmail, n.ID), c.ID)
}

// messageData is what a learner's message may say about the case now.
func (a *Activities) messageData(ctx context.Context, c *postgres.RefundCase, product *refundflow.Product) (notify.MessageData, error) {
	d := notify.MessageData{
		RefundID: c.ID, OrderID: c.OrderID, ProductTitle: product.Title, Currency: c.Currency,
		ProviderRefundID: c.ProviderRefundID,
	}
	if c.Amount != nil {
		d.Amount = *c.Amount
	} else if c.Decision != nil {
		d.Amount = c.Decision.Amount
	}
	if c.Decision != nil {
		d.Explanation = notify.Localized(c.Decision.Explanation)
		if arr := c.Decision.Arrival; arr != nil {
			d.ArrivalEarliest, d.ArrivalLatest = arr.Earliest, arr.Latest
		}
		if c.Status == refundflow.StatusRefunded {
			// Counted from the day the money left, not from the decision.
			if err := a.arrivalFromToday(ctx, c.Decision, &d); err != nil {
				return d, err
			}
		}
	}
	// A person's rejection explains itself in their words.
	for i := len(c.Approvals) - 1; i >= 0; i-- {
		if ap := c.Approvals[i]; ap.Action == "reject" {
			d.Explanation = notify.Localized{EN: ap.Note, ZH: ap.Note}
			break
		}
	}
	for _, o := range c.Offers {
		switch o.Answer {
		case "":
			d.Offers = append(d.Offers, o)
			d.Deadline = o.ExpiresAt
		case "accepted":
			d.ChosenOffer = o
		}
	}
	if c.AppealUntil != nil {
		d.AppealUntil = *c.AppealUntil
	}
	if c.SLADueAt != nil {
		d.NextUpdateBy = *c.SLADueAt
	}
	return d, nil
}

// personArrival is the arrival window of a refund a person decided (a
// review, an appeal): what card refunds take, as for a quality refund.
var personArrival = [2]int{3, 5}

func (a *Activities) arrivalFromToday(ctx context.Context, dec *policy.Decision, d *notify.MessageData) error {
	name, version, err := policy.ParseRef(dec.Policy)
	if err != nil {
		return refusal(err)
	}
	p, err := a.DB.Policy(ctx, name, version)
	if err != nil {
		return refusal(err)
	}
	cals, err := a.DB.CalendarRegistry(ctx)
	if err != nil {
		return err
	}
	cal, ok := cals.Get(p.Calendar)
	if !ok {
		return fmt.Errorf("policy %s names calendar %q, which is not known", dec.Policy, p.Calendar)
	}
	window := personArrival
	if dec.Arrival != nil {
		window = [2]int{dec.Arrival.MinBusinessDays, dec.Arrival.MaxBusinessDays}
	}
	today := cal.DateOf(a.now())
	d.ArrivalEarliest = cal.AddBusinessDays(today, window[0])
	d.ArrivalLatest = cal.AddBusinessDays(today, window[1])
	return nil
}

// sendEmail records the email first, then sends it through SMTP — or, with
// no SMTP server configured, leaves it in the sink for the console to show.
// An email already sent is not sent again.
func (a *Activities) sendEmail(ctx context.Context, e notify.Email, refundID string) error {
	row, err := a.DB.AddEmail(ctx, e, refundID)
	if err != nil {
		return err
	}
	switch {
	case row.Status == "sent" || row.Status == "sink":
		return nil
	case a.Mailer == nil:
		return a.DB.MarkEmail(ctx, e.MessageID, "sink", "")
	}
	if err := a.Mailer.Send(ctx, e); err != nil {
		if notify.IsPermanent(err) {
			_ = a.DB.MarkEmail(ctx, e.MessageID, "failed", err.Error())
			return temporal.NewNonRetryableApplicationError("email refused", ErrPermanentDelivery, err)
		}
		_ = a.DB.MarkEmail(ctx, e.MessageID, "pending", err.Error())
		return err
	}
	return a.DB.MarkEmail(ctx, e.MessageID, "sent", "")
}

// WebhookEvent asks for a platform webhook about a case. ID is the event id
// the platform deduplicates on; it is the same on every retry.
type WebhookEvent struct {
	ID       string
	Type     string
	RefundID string
}

// SendWebhook delivers a signed event to PLATFORM_WEBHOOK_URL. The payload
// is fixed when the event is first recorded, so every retry carries the
// same body. Without a configured URL the event is only recorded.
func (a *Activities) SendWebhook(ctx context.Context, ev WebhookEvent) error {
	payload, err := a.webhookPayload(ctx, ev)
	if err != nil {
		return err
	}
	return a.deliverEvent(ctx, ev.ID, notify.EventType(ev.Type), payload, time.Time{})
}

// deliverEvent records a platform event — its payload fixed by the first
// try, so every retry sends the same body — and sends it signed, once.
// The event's time is at, or when it was first recorded. Without a
// configured URL the event is only recorded.
func (a *Activities) deliverEvent(ctx context.Context, id string, typ notify.EventType, payload json.RawMessage, at time.Time) error {
	row, err := a.DB.AddWebhookDelivery(ctx, id, string(typ), payload)
	if err != nil {
		return err
	}
	switch {
	case row.Status == "delivered":
		return nil
	case a.Webhooks == nil:
		return a.DB.MarkWebhookDelivery(ctx, id, "not_configured", "")
	}
	if at.IsZero() {
		at = row.CreatedAt
	}
	err = a.Webhooks.Send(ctx, notify.Event{ID: id, Type: typ, CreatedAt: at, Data: json.RawMessage(row.Payload)})
	if err != nil {
		if notify.IsPermanent(err) {
			_ = a.DB.MarkWebhookDelivery(ctx, id, "failed", err.Error())
			return temporal.NewNonRetryableApplicationError("webhook refused", ErrPermanentDelivery, err)
		}
		_ = a.DB.MarkWebhookDelivery(ctx, id, "pending", err.Error())
		return err
	}
	return a.DB.MarkWebhookDelivery(ctx, id, "delivered", "")
}

func (a *Activities) webhookPayload(ctx context.Context, ev WebhookEvent) (json.RawMessage, error) {
	c, err := a.DB.GetRefund(ctx, ev.RefundID)
	if err != nil {
		return nil, refusal(err)
	}
	if ev.Type == string(notify.EventOfferAccepted) {
		for _, o := range c.Offers {
			if o.Answer == "accepted" {
				return json.Marshal(notify.OfferAcceptedData{
					RefundID: c.ID, OrderID: c.OrderID, LearnerID: c.LearnerID, ProductID: c.ProductID,
					Offer: o, Provision: provisionFor(o),
				})
			}
		}
		return nil, temporal.NewNonRetryableApplicationError("offer.accepted without an accepted offer", ErrBusinessRefusal, nil)
	}
	d := notify.RefundData{
		RefundID: c.ID, OrderID: c.OrderID, LearnerID: c.LearnerID, ProductID: c.ProductID, Status: c.Status,
		Reason: string(c.Reason), Currency: c.Currency, ProviderRefundID: c.ProviderRefundID,
		// Access goes only once the money has actually moved.
		RevokeAccess: ev.Type == string(notify.EventRefundSucceeded) && c.Status == refundflow.StatusRefunded,
	}
	if c.Amount != nil {
		d.Amount = *c.Amount
	}
	if c.Decision != nil {
		d.Rule = string(c.Decision.Rule)
	}
	if ev.Type == string(notify.EventRefundOffered) {
		d.Offers = c.Offers
	}
	return json.Marshal(d)
}

// provisionFor says in machine terms what an accepted offer gives.
func provisionFor(o refundflow.Offer) notify.Provision {
	p := notify.Provision{Kind: o.Kind, ProductID: o.ProductID}
	switch o.Kind {
	case refundflow.OfferExtendAccess:
		p.Days = offers.ExtensionDays
	case refundflow.OfferCoupon:
		p.PercentOff = offers.CouponPercent
	}
	return p
}

// StaffNotice tells a group of staff about a case.
type StaffNotice struct {
	ID       string
	Audience string // approver, agent, admin, finance
	Kind     string
	RefundID string
}

// NotifyStaff records a note for the console and emails the staff of that
// audience who have an address on their key. Finance are the approvers.
func (a *Activities) NotifyStaff(ctx context.Context, n StaffNotice) error {
	c, err := a.DB.GetRefund(ctx, n.RefundID)
	if err != nil {
		return refusal(err)
	}
	subject, body := staffText(n.Kind, c)
	if err := a.DB.AddStaffNotification(ctx, n.ID, n.Audience, n.Kind, c.ID, subject, body); err != nil {
		return err
	}
	role := n.Audience
	if role == "finance" {
		role = string(refundflow.RoleApprover)
	}
	addresses, err := a.DB.StaffEmails(ctx, refundflow.Role(role))
	if err != nil {
		return err
	}
	for _, to := range addresses {
		e := notify.Email{To: to, Subject: subject, Text: body, HTML: "<pre>" + htmlEscape(body) + "</pre>", MessageID: n.ID + "/" + to}
		if err := a.sendEmail(ctx, e, c.ID); err != nil {
			return err
		}
	}
	return nil
}

func staffText(kind string, c *postgres.RefundCase) (subject, body string) {
	amount := "amount to be set"
	if c.Amount != nil {
		amount = fmt.Sprintf("%d %s (minor units)", *c.Amount, c.Currency)
	}
	due := "-"
	if c.SLADueAt != nil {
		due = c.SLADueAt.UTC().Format(time.RFC3339)
	}
	what := map[string]string{
		"approval_requested": "Refund %s waits for approval / 退款 %s 待审批",
		"approval_reminder":  "Reminder: refund %s is close to its approval deadline / 提醒：退款 %s 即将超过审批时限",
		"approval_escalated": "Escalated: refund %s passed its approval deadline / 升级：退款 %s 已超过审批时限",
		"refund_failed":      "Action needed: the money for refund %s could not be moved / 需处理：退款 %s 未能退回",
	}[kind]
	if what == "" {
		what = kind + ": refund %s / 退款 %s"
	}
	subject = fmt.Sprintf(what, c.ID, c.ID)
	body = fmt.Sprintf("Case %s, order %s, reason %s, status %s, level %d.\nAmount: %s. SLA due: %s.\n",
		c.ID, c.OrderID, c.Reason, c.Status, c.EscalationLevel, amount, due)
	if c.Decision != nil {
		body += "\nDecision: " + c.Decision.Explanation.EN + "\n"
	}
	return subject, body
}

func htmlEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}
