package policy

import (
	"reflect"
	"testing"
	"time"
)

// Raising the cooling-off window from 24 h to 48 h changes exactly the
// requests made 24–48 h after purchase with nothing used whose rule below
// cooling_off paid less; the comparison counts them, prices them per
// currency and per rule, and keeps the first ones as examples.
func TestComparisonOfALongerCoolingOffWindow(t *testing.T) {
	proposed := Default()
	proposed.Version = 2
	proposed.CoolingOffHours = 48
	at := func(h int) func(*Facts) {
		return func(f *Facts) { f.Now = purchase.Add(time.Duration(h) * time.Hour) }
	}
	nothingUsed := func(f *Facts) { f.Reason, f.Order.Consumption = ReasonChangedMind, Consumption{} }
	requests := []struct {
		id    string
		facts Facts
	}{
		// not_as_expected → cooling_off, both refund 199.00 in full: only the rule changes.
		{"same-money", recorded(nothingUsed, at(36))},
		// consultation_late_cancel (50%) → cooling_off (full): +150.00.
		{"late-cancel", consultation(at(40), func(f *Facts) { f.Order.Product.AppointmentAt = ptr(purchase.Add(45 * time.Hour)) })},
		// membership_current_period (none) → cooling_off (full, auto): +98.00.
		{"membership", membership(at(30))},
		// Watched 5%: no cooling-off under either policy.
		{"watched", recorded(at(36))},
		// USD 200.00 is over the USD auto-approve limit under both: only the rule changes.
		{"usd", recorded(nothingUsed, at(30), func(f *Facts) { f.Order.Amount, f.Order.Currency = 20000, "USD" })},
		// live_pro_rata (6 of 12 sessions to come, 60.00) → cooling_off (full 120.00): +60.00.
		{"live-started", live(nothingUsed, at(30), func(f *Facts) {
			f.Order.Product.StartsAt = ptr(purchase.Add(-8 * 24 * time.Hour))
			f.Order.Product.SessionsHeld = 6
		})},
		// After 48 h nothing changes.
		{"too-late", recorded(nothingUsed, at(49))},
	}
	cmp := NewComparison(2)
	for _, r := range requests {
		old, err := Evaluate(Default(), r.facts, cals)
		if err != nil {
			t.Fatalf("%s: %v", r.id, err)
		}
		proposedDecision, err := Evaluate(proposed, r.facts, cals)
		if err != nil {
			t.Fatalf("%s: %v", r.id, err)
		}
		cmp.Add(r.id, old, proposedDecision)
	}
	got := cmp.Report()

	if got.Cases != 7 || got.Changed != 3 {
		t.Errorf("cases %d changed %d, want 7 and 3", got.Cases, got.Changed)
	}
	if want := (ChangeCounts{Outcome: 3, Amount: 3, AutoApprove: 1, Rule: 5}); got.By != want {
		t.Errorf("by = %+v, want %+v", got.By, want)
	}
	wantCurrencies := []CurrencyDelta{
		{Currency: "CNY", Cases: 6, Changed: 3, OldAmount: 19900 + 15000 + 0 + 19900 + 6000 + 19900,
			NewAmount: 19900 + 30000 + 9800 + 19900 + 12000 + 19900, Delta: 15000 + 9800 + 6000},
		{Currency: "USD", Cases: 1, OldAmount: 20000, NewAmount: 20000},
	}
	if !reflect.DeepEqual(got.Currencies, wantCurrencies) {
		t.Errorf("currencies = %+v\nwant %+v", got.Currencies, wantCurrencies)
	}
	wantRules := []RuleChange{
		{OldRule: RuleLiveProRata, NewRule: RuleCoolingOff, Currency: "CNY", Cases: 1, OldAmount: 6000, NewAmount: 12000, Delta: 6000},
		{OldRule: RuleConsultationLateCancel, NewRule: RuleCoolingOff, Currency: "CNY", Cases: 1, OldAmount: 15000, NewAmount: 30000, Delta: 15000},
		{OldRule: RuleMembershipCurrentPeriod, NewRule: RuleCoolingOff, Currency: "CNY", Cases: 1, OldAmount: 0, NewAmount: 9800, Delta: 9800},
	}
	if !reflect.DeepEqual(got.Rules, wantRules) {
		t.Errorf("rules = %+v\nwant %+v", got.Rules, wantRules)
	}
	if len(got.Examples) != 2 || got.Examples[0].ID != "late-cancel" || got.Examples[1].ID != "membership" {
		t.Fatalf("examples = %+v, want late-cancel and membership", got.Examples)
	}
	ex := got.Examples[0]
	if ex.Old.Policy != "default@1" || ex.New.Policy != "default@2" ||
		ex.Old.Outcome != OutcomePartial || ex.New.Outcome != OutcomeFull || ex.New.Rule != RuleCoolingOff {
		t.Errorf("example = %+v", ex)
	}
}

func TestComparisonOfNothingIsEmptyNotNil(t *testing.T) {
	got := NewComparison(10).Report()
	if got.Cases != 0 || got.Currencies == nil || got.Rules == nil || got.Examples == nil {
		t.Fatalf("report = %+v", got)
	}
}

// Review amounts are caps, not refunds: a move from review to a full
// refund counts the whole amount as new money.
func TestReviewRefundsNothingByItself(t *testing.T) {
	d := func(o Outcome, amount int64) Decision {
		return Decision{Outcome: o, Amount: amount, Currency: "EUR", Rule: RuleQualityIssue, Actions: []Action{}}
	}
	cmp := NewComparison(0)
	cmp.Add("r1", d(OutcomeReview, 5000), d(OutcomeFull, 5000))
	got := cmp.Report()
	if got.Changed != 1 || got.Currencies[0].OldAmount != 0 || got.Currencies[0].Delta != 5000 || len(got.Examples) != 0 {
		t.Fatalf("report = %+v", got)
	}
	if !Changed(d(OutcomeFull, 1), d(OutcomeFull, 2)) || Changed(d(OutcomeNone, 0), d(OutcomeNone, 0)) {
		t.Fatal("Changed does not compare amounts")
	}
}
