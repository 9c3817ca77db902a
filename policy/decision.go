package policy

import (
	"github.com/refundflow/refundflow/calendar"
	"github.com/refundflow/refundflow/money"
)

// Rule identifies one rule of SPEC 4.3.
type Rule string

// The rules, in the order they are checked; the first that applies decides.
const (
	RuleDisputeOpen             Rule = "dispute_open"
	RuleFullyRefunded           Rule = "fully_refunded"
	RuleUnnotifiedRenewal       Rule = "unnotified_renewal"
	RulePlatformOutage          Rule = "platform_outage"
	RuleOutageUnverified        Rule = "outage_unverified"
	RuleQualityIssue            Rule = "quality_issue"
	RulePromoNoRefund           Rule = "promo_no_refund"
	RuleCoolingOff              Rule = "cooling_off"
	RuleLiveBeforeStart         Rule = "live_before_start"
	RuleNotAsExpected           Rule = "not_as_expected"
	RuleLiveProRata             Rule = "live_pro_rata"
	RuleConsultationNotice      Rule = "consultation_notice"
	RuleConsultationLateCancel  Rule = "consultation_late_cancel"
	RuleMembershipCurrentPeriod Rule = "membership_current_period"
	RuleOutsidePolicy           Rule = "outside_policy"
)

// Rules lists every rule in the order they are checked.
var Rules = []Rule{
	RuleDisputeOpen, RuleFullyRefunded, RuleUnnotifiedRenewal, RulePlatformOutage, RuleOutageUnverified,
	RuleQualityIssue, RulePromoNoRefund, RuleCoolingOff, RuleLiveBeforeStart, RuleNotAsExpected,
	RuleLiveProRata, RuleConsultationNotice, RuleConsultationLateCancel, RuleMembershipCurrentPeriod,
	RuleOutsidePolicy,
}

// ConfigurableRules are the rules that can refund money, each with
// RuleParams in a Policy; the others only ever reject or send to review.
var ConfigurableRules = []Rule{
	RuleUnnotifiedRenewal, RulePlatformOutage, RuleQualityIssue, RuleCoolingOff, RuleLiveBeforeStart,
	RuleNotAsExpected, RuleLiveProRata, RuleConsultationNotice, RuleConsultationLateCancel,
}

// Valid reports whether r is one of Rules.
func (r Rule) Valid() bool {
	for _, v := range Rules {
		if r == v {
			return true
		}
	}
	return false
}

// Outcome is what the decision does with the money.
type Outcome string

const (
	// OutcomeFull refunds everything still refundable.
	OutcomeFull Outcome = "full"
	// OutcomePartial refunds less than what is still refundable.
	OutcomePartial Outcome = "partial"
	// OutcomeNone rejects the request; the learner may appeal once.
	OutcomeNone Outcome = "none"
	// OutcomeReview sends the request to a person, who sets the amount up to
	// Decision.Amount.
	OutcomeReview Outcome = "review"
)

// Action is a side effect the decision asks for besides the refund.
type Action string

// ActionCancelAutoRenew stops a membership from renewing again.
const ActionCancelAutoRenew Action = "cancel_auto_renew"

// Decision is the policy's answer to one request. Its JSON is the
// `refundflow policy eval` output and the decision of a refund case (SPEC 5, 6).
type Decision struct {
	Outcome Outcome `json:"outcome"`
	// Amount is in minor units: the refund for full and partial, the cap a
	// person may approve up to for review (what is still refundable), 0 for none.
	Amount   int64          `json:"amount"`
	Currency money.Currency `json:"currency"`
	Rule     Rule           `json:"rule"`
	// Policy is the "name@version" that decided.
	Policy      string `json:"policy"`
	AutoApprove bool   `json:"auto_approve"`
	// Retention says a retention offer may be made before refunding.
	Retention   bool        `json:"retention"`
	Actions     []Action    `json:"actions"` // never nil, so the JSON is [] not null
	Explanation Explanation `json:"explanation"`
	// Arrival is set for money outcomes (full, partial), nil otherwise.
	Arrival *Arrival `json:"arrival"`
}

// Explanation says why, naming the facts that decided, in both languages.
type Explanation struct {
	EN string `json:"en"`
	ZH string `json:"zh"`
}

// Arrival is when the money is expected: MinBusinessDays and MaxBusinessDays
// business days after the decision date (the local date of Facts.Now in the
// policy's calendar), counted strictly after it.
type Arrival struct {
	MinBusinessDays int           `json:"min_business_days"`
	MaxBusinessDays int           `json:"max_business_days"`
	Earliest        calendar.Date `json:"earliest"`
	Latest          calendar.Date `json:"latest"`
	// FallbackYears lists the years the dates assumed plain weekdays for,
	// because the calendar has no holiday data for them. Not part of the
	// JSON contract; the explanation says it in words.
	FallbackYears []int `json:"-"`
}
