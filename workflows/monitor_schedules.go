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

// EnsureSchedules creates the Temporal Schedules of the scheduled jobs, or
// brings existing ones to this release's timing; every worker calls it at
// start, so it may run many times and concurrently:
//
//   - renewal-reminders: RenewalReminders every RenewalScanEvery;
//   - refund-rate-monitor: RefundRateMonitor daily at 02:00 Beijing time.
func EnsureSchedules(ctx context.Context, c client.Client) error {
	for _, s := range []struct {
		id            string
		every, offset time.Duration
		workflow      any
	}{
		{RenewalRemindersScheduleID, RenewalScanEvery, 0, RenewalReminders},
		{RefundRateMonitorScheduleID, 24 * time.Hour, 18 * time.Hour, RefundRateMonitor},
	} {
		spec := client.ScheduleSpec{Intervals: []client.ScheduleIntervalSpec{{Every: s.every, Offset: s.offset}}}
		action := &client.ScheduleWorkflowAction{ID: s.id, Workflow: s.workflow, TaskQueue: RefundsTaskQueue}
		_, err := c.ScheduleClient().Create(ctx, client.ScheduleOptions{
			ID: s.id, Spec: spec, Action: action,
			// A run still going when the next is due makes the next one
			// needless: each run covers everything due.
			Overlap:       enumspb.SCHEDULE_OVERLAP_POLICY_SKIP,
			CatchupWindow: s.every,
		})
		if errors.Is(err, temporal.ErrScheduleAlreadyRunning) {
			err = c.ScheduleClient().GetHandle(ctx, s.id).Update(ctx, client.ScheduleUpdateOptions{
				DoUpdate: func(in client.ScheduleUpdateInput) (*client.ScheduleUpdate, error) {
					sched := in.Description.Schedule
					sched.Spec, sched.Action = &spec, action
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
