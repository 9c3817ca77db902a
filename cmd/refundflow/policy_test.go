package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/refundflow/refundflow/calendar"
	"github.com/refundflow/refundflow/policy"
)

const sampleFacts = "../../policy/testdata/facts.jsonl"

// run executes a command as main does (usage and errors silenced) and returns
// its stdout, stderr and exit status.
func run(t *testing.T, cmd *cobra.Command, stdin string, args ...string) (string, string, int) {
	t.Helper()
	var out, errOut bytes.Buffer
	cmd.SilenceUsage, cmd.SilenceErrors = true, true
	cmd.SetArgs(args)
	cmd.SetIn(strings.NewReader(stdin))
	cmd.SetOut(&out)
	cmd.SetErr(&errOut)
	err := cmd.Execute()
	if err != nil {
		errOut.WriteString(err.Error())
	}
	return out.String(), errOut.String(), exitCode(err)
}

func exitCode(err error) int {
	var e *exitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &e):
		return e.code
	}
	return 1
}

func readSamples(t *testing.T) []string {
	t.Helper()
	data, err := os.ReadFile(sampleFacts)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimSpace(string(data)), "\n")
}

func TestPolicyEvalWritesOneDecisionPerLineInTheSpecShape(t *testing.T) {
	samples := readSamples(t)
	// Blank lines, including a CRLF one, are skipped.
	in := strings.Join(samples[:3], "\n") + "\n\n  \r\n" + strings.Join(samples[3:], "\n") + "\n"
	var out bytes.Buffer
	if err := evalFacts(strings.NewReader(in), &out, policy.Default(), calendar.NewRegistry()); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if len(lines) != len(samples) {
		t.Fatalf("%d decisions for %d facts", len(lines), len(samples))
	}
	keys := []string{"actions", "amount", "arrival", "auto_approve", "currency", "explanation", "outcome", "policy", "retention", "rule"}
	for i, line := range lines {
		var d map[string]json.RawMessage
		if err := json.Unmarshal([]byte(line), &d); err != nil {
			t.Fatalf("line %d: %v", i+1, err)
		}
		got := make([]string, 0, len(d))
		for k := range d {
			got = append(got, k)
		}
		slices.Sort(got)
		if !reflect.DeepEqual(got, keys) {
			t.Fatalf("decision keys %v, want %v", got, keys)
		}
		if string(d["actions"]) == "null" || string(d["policy"]) != `"default@1"` {
			t.Errorf("line %d: actions %s policy %s", i+1, d["actions"], d["policy"])
		}
		var expl map[string]string
		if err := json.Unmarshal(d["explanation"], &expl); err != nil || expl["en"] == "" || expl["zh"] == "" || len(expl) != 2 {
			t.Errorf("line %d: explanation %s", i+1, d["explanation"])
		}
		if a := string(d["arrival"]); a != "null" {
			var arrival map[string]any
			if err := json.Unmarshal(d["arrival"], &arrival); err != nil || len(arrival) != 4 || arrival["earliest"] == nil || arrival["latest"] == nil {
				t.Errorf("line %d: arrival %s", i+1, a)
			}
		}
	}
	if !strings.Contains(lines[7], `"rule":"cooling_off"`) || !strings.Contains(lines[7], `"earliest":"2026-03-11"`) {
		t.Errorf("cooling-off sample decided as %s", lines[7])
	}
}

func TestPolicyEvalNamesTheLineAndFieldOfBadInput(t *testing.T) {
	samples := readSamples(t)
	bad := strings.Replace(samples[0], `"CNY"`, `"XYZ"`, 1)
	in := samples[1] + "\n\n" + bad + "\n" + samples[2] + "\n"
	stdout, stderr, code := run(t, newPolicyCmd(), in, "eval")
	if code != 2 {
		t.Fatalf("exit status %d, want 2 (stderr %q)", code, stderr)
	}
	if want := `line 3: order.currency: unknown currency "XYZ"`; !strings.Contains(stderr, want) {
		t.Errorf("stderr %q does not say %q", stderr, want)
	}
	if n := strings.Count(stdout, "\n"); n != 1 {
		t.Errorf("%d decisions written before the bad line, want 1", n)
	}
}

func TestPolicyEvalListsEveryProblemOfABadLine(t *testing.T) {
	in := `{"now": "2026-03-12T10:00:00+08:00", "reason": "bored", "order": {"amount": -1, "currency": "CNY", "purchased_at": "2026-03-10T10:00:00+08:00", "product": {"type": "recorded_course"}, "colour": 1}}`
	_, stderr, code := run(t, newPolicyCmd(), in, "eval")
	if code != 2 || !strings.Contains(stderr, "line 1: order.colour: unknown field") {
		t.Errorf("exit %d, stderr %q", code, stderr)
	}
	_, stderr, _ = run(t, newPolicyCmd(), `{"now": "2026-03-12T10:00:00+08:00", "reason": "bored", "order": {"amount": -1, "currency": "CNY", "purchased_at": "2026-03-10T10:00:00+08:00", "product": {"type": "recorded_course"}}}`, "eval")
	for _, want := range []string{"line 1: reason: unknown reason", "line 1: order.amount: must not be negative"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr %q does not say %q", stderr, want)
		}
	}
	_, stderr, code = run(t, newPolicyCmd(), "{not json\n", "eval")
	if code != 2 || !strings.Contains(stderr, "line 1: invalid JSON") {
		t.Errorf("exit %d, stderr %q", code, stderr)
	}
}

func TestPolicyEvalReadsAFactsFileAndAPolicyFile(t *testing.T) {
	dir := t.TempDir()
	p := policy.Default()
	p.Version = 2
	p.CoolingOffHours = 1
	data, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	policyFile := filepath.Join(dir, "policy.json")
	if err := os.WriteFile(policyFile, data, 0o644); err != nil {
		t.Fatal(err)
	}
	samples := readSamples(t)
	factsFile := filepath.Join(dir, "facts.jsonl")
	if err := os.WriteFile(factsFile, []byte(samples[7]+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	stdout, stderr, code := run(t, newPolicyCmd(), "", "eval", "--policy", "default@2", "--policy-file", policyFile, "--facts", factsFile)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	// 3.5 h after purchase is past a 1 h cooling-off.
	if !strings.Contains(stdout, `"policy":"default@2"`) || strings.Contains(stdout, `"rule":"cooling_off"`) {
		t.Errorf("decision %s", stdout)
	}
	if _, stderr, code := run(t, newPolicyCmd(), "", "eval", "--policy", "default@1", "--policy-file", policyFile); code != 2 || !strings.Contains(stderr, "holds default@2") {
		t.Errorf("mismatched --policy: exit %d, %q", code, stderr)
	}
}

func TestPolicyEvalLoadsFurtherCalendarYears(t *testing.T) {
	samples := readSamples(t)
	// The not_as_expected sample moved to the end of 2026 arrives in 2027.
	late := strings.NewReplacer("2026-03-12T10:00:00", "2026-12-30T10:00:00", "2026-03-10T10:00:00", "2026-12-28T10:00:00").Replace(samples[9])
	stdout, _, code := run(t, newPolicyCmd(), late, "eval")
	if code != 0 || !strings.Contains(stdout, "plain weekdays for 2027") {
		t.Fatalf("exit %d, without 2027 data: %s", code, stdout)
	}
	file := filepath.Join(t.TempDir(), "cn-2027.json")
	cal := `{"name": "cn", "time_zone": "Asia/Shanghai", "weekend": ["saturday", "sunday"], "business_hours": {"open": "09:00", "close": "17:30"},
		"years": {"2027": {"source": "test notice", "holidays": [{"name": "元旦", "from": "2027-01-01"}]}}}`
	if err := os.WriteFile(file, []byte(cal), 0o644); err != nil {
		t.Fatal(err)
	}
	stdout, stderr, code := run(t, newPolicyCmd(), late, "eval", "--calendar-file", file)
	if code != 0 || strings.Contains(stdout, "plain weekdays") || !strings.Contains(stdout, `"earliest":"2027-01-05"`) {
		t.Errorf("exit %d (%s), with 2027 data: %s", code, stderr, stdout)
	}
}

func TestPolicyEvalRejectsBadFlagsWithStatus2(t *testing.T) {
	cases := [][]string{
		{"eval", "--policy", "strict@3"},
		{"eval", "--policy", "nonsense"},
		{"eval", "--facts", filepath.Join(t.TempDir(), "missing.jsonl")},
		{"eval", "--no-such-flag"},
		{"eval", "--policy-file", filepath.Join(t.TempDir(), "missing.json")},
	}
	for _, args := range cases {
		if _, stderr, code := run(t, newPolicyCmd(), "", args...); code != 2 {
			t.Errorf("%v: exit %d, want 2 (%s)", args, code, stderr)
		}
	}
}
