// Package policy decides refund requests: given the facts of one request and
// a versioned refund policy, Evaluate returns the decision (SPEC 4.3) — the
// outcome, amount, whether it may be approved without a person, whether a
// retention offer comes first, the expected arrival window and an
// explanation in English and Chinese.
//
// The rules themselves, and their order, are Go code; every number they use
// (windows, shares, limits, arrival days, which rules auto-approve) is data
// in a Policy, so admins can publish new versions without a release. The
// default policy ships embedded as default.json.
//
// The package is plain Go: no Temporal, SQL or HTTP. Evaluation is
// deterministic (time comes from Facts.Now), so workflows can call it.
package policy

import (
	_ "embed"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/refundflow/refundflow"
	"github.com/refundflow/refundflow/calendar"
	"github.com/refundflow/refundflow/internal/jsonwalk"
	"github.com/refundflow/refundflow/money"
)

// Policy is one version of a refund policy: the parameters of the rules.
// Its JSON is the embedded default.json and the body of PUT /v1/policies/{name}.
type Policy struct {
	Name    string `json:"name"`
	Version int    `json:"version"`
	// Calendar names the business calendar for decision dates and arrival
	// windows, e.g. "cn".
	Calendar string `json:"calendar"`
	// CoolingOffHours: a request within this many hours of purchase (≤) with
	// nothing consumed is refunded in full.
	CoolingOffHours int                 `json:"cooling_off_hours"`
	NotAsExpected   NotAsExpectedParams `json:"not_as_expected"`
	Consultation    ConsultationParams  `json:"consultation"`
	// RenewalReminderLeadDays: a renewal reminder sent less than this many
	// days (× 24 h) before the period starts counts as not sent.
	RenewalReminderLeadDays int `json:"renewal_reminder_lead_days"`
	// OutageThresholdHours: a platform outage at least this long (≥) makes a
	// technical failure refundable pro rata.
	OutageThresholdHours int                 `json:"outage_threshold_hours"`
	AutoApprove          AutoApproveParams   `json:"auto_approve"`
	Rules                map[Rule]RuleParams `json:"rules"`
}

// NotAsExpectedParams sets rule not_as_expected.
type NotAsExpectedParams struct {
	// WindowDays: requests up to this many days (× 24 h, ≤) after the course
	// starts qualify.
	WindowDays int `json:"window_days"`
	// ConsumedLessThanBasisPoints: the share consumed must be strictly less
	// than this (1000 = 10%). Basis points keep the boundary exact.
	ConsumedLessThanBasisPoints int64 `json:"consumed_less_than_basis_points"`
}

// ConsultationParams sets rules consultation_notice and consultation_late_cancel.
type ConsultationParams struct {
	// NoticeHours: cancelling at least this many hours before the
	// appointment (≤ appointment − notice) refunds in full.
	NoticeHours int `json:"notice_hours"`
	// LateCancelRefundBasisPoints is the share of the amount refunded for a
	// later cancellation (5000 = 50%).
	LateCancelRefundBasisPoints int64 `json:"late_cancel_refund_basis_points"`
}

// AutoApproveParams limits automatic approval on top of each rule's Auto.
type AutoApproveParams struct {
	// Limits is the largest amount (minor units, ≤) approved automatically per
	// currency; a currency not listed is never approved automatically.
	Limits map[money.Currency]int64 `json:"limits"`
	// LearnerRefunds90dBelow: automatic approval needs fewer refunds than this
	// for the learner in the last 90 days (the serial-refunder guard).
	LearnerRefunds90dBelow int `json:"learner_refunds_90d_below"`
}

// RuleParams sets one rule that can move money.
type RuleParams struct {
	Auto      bool          `json:"auto"`
	Retention bool          `json:"retention"`
	Arrival   ArrivalWindow `json:"arrival"`
}

// ArrivalWindow is how many business days after the decision date the money
// is expected, at the earliest and at the latest.
type ArrivalWindow struct {
	MinBusinessDays int `json:"min_business_days"`
	MaxBusinessDays int `json:"max_business_days"`
}

// ID returns "name@version", the form decisions and orders pin.
func (p *Policy) ID() string {
	return p.Name + "@" + strconv.Itoa(p.Version)
}

//go:embed default.json
var defaultJSON []byte

var defaultPolicy = sync.OnceValue(func() *Policy {
	p, err := Parse(defaultJSON)
	if err != nil {
		panic("policy: embedded default.json: " + err.Error())
	}
	return p
})

// Default returns the embedded default policy (default@1). Each call returns
// a fresh copy, so callers may change it.
func Default() *Policy {
	return defaultPolicy().clone()
}

// DefaultJSON returns the embedded default policy as shipped.
func DefaultJSON() []byte {
	return slices.Clone(defaultJSON)
}

func (p *Policy) clone() *Policy {
	c := *p
	c.AutoApprove.Limits = maps.Clone(p.AutoApprove.Limits)
	c.Rules = maps.Clone(p.Rules)
	return &c
}

// ParseRef splits "name@version" (e.g. "default@1").
func ParseRef(ref string) (name string, version int, err error) {
	name, v, ok := strings.Cut(ref, "@")
	version, convErr := strconv.Atoi(v)
	if !ok || !namePattern.MatchString(name) || convErr != nil || version < 1 {
		return "", 0, fmt.Errorf("policy %q: want NAME@VERSION, e.g. default@1", ref)
	}
	return name, version, nil
}

var namePattern = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,62}$`)

// Limits that keep every duration and loop in range; no sane policy is near them.
const (
	maxHours        = 24 * 366
	maxDays         = 3660
	maxArrivalDays  = 366
	fullBasisPoints = 10000
)

// Parse reads a policy strictly: unknown fields, wrong types, negative
// windows, shares outside 0..100%, min > max arrival, unknown currencies and
// missing rules are errors (*refundflow.Error naming the JSON path, every
// problem in Details). Parse cannot know which calendars exist: before
// storing a policy, check it with CheckCalendar.
func Parse(data []byte) (*Policy, error) {
	tree, err := jsonwalk.Decode(data, "policy")
	if err != nil {
		return nil, err
	}
	var w jsonwalk.Walker
	p := readPolicy(&w, tree)
	if err := w.Problems.Err(); err != nil {
		return nil, err
	}
	if err := p.Validate(); err != nil {
		return nil, err
	}
	return p, nil
}

// UnmarshalJSON makes json.Unmarshal as strict as Parse.
func (p *Policy) UnmarshalJSON(data []byte) error {
	v, err := Parse(data)
	if err != nil {
		return err
	}
	*p = *v
	return nil
}

func readPolicy(w *jsonwalk.Walker, v any) *Policy {
	p := &Policy{}
	m, ok := w.Object(v, "", "name", "version", "calendar", "cooling_off_hours", "not_as_expected",
		"consultation", "renewal_reminder_lead_days", "outage_threshold_hours", "auto_approve", "rules")
	if !ok {
		return p
	}
	p.Name = w.Str(m, "", "name", true)
	p.Version = w.Count(m, "", "version", true)
	p.Calendar = w.Str(m, "", "calendar", true)
	p.CoolingOffHours = w.Count(m, "", "cooling_off_hours", true)
	if v, ok := w.Value(m, "", "not_as_expected", true); ok {
		if n, ok := w.Object(v, "not_as_expected", "window_days", "consumed_less_than_basis_points"); ok {
			p.NotAsExpected.WindowDays = w.Count(n, "not_as_expected", "window_days", true)
			p.NotAsExpected.ConsumedLessThanBasisPoints = w.Int64(n, "not_as_expected", "consumed_less_than_basis_points", true)
		}
	}
	if v, ok := w.Value(m, "", "consultation", true); ok {
		if c, ok := w.Object(v, "consultation", "notice_hours", "late_cancel_refund_basis_points"); ok {
			p.Consultation.NoticeHours = w.Count(c, "consultation", "notice_hours", true)
			p.Consultation.LateCancelRefundBasisPoints = w.Int64(c, "consultation", "late_cancel_refund_basis_points", true)
		}
	}
	p.RenewalReminderLeadDays = w.Count(m, "", "renewal_reminder_lead_days", true)
	p.OutageThresholdHours = w.Count(m, "", "outage_threshold_hours", true)
	if v, ok := w.Value(m, "", "auto_approve", true); ok {
		if a, ok := w.Object(v, "auto_approve", "limits", "learner_refunds_90d_below"); ok {
			p.AutoApprove.LearnerRefunds90dBelow = w.Count(a, "auto_approve", "learner_refunds_90d_below", true)
			if v, ok := w.Value(a, "auto_approve", "limits", true); ok {
				if lm, ok := w.Object(v, "auto_approve.limits", mapKeys(v)...); ok {
					p.AutoApprove.Limits = make(map[money.Currency]int64, len(lm))
					for k := range lm {
						p.AutoApprove.Limits[money.Currency(k)] = w.Int64(lm, "auto_approve.limits", k, true)
					}
				}
			}
		}
	}
	if v, ok := w.Value(m, "", "rules", true); ok {
		if rm, ok := w.Object(v, "rules", mapKeys(v)...); ok {
			p.Rules = make(map[Rule]RuleParams, len(rm))
			for k, rv := range rm {
				path := jsonwalk.Join("rules", k)
				r, ok := w.Object(rv, path, "auto", "retention", "arrival")
				if !ok {
					continue
				}
				var rp RuleParams
				rp.Auto = w.Bool(r, path, "auto", true)
				rp.Retention = w.Bool(r, path, "retention", true)
				if av, ok := w.Value(r, path, "arrival", true); ok {
					ap := jsonwalk.Join(path, "arrival")
					if a, ok := w.Object(av, ap, "min_business_days", "max_business_days"); ok {
						rp.Arrival.MinBusinessDays = w.Count(a, ap, "min_business_days", true)
						rp.Arrival.MaxBusinessDays = w.Count(a, ap, "max_business_days", true)
					}
				}
				p.Rules[Rule(k)] = rp
			}
		}
	}
	return p
}

// mapKeys lists the keys of a JSON object (any key is allowed there; the
// values are checked by Validate).
func mapKeys(v any) []string {
	m, _ := v.(map[string]any)
	return slices.Collect(maps.Keys(m))
}

// Validate checks a policy built in Go the way Parse checks JSON.
func (p *Policy) Validate() error {
	var probs refundflow.Problems
	if !namePattern.MatchString(p.Name) {
		probs.Add("name", "invalid_name", "%q must be 1-63 lower-case letters, digits, '-' or '_'", p.Name)
	}
	if p.Version < 1 {
		probs.Add("version", "out_of_range", "must be 1 or more")
	}
	if !namePattern.MatchString(p.Calendar) {
		probs.Add("calendar", "invalid_name", "%q is not a calendar name such as \"cn\"", p.Calendar)
	}
	inRange(&probs, "cooling_off_hours", p.CoolingOffHours, 0, maxHours)
	inRange(&probs, "not_as_expected.window_days", p.NotAsExpected.WindowDays, 0, maxDays)
	basisPoints(&probs, "not_as_expected.consumed_less_than_basis_points", p.NotAsExpected.ConsumedLessThanBasisPoints)
	inRange(&probs, "consultation.notice_hours", p.Consultation.NoticeHours, 0, maxHours)
	basisPoints(&probs, "consultation.late_cancel_refund_basis_points", p.Consultation.LateCancelRefundBasisPoints)
	inRange(&probs, "renewal_reminder_lead_days", p.RenewalReminderLeadDays, 0, maxDays)
	inRange(&probs, "outage_threshold_hours", p.OutageThresholdHours, 1, maxHours)
	inRange(&probs, "auto_approve.learner_refunds_90d_below", p.AutoApprove.LearnerRefunds90dBelow, 0, 1<<20)

	for _, c := range slices.Sorted(maps.Keys(p.AutoApprove.Limits)) {
		field := "auto_approve.limits." + string(c)
		switch {
		case !c.Valid():
			probs.Add(field, "unknown_currency", "unknown currency %q (upper-case ISO 4217 codes)", string(c))
		case p.AutoApprove.Limits[c] < 0:
			probs.Add(field, "out_of_range", "must not be negative")
		}
	}

	for _, r := range slices.Sorted(maps.Keys(p.Rules)) {
		if !slices.Contains(ConfigurableRules, r) {
			if r.Valid() {
				probs.Add("rules."+string(r), "not_configurable", "rule %s never moves money; it has nothing to configure", r)
			} else {
				probs.Add("rules."+string(r), "unknown_rule", "unknown rule %q", string(r))
			}
			continue
		}
		a := p.Rules[r].Arrival
		path := "rules." + string(r) + ".arrival"
		inRange(&probs, path+".min_business_days", a.MinBusinessDays, 0, maxArrivalDays)
		inRange(&probs, path+".max_business_days", a.MaxBusinessDays, 0, maxArrivalDays)
		if a.MinBusinessDays > a.MaxBusinessDays {
			probs.Add(path+".min_business_days", "min_above_max", "%d is more than max_business_days %d", a.MinBusinessDays, a.MaxBusinessDays)
		}
	}
	for _, r := range ConfigurableRules {
		if _, ok := p.Rules[r]; !ok {
			probs.Add("rules."+string(r), "required", "required")
		}
	}
	return probs.Err()
}

func inRange(p *refundflow.Problems, field string, n, lo, hi int) {
	if n < lo || n > hi {
		p.Add(field, "out_of_range", "%d is outside %d..%d", n, lo, hi)
	}
}

func basisPoints(p *refundflow.Problems, field string, n int64) {
	if n < 0 || n > fullBasisPoints {
		p.Add(field, "out_of_range", "%d is outside 0..10000 basis points (0..100%%)", n)
	}
}

// CheckCalendar reports, as a field error on "calendar", a policy whose
// calendar is not in cals.
func (p *Policy) CheckCalendar(cals *calendar.Registry) error {
	if _, ok := cals.Get(p.Calendar); !ok {
		return refundflow.FieldError("calendar", "unknown_calendar", "unknown calendar %q (known: %s)",
			p.Calendar, strings.Join(cals.Names(), ", "))
	}
	return nil
}
