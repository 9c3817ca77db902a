package policy_test

import (
	"slices"
	"testing"

	"github.com/refundflow/refundflow/policy"
)

// course is a course with orders and refunds by reason.
func course(id string, orders int, reasons map[string]int) policy.CourseFigures {
	f := policy.CourseFigures{CourseID: id, Orders: orders, Reasons: reasons}
	for _, n := range reasons {
		f.Refunds += n
	}
	return f
}

// norm is four courses refunding 5 % of 200 orders: the median is 0.05.
func norm() []policy.CourseFigures {
	mix := map[string]int{"changed_mind": 4, "not_as_expected": 3, "quality_issue": 3}
	return []policy.CourseFigures{
		course("n1", 200, mix), course("n2", 200, mix), course("n3", 200, mix), course("n4", 200, mix),
	}
}

func TestMonitorFlagsCoursesWellAboveTheNormOrDominatedByOneReason(t *testing.T) {
	even := map[string]int{"changed_mind": 5, "not_as_expected": 4, "quality_issue": 3}
	for _, c := range []struct {
		name   string
		course policy.CourseFigures
		flags  []string
		reason string
	}{
		// 12 of 100 = 0.12 > 2 × 0.05, with 12 refunds.
		{"rate over twice the median", course("x", 100, even), []string{policy.FlagRefundRate}, ""},
		// 12 of 120 = 0.10, exactly twice the median: not over it.
		{"rate exactly twice the median", course("x", 120, even), []string{}, ""},
		// 9 of 20 = 0.45, but fewer than 10 refunds.
		{"rate far above but only 9 refunds", course("x", 20, map[string]int{"changed_mind": 5, "quality_issue": 4}), []string{}, ""},
		// 7 of 10 quality complaints in 1 000 orders: a normal rate, one reason at 70 %.
		{"one reason over 60 %", course("x", 1000, map[string]int{"quality_issue": 7, "changed_mind": 3}), []string{policy.FlagReasonShare}, "quality_issue"},
		// 6 of 10 is 60 %, not over it.
		{"one reason at exactly 60 %", course("x", 1000, map[string]int{"quality_issue": 6, "changed_mind": 4}), []string{}, ""},
		// 8 of 9 is 89 %, but only 9 refunds.
		{"one reason dominating 9 refunds", course("x", 1000, map[string]int{"false_advertising": 8, "other": 1}), []string{}, ""},
		{"both", course("x", 50, map[string]int{"false_advertising": 20, "other": 2}), []string{policy.FlagRefundRate, policy.FlagReasonShare}, "false_advertising"},
	} {
		t.Run(c.name, func(t *testing.T) {
			figs := append(norm(), c.course)
			median, got := policy.AssessCourses(figs, policy.DefaultMonitorThresholds)
			// The course itself moves the median of five rates only if it is
			// the middle one; here it is always above the four at 0.05.
			if median != 0.05 {
				t.Fatalf("median %v", median)
			}
			x := got[len(got)-1]
			if !slices.Equal(x.Flags, c.flags) || x.DominantReason != c.reason {
				t.Fatalf("flags %v reason %q, want %v %q (rate %v)", x.Flags, x.DominantReason, c.flags, c.reason, x.Rate)
			}
			for _, n := range got[:len(got)-1] {
				if len(n.Flags) != 0 {
					t.Fatalf("a course at the norm was flagged: %+v", n)
				}
			}
		})
	}
}

func TestMedianIsTheMiddleRateOrTheMeanOfTheTwoMiddleOnes(t *testing.T) {
	for _, c := range []struct {
		rates  [][2]int // refunds, orders
		median float64
	}{
		{nil, 0},
		{[][2]int{{1, 10}}, 0.1},
		{[][2]int{{3, 10}, {1, 10}, {2, 10}}, 0.2},
		{[][2]int{{1, 10}, {4, 10}, {2, 10}, {3, 10}}, 0.25},
	} {
		var figs []policy.CourseFigures
		for i, r := range c.rates {
			figs = append(figs, policy.CourseFigures{CourseID: string(rune('a' + i)), Refunds: r[0], Orders: r[1]})
		}
		if median, _ := policy.AssessCourses(figs, policy.DefaultMonitorThresholds); median != c.median {
			t.Errorf("rates %v: median %v, want %v", c.rates, median, c.median)
		}
	}
}
