package activities

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/refundflow/refundflow"
	"github.com/refundflow/refundflow/notify"
	"github.com/refundflow/refundflow/offers"
	"github.com/refundflow/refundflow/policy"
	"github.com/refundflow/refundflow/postgres"
	"github.com/refundflow/refundflow/refund"
)

// refundOutbox renders what a step of a case sends — the learner's
// message (email and in-app), the platform's event, the staff's note —
// from the step itself and the case's facts, never from a later state of
// the case: the step's transaction writes it.
func (a *Activities) refundOutbox(ctx context.Context, s refund.Step) (notify.Outbox, error) {
	out := notify.Outbox{RefundID: s.RefundID}
	if len(s.Notices) == 0 {
		return out, nil
	}
	f, err := a.DB.CaseFacts(ctx, s.RefundID)
	if err != nil {
		return out, refusal(err)
	}
	if s.Decision != nil {
		f.Decision = s.Decision
	}
	m := &caseMessages{a: a, s: s, f: f}
	for _, n := range s.Notices {
		var err error
		switch n.To {
		case notify.Learner:
			err = m.learner(ctx, &out, notify.MessageKind(n.Kind))
		case notify.Platform:
			err = m.platform(ctx, &out, notify.EventType(n.Kind))
		case notify.Staff:
			err = m.staff(ctx, &out, n.Audience, n.Kind)
		default:
			err = fmt.Errorf("notice %s of refund %s: unknown recipient", n, s.RefundID)
		}
		if err != nil {
			return out, err
		}
	}
	return out, nil
}

// caseMessages renders the notices of one step.
type caseMessages struct {
	a *Activities
	s refund.Step
	f *postgres.CaseFacts
	// offers are the case's offers, read once when a notice needs them.
	offers []refundflow.Offer
}

func (m *caseMessages) amount() int64 {
	switch {
	case m.s.Snapshot.Amount != nil:
		return *m.s.Snapshot.Amount
	case m.f.Decision != nil:
		return m.f.Decision.Amount
	}
	return 0
}

// chosenOffer is the offer the step's answer accepted.
func (m *caseMessages) chosenOffer(ctx context.Context) (refundflow.Offer, error) {
	if m.s.OfferAnswer == nil || m.s.OfferAnswer.Accepted == "" {
		return refundflow.Offer{}, fmt.Errorf("refund %s step %d: no accepted offer", m.s.RefundID, m.s.Seq)
	}
	if m.offers == nil {
		all, err := m.a.DB.Offers(ctx, m.s.RefundID)
		if err != nil {
			return refundflow.Offer{}, err
		}
		m.offers = all
	}
	for _, o := range m.offers {
		if o.ID == m.s.OfferAnswer.Accepted {
			o.Answer = "accepted"
			return o, nil
		}
	}
	return refundflow.Offer{}, fmt.Errorf("refund %s has no offer %q", m.s.RefundID, m.s.OfferAnswer.Accepted)
}

// learner renders the learner's message of kind: the email in their
// language and the same text in their in-app list.
func (m *caseMessages) learner(ctx context.Context, out *notify.Outbox, kind notify.MessageKind) error {
	s, f := m.s, m.f
	d := notify.MessageData{
		RefundID: s.RefundID, OrderID: f.OrderID, ProductTitle: f.ProductTitle, Currency: f.Currency,
		Amount: m.amount(), ProviderRefundID: s.Snapshot.ProviderRefundID,
	}
	if dec := f.Decision; dec != nil {
		d.Explanation = notify.Localized(dec.Explanation)
		if arr := dec.Arrival; arr != nil {
			d.ArrivalEarliest, d.ArrivalLatest = arr.Earliest, arr.Latest
		}
	}
	if s.Snapshot.SLADueAt != nil {
		d.NextUpdateBy = *s.Snapshot.SLADueAt
	}
	if s.Snapshot.AppealUntil != nil {
		d.AppealUntil = *s.Snapshot.AppealUntil
	}
	switch kind {
	case notify.KindOffer:
		d.Offers = s.Offers
		if s.Snapshot.OfferExpiresAt != nil {
			d.Deadline = *s.Snapshot.OfferExpiresAt
		}
	case notify.KindRetained:
		o, err := m.chosenOffer(ctx)
		if err != nil {
			return err
		}
		d.ChosenOffer = o
	case notify.KindRejected, notify.KindRejectedFinal:
		// A person's rejection explains itself in their words.
		if note, ok, err := m.rejectionNote(ctx); err != nil {
			return err
		} else if ok {
			d.Explanation = notify.Localized{EN: note, ZH: note}
		}
	case notify.KindRefunded:
		// Counted from the day the money left, not from the decision.
		if err := m.a.arrivalFrom(ctx, f.Decision, s.At, &d); err != nil {
			return err
		}
	}
	// A message that cannot be rendered from its step is a bug: the step
	// is retried (and the case waits) until a release fixes it, rather
	// than going out without its message.
	msg, err := notify.Render(kind, f.Locale, d)
	if err != nil {
		return fmt.Errorf("render %s of refund %s step %d: %w", kind, s.RefundID, s.Seq, err)
	}
	id := notify.NoticeID(s.RefundID, s.Seq, string(kind))
	out.InApp = append(out.InApp, notify.InAppMessage{
		ID: id, LearnerID: f.LearnerID, Kind: string(kind), Locale: string(msg.Locale), Subject: msg.Subject, Body: msg.Text, CreatedAt: s.At,
	})
	if f.LearnerEmail != "" {
		out.Emails = append(out.Emails, msg.Email(f.LearnerEmail, id))
	}
	return nil
}

func (m *caseMessages) rejectionNote(ctx context.Context) (string, bool, error) {
	if ap := m.s.Approval; ap != nil {
		return ap.Note, ap.Action == refund.Reject, nil
	}
	return m.a.DB.LastRejectionNote(ctx, m.s.RefundID)
}

// platform renders the platform's signed event of typ.
func (m *caseMessages) platform(ctx context.Context, out *notify.Outbox, typ notify.EventType) error {
	s, f := m.s, m.f
	ev := notify.Event{ID: notify.EventID(s.RefundID, s.Seq, typ), Type: typ, CreatedAt: s.At}
	if typ == notify.EventOfferAccepted {
		o, err := m.chosenOffer(ctx)
		if err != nil {
			return err
		}
		ev.Data = notify.OfferAcceptedData{
			RefundID: s.RefundID, OrderID: f.OrderID, LearnerID: f.LearnerID, ProductID: f.ProductID,
			Offer: o, Provision: provisionFor(o),
		}
		out.Events = append(out.Events, ev)
		return nil
	}
	d := notify.RefundData{
		RefundID: s.RefundID, OrderID: f.OrderID, LearnerID: f.LearnerID, ProductID: f.ProductID, Status: s.Snapshot.Status,
		Reason: string(f.Reason), Currency: f.Currency, ProviderRefundID: s.Snapshot.ProviderRefundID,
		// Access goes only once the money has actually moved.
		RevokeAccess: typ == notify.EventRefundSucceeded && s.Snapshot.Status == refundflow.StatusRefunded,
	}
	if s.Snapshot.Amount != nil {
		d.Amount = *s.Snapshot.Amount
	}
	if f.Decision != nil {
		d.Rule = string(f.Decision.Rule)
	}
	if typ == notify.EventRefundOffered {
		d.Offers = s.Offers
	}
	ev.Data = d
	out.Events = append(out.Events, ev)
	return nil
}

// staff renders a note for a group of staff, and an email to each of them
// whose key has an address. Finance are the approvers.
func (m *caseMessages) staff(ctx context.Context, out *notify.Outbox, audience, kind string) error {
	subject, body := staffText(kind, m.s, m.f)
	id := notify.StaffNoticeID(m.s.RefundID, m.s.Seq, audience, kind)
	out.Staff = append(out.Staff, notify.StaffNote{ID: id, Audience: audience, Kind: kind, Subject: subject, Body: body})
	return m.a.staffEmails(ctx, out, audience, id, subject, body)
}

// staffEmails adds an email of a staff note to everyone of the audience
// whose key has an address.
func (a *Activities) staffEmails(ctx context.Context, out *notify.Outbox, audience, id, subject, body string) error {
	role := audience
	if role == "finance" {
		role = string(refundflow.RoleApprover)
	}
	addresses, err := a.DB.StaffEmails(ctx, refundflow.Role(role))
	if err != nil {
		return err
	}
	for _, to := range addresses {
		out.Emails = append(out.Emails, notify.Email{
			To: to, Subject: subject, Text: body, HTML: "<pre>" + htmlEscape(body) + "</pre>", MessageID: id + "/" + to,
		})
	}
	return nil
}

func staffText(kind string, s refund.Step, f *postgres.CaseFacts) (subject, body string) {
	amount := "amount to be set"
	if s.Snapshot.Amount != nil {
		amount = fmt.Sprintf("%d %s (minor units)", *s.Snapshot.Amount, f.Currency)
	}
	due := "-"
	if s.Snapshot.SLADueAt != nil {
		due = s.Snapshot.SLADueAt.UTC().Format(time.RFC3339)
	}
	what := map[string]string{
		"approval_requested": "Refund %s waits for approval / 退款 %s 待审批",
		"approval_reminder":  "Reminder: refund %s is close to its approval deadline / 提醒：退款 %s 即将超过审批时限",
		"approval_escalated": "Escalated: refund %s passed its approval deadline / 升级：退款 %s 已超过审批时限",
		"refund_failed":      "Action needed: the money for refund %s could not be moved / 需处理：退款 %s 未能退回",
		"case_failed":        "Action needed: refund %s could not be processed / 需处理：退款 %s 无法处理",
	}[kind]
	if what == "" {
		what = kind + ": refund %s / 退款 %s"
	}
	subject = fmt.Sprintf(what, s.RefundID, s.RefundID)
	body = fmt.Sprintf("Case %s, order %s, reason %s, status %s, level %d.\nAmount: %s. SLA due: %s.\n",
		s.RefundID, f.OrderID, f.Reason, s.Snapshot.Status, s.Snapshot.EscalationLevel, amount, due)
	if f.Decision != nil {
		body += "\nDecision: " + f.Decision.Explanation.EN + "\n"
	}
	if code, ok := s.Detail["code"].(string); ok && code != "" {
		body += "Reason code: " + code + "\n"
	}
	return subject, body
}

// personArrival is the arrival window of a refund a person decided (a
// review, an appeal): what card refunds take, as for a quality refund.
var personArrival = [2]int{3, 5}

// arrivalFrom sets the arrival window of a refund whose money left at: the
// decision's window on its policy's calendar, or a person's (see
// personArrival) on the default policy's when nothing decided one.
func (a *Activities) arrivalFrom(ctx context.Context, dec *policy.Decision, at time.Time, d *notify.MessageData) error {
	ref := policy.Default().ID()
	window := personArrival
	if dec != nil {
		ref = dec.Policy
		if dec.Arrival != nil {
			window = [2]int{dec.Arrival.MinBusinessDays, dec.Arrival.MaxBusinessDays}
		}
	}
	name, version, err := policy.ParseRef(ref)
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
		return fmt.Errorf("policy %s names calendar %q, which is not known", ref, p.Calendar)
	}
	day := cal.DateOf(at)
	d.ArrivalEarliest = cal.AddBusinessDays(day, window[0])
	d.ArrivalLatest = cal.AddBusinessDays(day, window[1])
	return nil
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

func htmlEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}
