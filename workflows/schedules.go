package workflows

import (
	"context"
	"errors"
	"fmt"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
)

// CaseSweeperScheduleID is the sweeper's Temporal Schedule.
const CaseSweeperScheduleID = "case-sweeper"

// schedule is one scheduled job: a Temporal Schedule that starts a
// workflow on the refunds queue.
type schedule struct {
	id       string
	spec     client.ScheduleSpec
	workflow any
	args     []any
	// workflowID is the id of each run ("" is the schedule's id).
	workflowID string
	// catchup is how late a missed run still starts.
	catchup time.Duration
}

// schedules are the scheduled jobs. Each run covers everything due, so a
// run still going when the next is due makes the next one needless
// (overlap skip).
func schedules() []schedule {
	every := func(d, offset time.Duration) client.ScheduleSpec {
		return client.ScheduleSpec{Intervals: []client.ScheduleIntervalSpec{{Every: d, Offset: offset}}}
	}
	return []schedule{
		// Every case's row and workflow kept together (SPEC 4.5).
		{id: CaseSweeperScheduleID, spec: every(time.Minute, 0), workflow: CaseSweeper, catchup: time.Minute},
		// The reminders of renewals due in the next days.
		{id: RenewalRemindersScheduleID, spec: every(RenewalScanEvery, 0), workflow: RenewalReminders, catchup: RenewalScanEvery},
		// Courses refunded far above their peers, daily at 02:00 Beijing time.
		{id: RefundRateMonitorScheduleID, spec: every(24*time.Hour, 18*time.Hour), workflow: RefundRateMonitor, catchup: 24 * time.Hour},
		// The reconciliation with Stripe, daily at 01:30 UTC over the day
		// before; a day missed while the cluster was down is still done.
		{id: ReconcileScheduleID, spec: client.ScheduleSpec{CronExpressions: []string{reconcileCron}}, workflow: Reconcile,
			args: []any{ReconcileInput{Trigger: ReconcileTriggerSchedule}}, workflowID: ReconcileWorkflowID("daily"), catchup: 24 * time.Hour},
	}
}

// EnsureSchedules creates the Temporal Schedules of the scheduled jobs, or
// brings existing ones to this release's timing and workflow; every worker
// calls it at start, so it may run many times and concurrently.
func EnsureSchedules(ctx context.Context, c client.Client) error {
	for _, s := range schedules() {
		id := s.workflowID
		if id == "" {
			id = s.id
		}
		action := &client.ScheduleWorkflowAction{ID: id, Workflow: s.workflow, Args: s.args, TaskQueue: RefundsTaskQueue}
		_, err := c.ScheduleClient().Create(ctx, client.ScheduleOptions{
			ID: s.id, Spec: s.spec, Action: action,
			Overlap: enumspb.SCHEDULE_OVERLAP_POLICY_SKIP, CatchupWindow: s.catchup,
		})
		if errors.Is(err, temporal.ErrScheduleAlreadyRunning) {
			err = c.ScheduleClient().GetHandle(ctx, s.id).Update(ctx, client.ScheduleUpdateOptions{
				DoUpdate: func(in client.ScheduleUpdateInput) (*client.ScheduleUpdate, error) {
					sched := in.Description.Schedule
					sched.Spec, sched.Action = &s.spec, action
					sched.Policy.Overlap, sched.Policy.CatchupWindow = enumspb.SCHEDULE_OVERLAP_POLICY_SKIP, s.catchup
					return &client.ScheduleUpdate{Schedule: &sched}, nil
				},
			})
		}
		if err != nil {
			return fmt.Errorf("schedule %s: %w", s.id, err)
		}
	}
	return nil
}
