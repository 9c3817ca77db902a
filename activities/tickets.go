package activities

import (
	"context"
	"fmt"
	"time"

	"github.com/refundflow/refundflow/activities/contract"
	"github.com/refundflow/refundflow/notify"
	"github.com/refundflow/refundflow/postgres"
	"github.com/refundflow/refundflow/sla"
	"github.com/refundflow/refundflow/ticket"
)

// OpenTicket reads the ticket its opener recorded, with its pinned policy
// and calendar, and tells the learner it is open (once: the message is
// the opening step's).
func (a *Activities) OpenTicket(ctx context.Context, in contract.OpenTicketInput) (contract.OpenedTicket, error) {
	t, err := a.DB.GetTicket(ctx, in.TicketID)
	if err != nil {
		return contract.OpenedTicket{}, refusal(err)
	}
	def, err := a.DB.TicketCalendar(ctx, t)
	if err != nil {
		return contract.OpenedTicket{}, err
	}
	if !in.Acknowledged {
		opened := ticket.Step{TicketID: t.ID, At: t.OpenedAt, Notices: []notify.Notice{notify.ToLearner(notify.KindTicketReceived)}}
		out, err := a.ticketOutbox(ctx, opened, t)
		if err != nil {
			return contract.OpenedTicket{}, err
		}
		if err := a.DB.WriteOutbox(ctx, out); err != nil {
			return contract.OpenedTicket{}, err
		}
	}
	return contract.OpenedTicket{
		TicketID: t.ID, Tier: t.Tier, OrderID: t.OrderID, RefundID: t.RefundID,
		OpenedAt: t.OpenedAt, Level: t.SLA.EscalationLevel, Policy: t.Policy, Calendar: def,
	}, nil
}

// RecordTicketStep writes one step of a ticket and the messages it causes,
// rendered from the step, in one transaction.
func (a *Activities) RecordTicketStep(ctx context.Context, s ticket.Step) error {
	var out notify.Outbox
	if len(s.Notices) > 0 {
		t, err := a.DB.GetTicket(ctx, s.TicketID)
		if err != nil {
			return refusal(err)
		}
		if out, err = a.ticketOutbox(ctx, s, t); err != nil {
			return err
		}
	}
	return a.DB.RecordTicketStep(ctx, s, out)
}

// ticketOutbox renders what a ticket's step sends, from the step and the
// ticket.
func (a *Activities) ticketOutbox(ctx context.Context, s ticket.Step, t *postgres.Ticket) (notify.Outbox, error) {
	out := notify.Outbox{TicketID: t.ID, RefundID: t.RefundID}
	for _, n := range s.Notices {
		switch n.To {
		case notify.Learner:
			kind := notify.MessageKind(n.Kind)
			d := notify.MessageData{TicketID: t.ID, TicketSubject: t.Subject}
			if kind == notify.KindTicketReply && s.Message != nil {
				d.ReplyBody = s.Message.Body
			}
			if kind == notify.KindTicketReceived && t.SLA.FirstResponseDueAt != nil {
				d.NextUpdateBy = *t.SLA.FirstResponseDueAt
			}
			msg, err := notify.Render(kind, t.Locale, d)
			if err != nil {
				return out, fmt.Errorf("render %s of ticket %s step %d: %w", kind, t.ID, s.Seq, err)
			}
			id := notify.NoticeID(t.ID, s.Seq, string(kind))
			out.InApp = append(out.InApp, notify.InAppMessage{
				ID: id, LearnerID: t.LearnerID, Kind: string(kind), Locale: string(msg.Locale), Subject: msg.Subject, Body: msg.Text, CreatedAt: s.At,
			})
			if t.LearnerEmail != "" { // the platform shows the in-app message; there may be no address to mail
				out.Emails = append(out.Emails, msg.Email(t.LearnerEmail, id))
			}
		case notify.Staff:
			if s.SLAEvent == nil {
				return out, fmt.Errorf("ticket %s step %d: staff notice %s without an SLA event", t.ID, s.Seq, n.Kind)
			}
			subject, body := ticketStaffText(n.Kind, *s.SLAEvent, t)
			id := notify.StaffNoticeID(t.ID, s.Seq, n.Audience, n.Kind)
			out.Staff = append(out.Staff, notify.StaffNote{ID: id, Audience: n.Audience, Kind: n.Kind, Subject: subject, Body: body})
			if err := a.staffEmails(ctx, &out, n.Audience, id, subject, body); err != nil {
				return out, err
			}
		case notify.Platform:
			ev, err := ticketEvent(s, t, notify.EventType(n.Kind))
			if err != nil {
				return out, err
			}
			out.Events = append(out.Events, ev)
		}
	}
	return out, nil
}

// ticketEvent is the platform's sla.breached or ticket.escalated event of
// a step that reached an SLA mark.
func ticketEvent(s ticket.Step, t *postgres.Ticket, typ notify.EventType) (notify.Event, error) {
	ev := notify.Event{ID: notify.EventID(t.ID, s.Seq, typ), Type: typ, CreatedAt: s.At}
	e := s.SLAEvent
	if e == nil {
		return ev, fmt.Errorf("ticket %s step %d: event %s without an SLA event", t.ID, s.Seq, typ)
	}
	switch typ {
	case notify.EventTicketEscalated:
		ev.Data = notify.TicketEscalatedData{
			TicketID: t.ID, Tier: string(t.Tier), Level: e.Level, OrderID: t.OrderID, RefundID: t.RefundID,
			Reason: string(e.Target) + "_breached",
		}
	case notify.EventSLABreached:
		ev.Data = notify.SLABreachedData{Subject: "ticket", ID: t.ID, Target: string(e.Target), DueAt: e.DueAt, Level: e.Level}
	default:
		return ev, fmt.Errorf("ticket %s: no platform event %s", t.ID, typ)
	}
	return ev, nil
}

func ticketStaffText(kind string, e sla.Event, t *postgres.Ticket) (subject, body string) {
	target := map[sla.Target]string{sla.FirstResponse: "first response / 首次响应", sla.Resolution: "resolution / 解决"}[e.Target]
	switch kind {
	case "ticket_sla_warning":
		subject = fmt.Sprintf("SLA warning: ticket %s is close to its %s deadline / SLA 预警：工单 %s 即将超时", t.ID, target, t.ID)
	case "ticket_escalated":
		subject = fmt.Sprintf("Escalated to level %d: ticket %s missed its %s deadline / 工单 %s 已升级至 L%d", e.Level, t.ID, target, t.ID, e.Level)
	default:
		subject = fmt.Sprintf("SLA breached: ticket %s missed its %s deadline / SLA 超时：工单 %s", t.ID, target, t.ID)
	}
	body = fmt.Sprintf("Ticket %s (%s tier, %s priority), status %s, level %d.\nSubject: %s\n%s due: %s\n",
		t.ID, t.Tier, t.Priority, t.Status, e.Level, t.Subject, e.Target, e.DueAt.UTC().Format(time.RFC3339))
	if t.RefundID != "" {
		body += "Refund case: " + t.RefundID + "\n"
	}
	if t.OrderID != "" {
		body += "Order: " + t.OrderID + "\n"
	}
	return subject, body
}
