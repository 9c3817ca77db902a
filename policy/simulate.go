package policy

import (
	"cmp"
	"maps"
	"slices"

	"github.com/refundflow/refundflow/money"
)

// Comparison tallies how a proposed policy would decide past requests
// differently from the policy that decides them today, so that an admin
// sees the cost of a change before publishing it. Add each request's two
// decisions in a stable order (the first changed ones become the
// examples), then read the Report.
//
// A decision changes when its outcome, amount or auto-approval differs.
// Money is what a decision refunds: the amount of a full or partial
// outcome; none refunds nothing, and neither does review, whose amount is
// only the cap a person may approve up to.
type Comparison struct {
	maxExamples int
	report      Report
	currencies  map[money.Currency]*CurrencyDelta
	rules       map[ruleChangeKey]*RuleChange
}

// Report is the result of a Comparison.
type Report struct {
	// Cases is how many requests were compared; Changed how many of them
	// would be decided differently.
	Cases   int          `json:"cases"`
	Changed int          `json:"changed"`
	By      ChangeCounts `json:"by"`
	// Currencies has one entry per currency seen, by currency code.
	Currencies []CurrencyDelta `json:"currencies"`
	// Rules has one entry per (old rule, new rule, currency) among the
	// changed requests, in rule order.
	Rules []RuleChange `json:"rules"`
	// Examples are the first changed requests, up to the limit asked for.
	Examples []Example `json:"examples"`
}

// ChangeCounts counts the requests by what differs; one request can count
// under several. Rule also counts requests whose deciding rule changed but
// whose money and approval did not (they are not Changed).
type ChangeCounts struct {
	Outcome     int `json:"outcome"`
	Amount      int `json:"amount"`
	AutoApprove int `json:"auto_approve"`
	Rule        int `json:"rule"`
}

// CurrencyDelta is the money of one currency before and after; Delta is
// NewAmount − OldAmount, positive when the proposal refunds more.
type CurrencyDelta struct {
	Currency  money.Currency `json:"currency"`
	Cases     int            `json:"cases"`
	Changed   int            `json:"changed"`
	OldAmount int64          `json:"old_amount"`
	NewAmount int64          `json:"new_amount"`
	Delta     int64          `json:"delta"`
}

// RuleChange is the changed requests that moved from OldRule to NewRule
// (the two may be equal when only the amount or approval changed).
type RuleChange struct {
	OldRule   Rule           `json:"old_rule"`
	NewRule   Rule           `json:"new_rule"`
	Currency  money.Currency `json:"currency"`
	Cases     int            `json:"cases"`
	OldAmount int64          `json:"old_amount"`
	NewAmount int64          `json:"new_amount"`
	Delta     int64          `json:"delta"`
}

// Example is one changed request with both decisions.
type Example struct {
	ID  string   `json:"id"`
	Old Decision `json:"old"`
	New Decision `json:"new"`
}

type ruleChangeKey struct {
	old, new Rule
	currency money.Currency
}

// NewComparison starts a comparison that keeps up to maxExamples examples.
func NewComparison(maxExamples int) *Comparison {
	return &Comparison{
		maxExamples: maxExamples,
		currencies:  map[money.Currency]*CurrencyDelta{},
		rules:       map[ruleChangeKey]*RuleChange{},
	}
}

// Changed reports whether two decisions of the same request differ in
// outcome, amount or auto-approval.
func Changed(old, proposed Decision) bool {
	return old.Outcome != proposed.Outcome || old.Amount != proposed.Amount || old.AutoApprove != proposed.AutoApprove
}

// Add records request id's decision under today's policy (old) and under
// the proposal. Both must be decisions of the same facts, so they share
// a currency.
func (c *Comparison) Add(id string, old, proposed Decision) {
	r := &c.report
	r.Cases++
	if old.Rule != proposed.Rule {
		r.By.Rule++
	}
	if old.Outcome != proposed.Outcome {
		r.By.Outcome++
	}
	if old.Amount != proposed.Amount {
		r.By.Amount++
	}
	if old.AutoApprove != proposed.AutoApprove {
		r.By.AutoApprove++
	}
	before, after := refunds(old), refunds(proposed)
	cur := c.currencies[old.Currency]
	if cur == nil {
		cur = &CurrencyDelta{Currency: old.Currency}
		c.currencies[old.Currency] = cur
	}
	cur.Cases++
	cur.OldAmount += before
	cur.NewAmount += after
	cur.Delta += after - before
	if !Changed(old, proposed) {
		return
	}
	r.Changed++
	cur.Changed++
	key := ruleChangeKey{old: old.Rule, new: proposed.Rule, currency: old.Currency}
	rc := c.rules[key]
	if rc == nil {
		rc = &RuleChange{OldRule: old.Rule, NewRule: proposed.Rule, Currency: old.Currency}
		c.rules[key] = rc
	}
	rc.Cases++
	rc.OldAmount += before
	rc.NewAmount += after
	rc.Delta += after - before
	if len(r.Examples) < c.maxExamples {
		r.Examples = append(r.Examples, Example{ID: id, Old: old, New: proposed})
	}
}

// Report returns the tally so far; its slices are never nil.
func (c *Comparison) Report() Report {
	r := c.report
	r.Examples = slices.Clone(r.Examples)
	if r.Examples == nil {
		r.Examples = []Example{}
	}
	r.Currencies = make([]CurrencyDelta, 0, len(c.currencies))
	for _, k := range slices.Sorted(maps.Keys(c.currencies)) {
		r.Currencies = append(r.Currencies, *c.currencies[k])
	}
	r.Rules = make([]RuleChange, 0, len(c.rules))
	for _, rc := range c.rules {
		r.Rules = append(r.Rules, *rc)
	}
	slices.SortFunc(r.Rules, func(a, b RuleChange) int {
		return cmp.Or(
			cmp.Compare(ruleIndex(a.OldRule), ruleIndex(b.OldRule)),
			cmp.Compare(ruleIndex(a.NewRule), ruleIndex(b.NewRule)),
			cmp.Compare(a.Currency, b.Currency),
		)
	})
	return r
}

// refunds is the money a decision pays out by itself.
func refunds(d Decision) int64 {
	if d.Outcome == OutcomeFull || d.Outcome == OutcomePartial {
		return d.Amount
	}
	return 0
}
