package policy

import (
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/refundflow/refundflow"
	"github.com/refundflow/refundflow/money"
)

const day = 24 * time.Hour

func TestDisputedPaymentIsLeftToTheDisputeProcess(t *testing.T) {
	cases := []struct {
		name string
		f    Facts
	}{
		{"refundable course", recorded(func(f *Facts) { f.Order.Disputed = true })},
		{"cooling-off would apply", recorded(func(f *Facts) {
			f.Order.Disputed, f.Now, f.Order.Consumption.WatchedRatio = true, purchase.Add(time.Hour), 0
		})},
		{"unnotified renewal would apply", membership(func(f *Facts) {
			f.Order.Disputed, f.Order.Renewal = true, &refundflow.Renewal{PeriodStart: purchase}
		})},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := decide(t, tc.f)
			check(t, d, expect{rule: RuleDisputeOpen, outcome: OutcomeNone})
			if d.Amount != 0 || d.AutoApprove || d.Retention {
				t.Errorf("rejection carries amount %d, auto %v, retention %v", d.Amount, d.AutoApprove, d.Retention)
			}
			contains(t, d.Explanation.EN, "disputed", "appeal")
			contains(t, d.Explanation.ZH, "争议", "二次申诉")
		})
	}
}

func TestNothingLeftToRefundIsRejected(t *testing.T) {
	cases := []struct {
		name             string
		amount, refunded int64
		want             expect
	}{
		{"fully refunded before", 19900, 19900, expect{rule: RuleFullyRefunded, outcome: OutcomeNone}},
		{"more refunded than paid", 19900, 20000, expect{rule: RuleFullyRefunded, outcome: OutcomeNone}},
		{"free order", 0, 0, expect{rule: RuleFullyRefunded, outcome: OutcomeNone}},
		{"one minor unit left", 19900, 19899, expect{rule: RuleNotAsExpected, outcome: OutcomeFull, amount: 1}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			check(t, decide(t, recorded(func(f *Facts) { f.Order.Amount, f.Order.RefundedAmount = tc.amount, tc.refunded })), tc.want)
		})
	}
}

func TestRenewalWithoutAReminderFiveDaysAheadIsRefundedAndCancelled(t *testing.T) {
	periodStart := purchase
	cases := []struct {
		name     string
		reminder *time.Time
		reason   Reason
		want     Rule
	}{
		{"no reminder", nil, ReasonUnnotifiedRenewal, RuleUnnotifiedRenewal},
		{"exactly five days before is in time", ptr(periodStart.Add(-5 * day)), ReasonUnnotifiedRenewal, RuleMembershipCurrentPeriod},
		{"six days before is in time", ptr(periodStart.Add(-6 * day)), ReasonUnnotifiedRenewal, RuleMembershipCurrentPeriod},
		{"one second under five days is late", ptr(periodStart.Add(-5*day + time.Second)), ReasonUnnotifiedRenewal, RuleUnnotifiedRenewal},
		{"after the period started is late", ptr(periodStart.Add(time.Hour)), ReasonUnnotifiedRenewal, RuleUnnotifiedRenewal},
		{"any reason counts", nil, ReasonQualityIssue, RuleUnnotifiedRenewal},
		{"even a technical failure", nil, ReasonTechnicalFailure, RuleUnnotifiedRenewal},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := decide(t, membership(func(f *Facts) {
				f.Reason = tc.reason
				f.Order.Renewal = &refundflow.Renewal{PeriodStart: periodStart, ReminderSentAt: tc.reminder}
			}))
			if d.Rule != tc.want {
				t.Fatalf("rule = %s, want %s\n%s", d.Rule, tc.want, d.Explanation.EN)
			}
			if !slices.Equal(d.Actions, []Action{ActionCancelAutoRenew}) {
				t.Errorf("actions = %v, want [cancel_auto_renew]", d.Actions)
			}
			if tc.want != RuleUnnotifiedRenewal {
				return
			}
			check(t, d, expect{rule: RuleUnnotifiedRenewal, outcome: OutcomeFull, amount: 9800})
			if !d.AutoApprove || d.Retention || d.Arrival.MinBusinessDays != 3 || d.Arrival.MaxBusinessDays != 5 {
				t.Errorf("auto %v retention %v arrival %+v, want auto, no retention, 3-5 days", d.AutoApprove, d.Retention, d.Arrival)
			}
			contains(t, d.Explanation.EN, "5 days", "Auto-renewal is cancelled")
		})
	}
}

func TestOutageOfAtLeast48HoursRefundsTheRemainingShare(t *testing.T) {
	outage := func(hours float64, mods ...func(*Facts)) func(*Facts) {
		return func(f *Facts) {
			f.Reason, f.OutageHours = ReasonTechnicalFailure, hours
			f.Now = purchase.Add(20 * day)
			if f.Order.Product.Type == refundflow.RecordedCourse {
				f.Order.Consumption = Consumption{WatchedRatio: 0.3, LessonsCompleted: 3}
			}
			for _, m := range mods {
				m(f)
			}
		}
	}
	cases := []struct {
		name string
		f    Facts
		want expect
	}{
		{"exactly 48 h: 7 of 10 lessons left", recorded(outage(48)), expect{RulePlatformOutage, OutcomePartial, 13930}},
		{"just under 48 h is unverified", recorded(outage(47.99)), expect{RuleOutageUnverified, OutcomeReview, 19900}},
		{"no outage is unverified", recorded(outage(0)), expect{RuleOutageUnverified, OutcomeReview, 19900}},
		{"nothing completed refunds everything", recorded(outage(72, func(f *Facts) { f.Order.Consumption.LessonsCompleted = 0 })),
			expect{RulePlatformOutage, OutcomeFull, 19900}},
		{"everything completed refunds nothing", recorded(outage(72, func(f *Facts) { f.Order.Consumption.LessonsCompleted = 10 })),
			expect{RulePlatformOutage, OutcomeNone, 0}},
		{"live course: 8 of 12 sessions to come", live(outage(72, func(f *Facts) {
			f.Order.Product.SessionsHeld, f.Order.Consumption = 4, Consumption{SessionsAttended: 4}
		})), expect{RulePlatformOutage, OutcomePartial, 8000}},
		{"membership goes to review", membership(outage(100)), expect{RulePlatformOutage, OutcomeReview, 9800}},
		{"consultation goes to review", consultation(outage(100, func(f *Facts) { f.Now = purchase.Add(time.Hour) })),
			expect{RulePlatformOutage, OutcomeReview, 30000}},
		{"recorded course without a lesson count goes to review", recorded(outage(48, func(f *Facts) {
			f.Order.Product.LessonsTotal, f.Order.Consumption.LessonsCompleted = 0, 0
		})), expect{RulePlatformOutage, OutcomeReview, 19900}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := decide(t, tc.f)
			check(t, d, tc.want)
			money := d.Outcome == OutcomeFull || d.Outcome == OutcomePartial
			if d.AutoApprove != money || d.Retention {
				t.Errorf("auto %v retention %v: outage refunds are automatic, never retained", d.AutoApprove, d.Retention)
			}
			if d.Outcome == OutcomeReview && d.AutoApprove {
				t.Error("a review is never approved automatically")
			}
		})
	}
}

func TestOutageRefundShowsItsArithmetic(t *testing.T) {
	d := decide(t, recorded(func(f *Facts) {
		f.Reason, f.OutageHours, f.Now = ReasonTechnicalFailure, 60, purchase.Add(20*day)
		f.Order.Consumption = Consumption{LessonsCompleted: 3}
	}))
	contains(t, d.Explanation.EN, "60 h", "at least 48 h", "7 of 10 lessons", "7/10 × 199.00 CNY = 139.30 CNY")
	contains(t, d.Explanation.ZH, "60 小时", "7/10 × 199.00 CNY = 139.30 CNY")
	none := decide(t, recorded(func(f *Facts) {
		f.Reason, f.OutageHours, f.Now = ReasonTechnicalFailure, 60, purchase.Add(20*day)
		f.Order.Consumption = Consumption{LessonsCompleted: 10}
	}))
	contains(t, none.Explanation.EN, "nothing is refunded", "appeal")
}

func TestQualityComplaintsAreRefundedInFullAfterAPersonVerifies(t *testing.T) {
	cases := []struct {
		name string
		f    Facts
	}{
		{"quality issue", recorded(func(f *Facts) { f.Reason = ReasonQualityIssue })},
		{"false advertising", recorded(func(f *Facts) { f.Reason = ReasonFalseAdvertising })},
		{"long after purchase, fully watched", recorded(func(f *Facts) {
			f.Reason, f.Now, f.Order.Consumption = ReasonQualityIssue, purchase.Add(60*day), Consumption{WatchedRatio: 1, LessonsCompleted: 10}
		})},
		{"despite a disclosed no-refund promotion", recorded(func(f *Facts) {
			f.Reason, f.Order.Product.NoRefund, f.Order.Product.NoRefundDisclosed = ReasonFalseAdvertising, true, true
		})},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := decide(t, tc.f)
			check(t, d, expect{RuleQualityIssue, OutcomeFull, 19900})
			if d.AutoApprove {
				t.Error("quality refunds need a person")
			}
			if d.Arrival.MinBusinessDays != 3 || d.Arrival.MaxBusinessDays != 5 {
				t.Errorf("arrival = %+v, want 3-5 business days", d.Arrival)
			}
			contains(t, d.Explanation.EN, "never approved automatically", "Once approved")
		})
	}
}

func TestNoRefundPromotionBindsOnlyWhenDisclosed(t *testing.T) {
	cases := []struct {
		name                string
		noRefund, disclosed bool
		want                Rule
	}{
		{"disclosed no-refund term binds", true, true, RulePromoNoRefund},
		{"undisclosed term does not bind", true, false, RuleNotAsExpected},
		{"disclosure alone is no term", false, true, RuleNotAsExpected},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := decide(t, recorded(func(f *Facts) {
				f.Order.Product.NoRefund, f.Order.Product.NoRefundDisclosed = tc.noRefund, tc.disclosed
			}))
			if d.Rule != tc.want {
				t.Fatalf("rule = %s, want %s", d.Rule, tc.want)
			}
			if tc.noRefund && !tc.disclosed {
				contains(t, d.Explanation.EN, "not shown prominently at checkout")
				contains(t, d.Explanation.ZH, "未明确展示")
			}
		})
	}
}

func TestCoolingOffEndsAfter24Hours(t *testing.T) {
	cases := []struct {
		since time.Duration
		want  Rule
	}{
		{0, RuleCoolingOff},
		{23*time.Hour + 59*time.Minute + 59*time.Second, RuleCoolingOff},
		{24 * time.Hour, RuleCoolingOff},
		{24*time.Hour + time.Second, RuleNotAsExpected},
	}
	for _, tc := range cases {
		t.Run(tc.since.String(), func(t *testing.T) {
			d := decide(t, recorded(func(f *Facts) { f.Now, f.Order.Consumption = purchase.Add(tc.since), Consumption{} }))
			if d.Rule != tc.want {
				t.Fatalf("rule = %s, want %s", d.Rule, tc.want)
			}
			if tc.want == RuleCoolingOff {
				check(t, d, expect{RuleCoolingOff, OutcomeFull, 19900})
				if !d.AutoApprove || d.Retention || d.Arrival.MinBusinessDays != 1 || d.Arrival.MaxBusinessDays != 3 {
					t.Errorf("auto %v retention %v arrival %+v, want auto, no retention, 1-3 days", d.AutoApprove, d.Retention, d.Arrival)
				}
			}
		})
	}
}

func TestCoolingOffNeedsNothingConsumed(t *testing.T) {
	soon := func(f *Facts) { f.Now, f.Order.Consumption = purchase.Add(time.Hour), Consumption{} }
	cases := []struct {
		name string
		f    Facts
		want Rule
	}{
		{"a little watched", recorded(soon, func(f *Facts) { f.Order.Consumption.WatchedRatio = 0.001 }), RuleNotAsExpected},
		{"one lesson of ten is 10%, not less", recorded(soon, func(f *Facts) { f.Order.Consumption.LessonsCompleted = 1 }), RuleOutsidePolicy},
		{"a session attended", live(soon, func(f *Facts) { f.Order.Consumption.SessionsAttended = 1 }), RuleLiveBeforeStart},
		{"consultation not yet held", consultation(soon), RuleCoolingOff},
		{"consultation already held", consultation(soon, func(f *Facts) { f.Order.Product.AppointmentAt = ptr(purchase.Add(30 * time.Minute)) }), RuleOutsidePolicy},
		{"consultation starting right now is held", consultation(soon, func(f *Facts) { f.Order.Product.AppointmentAt = ptr(f.Now) }), RuleOutsidePolicy},
		{"membership", membership(soon), RuleCoolingOff},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if d := decide(t, tc.f); d.Rule != tc.want {
				t.Errorf("rule = %s, want %s\n%s", d.Rule, tc.want, d.Explanation.EN)
			}
		})
	}
}

func TestLiveCourseIsRefundedInFullBeforeItStarts(t *testing.T) {
	start := *live().Order.Product.StartsAt
	cases := []struct {
		name string
		now  time.Time
		want Rule
	}{
		{"a week before", start.Add(-7 * day), RuleLiveBeforeStart},
		{"one second before", start.Add(-time.Second), RuleLiveBeforeStart},
		{"at the start it has started", start, RuleNotAsExpected},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := decide(t, live(func(f *Facts) { f.Now = tc.now }))
			if d.Rule != tc.want {
				t.Fatalf("rule = %s, want %s", d.Rule, tc.want)
			}
			check(t, d, expect{tc.want, OutcomeFull, 12000})
			if !d.AutoApprove || !d.Retention {
				t.Errorf("auto %v retention %v, want both", d.AutoApprove, d.Retention)
			}
		})
	}
}

func TestNotAsExpectedWithinSevenDaysAndUnderTenPercent(t *testing.T) {
	start := *live().Order.Product.StartsAt
	cases := []struct {
		name string
		f    Facts
		want Rule
	}{
		{"exactly 7 days after purchase", recorded(func(f *Facts) { f.Now = purchase.Add(7 * day) }), RuleNotAsExpected},
		{"one second over 7 days", recorded(func(f *Facts) { f.Now = purchase.Add(7*day + time.Second) }), RuleOutsidePolicy},
		{"watched 9.99%", recorded(func(f *Facts) { f.Order.Consumption.WatchedRatio = 0.0999 }), RuleNotAsExpected},
		{"watched exactly 10%", recorded(func(f *Facts) { f.Order.Consumption.WatchedRatio = 0.10 }), RuleOutsidePolicy},
		{"watched a hair over 10%", recorded(func(f *Facts) { f.Order.Consumption.WatchedRatio = 0.1000001 }), RuleOutsidePolicy},
		{"1 of 10 lessons is 10%", recorded(func(f *Facts) { f.Order.Consumption.LessonsCompleted = 1 }), RuleOutsidePolicy},
		{"1 of 11 lessons is 9.09%", recorded(func(f *Facts) {
			f.Order.Product.LessonsTotal, f.Order.Consumption.LessonsCompleted = 11, 1
		}), RuleNotAsExpected},
		{"the larger share counts", recorded(func(f *Facts) {
			f.Order.Consumption = Consumption{WatchedRatio: 0.01, LessonsCompleted: 2}
		}), RuleOutsidePolicy},
		{"window from a recorded course's start date", recorded(func(f *Facts) {
			f.Order.Product.StartsAt = ptr(purchase.Add(3 * day))
			f.Now = purchase.Add(10 * day)
		}), RuleNotAsExpected},
		{"one second past the start date's window", recorded(func(f *Facts) {
			f.Order.Product.StartsAt = ptr(purchase.Add(3 * day))
			f.Now = purchase.Add(10*day + time.Second)
		}), RuleOutsidePolicy},
		{"changed mind", recorded(func(f *Facts) { f.Reason = ReasonChangedMind }), RuleNotAsExpected},
		{"other", recorded(func(f *Facts) { f.Reason = ReasonOther }), RuleNotAsExpected},
		{"schedule change does not qualify", recorded(func(f *Facts) { f.Reason = ReasonScheduleChange }), RuleOutsidePolicy},
		{"unnotified renewal without a renewal does not qualify", recorded(func(f *Facts) { f.Reason = ReasonUnnotifiedRenewal }), RuleOutsidePolicy},
		{"live: 1 of 12 sessions attended", live(func(f *Facts) {
			f.Now, f.Order.Product.SessionsHeld, f.Order.Consumption.SessionsAttended = start.Add(2*day), 2, 1
		}), RuleNotAsExpected},
		{"live: 1 of 10 sessions is 10%", live(func(f *Facts) {
			f.Now, f.Order.Product.SessionsTotal, f.Order.Product.SessionsHeld, f.Order.Consumption.SessionsAttended = start.Add(2*day), 10, 1, 1
		}), RuleLiveProRata},
		{"live: watching does not count, sessions do", live(func(f *Facts) {
			f.Now, f.Order.Product.SessionsHeld, f.Order.Consumption.WatchedRatio = start.Add(2*day), 2, 0.9
		}), RuleNotAsExpected},
		{"live: 7 days after the start, not the purchase", live(func(f *Facts) {
			f.Now, f.Order.Product.SessionsHeld = start.Add(7*day), 3
		}), RuleNotAsExpected},
		{"live: one second later", live(func(f *Facts) {
			f.Now, f.Order.Product.SessionsHeld = start.Add(7*day+time.Second), 3
		}), RuleLiveProRata},
		{"not for memberships", membership(func(f *Facts) { f.Reason = ReasonNotAsExpected }), RuleMembershipCurrentPeriod},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := decide(t, tc.f)
			if d.Rule != tc.want {
				t.Fatalf("rule = %s, want %s\n%s", d.Rule, tc.want, d.Explanation.EN)
			}
			if d.Rule == RuleNotAsExpected {
				check(t, d, expect{RuleNotAsExpected, OutcomeFull, tc.f.Order.Amount})
				if !d.AutoApprove || !d.Retention {
					t.Errorf("auto %v retention %v, want both", d.AutoApprove, d.Retention)
				}
			}
		})
	}
}

func TestLiveCourseAfterStartRefundsTheSessionsToCome(t *testing.T) {
	start := *live().Order.Product.StartsAt
	cases := []struct {
		name       string
		now        time.Time
		held, went int
		want       expect
	}{
		{"at the start, 2 held and attended", start, 2, 2, expect{RuleLiveProRata, OutcomePartial, 10000}},
		{"4 of 12 held", start.Add(20 * day), 4, 0, expect{RuleLiveProRata, OutcomePartial, 8000}},
		{"one session left", start.Add(40 * day), 11, 11, expect{RuleLiveProRata, OutcomePartial, 1000}},
		{"no session held yet, past the window", start.Add(8 * day), 0, 0, expect{RuleLiveProRata, OutcomeFull, 12000}},
		{"all held: finished", start.Add(50 * day), 12, 12, expect{RuleOutsidePolicy, OutcomeNone, 0}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := decide(t, live(func(f *Facts) {
				f.Now, f.Order.Product.SessionsHeld, f.Order.Consumption.SessionsAttended = tc.now, tc.held, tc.went
			}))
			check(t, d, tc.want)
			if d.Rule == RuleLiveProRata && (!d.AutoApprove || !d.Retention) {
				t.Errorf("auto %v retention %v, want both", d.AutoApprove, d.Retention)
			}
		})
	}
}

func TestConsultationCancelledAtLeast24HoursAheadIsRefundedInFull(t *testing.T) {
	appt := *consultation().Order.Product.AppointmentAt
	cases := []struct {
		name string
		now  time.Time
		want expect
	}{
		{"two days ahead", appt.Add(-48 * time.Hour), expect{RuleConsultationNotice, OutcomeFull, 30000}},
		{"exactly 24 h ahead", appt.Add(-24 * time.Hour), expect{RuleConsultationNotice, OutcomeFull, 30000}},
		{"one second under 24 h", appt.Add(-24*time.Hour + time.Second), expect{RuleConsultationLateCancel, OutcomePartial, 15000}},
		{"one second before", appt.Add(-time.Second), expect{RuleConsultationLateCancel, OutcomePartial, 15000}},
		{"at the appointment it is held", appt, expect{RuleOutsidePolicy, OutcomeNone, 0}},
		{"after the appointment", appt.Add(time.Hour), expect{RuleOutsidePolicy, OutcomeNone, 0}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := decide(t, consultation(func(f *Facts) { f.Now = tc.now }))
			check(t, d, tc.want)
			if d.Outcome != OutcomeNone && (!d.AutoApprove || !d.Retention) {
				t.Errorf("auto %v retention %v, want both (reschedule offer)", d.AutoApprove, d.Retention)
			}
		})
	}
}

func TestLateConsultationCancelRefundsHalfRoundedDown(t *testing.T) {
	appt := *consultation().Order.Product.AppointmentAt
	d := decide(t, consultation(func(f *Facts) { f.Now, f.Order.Amount = appt.Add(-2*time.Hour), 30001 }))
	check(t, d, expect{RuleConsultationLateCancel, OutcomePartial, 15000})
	contains(t, d.Explanation.EN, "2 h before", "less than 24 h", "50% × 300.01 CNY = 150.00 CNY, rounded down")
	contains(t, d.Explanation.ZH, "2小时", "50% × 300.01 CNY = 150.00 CNY")
}

func TestMembershipPeriodIsNotRefundedButRenewalIsCancelled(t *testing.T) {
	d := decide(t, membership())
	check(t, d, expect{RuleMembershipCurrentPeriod, OutcomeNone, 0})
	if !slices.Equal(d.Actions, []Action{ActionCancelAutoRenew}) {
		t.Errorf("actions = %v, want [cancel_auto_renew]", d.Actions)
	}
	contains(t, d.Explanation.EN, "auto-renewal is cancelled", "appeal")
	contains(t, d.Explanation.ZH, "取消自动续费", "二次申诉")
}

func TestRequestsOutsideThePolicyAreRejectedWithAWayToAppeal(t *testing.T) {
	cases := []struct {
		name   string
		f      Facts
		fact   string
		factZH string
	}{
		{"too much watched", recorded(func(f *Facts) { f.Order.Consumption.WatchedRatio = 0.5 }), "50% watched", "观看 50%"},
		{"too late", recorded(func(f *Facts) { f.Now = purchase.Add(30 * day) }), "30 days after purchase", "30天"},
		{"reason does not qualify", recorded(func(f *Facts) { f.Reason = ReasonScheduleChange }), "schedule_change", "schedule_change"},
		{"consultation held", consultation(func(f *Facts) { f.Now = purchase.Add(11 * day) }), "already taken place", "已经进行"},
		{"live course finished", live(func(f *Facts) { f.Now, f.Order.Product.SessionsHeld = purchase.Add(60*day), 12 }), "All 12 sessions", "已全部结束"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := decide(t, tc.f)
			check(t, d, expect{RuleOutsidePolicy, OutcomeNone, 0})
			contains(t, d.Explanation.EN, tc.fact, "appeal once (二次申诉)")
			contains(t, d.Explanation.ZH, tc.factZH, "二次申诉")
		})
	}
}

func TestTheFirstApplicableRuleDecides(t *testing.T) {
	soon := func(f *Facts) { f.Now, f.Order.Consumption = purchase.Add(time.Hour), Consumption{} }
	cases := []struct {
		name string
		f    Facts
		want Rule
	}{
		{"dispute before fully refunded", recorded(func(f *Facts) { f.Order.Disputed, f.Order.RefundedAmount = true, 19900 }), RuleDisputeOpen},
		{"fully refunded before renewal", membership(func(f *Facts) {
			f.Order.RefundedAmount, f.Order.Renewal = 9800, &refundflow.Renewal{PeriodStart: purchase}
		}), RuleFullyRefunded},
		{"renewal before outage", membership(func(f *Facts) {
			f.Reason, f.OutageHours, f.Order.Renewal = ReasonTechnicalFailure, 100, &refundflow.Renewal{PeriodStart: purchase}
		}), RuleUnnotifiedRenewal},
		{"outage before promotion", recorded(func(f *Facts) {
			f.Reason, f.OutageHours, f.Order.Product.NoRefund, f.Order.Product.NoRefundDisclosed = ReasonTechnicalFailure, 48, true, true
		}), RulePlatformOutage},
		{"unverified outage before promotion", recorded(func(f *Facts) {
			f.Reason, f.Order.Product.NoRefund, f.Order.Product.NoRefundDisclosed = ReasonTechnicalFailure, true, true
		}), RuleOutageUnverified},
		{"promotion before cooling-off", recorded(soon, func(f *Facts) {
			f.Order.Product.NoRefund, f.Order.Product.NoRefundDisclosed = true, true
		}), RulePromoNoRefund},
		{"cooling-off before live-before-start", live(soon), RuleCoolingOff},
		{"live-before-start before not-as-expected", live(), RuleLiveBeforeStart},
		{"not-as-expected before live pro-rata", live(func(f *Facts) {
			f.Now, f.Order.Product.SessionsHeld = f.Order.Product.StartsAt.Add(day), 1
		}), RuleNotAsExpected},
		{"cooling-off before consultation notice", consultation(soon), RuleCoolingOff},
		{"cooling-off before membership", membership(soon), RuleCoolingOff},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if d := decide(t, tc.f); d.Rule != tc.want {
				t.Errorf("rule = %s, want %s", d.Rule, tc.want)
			}
		})
	}
}

func TestProRataRoundsDownToTheMinorUnit(t *testing.T) {
	start := *live().Order.Product.StartsAt
	twoThirds := decide(t, live(func(f *Facts) {
		f.Now, f.Order.Amount = start.Add(10*day), 10000
		f.Order.Product.SessionsTotal, f.Order.Product.SessionsHeld = 3, 1
	}))
	check(t, twoThirds, expect{RuleLiveProRata, OutcomePartial, 6666})
	contains(t, twoThirds.Explanation.EN, "2/3 × 100.00 CNY = 66.66 CNY, rounded down")

	appt := *consultation().Order.Product.AppointmentAt
	yen := decide(t, consultation(func(f *Facts) { f.Now, f.Order.Amount, f.Order.Currency = appt.Add(-time.Hour), 1001, "JPY" }))
	check(t, yen, expect{RuleConsultationLateCancel, OutcomePartial, 500})

	zero := decide(t, consultation(func(f *Facts) { f.Now, f.Order.Amount = appt.Add(-time.Hour), 1 }))
	check(t, zero, expect{RuleConsultationLateCancel, OutcomeNone, 0})
	if zero.AutoApprove || zero.Retention || zero.Arrival != nil {
		t.Errorf("a zero refund is a rejection: %+v", zero)
	}
	contains(t, zero.Explanation.EN, "0.00 CNY", "nothing is refunded", "appeal")
	contains(t, zero.Explanation.ZH, "没有可退金额", "二次申诉")
}

func TestProRataIsCappedAtWhatIsStillRefundable(t *testing.T) {
	start := *live().Order.Product.StartsAt
	sessions := func(refunded int64) Facts {
		return live(func(f *Facts) {
			f.Now, f.Order.RefundedAmount, f.Order.Product.SessionsHeld = start.Add(20*day), refunded, 4
		})
	}
	capped := decide(t, sessions(5000))
	check(t, capped, expect{RuleLiveProRata, OutcomeFull, 7000})
	contains(t, capped.Explanation.EN, "8/12 × 120.00 CNY = 80.00 CNY, capped at the 70.00 CNY still refundable (50.00 CNY was refunded before)")

	under := decide(t, sessions(1000))
	check(t, under, expect{RuleLiveProRata, OutcomePartial, 8000})
}

func TestFullRefundAfterAPartialRefundIsTheRemainder(t *testing.T) {
	d := decide(t, live(func(f *Facts) { f.Order.RefundedAmount = 2000 }))
	check(t, d, expect{RuleLiveBeforeStart, OutcomeFull, 10000})
	contains(t, d.Explanation.EN, "remaining 100.00 CNY (20.00 CNY was refunded before)")

	review := decide(t, recorded(func(f *Facts) { f.Reason, f.Order.RefundedAmount = ReasonTechnicalFailure, 4900 }))
	check(t, review, expect{RuleOutageUnverified, OutcomeReview, 15000})
	contains(t, review.Explanation.EN, "up to the 150.00 CNY still refundable")
}

func TestAutoApprovalLimitPerCurrency(t *testing.T) {
	cases := []struct {
		currency string
		amount   int64
		auto     bool
		why      string
	}{
		{"CNY", 100000, true, "within the 1000.00 CNY auto-approval limit"},
		{"CNY", 100001, false, "1000.01 CNY is above the 1000.00 CNY auto-approval limit"},
		{"USD", 15000, true, "within the 150.00 USD auto-approval limit"},
		{"USD", 15001, false, "150.01 USD is above the 150.00 USD auto-approval limit"},
		{"EUR", 15000, true, "within the 150.00 EUR auto-approval limit"},
		{"EUR", 15001, false, "150.01 EUR is above the 150.00 EUR auto-approval limit"},
		{"GBP", 100, false, "GBP has no auto-approval limit"},
		{"JPY", 1, false, "JPY has no auto-approval limit"},
	}
	for _, tc := range cases {
		t.Run(tc.currency+" "+strconv.FormatInt(tc.amount, 10), func(t *testing.T) {
			d := decide(t, live(func(f *Facts) { f.Order.Currency, f.Order.Amount = money.Currency(tc.currency), tc.amount }))
			check(t, d, expect{RuleLiveBeforeStart, OutcomeFull, tc.amount})
			if d.AutoApprove != tc.auto {
				t.Errorf("auto_approve = %v, want %v", d.AutoApprove, tc.auto)
			}
			contains(t, d.Explanation.EN, tc.why)
		})
	}
}

func TestSerialRefunderGuardStopsAutoApprovalFromThreeRefunds(t *testing.T) {
	for _, tc := range []struct {
		refunds int
		auto    bool
	}{{0, true}, {2, true}, {3, false}, {10, false}} {
		d := decide(t, live(func(f *Facts) { f.LearnerRefunds90d = tc.refunds }))
		if d.AutoApprove != tc.auto {
			t.Errorf("%d refunds in 90 days: auto_approve = %v, want %v", tc.refunds, d.AutoApprove, tc.auto)
		}
		if !tc.auto {
			contains(t, d.Explanation.EN, "had "+strconv.Itoa(tc.refunds)+" refunds in the last 90 days", "fewer than 3")
			contains(t, d.Explanation.ZH, "近 90 天已退款 "+strconv.Itoa(tc.refunds)+" 次")
		}
	}
	d := decide(t, live(func(f *Facts) { f.LearnerRefunds90d, f.Order.Currency = 3, "GBP" }))
	contains(t, d.Explanation.EN, "GBP has no auto-approval limit; the learner had 3 refunds")
}

func TestArrivalCountsBusinessDaysOnTheCNCalendar(t *testing.T) {
	coolingOff := func(now time.Time) Facts {
		return recorded(func(f *Facts) {
			f.Now, f.Order.PurchasedAt, f.Order.Consumption = now, now.Add(-time.Hour), Consumption{}
		})
	}
	notAsExpected := func(now time.Time) Facts {
		return recorded(func(f *Facts) { f.Now, f.Order.PurchasedAt = now, now.Add(-48*time.Hour) })
	}
	at := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	cases := []struct {
		name                 string
		f                    Facts
		earliest, latest     string
		fallback             []int
		decisionDateMentions string
	}{
		{"Spring Festival 2026: Friday +1 is the make-up Saturday", coolingOff(at("2026-02-13T12:00:00+08:00")), "2026-02-14", "2026-02-25", nil, "2026-02-13"},
		{"Spring Festival 2026: 3-5 days skip Feb 15-23", notAsExpected(at("2026-02-13T12:00:00+08:00")), "2026-02-25", "2026-02-27", nil, "2026-02-13"},
		{"Spring Festival 2026: make-up Saturday Feb 28 counts", notAsExpected(at("2026-02-25T12:00:00+08:00")), "2026-02-28", "2026-03-03", nil, "2026-02-25"},
		{"National Day 2026: Oct 1-7 off, Saturday Oct 10 worked", notAsExpected(at("2026-09-30T12:00:00+08:00")), "2026-10-10", "2026-10-13", nil, "2026-09-30"},
		{"National Day 2026: Sunday Sep 20 worked", coolingOff(at("2026-09-18T12:00:00+08:00")), "2026-09-20", "2026-09-22", nil, "2026-09-18"},
		{"a UTC evening is the next day in Shanghai", coolingOff(at("2026-02-13T17:00:00Z")), "2026-02-24", "2026-02-26", nil, "2026-02-14"},
		{"Spring Festival 2025: Sunday Jan 26 worked", coolingOff(at("2025-01-24T12:00:00+08:00")), "2025-01-26", "2025-02-05", nil, "2025-01-24"},
		{"National Day 2025: Oct 1-8 off, Saturday Oct 11 worked", notAsExpected(at("2025-09-30T12:00:00+08:00")), "2025-10-11", "2025-10-14", nil, "2025-09-30"},
		{"into 2027, which has no data", notAsExpected(at("2026-12-30T12:00:00+08:00")), "2027-01-04", "2027-01-06", []int{2027}, "2026-12-30"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := decide(t, tc.f)
			if d.Arrival == nil {
				t.Fatalf("no arrival for %s/%s", d.Rule, d.Outcome)
			}
			if got := d.Arrival.Earliest.String() + ".." + d.Arrival.Latest.String(); got != tc.earliest+".."+tc.latest {
				t.Errorf("arrival = %s, want %s..%s", got, tc.earliest, tc.latest)
			}
			if !slices.Equal(d.Arrival.FallbackYears, tc.fallback) {
				t.Errorf("fallback years = %v, want %v", d.Arrival.FallbackYears, tc.fallback)
			}
			contains(t, d.Explanation.EN, tc.earliest, tc.latest, "after "+tc.decisionDateMentions)
			contains(t, d.Explanation.ZH, tc.earliest, tc.latest)
			if tc.fallback != nil {
				contains(t, d.Explanation.EN, "assume plain weekdays for 2027")
				contains(t, d.Explanation.ZH, "2027 年的节假日安排尚未载入")
			} else if strings.Contains(d.Explanation.EN, "plain weekdays") {
				t.Errorf("explanation claims a fallback: %s", d.Explanation.EN)
			}
		})
	}
}

func TestExplanationNamesTheDecidingFacts(t *testing.T) {
	d := decide(t, recorded(func(f *Facts) { f.Now, f.Order.Consumption = purchase.Add(3*time.Hour+30*time.Minute), Consumption{} }))
	contains(t, d.Explanation.EN, "3 h 30 min after purchase", "24 h cooling-off", "Full refund of 199.00 CNY",
		"Approved automatically", "between 2026-03-11 and 2026-03-13", "Rule cooling_off, policy default@1.")
	contains(t, d.Explanation.ZH, "3小时30分钟", "24 小时冷静期", "全额退款 199.00 CNY", "已自动批准",
		"2026-03-11 至 2026-03-13", "规则 cooling_off，政策 default@1。")

	n := decide(t, recorded(func(f *Facts) { f.Now = purchase.Add(3*day + 4*time.Hour) }))
	contains(t, n.Explanation.EN, "3 days 4 h after purchase", "within 7 days", "5% watched and 0 of 10 lessons completed", "less than 10%")
	contains(t, n.Explanation.ZH, "3天4小时", "观看 5%", "低于 10%")
}

func TestPolicyParametersComeFromTheData(t *testing.T) {
	p := Default()
	p.Version = 2
	p.CoolingOffHours = 48
	p.NotAsExpected.ConsumedLessThanBasisPoints = 2000
	p.AutoApprove.Limits["CNY"] = 10000
	rp := p.Rules[RuleCoolingOff]
	rp.Arrival = ArrivalWindow{MinBusinessDays: 2, MaxBusinessDays: 2}
	p.Rules[RuleCoolingOff] = rp
	if err := p.Validate(); err != nil {
		t.Fatal(err)
	}

	d, err := Evaluate(p, recorded(func(f *Facts) { f.Now, f.Order.Consumption = purchase.Add(30*time.Hour), Consumption{} }), cals)
	if err != nil {
		t.Fatal(err)
	}
	check2 := func(cond bool, msg string) {
		t.Helper()
		if !cond {
			t.Errorf("%s: %+v", msg, d)
		}
	}
	check2(d.Rule == RuleCoolingOff && d.Policy == "default@2", "48 h cooling-off of version 2")
	check2(!d.AutoApprove, "199.00 CNY is above a 100.00 CNY limit")
	check2(d.Arrival.Earliest == d.Arrival.Latest && d.Arrival.MinBusinessDays == 2, "arrival window from the data")

	d, _ = Evaluate(p, recorded(func(f *Facts) { f.Order.Consumption.WatchedRatio = 0.15 }), cals)
	check2(d.Rule == RuleNotAsExpected, "15% is under a 20% threshold")
	if Default().CoolingOffHours != 24 {
		t.Error("changing a copy changed the default policy")
	}
}

func TestEvaluateRejectsInvalidFactsAndUnknownCalendars(t *testing.T) {
	if _, err := Evaluate(Default(), recorded(func(f *Facts) { f.Order.Consumption.WatchedRatio = 2 }), cals); err == nil {
		t.Error("evaluated a 200% watched ratio")
	}
	p := Default()
	p.Calendar = "mars"
	if _, err := Evaluate(p, recorded(), cals); err == nil {
		t.Error("evaluated with an unknown calendar")
	}
}
