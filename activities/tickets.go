package activities

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/refundflow/refundflow"
	"github.com/refundflow/refundflow/calendar"
	"github.com/refundflow/refundflow/notify"
	"github.com/refundflow/refundflow/postgres"
	"github.com/refundflow/refundflow/sla"
)

// OpenTicketInput asks for a ticket's pinned SLA.
type OpenTicketInput struct {
	TicketID string
	// New, when set, is recorded first: a ticket the workflow opens itself
	// (the appeal of a refund). The API records its tickets before it
	// starts their workflow.
	New *postgres.NewTicket
}

// OpenedTicket is what the ticket's workflow runs on: the policy pinned
// when it opened and the calendar its clocks count on.
type OpenedTicket struct {
	TicketID string
	Tier     sla.Tier
	OrderID  string
	RefundID string
	OpenedAt time.Time
	Level    int
	Policy   sla.Policy
	Calendar calendar.Definition
}

// OpenTicket records the ticket when asked to (idempotent) and returns
// its pinned policy and calendar.
func (a *Activities) OpenTicket(ctx context.Context, in OpenTicketInput) (OpenedTicket, error) {
	var t *postgres.Ticket
	var err error
	if in.New != nil {
		t, err = a.DB.OpenTicket(ctx, *in.New)
	} else {
		t, err = a.DB.GetTicket(ctx, in.TicketID)
	}
	if err != nil {
		return OpenedTicket{}, refusal(err)
	}
	def, err := a.DB.TicketCalendar(ctx, t)
	if err != nil {
		return OpenedTicket{}, err
	}
	return OpenedTicket{
		TicketID: t.ID, Tier: t.Tier, OrderID: t.OrderID, RefundID: t.RefundID,
		OpenedAt: t.OpenedAt, Level: t.SLA.EscalationLevel, Policy: t.Policy, Calendar: def,
	}, nil
}

// RecordTicketStep writes one step of a ticket to the read model.
func (a *Activities) RecordTicketStep(ctx context.Context, s postgres.TicketStep) error {
	return a.DB.RecordTicketStep(ctx, s)
}

// TicketNotice asks for the learner's message about a ticket. ID is stable
// for the step, so retries send it once.
type TicketNotice struct {
	ID       string
	TicketID string
	Kind     notify.MessageKind // ticket_received, ticket_reply, ticket_resolved
	At       time.Time
	// ReplyBody is the agent's answer (ticket_reply).
	ReplyBody string
}

// NotifyTicketLearner writes the message to the learner's in-app list and
// emails it in their language.
func (a *Activities) NotifyTicketLearner(ctx context.Context, n TicketNotice) error {
	t, err := a.DB.GetTicket(ctx, n.TicketID)
	if err != nil {
		return refusal(err)
	}
	d := notify.MessageData{TicketID: t.ID, TicketSubject: t.Subject, ReplyBody: n.ReplyBody}
	if n.Kind == notify.KindTicketReceived && t.SLA.FirstResponseDueAt != nil {
		d.NextUpdateBy = *t.SLA.FirstResponseDueAt
	}
	msg, err := notify.Render(n.Kind, t.Locale, d)
	if err != nil {
		return temporal.NewNonRetryableApplicationError("render "+string(n.Kind), ErrBusinessRefusal, err)
	}
	if err := a.DB.AddLearnerMessage(ctx, t.LearnerID, postgres.LearnerMessage{
		ID: n.ID, Kind: string(n.Kind), Locale: string(msg.Locale), Subject: msg.Subject, Body: msg.Text, CreatedAt: n.At,
	}); err != nil {
		return err
	}
	if t.LearnerEmail == "" {
		return nil // the platform shows the in-app message; there is no address to mail
	}
	return a.sendEmail(ctx, msg.Email(t.LearnerEmail, n.ID), "")
}

// TicketStaffNotice tells a group of staff about a ticket.
type TicketStaffNotice struct {
	ID       string
	Audience string // agent (L1, L2 team leads), admin (L3 complaints desk)
	Kind     string // ticket_sla_warning, ticket_escalated, ticket_sla_breached
	TicketID string
	Event    sla.Event
}

// NotifyTicketStaff records a note for the console and emails the staff
// of that audience who have an address on their key.
func (a *Activities) NotifyTicketStaff(ctx context.Context, n TicketStaffNotice) error {
	t, err := a.DB.GetTicket(ctx, n.TicketID)
	if err != nil {
		return refusal(err)
	}
	subject, body := ticketStaffText(n, t)
	if err := a.DB.AddStaffNotification(ctx, n.ID, n.Audience, n.Kind, t.RefundID, subject, body); err != nil {
		return err
	}
	addresses, err := a.DB.StaffEmails(ctx, refundflow.Role(n.Audience))
	if err != nil {
		return err
	}
	for _, to := range addresses {
		e := notify.Email{To: to, Subject: subject, Text: body, HTML: "<pre>" + htmlEscape(body) + "</pre>", MessageID: n.ID + "/" + to}
		if err := a.sendEmail(ctx, e, t.RefundID); err != nil {
			return err
		}
	}
	return nil
}

func ticketStaffText(n TicketStaffNotice, t *postgres.Ticket) (subject, body string) {
	target := map[sla.Target]string{sla.FirstResponse: "first response / 首次响应", sla.Resolution: "resolution / 解决"}[n.Event.Target]
	switch n.Kind {
	case "ticket_sla_warning":
		subject = fmt.Sprintf("SLA warning: ticket %s is close to its %s deadline / SLA 预警：工单 %s 即将超时", t.ID, target, t.ID)
	case "ticket_escalated":
		subject = fmt.Sprintf("Escalated to level %d: ticket %s missed its %s deadline / 工单 %s 已升级至 L%d", n.Event.Level, t.ID, target, t.ID, n.Event.Level)
	default:
		subject = fmt.Sprintf("SLA breached: ticket %s missed its %s deadline / SLA 超时：工单 %s", t.ID, target, t.ID)
	}
	body = fmt.Sprintf("Ticket %s (%s tier, %s priority), status %s, level %d.\nSubject: %s\n%s due: %s\n",
		t.ID, t.Tier, t.Priority, t.Status, t.SLA.EscalationLevel, t.Subject, n.Event.Target, n.Event.DueAt.UTC().Format(time.RFC3339))
	if t.RefundID != "" {
		body += "Refund case: " + t.RefundID + "\n"
	}
	if t.OrderID != "" {
		body += "Order: " + t.OrderID + "\n"
	}
	return subject, body
}

// TicketWebhook asks for a platform webhook about a ticket; exactly one of
// the data fields is set. ID is the event id the platform deduplicates on.
type TicketWebhook struct {
	ID        string
	Type      notify.EventType // ticket.escalated, sla.breached
	At        time.Time
	Escalated *notify.TicketEscalatedData
	Breached  *notify.SLABreachedData
}

// SendTicketWebhook delivers a signed ticket event to PLATFORM_WEBHOOK_URL
// (or only records it when none is configured). The workflow fixes the
// payload, so every retry carries the same body.
func (a *Activities) SendTicketWebhook(ctx context.Context, ev TicketWebhook) error {
	var data any = ev.Breached
	if ev.Escalated != nil {
		data = ev.Escalated
	}
	payload, err := json.Marshal(data)
	if err != nil {
		return temporal.NewNonRetryableApplicationError("encode "+string(ev.Type), ErrBusinessRefusal, err)
	}
	return a.deliverEvent(ctx, ev.ID, ev.Type, payload, ev.At)
}
