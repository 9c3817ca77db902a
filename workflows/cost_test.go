package workflows_test

import (
	"os"
	"path/filepath"
	"testing"

	"go.temporal.io/sdk/client"

	"github.com/refundflow/refundflow/internal/billing"
)

// costOf counts a recorded history by Temporal Cloud's billing rules.
func costOf(t *testing.T, name string) billing.Cost {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", "histories", name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h, err := client.HistoryFromJSON(f, client.HistoryJSONOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return billing.Of(h.GetEvents())
}

// A case costs what it must (SPEC 7): counted on the histories the
// integration runs recorded, by Temporal Cloud's billing rules.
func TestRecordedCasesCostNoMoreThanSPEC7Allows(t *testing.T) {
	for _, c := range []struct {
		history string
		most    int
	}{
		{"refund-auto-approved", 6},
		{"refund-human-approved", 10},
		{"refund-offer-declined", 10},
	} {
		t.Run(c.history, func(t *testing.T) {
			cost := costOf(t, c.history)
			t.Logf("%s: %d actions, %d events", c.history, cost.Actions, cost.Events)
			if cost.Actions > c.most {
				t.Fatalf("%d actions, want at most %d", cost.Actions, c.most)
			}
		})
	}
}

// Search attributes change at most once a workflow task, in every
// recorded workflow.
func TestNoWorkflowTaskUpsertsSearchAttributesTwice(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "histories", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		name := filepath.Base(f[:len(f)-len(".json")])
		if cost := costOf(t, name); cost.MaxUpsertsPerTask > 1 {
			t.Errorf("%s: a workflow task made %d upserts", name, cost.MaxUpsertsPerTask)
		}
	}
}
