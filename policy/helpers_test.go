package policy

import (
	"strings"
	"testing"
	"time"

	"github.com/refundflow/refundflow"
	"github.com/refundflow/refundflow/calendar"
)

var (
	shanghai = mustZone("Asia/Shanghai")
	cals     = calendar.NewRegistry()
	// purchase is Tuesday 2026-03-10 10:00 in Shanghai: no holiday near it.
	purchase = time.Date(2026, 3, 10, 10, 0, 0, 0, shanghai)
)

func mustZone(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return loc
}

func ptr[T any](v T) *T { return &v }

// recorded is a 199.00 CNY recorded course of 10 lessons, asked about two
// days after purchase with 5% watched: by default only not_as_expected applies.
func recorded(mods ...func(*Facts)) Facts {
	f := Facts{
		Now:    purchase.Add(48 * time.Hour),
		Reason: ReasonNotAsExpected,
		Order: Order{
			Amount:      19900,
			Currency:    "CNY",
			PurchasedAt: purchase,
			Product:     Product{Type: refundflow.RecordedCourse, LessonsTotal: 10},
			Consumption: Consumption{WatchedRatio: 0.05},
		},
	}
	for _, m := range mods {
		m(&f)
	}
	return f
}

// live is a 120.00 CNY live course of 12 sessions starting 2026-03-20 19:00,
// bought at purchase and asked about before it starts.
func live(mods ...func(*Facts)) Facts {
	f := recorded(func(f *Facts) {
		f.Order.Amount = 12000
		f.Order.Product = Product{Type: refundflow.LiveCourse, SessionsTotal: 12, StartsAt: ptr(time.Date(2026, 3, 20, 19, 0, 0, 0, shanghai))}
		f.Order.Consumption = Consumption{}
	})
	for _, m := range mods {
		m(&f)
	}
	return f
}

// consultation is a 300.00 CNY session on 2026-03-20 15:00 booked at purchase.
func consultation(mods ...func(*Facts)) Facts {
	f := recorded(func(f *Facts) {
		f.Reason = ReasonScheduleChange
		f.Order.Amount = 30000
		f.Order.Product = Product{Type: refundflow.Consultation, AppointmentAt: ptr(time.Date(2026, 3, 20, 15, 0, 0, 0, shanghai))}
		f.Order.Consumption = Consumption{}
	})
	for _, m := range mods {
		m(&f)
	}
	return f
}

// membership is a 98.00 CNY membership asked about a week after purchase.
func membership(mods ...func(*Facts)) Facts {
	f := recorded(func(f *Facts) {
		f.Reason = ReasonChangedMind
		f.Now = purchase.Add(7 * 24 * time.Hour)
		f.Order.Amount = 9800
		f.Order.Product = Product{Type: refundflow.Membership}
		f.Order.Consumption = Consumption{}
	})
	for _, m := range mods {
		m(&f)
	}
	return f
}

func decide(t testing.TB, f Facts) Decision {
	t.Helper()
	d, err := Evaluate(Default(), f, cals)
	if err != nil {
		t.Fatalf("Evaluate: %v", err)
	}
	return d
}

// expect is what a test checks of a decision; zero fields are not checked
// except Rule and Outcome.
type expect struct {
	rule    Rule
	outcome Outcome
	amount  int64
}

func check(t *testing.T, d Decision, want expect) {
	t.Helper()
	if d.Rule != want.rule || d.Outcome != want.outcome {
		t.Fatalf("decision = %s/%s, want %s/%s\n%s", d.Rule, d.Outcome, want.rule, want.outcome, d.Explanation.EN)
	}
	if want.amount != 0 && d.Amount != want.amount {
		t.Errorf("amount = %d, want %d\n%s", d.Amount, want.amount, d.Explanation.EN)
	}
	if (d.Outcome == OutcomeFull || d.Outcome == OutcomePartial) != (d.Arrival != nil) {
		t.Errorf("arrival = %+v for outcome %s", d.Arrival, d.Outcome)
	}
	if d.Actions == nil {
		t.Error("actions is nil, want an array")
	}
	for _, s := range []string{string(d.Rule), "default@1"} {
		if !strings.Contains(d.Explanation.EN, s) || !strings.Contains(d.Explanation.ZH, s) {
			t.Errorf("explanation does not name %q:\n%s\n%s", s, d.Explanation.EN, d.Explanation.ZH)
		}
	}
}

func contains(t *testing.T, text string, parts ...string) {
	t.Helper()
	for _, p := range parts {
		if !strings.Contains(text, p) {
			t.Errorf("%q\ndoes not mention %q", text, p)
		}
	}
}
