package chaos

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/refundflow/refundflow/notify"
)

// stepMessages is what each step of a case tells the learner (in-app and
// by email, under one id) and the platform (a webhook event), as SPEC 4.5
// and the product's steps say. A rejection after an appeal says
// rejected_final instead of rejected. Steps not named here tell neither.
var stepMessages = map[string]struct {
	learner  notify.MessageKind
	platform notify.EventType
}{
	"evaluated":                   {notify.KindReceived, notify.EventRefundSubmitted},
	"offered":                     {notify.KindOffer, notify.EventRefundOffered},
	"auto_approved":               {"", notify.EventRefundApproved},
	"approved":                    {notify.KindApproved, notify.EventRefundApproved},
	"rejected":                    {notify.KindRejected, notify.EventRefundRejected},
	"appealed":                    {notify.KindAppealReceived, ""},
	"withdrawn":                   {notify.KindWithdrawn, ""},
	"offer_accepted":              {notify.KindRetained, notify.EventOfferAccepted},
	"refunded":                    {notify.KindRefunded, notify.EventRefundSucceeded},
	"payment_failed":              {notify.KindFailed, notify.EventRefundFailed},
	"refund_failed_after_success": {notify.KindFailed, notify.EventRefundFailed},
	"case_failed":                 {"", notify.EventRefundFailed},
}

// step is one timeline entry of a case.
type step struct {
	event, status string
}

// outboxEmail, outboxEvent and inApp are the outbox's rows.
type outboxEmail struct {
	id, to, subject, text, refundID, status, lastError string
	attempts                                           int
}

type outboxEvent struct {
	id, typ, refundID, status, lastError string
	payload                              json.RawMessage
	attempts                             int
}

type inApp struct {
	id, refundID, kind, subject, body string
}

// caseRow is a case as the read model holds it.
type caseRow struct {
	id, orderID, status, learnerEmail string
}

// messageEvidence is both sides of every message: what the outbox holds
// and what the receivers took.
type messageEvidence struct {
	timeline map[string]map[int]step // by case, by seq
	cases    []caseRow
	emails   []outboxEmail
	events   []outboxEvent
	inApp    []inApp

	mail                       map[string]receivedMail // by Message-ID
	hooks                      map[string]received     // by event id
	mailTally, hookTally       receiverTally
	mailProblems, hookProblems []string
}

// gatherMessages reads the outbox, the timelines and the cases.
func gatherMessages(ctx context.Context, conn *pgx.Conn, me *messageEvidence) error {
	me.timeline = map[string]map[int]step{}
	rows, err := conn.Query(ctx, `SELECT refund_id, seq, event, status FROM refund_timeline`)
	if err != nil {
		return err
	}
	for rows.Next() {
		var id string
		var seq int
		var s step
		if err := rows.Scan(&id, &seq, &s.event, &s.status); err != nil {
			return err
		}
		if me.timeline[id] == nil {
			me.timeline[id] = map[int]step{}
		}
		me.timeline[id][seq] = s
	}
	if err := rows.Err(); err != nil {
		return err
	}
	rows, err = conn.Query(ctx, `SELECT r.id, r.order_id, r.status, o.learner_email FROM refunds r JOIN orders o ON o.id = r.order_id ORDER BY r.id`)
	if err != nil {
		return err
	}
	for rows.Next() {
		var c caseRow
		if err := rows.Scan(&c.id, &c.orderID, &c.status, &c.learnerEmail); err != nil {
			return err
		}
		me.cases = append(me.cases, c)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	rows, err = conn.Query(ctx, `SELECT id, to_address, subject, text_body, coalesce(refund_id, ''), status, attempts, last_error FROM emails ORDER BY id`)
	if err != nil {
		return err
	}
	for rows.Next() {
		var e outboxEmail
		if err := rows.Scan(&e.id, &e.to, &e.subject, &e.text, &e.refundID, &e.status, &e.attempts, &e.lastError); err != nil {
			return err
		}
		me.emails = append(me.emails, e)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	rows, err = conn.Query(ctx, `SELECT id, type, payload, coalesce(refund_id, ''), status, attempts, last_error FROM webhook_deliveries ORDER BY id`)
	if err != nil {
		return err
	}
	for rows.Next() {
		var e outboxEvent
		if err := rows.Scan(&e.id, &e.typ, &e.payload, &e.refundID, &e.status, &e.attempts, &e.lastError); err != nil {
			return err
		}
		me.events = append(me.events, e)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	rows, err = conn.Query(ctx, `SELECT id, coalesce(refund_id, ''), kind, subject, body FROM learner_messages ORDER BY id`)
	if err != nil {
		return err
	}
	for rows.Next() {
		var m inApp
		if err := rows.Scan(&m.id, &m.refundID, &m.kind, &m.subject, &m.body); err != nil {
			return err
		}
		me.inApp = append(me.inApp, m)
	}
	return rows.Err()
}

// checkMessages: every message a step of a case should have written was
// written, and nothing else; each says what was true at its step; every
// email and event in the outbox was delivered (none pending, none dead)
// and arrived — once after deduplication, with what the outbox holds —
// and nothing arrived that the outbox does not hold.
func checkMessages(me messageEvidence, add func(string, string, string, string, ...any)) {
	for _, p := range me.mailProblems {
		add("messages", "", "", "mail sink: %s", p)
	}
	for _, p := range me.hookProblems {
		add("messages", "", "", "platform receiver: %s", p)
	}
	if me.hookTally.Forged > 0 {
		add("messages", "", "", "%d platform webhooks did not verify", me.hookTally.Forged)
	}

	emails := map[string]outboxEmail{}
	for _, e := range me.emails {
		emails[e.id] = e
		switch got, ok := me.mail[e.id]; {
		case e.status != "sent":
			add("messages", e.refundID, "", "email %s is %s after %d attempts (last error %q)", e.id, e.status, e.attempts, e.lastError)
		case !ok:
			add("messages", e.refundID, "", "email %s is sent, but the mail server never got it", e.id)
		case got.To != e.to || got.Subject != e.subject || plain(got.Text) != plain(e.text):
			add("messages", e.refundID, "", "email %s arrived as to=%q subject=%q, the outbox holds to=%q subject=%q (texts equal: %t)",
				e.id, got.To, got.Subject, e.to, e.subject, plain(got.Text) == plain(e.text))
		}
	}
	for id := range me.mail {
		if _, ok := emails[id]; !ok {
			add("messages", "", "", "the mail server got %s, which is in no outbox", id)
		}
	}

	events := map[string]outboxEvent{}
	for _, ev := range me.events {
		events[ev.id] = ev
		got, ok := me.hooks[ev.id]
		switch {
		case ev.status != "delivered":
			add("messages", ev.refundID, "", "event %s is %s after %d attempts (last error %q)", ev.id, ev.status, ev.attempts, ev.lastError)
		case !ok:
			add("messages", ev.refundID, "", "event %s is delivered, but the platform never got it", ev.id)
		case got.Type != ev.typ:
			add("messages", ev.refundID, "", "event %s arrived as %s, the outbox holds %s", ev.id, got.Type, ev.typ)
		default:
			var env struct {
				Data json.RawMessage `json:"data"`
			}
			if err := json.Unmarshal(got.Body, &env); err != nil || !sameJSON(env.Data, ev.payload) {
				add("messages", ev.refundID, "", "event %s arrived with data %s, the outbox holds %s", ev.id, env.Data, ev.payload)
			}
		}
	}
	for id := range me.hooks {
		if _, ok := events[id]; !ok {
			add("messages", "", "", "the platform got %s, which is in no outbox", id)
		}
	}

	inAppByCase := map[string][]inApp{}
	for _, m := range me.inApp {
		if m.refundID != "" {
			inAppByCase[m.refundID] = append(inAppByCase[m.refundID], m)
		}
		e, ok := emails[m.id]
		switch {
		case !ok:
			add("messages", m.refundID, "", "in-app message %s has no email", m.id)
		case e.subject != m.subject || plain(e.text) != plain(m.body):
			add("messages", m.refundID, "", "email %s and the in-app message with its id say different things", m.id)
		}
	}
	eventsByCase := map[string][]outboxEvent{}
	for _, ev := range me.events {
		if ev.refundID != "" {
			eventsByCase[ev.refundID] = append(eventsByCase[ev.refundID], ev)
		}
	}
	for _, c := range me.cases {
		checkCaseMessages(c, me.timeline[c.id], inAppByCase[c.id], eventsByCase[c.id], emails, add)
	}
}

// checkCaseMessages compares a case's messages with its timeline: the
// ones its steps should have written, each at its step, saying the case's
// status there.
func checkCaseMessages(c caseRow, timeline map[int]step, learner []inApp, events []outboxEvent, emails map[string]outboxEmail,
	add func(string, string, string, string, ...any)) {
	want := map[string]string{} // message id → the step it belongs to
	appealed := false
	seqs := make([]int, 0, len(timeline))
	for seq := range timeline {
		seqs = append(seqs, seq)
	}
	sort.Ints(seqs)
	for _, seq := range seqs {
		s := timeline[seq]
		says, ok := stepMessages[s.event]
		where := fmt.Sprintf("step %d (%s, %s)", seq, s.event, s.status)
		if s.event == "appealed" {
			appealed = true
		}
		if !ok {
			continue
		}
		if kind := says.learner; kind != "" {
			if kind == notify.KindRejected && appealed {
				kind = notify.KindRejectedFinal
			}
			want[notify.NoticeID(c.id, seq, string(kind))] = where
		}
		if says.platform != "" {
			want[notify.EventID(c.id, seq, says.platform)] = where
		}
	}

	for _, m := range learner {
		if _, ok := want[m.id]; !ok {
			add("messages", c.id, c.orderID, "learner message %s (%s) fits no step of the case: %s", m.id, m.kind, stepOfNotice(m.id, c.id, timeline))
			continue
		}
		delete(want, m.id)
		if e, ok := emails[m.id]; ok && e.to != c.learnerEmail {
			add("messages", c.id, c.orderID, "email %s went to %s; the learner is %s", m.id, e.to, c.learnerEmail)
		}
	}
	for _, ev := range events {
		where, ok := want[ev.id]
		if !ok {
			add("messages", c.id, c.orderID, "event %s fits no step of the case", ev.id)
			continue
		}
		delete(want, ev.id)
		seq, _ := eventSeq(ev.id, c.id)
		var d struct {
			RefundID     string `json:"refund_id"`
			Status       string `json:"status"`
			RevokeAccess bool   `json:"revoke_access"`
		}
		if err := json.Unmarshal(ev.payload, &d); err != nil || d.RefundID != c.id {
			add("messages", c.id, c.orderID, "event %s is about case %q: %s", ev.id, d.RefundID, ev.payload)
			continue
		}
		if notify.EventType(ev.typ) == notify.EventOfferAccepted {
			continue // its data is the offer, not the case
		}
		if d.Status != timeline[seq].status {
			add("messages", c.id, c.orderID, "event %s says status %s; at its %s the case was %s", ev.id, d.Status, where, timeline[seq].status)
		}
		if succeeded := notify.EventType(ev.typ) == notify.EventRefundSucceeded; d.RevokeAccess != succeeded {
			add("messages", c.id, c.orderID, "event %s says revoke_access %t", ev.id, d.RevokeAccess)
		}
	}
	missing := make([]string, 0, len(want))
	for id, where := range want {
		missing = append(missing, id+" of "+where)
	}
	sort.Strings(missing)
	for _, m := range missing {
		add("messages", c.id, c.orderID, "no message %s", m)
	}
}

// stepOfNotice describes the step a learner message's id names.
func stepOfNotice(id, caseID string, timeline map[int]step) string {
	parts := strings.Split(strings.TrimPrefix(id, caseID+"/"), "/")
	if len(parts) != 2 {
		return "its id names no step"
	}
	seq, err := strconv.Atoi(parts[0])
	if s, ok := timeline[seq]; err == nil && ok {
		return fmt.Sprintf("step %d is %s, %s", seq, s.event, s.status)
	}
	return fmt.Sprintf("the timeline has no step %s", parts[0])
}

// eventSeq is the step an event's id names (evt_<case>_<seq>_<type>).
func eventSeq(id, caseID string) (int, bool) {
	rest, ok := strings.CutPrefix(id, "evt_"+caseID+"_")
	if !ok {
		return 0, false
	}
	seq, _, _ := strings.Cut(rest, "_")
	n, err := strconv.Atoi(seq)
	return n, err == nil
}

// sameJSON compares two JSON documents by value (PostgreSQL's jsonb keeps
// neither key order nor spacing).
func sameJSON(a, b []byte) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	return reflect.DeepEqual(x, y)
}

// plain is a text as a reader compares it: line ends and trailing space
// do not matter.
func plain(s string) string {
	return strings.TrimRight(strings.ReplaceAll(s, "\r\n", "\n"), " \n")
}
