package workflows_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/testsuite"

	"github.com/refundflow/refundflow"
	"github.com/refundflow/refundflow/internal/casetest"
	"github.com/refundflow/refundflow/postgres"
	"github.com/refundflow/refundflow/workflows"
)

const day = 24 * time.Hour

// scanAt runs one scan of the renewal-reminders schedule at a moment; the
// activities stamp what they send with the same clock.
func scanAt(t *testing.T, w *casetest.World, at time.Time) workflows.RenewalRemindersResult {
	t.Helper()
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestWorkflowEnvironment()
	env.SetStartTime(at)
	env.RegisterWorkflow(workflows.RenewalReminders)
	env.RegisterActivity(w.Acts)
	w.Acts.Now = env.Now
	env.ExecuteWorkflow(workflows.RenewalReminders)
	if err := env.GetWorkflowError(); err != nil {
		t.Fatalf("scan at %s: %v", at, err)
	}
	var res workflows.RenewalRemindersResult
	if err := env.GetWorkflowResult(&res); err != nil {
		t.Fatal(err)
	}
	w.Deliver()
	return res
}

// membership stores an order of the Pro membership that renews at renews
// (nil: it does not renew).
func membership(w *casetest.World, id, learner string, renews *time.Time) *refundflow.Order {
	return w.Order(refundflow.Order{
		ID: id, LearnerID: learner, ProductID: "pro", Amount: 9900, Currency: "USD", Locale: refundflow.LocaleEn,
		PurchasedAt: start.Add(-25 * day), NextRenewalAt: renews,
	})
}

// replan is the platform pushing an order again with another renewal date.
func replan(t *testing.T, w *casetest.World, id string, renews *time.Time) {
	t.Helper()
	o := w.OrderNow(id)
	o.NextRenewalAt = renews
	if _, err := w.DB.UpsertOrder(context.Background(), o, postgres.PinPolicy); err != nil {
		t.Fatal(err)
	}
}

func TestRenewalReminderGoesOutFiveDaysBeforeTheDateTheOrderAnnouncesNow(t *testing.T) {
	w := casetest.New(t)
	w.Product(refundflow.Product{ID: "pro", Type: refundflow.Membership, Title: "Pro Membership"})
	firstDate, movedDate, offDate := start.Add(10*day), start.Add(8*day), start.Add(6*day)
	membership(w, "m-ada", "ada", &firstDate)
	membership(w, "m-bo", "bo", &offDate)

	if res := scanAt(t, w, start); res.Sent != 0 {
		t.Fatalf("a scan 6 days ahead of any reminder sent %d", res.Sent)
	}
	// The platform moves Ada's renewal two days earlier; Bo turns
	// automatic renewal off.
	replan(t, w, "m-ada", &movedDate)
	replan(t, w, "m-bo", nil)

	remindedAt := movedDate.Add(-workflows.RenewalReminderLead - 30*time.Minute)
	if res := scanAt(t, w, remindedAt); res.Sent != 1 {
		t.Fatalf("the scan before the moved date sent %d reminders, want 1", res.Sent)
	}
	if res := scanAt(t, w, firstDate.Add(-workflows.RenewalReminderLead-30*time.Minute)); res.Sent != 0 {
		t.Fatalf("the first date, which no order announces any more, got %d reminders", res.Sent)
	}

	reminders, err := w.DB.RenewalReminders(context.Background(), "ada", "pro")
	if err != nil || len(reminders) != 1 || !reminders[0].RenewsAt.Equal(movedDate) || !reminders[0].SentAt.Equal(remindedAt) {
		t.Fatalf("reminders %+v: %v", reminders, err)
	}
	if r, _ := w.DB.RenewalReminders(context.Background(), "bo", "pro"); len(r) != 0 {
		t.Fatalf("Bo turned renewal off but was reminded: %+v", r)
	}
	emails, err := w.DB.Emails(context.Background(), 10)
	if err != nil || len(emails) != 1 || emails[0].To != "ada@example.com" || !strings.Contains(emails[0].Subject, "10 March 2026") {
		t.Fatalf("emails %+v: %v", emails, err)
	}
	if got := w.LearnerKinds("ada"); len(got) != 1 || got[0] != "renewal_reminder" {
		t.Fatalf("Ada's messages %v", got)
	}
	var event map[string]any
	for _, e := range w.Platform.Events() {
		if e.Type == "renewal.reminder_sent" {
			_ = json.Unmarshal(e.Data, &event)
		}
	}
	if event["order_id"] != "m-ada" || event["renews_at"] != movedDate.Format(time.RFC3339) {
		t.Fatalf("platform heard %v", event)
	}

	// The platform charges the renewal: the new order carries the reminder.
	renewal := w.Order(refundflow.Order{
		ID: "m-ada-2", LearnerID: "ada", ProductID: "pro", Amount: 9900, Currency: "USD", PurchasedAt: movedDate,
		Renewal: &refundflow.Renewal{PeriodStart: movedDate},
	})
	if renewal.Renewal.ReminderSentAt == nil || !renewal.Renewal.ReminderSentAt.Equal(remindedAt) {
		t.Fatalf("renewal order %+v", renewal.Renewal)
	}
}

// A renewal order the platform pushed before the reminder went out gets
// the reminder recorded on it too.
func TestReminderIsRecordedOnARenewalOrderPushedEarly(t *testing.T) {
	w := casetest.New(t)
	w.Product(refundflow.Product{ID: "pro", Type: refundflow.Membership, Title: "Pro Membership"})
	renews := start.Add(5 * day)
	membership(w, "m-chen", "chen", &renews)
	w.Order(refundflow.Order{
		ID: "m-chen-2", LearnerID: "chen", ProductID: "pro", Amount: 9900, Currency: "USD", PurchasedAt: start,
		Renewal: &refundflow.Renewal{PeriodStart: renews},
	})

	if res := scanAt(t, w, start); res.Sent != 1 {
		t.Fatalf("sent %d", res.Sent)
	}
	if got := w.OrderNow("m-chen-2").Renewal; got.ReminderSentAt == nil || !got.ReminderSentAt.Equal(start) {
		t.Fatalf("renewal %+v", got)
	}
	if res := scanAt(t, w, start.Add(time.Hour)); res.Sent != 0 {
		t.Fatalf("the reminder went out twice")
	}
}
