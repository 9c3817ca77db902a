package chaos

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
)

// A small case, rejected by a person and then approved on appeal, with
// every message it wrote delivered: the check finds nothing. Each change
// below breaks one thing a message must be, and the check names it.
func TestMessageCheckNamesWhatAMessageGotWrong(t *testing.T) {
	const id = "rf_1"
	timeline := map[int]step{
		1: {"evaluated", "evaluating"}, 2: {"awaiting_approval", "awaiting_approval"}, 3: {"rejected", "rejected"},
		4: {"appealed", "awaiting_approval"}, 5: {"approved", "refunding"}, 6: {"refunded", "refunded"},
	}
	learner := map[string]string{ // id → kind
		id + "/0001/received": "received", id + "/0003/rejected": "rejected", id + "/0004/appeal_received": "appeal_received",
		id + "/0005/approved": "approved", id + "/0006/refunded": "refunded",
	}
	events := map[string]string{ // id → status in its data
		"evt_rf_1_1_refund.submitted": "evaluating", "evt_rf_1_3_refund.rejected": "rejected",
		"evt_rf_1_5_refund.approved": "refunding", "evt_rf_1_6_refund.succeeded": "refunded",
	}
	build := func() messageEvidence {
		me := messageEvidence{
			timeline: map[string]map[int]step{id: timeline},
			cases:    []caseRow{{id: id, orderID: "o1", status: "refunded", learnerEmail: "a@example.com"}},
			mail:     map[string]receivedMail{}, hooks: map[string]received{},
		}
		for mid, kind := range learner {
			me.inApp = append(me.inApp, inApp{id: mid, refundID: id, kind: kind, subject: "S " + kind, body: "B " + kind})
			me.emails = append(me.emails, outboxEmail{id: mid, to: "a@example.com", subject: "S " + kind, text: "B " + kind, refundID: id, status: "sent"})
			me.mail[mid] = receivedMail{To: "a@example.com", Subject: "S " + kind, Text: "B " + kind + "\r\n", Copies: 1}
		}
		for eid, status := range events {
			typ := eid[strings.LastIndexByte(eid, '_')+1:]
			data, _ := json.Marshal(map[string]any{"refund_id": id, "status": status, "revoke_access": typ == "refund.succeeded"})
			me.events = append(me.events, outboxEvent{id: eid, typ: typ, refundID: id, status: "delivered", payload: data})
			body, _ := json.Marshal(map[string]any{"id": eid, "type": typ, "data": json.RawMessage(data)})
			me.hooks[eid] = received{Type: typ, Body: body, Copies: 2}
		}
		return me
	}
	run := func(me messageEvidence) []string {
		var found []string
		checkMessages(me, func(_, _, _, format string, args ...any) {
			found = append(found, fmt.Sprintf(format, args...))
		})
		return found
	}
	if found := run(build()); len(found) > 0 {
		t.Fatalf("a case whose messages are all right: %q", found)
	}

	for _, tc := range []struct {
		name   string
		change func(*messageEvidence)
		want   string
	}{
		{"an event that never arrived", func(me *messageEvidence) { delete(me.hooks, "evt_rf_1_6_refund.succeeded") },
			"is delivered, but the platform never got it"},
		{"an email still waiting", func(me *messageEvidence) { me.emails[0].status = "pending" }, "is pending"},
		{"a message in the dead letter", func(me *messageEvidence) { me.events[0].status = "dead" }, "is dead"},
		{"a step without its message", func(me *messageEvidence) {
			lost := id + "/0006/refunded"
			me.inApp = slices.DeleteFunc(me.inApp, func(m inApp) bool { return m.id == lost })
			me.emails = slices.DeleteFunc(me.emails, func(e outboxEmail) bool { return e.id == lost })
			delete(me.mail, lost)
		}, "no message rf_1/0006/refunded of step 6 (refunded, refunded)"},
		{"an event that says a later status", func(me *messageEvidence) {
			for i, ev := range me.events {
				if ev.id == "evt_rf_1_5_refund.approved" {
					me.events[i].payload = json.RawMessage(`{"refund_id":"rf_1","status":"refunded","revoke_access":false}`)
					me.hooks[ev.id] = received{Type: ev.typ, Body: []byte(`{"data":{"refund_id":"rf_1","status":"refunded","revoke_access":false}}`), Copies: 1}
				}
			}
		}, "says status refunded; at its step 5 (approved, refunding) the case was refunding"},
		{"a rejection after the appeal that does not say it is final", func(me *messageEvidence) {
			me.timeline[id] = map[int]step{1: timeline[1], 2: timeline[2], 3: timeline[3], 4: timeline[4], 5: {"rejected", "rejected"}}
		}, "no message rf_1/0005/rejected_final"},
		{"an email that says something else than the in-app message", func(me *messageEvidence) { me.inApp[0].body = "other" },
			"say different things"},
		{"a copy the mail server got that differs from the outbox", func(me *messageEvidence) {
			got := me.mail[me.emails[0].id]
			got.Text = "changed"
			me.mail[me.emails[0].id] = got
		}, "arrived as"},
		{"a message nobody wrote", func(me *messageEvidence) { me.hooks["evt_rf_9_1_refund.submitted"] = received{} }, "which is in no outbox"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			me := build()
			tc.change(&me)
			found := run(me)
			if !strings.Contains(strings.Join(found, "\n"), tc.want) {
				t.Fatalf("want a violation saying %q, got %q", tc.want, found)
			}
		})
	}
}
