package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The harness is covered here with tiny sizes; no timing is asserted
// (make bench measures), only that every measurement produced a number
// and that the results file is well-formed.
func TestQuickRunProducesEveryMeasurementAndWellFormedResults(t *testing.T) {
	if testing.Short() {
		t.Skip("a smoke run of every measurement takes a minute")
	}
	bin := t.TempDir()
	goBuild(t, "-o", filepath.Join(bin, "refundflow"), "./cmd/refundflow")
	goBuild(t, "-modfile=tools/go.mod", "-o", filepath.Join(bin, "vegeta"), "github.com/tsenart/vegeta/v12")

	cfg := QuickConfig()
	cfg.RefundflowBin, cfg.VegetaBin = filepath.Join(bin, "refundflow"), filepath.Join(bin, "vegeta")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	res, err := Run(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "results.json")
	if err := res.WriteJSON(path); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	checkResults(t, raw)

	var table bytes.Buffer
	res.PrintTable(&table)
	for _, b := range res.Bars {
		if !strings.Contains(table.String(), b.Name) {
			t.Errorf("the table does not show the bar %q:\n%s", b.Name, table.String())
		}
	}
}

// The committed results.json is the latest measured run: it must be a
// complete, well-formed results file too.
func TestCommittedResultsAreWellFormed(t *testing.T) {
	raw, err := os.ReadFile("results.json")
	if err != nil {
		t.Fatal(err)
	}
	checkResults(t, raw)
}

// checkResults decodes a results file strictly and checks that every
// measurement holds a positive number.
func checkResults(t *testing.T, raw []byte) {
	t.Helper()
	var r Results
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		t.Fatalf("results.json: %v", err)
	}
	positive := map[string]float64{
		"engine_floor.per_second":                  r.Floor.PerSecond,
		"engine_floor.p99_ms":                      r.Floor.P99Ms,
		"pipeline.per_second":                      r.Pipeline.PerSecond,
		"pipeline.ratio_to_floor":                  r.Pipeline.RatioToFloor,
		"pipeline.submit_to_refunded_p50_ms":       r.Pipeline.RefundedP50Ms,
		"pipeline.submit_to_refunded_p99_ms":       r.Pipeline.RefundedP99Ms,
		"pipeline.submit_to_completed_p99_ms":      r.Pipeline.CompletedP99Ms,
		"actions_per_case.auto":                    r.ActionsPerCase.Auto,
		"actions_per_case.human":                   r.ActionsPerCase.Human,
		"actions_per_case.offer_declined":          r.ActionsPerCase.OfferDeclined,
		"actions_per_case.remediation":             r.ActionsPerCase.Remediation,
		"events_per_case.auto":                     r.EventsPerCase.Auto,
		"events_per_case.human":                    r.EventsPerCase.Human,
		"events_per_case.offer_declined":           r.EventsPerCase.OfferDeclined,
		"events_per_case.remediation":              r.EventsPerCase.Remediation,
		"get_refund.p50_ms":                        r.Reads.P50Ms,
		"get_refund.p99_ms":                        r.Reads.P99Ms,
		"get_refund.requests":                      float64(r.Reads.Requests),
		"policy_evaluation.max_ns_per_op":          r.Policy.MaxNsPerOp,
		"remediation.refunds_per_second":           r.Remediation.PerSecond,
		"remediation.ratio_to_stripe_rate":         r.Remediation.RatioToRate,
		"waiting_for_approval.start_seconds":       r.Waiting.StartSeconds,
		"waiting_for_approval.worker_rss_mib":      r.Waiting.WorkerRSSMiB,
		"waiting_for_approval.worker_peak_rss_mib": r.Waiting.WorkerPeakRSSMiB,
		"engine_floor_postgres.per_second":         r.FloorPostgres.PerSecond,
		"engine_floor_postgres.p99_ms":             r.FloorPostgres.P99Ms,
		"seconds":                                  r.Seconds,
	}
	for name, v := range positive {
		if !(v > 0) {
			t.Errorf("%s = %v, want a measured number", name, v)
		}
	}
	if len(r.Policy.Cases) == 0 {
		t.Error("no policy evaluation cases")
	}
	if r.Floor.Store != "sqlite" || r.FloorPostgres.Store != "postgres" {
		t.Errorf("floor stores %q and %q, want sqlite and postgres", r.Floor.Store, r.FloorPostgres.Store)
	}
	if len(r.Bars) != 9 {
		t.Errorf("%d bars, want SPEC 7's 9", len(r.Bars))
	}
	for _, b := range r.Bars {
		if b.Name == "" || b.Target == "" {
			t.Errorf("bar %+v has no name or target", b)
		}
	}
}

// goBuild builds a binary from the module root.
func goBuild(t *testing.T, args ...string) {
	t.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is needed to build the binaries the bench runs: %v", err)
	}
	cmd := exec.Command(goTool, append([]string{"build"}, args...)...)
	cmd.Dir = "../.."
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build %v: %v\n%s", args, err, out)
	}
}
