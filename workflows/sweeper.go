package workflows

import (
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/refundflow/refundflow/activities/contract"
)

// Sweeper timing: a case is a minute old before the sweeper asks about it
// (the API starts its workflow well within that), and workflows that ended
// abnormally are read a week back (a sweeper down for days still finds
// them; a case it closed already is left as it is).
const (
	SweepGrace    = time.Minute
	SweepLookBack = 7 * 24 * time.Hour
	sweepLimit    = 500
)

// CaseSweeper runs every minute (CaseSweeperScheduleID): it starts the
// cases whose request could not start them and closes as failed the open
// cases whose workflow ended (contract.SweepCases). One try per run: the
// next run is a minute away.
func CaseSweeper(ctx workflow.Context) (contract.SweepResult, error) {
	opts := DBActivityOptions(time.Minute)
	opts.RetryPolicy = &temporal.RetryPolicy{MaximumAttempts: 1}
	var res contract.SweepResult
	err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, opts), contract.SweepCases, contract.SweepInput{
		Grace: SweepGrace, LookBack: SweepLookBack, Limit: sweepLimit,
	}).Get(ctx, &res)
	if len(res.Started)+len(res.Closed) > 0 {
		workflow.GetLogger(ctx).Warn("the sweeper found cases without a workflow", "started", res.Started, "closed", res.Closed)
	}
	return res, err
}
