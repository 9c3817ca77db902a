package workflows

import (
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/refundflow/refundflow/activities/contract"
	"github.com/refundflow/refundflow/policy"
)

// RenewalReminderLead is how long before a membership renews the learner
// must have been reminded: the default policy's renewal_reminder_lead_days.
// A renewal charged without such a reminder is refunded by the
// unnotified_renewal rule.
var RenewalReminderLead = time.Duration(policy.Default().RenewalReminderLeadDays) * 24 * time.Hour

// RenewalScanEvery is how often the renewal-reminders schedule scans, and
// RenewalReminderMargin how much earlier than the lead a reminder goes
// out, so that a scan always comes before the lead runs out.
const (
	RenewalScanEvery      = 15 * time.Minute
	RenewalReminderMargin = time.Hour
)

// RenewalRemindersResult counts the reminders one scan sent.
type RenewalRemindersResult struct {
	Sent int
}

// RenewalReminders is one scan of the renewal-reminders schedule (SPEC 4.9):
// it reminds the learner of every membership renewal that is due for its
// reminder — renewing within RenewalReminderLead plus the margin — and not
// reminded yet. The orders are the plan: a renewal whose date moved is
// reminded for its new date, one turned off (no next_renewal_at) is not
// reminded at all, and a reminder already sent is never sent again.
func RenewalReminders(ctx workflow.Context) (RenewalRemindersResult, error) {
	const batch = 100
	var res RenewalRemindersResult
	now := workflow.Now(ctx)
	for {
		var due []contract.Renewal
		err := workflow.ExecuteActivity(dbCtx(ctx, 5*time.Minute), contract.DueRenewals, contract.DueRenewalsInput{
			Now: now, DueBefore: now.Add(RenewalReminderLead + RenewalReminderMargin), Limit: batch,
		}).Get(ctx, &due)
		if err != nil {
			return res, err
		}
		sends := make([]workflow.Future, len(due))
		for i, r := range due {
			sends[i] = workflow.ExecuteActivity(dbCtx(ctx, time.Minute), contract.SendRenewalReminder, r)
		}
		failed := 0
		for i, f := range sends {
			var out contract.RenewalReminderResult
			if err := f.Get(ctx, &out); err != nil {
				failed++
				workflow.GetLogger(ctx).Error("renewal reminder not sent", "order", due[i].OrderID, "error", err)
				continue
			}
			if out.Sent {
				res.Sent++
			}
		}
		// A full batch may have more behind it, unless it failed as a
		// whole: the next scan tries again.
		if len(due) < batch || failed == len(due) {
			return res, nil
		}
		if workflow.GetInfo(ctx).GetContinueAsNewSuggested() {
			return res, workflow.NewContinueAsNewError(ctx, RenewalReminders)
		}
	}
}
