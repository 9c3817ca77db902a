package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/refundflow/refundflow"
)

// reads reads the pipeline's refunded cases (a full timeline each) with
// GET /v1/refunds/{id} at a constant rate with vegeta, as an agent would,
// while nothing else runs, and reports vegeta's latency percentiles.
func (e *env) reads(ctx context.Context, cfg Config) (Reads, error) {
	if len(e.readIDs) == 0 {
		return Reads{}, fmt.Errorf("no cases to read: the pipeline made none")
	}
	var targets strings.Builder
	for _, id := range e.readIDs {
		fmt.Fprintf(&targets, "GET %s/v1/refunds/%s\nAuthorization: Bearer %s\n\n", e.api, id, e.keys[refundflow.RoleAgent])
	}
	dir, err := os.MkdirTemp(e.dir, "vegeta-")
	if err != nil {
		return Reads{}, err
	}
	targetsFile, resultsFile := filepath.Join(dir, "targets.txt"), filepath.Join(dir, "results.bin")
	if err := os.WriteFile(targetsFile, []byte(targets.String()), 0o600); err != nil {
		return Reads{}, err
	}
	attack := exec.CommandContext(ctx, e.cfg.VegetaBin, "attack",
		"-rate", fmt.Sprintf("%d/s", cfg.ReadRate), "-duration", cfg.ReadDuration.String(),
		"-targets", targetsFile, "-output", resultsFile, "-timeout", "10s")
	if out, err := attack.CombinedOutput(); err != nil {
		return Reads{}, fmt.Errorf("vegeta attack: %w\n%s", err, out)
	}
	var stdout, stderr bytes.Buffer
	report := exec.CommandContext(ctx, e.cfg.VegetaBin, "report", "-type", "json", resultsFile)
	report.Stdout, report.Stderr = &stdout, &stderr
	if err := report.Run(); err != nil {
		return Reads{}, fmt.Errorf("vegeta report: %w\n%s", err, stderr.String())
	}
	var rep struct {
		Latencies struct {
			P50 time.Duration `json:"50th"`
			P99 time.Duration `json:"99th"`
			Max time.Duration `json:"max"`
		} `json:"latencies"`
		Requests    int            `json:"requests"`
		Success     float64        `json:"success"`
		StatusCodes map[string]int `json:"status_codes"`
		Errors      []string       `json:"errors"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
		return Reads{}, fmt.Errorf("vegeta report: %w", err)
	}
	if rep.Success < 1 {
		return Reads{}, fmt.Errorf("GET /v1/refunds/{id}: %.1f%% succeeded (status codes %v, errors %v)", rep.Success*100, rep.StatusCodes, rep.Errors)
	}
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	return Reads{
		Rate: cfg.ReadRate, Seconds: cfg.ReadDuration.Seconds(), Requests: rep.Requests, SuccessRatio: rep.Success,
		P50Ms: ms(rep.Latencies.P50), P99Ms: ms(rep.Latencies.P99), MaxMs: ms(rep.Latencies.Max),
	}, nil
}
