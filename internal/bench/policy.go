package bench

import (
	"fmt"
	"testing"
	"time"

	"github.com/refundflow/refundflow"
	"github.com/refundflow/refundflow/calendar"
	"github.com/refundflow/refundflow/policy"
)

// measurePolicy benchmarks whole decisions of the default policy,
// explanations included: a money outcome with arrival dates in business
// days (the auto-approved case), a pro-rata one and a rejection.
func measurePolicy() (Policy, error) {
	shanghai, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		return Policy{}, err
	}
	purchase := time.Date(2026, 3, 10, 10, 0, 0, 0, shanghai)
	recorded := policy.Facts{
		Now: purchase.Add(time.Hour), Reason: policy.ReasonChangedMind,
		Order: policy.Order{Amount: 19900, Currency: "CNY", PurchasedAt: purchase,
			Product: policy.Product{Type: refundflow.RecordedCourse, LessonsTotal: 10}},
	}
	starts := time.Date(2026, 3, 20, 19, 0, 0, 0, shanghai)
	live := policy.Facts{
		Now: starts.Add(20 * 24 * time.Hour), Reason: policy.ReasonScheduleChange,
		Order: policy.Order{Amount: 12000, Currency: "CNY", PurchasedAt: purchase,
			Product: policy.Product{Type: refundflow.LiveCourse, SessionsTotal: 12, SessionsHeld: 4, StartsAt: &starts}},
	}
	outside := recorded
	outside.Now = purchase.Add(48 * time.Hour)
	outside.Reason = policy.ReasonNotAsExpected
	outside.Order.Consumption = policy.Consumption{WatchedRatio: 0.5}

	p, cals := policy.Default(), calendar.NewRegistry()
	var out Policy
	for _, c := range []struct {
		name string
		f    policy.Facts
		rule policy.Rule
	}{
		{"cooling_off", recorded, policy.RuleCoolingOff},
		{"live_pro_rata", live, policy.RuleLiveProRata},
		{"outside_policy", outside, policy.RuleOutsidePolicy},
	} {
		d, err := policy.Evaluate(p, c.f, cals)
		if err != nil {
			return Policy{}, fmt.Errorf("%s: %w", c.name, err)
		}
		if d.Rule != c.rule {
			return Policy{}, fmt.Errorf("%s: decided by rule %s, want %s", c.name, d.Rule, c.rule)
		}
		r := testing.Benchmark(func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := policy.Evaluate(p, c.f, cals); err != nil {
					b.Fatal(err)
				}
			}
		})
		pc := PolicyCase{Name: c.name, NsPerOp: float64(r.T.Nanoseconds()) / float64(max(r.N, 1)), AllocsPerOp: r.AllocsPerOp()}
		out.Cases = append(out.Cases, pc)
		out.MaxNsPerOp = max(out.MaxNsPerOp, pc.NsPerOp)
	}
	return out, nil
}
