package workflows

import (
	"time"

	"go.temporal.io/sdk/workflow"
)

// journal is how a case or a ticket writes its story: every step gets the
// next sequence number and is written — its timeline entry, its snapshot,
// the messages it causes — by one local activity in the workflow task that
// takes it (see localCtx). The read model applies each step once and never
// lets an older one overwrite a newer snapshot, so steps may be written in
// any order — but one at a time, in the order they were taken, because a
// step may build on rows an earlier one wrote (an offer is answered only
// once it is in the read model).
//
// Update handlers change the state at once and then record the change;
// the story waits for the records before it acts on what they changed
// (await), so what it does next is in the read model first.
type journal struct {
	seq int
	// recording counts steps taken and not yet written. Writes take turns:
	// queued counts the writes ever begun, written those finished.
	recording       int
	queued, written int
}

// next is the sequence number of the next step.
func (j *journal) next() int {
	j.seq++
	return j.seq
}

// write writes a step with the local activity fn, once the steps before
// it are written.
func (j *journal) write(ctx workflow.Context, fn, step any) {
	j.recording++
	defer func() { j.recording-- }()
	turn := j.queued
	j.queued++
	_ = workflow.Await(ctx, func() bool { return j.written == turn })
	defer func() { j.written++ }()
	if err := workflow.ExecuteLocalActivity(localCtx(ctx), fn, step).Get(ctx, nil); err != nil {
		// The local activity retries until PostgreSQL answers; only a
		// refusal ends here (the workflow's history still holds the step).
		workflow.GetLogger(ctx).Error("could not record a step", "workflow", workflow.GetInfo(ctx).WorkflowExecution.ID, "error", err)
	}
}

// await waits until cond holds or the timeout passes (no timeout when it is
// negative), then until every step being recorded is in the read model,
// and reports whether cond holds. Before it blocks, before is called once
// (the story brings its search attributes up to date there, once per
// wait). Every transition changes the state before it yields, so a timer
// and an update arriving together never both win.
func (j *journal) await(ctx workflow.Context, timeout time.Duration, cond func() bool, before func(workflow.Context)) bool {
	if !cond() && timeout != 0 {
		before(ctx)
		if timeout < 0 {
			_ = workflow.Await(ctx, cond)
		} else {
			_, _ = workflow.AwaitWithTimeout(ctx, timeout, cond)
		}
	}
	j.drain(ctx)
	return cond()
}

// drain waits until every step being recorded is written.
func (j *journal) drain(ctx workflow.Context) {
	_ = workflow.Await(ctx, func() bool { return j.recording == 0 })
}

// close waits until every update handler has finished and every step is
// written: a workflow ends only then.
func (j *journal) close(ctx workflow.Context) {
	_ = workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) && j.recording == 0 })
}

// forever is await's timeout for waits without a deadline.
const forever = -1
