package cases

import (
	"context"
	"net/url"
	"sync"
	"time"

	"github.com/refundflow/refundflow"
	"github.com/refundflow/refundflow/workflows"
)

// nextReconciliation remembers, for a minute, when the daily schedule runs
// next: the answer changes once a day, and without it every report would
// wait on an unreachable Temporal.
type nextReconciliation struct {
	mu      sync.Mutex
	at      *time.Time
	askedAt time.Time
}

// ReconciliationStarted is an on-demand run that has started: its id and
// where to read its report.
type ReconciliationStarted struct {
	RunID         string    `json:"run_id"`
	WorkflowID    string    `json:"workflow_id"`
	WindowFrom    time.Time `json:"window_from"`
	WindowTo      time.Time `json:"window_to"`
	ReportURL     string    `json:"report_url"`
	TemporalUIURL string    `json:"temporal_ui_url"`
}

// StartReconciliation starts a run of the daily schedule's reconciliation
// workflow over the refunds Stripe created in [from, to). Without either,
// it covers what the schedule does, the UTC day before; with from alone,
// from until now; with to alone, the 24 hours before to. The window must
// end by now — Stripe has not made the refunds of the future yet, so a
// run over them would report a clean ledger it never saw — and cover at
// most 93 days.
func (s *Service) StartReconciliation(ctx context.Context, from, to *time.Time) (*ReconciliationStarted, error) {
	now := s.Now()
	// Stripe stamps refunds in whole seconds and lists those created
	// before to's second: "until now" ends with the current second, or a
	// refund made a moment ago would be left out.
	untilNow := now.Truncate(time.Second).Add(time.Second)
	in := workflows.ReconcileInput{Trigger: workflows.ReconcileTriggerManual}
	switch {
	case from == nil && to == nil:
		in.From, in.To = workflows.ReconcileDayBefore(now)
	case to == nil:
		in.From, in.To = *from, untilNow
	case from == nil:
		in.From, in.To = to.Add(-24*time.Hour), *to
	default:
		in.From, in.To = *from, *to
	}
	var pr refundflow.Problems
	switch {
	case !in.To.After(in.From):
		pr.Add("to", "invalid_window", "must be after from")
	case in.To.Sub(in.From) > maxReconcileWindow:
		pr.Add("to", "window_too_long", "a run covers at most %d days", int(maxReconcileWindow.Hours()/24))
	}
	if in.To.After(untilNow) {
		pr.Add("to", "window_in_future", "must not be after now (%s)", now.UTC().Format(time.RFC3339))
	}
	if err := pr.Err(); err != nil {
		return nil, err
	}
	if s.Temporal == nil {
		return nil, refundflow.Errorf(refundflow.EUNAVAILABLE, "temporal_unavailable", "Temporal is not reachable; try again")
	}
	id := workflows.ReconcileWorkflowID(refundflow.NewID("manual"))
	if _, err := workflows.StartReconcile(ctx, s.Temporal, id, in); err != nil {
		s.Logger.Error("start reconciliation", "run", id, "error", err)
		return nil, refundflow.Errorf(refundflow.EUNAVAILABLE, "workflow_unavailable", "the reconciliation could not be started now; try again")
	}
	return &ReconciliationStarted{
		RunID: id, WorkflowID: id, WindowFrom: in.From.UTC(), WindowTo: in.To.UTC(),
		ReportURL:     "/v1/reports/reconciliation?" + url.Values{"run_id": {id}}.Encode(),
		TemporalUIURL: s.WorkflowURL(id),
	}, nil
}

// nextScheduledReconciliation is when the daily schedule runs next, as
// Temporal says, or nil when it cannot say (no schedule yet, Temporal
// down): the report is read from PostgreSQL and is served all the same.
func (s *Service) nextScheduledReconciliation(ctx context.Context) *time.Time {
	c := &s.nextReconciliation
	c.mu.Lock()
	defer c.mu.Unlock()
	now := s.Now()
	if !c.askedAt.IsZero() && now.Sub(c.askedAt) < time.Minute && (c.at == nil || c.at.After(now)) {
		return c.at
	}
	c.at, c.askedAt = s.askNextReconciliation(ctx), now
	return c.at
}

func (s *Service) askNextReconciliation(ctx context.Context) *time.Time {
	if s.Temporal == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	desc, err := s.Temporal.ScheduleClient().GetHandle(ctx, workflows.ReconcileScheduleID).Describe(ctx)
	if err != nil {
		s.Logger.Warn("describe the reconciliation schedule", "schedule", workflows.ReconcileScheduleID, "error", err)
		return nil
	}
	if len(desc.Info.NextActionTimes) == 0 {
		return nil
	}
	next := desc.Info.NextActionTimes[0].UTC()
	return &next
}

// maxReconcileWindow bounds an on-demand run.
const maxReconcileWindow = 93 * 24 * time.Hour
