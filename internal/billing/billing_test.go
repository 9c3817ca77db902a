package billing_test

import (
	"testing"

	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"

	"github.com/refundflow/refundflow/internal/billing"
)

func event(t enumspb.EventType, attrs func(*historypb.HistoryEvent)) *historypb.HistoryEvent {
	e := &historypb.HistoryEvent{EventType: t}
	if attrs != nil {
		attrs(e)
	}
	return e
}

func localActivity(task int64) *historypb.HistoryEvent {
	return event(enumspb.EVENT_TYPE_MARKER_RECORDED, func(e *historypb.HistoryEvent) {
		e.Attributes = &historypb.HistoryEvent_MarkerRecordedEventAttributes{MarkerRecordedEventAttributes: &historypb.MarkerRecordedEventAttributes{
			MarkerName: "LocalActivity", WorkflowTaskCompletedEventId: task}}
	})
}

func upsert(task int64) *historypb.HistoryEvent {
	return event(enumspb.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES, func(e *historypb.HistoryEvent) {
		e.Attributes = &historypb.HistoryEvent_UpsertWorkflowSearchAttributesEventAttributes{
			UpsertWorkflowSearchAttributesEventAttributes: &historypb.UpsertWorkflowSearchAttributesEventAttributes{WorkflowTaskCompletedEventId: task}}
	})
}

func activityStarted(attempt int32) *historypb.HistoryEvent {
	return event(enumspb.EVENT_TYPE_ACTIVITY_TASK_STARTED, func(e *historypb.HistoryEvent) {
		e.Attributes = &historypb.HistoryEvent_ActivityTaskStartedEventAttributes{ActivityTaskStartedEventAttributes: &historypb.ActivityTaskStartedEventAttributes{Attempt: attempt}}
	})
}

func TestCostFollowsTemporalCloudsBillingRules(t *testing.T) {
	for _, c := range []struct {
		name    string
		events  []*historypb.HistoryEvent
		actions int
		upserts int
	}{
		{"a start", []*historypb.HistoryEvent{event(enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED, nil)}, 1, 0},
		{"workflow tasks are free", []*historypb.HistoryEvent{
			event(enumspb.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED, nil), event(enumspb.EVENT_TYPE_WORKFLOW_TASK_STARTED, nil),
			event(enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED, nil)}, 0, 0},
		{"every attempt of an activity", []*historypb.HistoryEvent{activityStarted(3)}, 3, 0},
		{"the local activities of one workflow task are one action", []*historypb.HistoryEvent{
			localActivity(4), localActivity(4), localActivity(4), localActivity(9)}, 2, 0},
		{"each upsert, counted per task", []*historypb.HistoryEvent{upsert(4), upsert(9), upsert(9)}, 3, 2},
		{"timers, signals and updates", []*historypb.HistoryEvent{
			event(enumspb.EVENT_TYPE_TIMER_STARTED, nil), event(enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED, nil),
			event(enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED, nil)}, 3, 0},
		{"a child workflow is two", []*historypb.HistoryEvent{event(enumspb.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED, nil)}, 2, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := billing.Of(c.events)
			if got.Actions != c.actions || got.MaxUpsertsPerTask != c.upserts || got.Events != len(c.events) {
				t.Fatalf("%+v, want %d actions, %d upserts in a task", got, c.actions, c.upserts)
			}
		})
	}
}
