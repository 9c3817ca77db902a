// Package billing counts what a workflow's history costs on Temporal
// Cloud, by its billing rules (Temporal Cloud "actions"): the start 1;
// each activity attempt 1; all the local activities of one workflow task
// together 1; each timer 1; each search-attribute upsert 1; each signal 1;
// each accepted update 1; each child workflow 2. Workflow tasks are free.
// What a history does not show is not counted: queries, heartbeats, and
// updates the validator rejected.
package billing

import (
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
)

// Cost is what one history costs.
type Cost struct {
	Actions int `json:"actions"`
	Events  int `json:"events"`
	// MaxUpsertsPerTask is the most search-attribute upserts one workflow
	// task made (the product makes at most one).
	MaxUpsertsPerTask int `json:"max_upserts_per_task"`
}

// Add sums two costs (the runs of one workflow, say).
func (c Cost) Add(d Cost) Cost {
	return Cost{Actions: c.Actions + d.Actions, Events: c.Events + d.Events, MaxUpsertsPerTask: max(c.MaxUpsertsPerTask, d.MaxUpsertsPerTask)}
}

// localActivityMarker is the marker a local activity's result is recorded
// under.
const localActivityMarker = "LocalActivity"

// Of counts the cost of one run's history.
func Of(events []*historypb.HistoryEvent) Cost {
	c := Cost{Events: len(events)}
	localTasks := map[int64]bool{}
	upserts := map[int64]int{}
	for _, e := range events {
		switch e.GetEventType() {
		case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED:
			c.Actions++
		case enumspb.EVENT_TYPE_ACTIVITY_TASK_STARTED:
			// Retries are not events: the started event of the last try
			// says how many there were.
			c.Actions += int(max(e.GetActivityTaskStartedEventAttributes().GetAttempt(), 1))
		case enumspb.EVENT_TYPE_MARKER_RECORDED:
			if a := e.GetMarkerRecordedEventAttributes(); a.GetMarkerName() == localActivityMarker {
				localTasks[a.GetWorkflowTaskCompletedEventId()] = true
			}
		case enumspb.EVENT_TYPE_TIMER_STARTED, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED,
			enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED, enumspb.EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED:
			c.Actions++
		case enumspb.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES:
			c.Actions++
			task := e.GetUpsertWorkflowSearchAttributesEventAttributes().GetWorkflowTaskCompletedEventId()
			upserts[task]++
			c.MaxUpsertsPerTask = max(c.MaxUpsertsPerTask, upserts[task])
		case enumspb.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED:
			c.Actions += 2
		}
	}
	c.Actions += len(localTasks)
	return c
}
