package policy

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/refundflow/refundflow"
)

// testdata/facts.jsonl holds one example request per rule; it seeds the fuzzer
// and is the sample input of `refundflow policy eval`.
func sampleFacts(t testing.TB) [][]byte {
	data, err := os.ReadFile("testdata/facts.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	var lines [][]byte
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		if line := bytes.TrimSpace(sc.Bytes()); len(line) > 0 {
			lines = append(lines, bytes.Clone(line))
		}
	}
	return lines
}

func TestSampleFactsCoverEveryRule(t *testing.T) {
	seen := map[Rule]bool{}
	for _, line := range sampleFacts(t) {
		f, err := DecodeFacts(line)
		if err != nil {
			t.Fatalf("%s: %v", line, err)
		}
		seen[decide(t, f).Rule] = true
	}
	for _, r := range Rules {
		if !seen[r] {
			t.Errorf("no sample decided by %s", r)
		}
	}
}

func FuzzDecodeAndEvaluate(f *testing.F) {
	for _, line := range sampleFacts(f) {
		f.Add(line)
	}
	f.Add([]byte(`{"now": "9999-12-31T23:59:59Z", "reason": "other", "order": {"amount": 9223372036854775807, "currency": "KWD",
		"purchased_at": "0001-01-01T00:00:00Z", "product": {"type": "live_course", "sessions_total": 1000000, "sessions_held": 1,
		"starts_at": "0001-01-01T00:00:00Z"}}}`))
	f.Add([]byte(`{"now": null, "order": {"consumption": {"watched_ratio": 1e400}}}`))
	p := Default()
	f.Fuzz(func(t *testing.T, data []byte) {
		facts, err := DecodeFacts(data)
		if err != nil {
			var e *refundflow.Error
			if !errors.As(err, &e) || e.Kind != refundflow.EINVALID || e.Code == "" {
				t.Fatalf("bad facts gave %T %v, want an EINVALID *refundflow.Error", err, err)
			}
			return
		}
		d, err := Evaluate(p, facts, cals)
		if err != nil {
			t.Fatalf("valid facts were not evaluated: %v", err)
		}
		refundable := facts.Order.Amount - facts.Order.RefundedAmount
		switch d.Outcome {
		case OutcomeFull:
			if d.Amount != refundable || d.Amount <= 0 || d.Arrival == nil {
				t.Fatalf("full refund of %d with %d refundable, arrival %v", d.Amount, refundable, d.Arrival)
			}
		case OutcomePartial:
			if d.Amount <= 0 || d.Amount >= refundable || d.Arrival == nil {
				t.Fatalf("partial refund of %d with %d refundable, arrival %v", d.Amount, refundable, d.Arrival)
			}
		case OutcomeNone, OutcomeReview:
			if d.Arrival != nil || d.AutoApprove {
				t.Fatalf("%s with arrival %v auto %v", d.Outcome, d.Arrival, d.AutoApprove)
			}
		default:
			t.Fatalf("outcome %q", d.Outcome)
		}
		if d.Arrival != nil && d.Arrival.Latest.Before(d.Arrival.Earliest) {
			t.Fatalf("arrival %v", d.Arrival)
		}
		if d.Actions == nil || d.Explanation.EN == "" || d.Explanation.ZH == "" {
			t.Fatalf("incomplete decision %+v", d)
		}
		if _, err := json.Marshal(d); err != nil {
			t.Fatal(err)
		}
	})
}

// BenchmarkEvaluate measures whole decisions, explanation included, over a
// mix of rules: a money outcome (with arrival dates), a pro-rata one and a
// rejection.
func BenchmarkEvaluate(b *testing.B) {
	cases := []struct {
		name string
		f    Facts
	}{
		{"cooling_off", recorded(func(f *Facts) { f.Now = purchase.Add(time.Hour); f.Order.Consumption = Consumption{} })},
		{"live_pro_rata", live(func(f *Facts) { f.Now, f.Order.Product.SessionsHeld = f.Order.Product.StartsAt.Add(20*day), 4 })},
		{"outside_policy", recorded(func(f *Facts) { f.Order.Consumption.WatchedRatio = 0.5 })},
	}
	p := Default()
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Evaluate(p, c.f, cals); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
