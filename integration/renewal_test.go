package integration

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"testing"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/refundflow/refundflow"
	"github.com/refundflow/refundflow/workflows"
)

// membershipOrder pushes an order of the membership through the API;
// extra fields (renewal, next_renewal_at) are merged in.
func (s *stack) membershipOrder(id string, purchased time.Time, extra map[string]any) int {
	s.t.Helper()
	s.world.Stripe.CreatePayment(stripePayment("pi_"+id, 9900))
	order := map[string]any{
		"learner_id": "learner-" + id, "learner_email": id + "@example.com", "locale": "en",
		"product_id": "pro", "amount": 9900, "currency": "CNY",
		"purchased_at": purchased.UTC().Format(time.RFC3339), "payment_intent": "pi_" + id,
	}
	for k, v := range extra {
		order[k] = v
	}
	return s.do(platform, "PUT", "/v1/orders/"+id, order, nil)
}

func rfc3339(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// triggerRenewalScan runs the renewal-reminders schedule now and waits
// until the reminder of learner's renewal at renews is recorded.
func (s *stack) triggerRenewalScan(learner string, renews time.Time) time.Time {
	s.t.Helper()
	ctx := context.Background()
	h := s.app.Temporal.ScheduleClient().GetHandle(ctx, workflows.RenewalRemindersScheduleID)
	if err := h.Trigger(ctx, client.ScheduleTriggerOptions{}); err != nil {
		s.t.Fatal(err)
	}
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		reminders, err := s.world.DB.RenewalReminders(ctx, learner, "pro")
		if err != nil {
			s.t.Fatal(err)
		}
		for _, r := range reminders {
			if r.RenewsAt.Equal(renews) && r.SentAt != nil {
				return *r.SentAt
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	s.t.Fatalf("no reminder for %s's renewal at %s after a minute", learner, renews)
	return time.Time{}
}

func TestRenewalIsRemindedFiveDaysAheadAndRefundedWhenNotReminded(t *testing.T) {
	s := newStack(t, stackOptions{})
	s.do(platform, "PUT", "/v1/products/pro", map[string]any{"type": "membership", "title": "Pro Membership"}, nil)
	s.do(platform, "PUT", "/v1/products/c-course", course("c-course"), nil)
	now := time.Now().Truncate(time.Second)

	// The order API knows when a membership renews, and only a membership.
	if code := s.membershipOrder("m-bad-date", now, map[string]any{"next_renewal_at": rfc3339(now.Add(-time.Hour))}); code != http.StatusBadRequest {
		t.Fatalf("renewal before purchase: %d", code)
	}
	var errBody map[string]map[string]any
	courseOrder := map[string]any{"learner_id": "l", "learner_email": "l@example.com", "locale": "en", "product_id": "c-course",
		"amount": 100, "currency": "CNY", "purchased_at": rfc3339(now), "payment_intent": "pi_c", "next_renewal_at": rfc3339(now.Add(time.Hour))}
	if code := s.do(platform, "PUT", "/v1/orders/c-order", courseOrder, &errBody); code != http.StatusUnprocessableEntity || errBody["error"]["code"] != "not_a_membership" {
		t.Fatalf("renewal of a course: %d %v", code, errBody)
	}

	// Ada's membership renews in five days and a quarter of an hour: the
	// scan reminds her now, in time.
	renews := now.Add(workflows.RenewalReminderLead + 15*time.Minute)
	if code := s.membershipOrder("m-ada", now.Add(-25*24*time.Hour), map[string]any{"next_renewal_at": rfc3339(renews)}); code != http.StatusCreated {
		t.Fatalf("membership order: %d", code)
	}
	var announced struct {
		NextRenewalAt *time.Time `json:"next_renewal_at"`
	}
	if s.do(agent, "GET", "/v1/orders/m-ada", nil, &announced); announced.NextRenewalAt == nil || !announced.NextRenewalAt.Equal(renews) {
		t.Fatalf("order reads back next_renewal_at %v", announced.NextRenewalAt)
	}
	sentAt := s.triggerRenewalScan("learner-m-ada", renews)
	if renews.Sub(sentAt) < workflows.RenewalReminderLead {
		t.Fatalf("reminder sent at %s for a renewal at %s", sentAt, renews)
	}
	var msgs struct {
		Data []struct{ Kind string } `json:"data"`
	}
	s.do(platform, "GET", "/v1/learners/learner-m-ada/messages", nil, &msgs)
	if len(msgs.Data) != 1 || msgs.Data[0].Kind != "renewal_reminder" {
		t.Fatalf("Ada's messages %+v", msgs)
	}
	var types []string
	for _, e := range s.world.Platform.Events() {
		types = append(types, e.Type)
	}
	if !slices.Contains(types, "renewal.reminder_sent") {
		t.Fatalf("platform heard %v", types)
	}

	// The platform charges the renewal — now, for the period that starts in
	// five days: a purchase cannot lie in the future, and the test cannot
	// wait. The renewal order carries the reminder, and asking for a refund
	// does not meet rule 3.
	if code := s.membershipOrder("m-ada-2", now, map[string]any{"learner_id": "learner-m-ada", "renewal": map[string]any{"period_start": rfc3339(renews)}}); code != http.StatusCreated {
		t.Fatalf("renewal order: %d", code)
	}
	var renewal struct {
		Renewal struct {
			ReminderSentAt *time.Time `json:"reminder_sent_at"`
		} `json:"renewal"`
	}
	if s.do(agent, "GET", "/v1/orders/m-ada-2", nil, &renewal); renewal.Renewal.ReminderSentAt == nil || !renewal.Renewal.ReminderSentAt.Equal(sentAt) {
		t.Fatalf("renewal order reminder %v, want %s", renewal.Renewal.ReminderSentAt, sentAt)
	}
	var reminded refundCase
	s.do(platform, "POST", "/v1/refunds", map[string]any{"order_id": "m-ada-2", "reason": "changed_mind"}, &reminded)
	if c := s.waitForDecision(reminded.ID); c.Decision.Rule == "unnotified_renewal" {
		t.Fatalf("a reminded renewal was decided by rule 3: %+v", c.Decision)
	}

	// Bo's renewal was charged two days ago without any reminder: rule 3
	// refunds all of it, automatically.
	charged := now.Add(-48 * time.Hour)
	s.membershipOrder("m-bo-2", charged, map[string]any{"renewal": map[string]any{"period_start": rfc3339(charged)}})
	var bo refundCase
	if code := s.do(platform, "POST", "/v1/refunds", map[string]any{"order_id": "m-bo-2", "reason": "changed_mind"}, &bo); code != http.StatusCreated {
		t.Fatalf("refund: %d", code)
	}
	done := s.waitFor(bo.ID, refundflow.StatusRefunded)
	if done.Decision.Rule != "unnotified_renewal" || done.Decision.Outcome != "full" || *done.Amount != 9900 {
		t.Fatalf("decision %+v amount %v", done.Decision, done.Amount)
	}
	if r := s.world.StripeRefundsFor("pi_m-bo-2"); len(r) != 1 || r[0].Amount != 9900 {
		t.Fatalf("Stripe refunds %+v", r)
	}
}

// waitForDecision polls a case until its decision is recorded.
func (s *stack) waitForDecision(id string) refundCase {
	s.t.Helper()
	deadline := time.Now().Add(time.Minute)
	var c refundCase
	for time.Now().Before(deadline) {
		s.do(agent, "GET", "/v1/refunds/"+id, nil, &c)
		if c.Decision != nil {
			return c
		}
		time.Sleep(50 * time.Millisecond)
	}
	raw, _ := json.Marshal(c)
	s.t.Fatalf("case %s has no decision after a minute: %s", id, raw)
	return c
}
