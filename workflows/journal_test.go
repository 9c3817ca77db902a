package workflows

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"
)

// A step taken while an earlier one is still being written is written
// after it, even when the earlier write is the slow one: an answer to an
// offer must find the offer in the read model.
func TestJournalWritesStepsInTheOrderTheyWereTaken(t *testing.T) {
	var mu sync.Mutex
	var written []int
	write := func(_ context.Context, seq int) error {
		if seq == 1 {
			time.Sleep(200 * time.Millisecond)
		}
		mu.Lock()
		defer mu.Unlock()
		written = append(written, seq)
		return nil
	}
	story := func(ctx workflow.Context) error {
		var j journal
		workflow.Go(ctx, func(ctx workflow.Context) { j.write(ctx, write, j.next()) })
		workflow.Go(ctx, func(ctx workflow.Context) { j.write(ctx, write, j.next()) })
		j.write(ctx, write, j.next())
		j.close(ctx)
		return nil
	}
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestWorkflowEnvironment()
	env.RegisterWorkflow(story)
	env.ExecuteWorkflow(story)
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(written, []int{1, 2, 3}) {
		t.Fatalf("steps written in the order %v", written)
	}
}
