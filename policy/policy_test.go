package policy

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/refundflow/refundflow"
	"github.com/refundflow/refundflow/calendar"
	"github.com/refundflow/refundflow/money"
)

func TestDefaultPolicyCarriesTheSpecParameters(t *testing.T) {
	p := Default()
	if p.ID() != "default@1" || p.Calendar != "cn" {
		t.Errorf("policy %s on %s, want default@1 on cn", p.ID(), p.Calendar)
	}
	if p.CoolingOffHours != 24 || p.NotAsExpected != (NotAsExpectedParams{7, 1000}) ||
		p.Consultation != (ConsultationParams{24, 5000}) || p.RenewalReminderLeadDays != 5 || p.OutageThresholdHours != 48 {
		t.Errorf("windows and shares = %+v", p)
	}
	wantLimits := map[money.Currency]int64{"CNY": 100000, "USD": 15000, "EUR": 15000}
	if !reflect.DeepEqual(p.AutoApprove.Limits, wantLimits) || p.AutoApprove.LearnerRefunds90dBelow != 3 {
		t.Errorf("auto-approve = %+v", p.AutoApprove)
	}
	rules := map[Rule]RuleParams{
		RuleUnnotifiedRenewal:      {true, false, ArrivalWindow{3, 5}},
		RulePlatformOutage:         {true, false, ArrivalWindow{3, 5}},
		RuleQualityIssue:           {false, false, ArrivalWindow{3, 5}},
		RuleCoolingOff:             {true, false, ArrivalWindow{1, 3}},
		RuleLiveBeforeStart:        {true, true, ArrivalWindow{3, 5}},
		RuleNotAsExpected:          {true, true, ArrivalWindow{3, 5}},
		RuleLiveProRata:            {true, true, ArrivalWindow{3, 5}},
		RuleConsultationNotice:     {true, true, ArrivalWindow{3, 5}},
		RuleConsultationLateCancel: {true, true, ArrivalWindow{3, 5}},
	}
	if !reflect.DeepEqual(p.Rules, rules) {
		t.Errorf("rules = %+v", p.Rules)
	}
	if err := p.CheckCalendar(calendar.NewRegistry()); err != nil {
		t.Error(err)
	}
}

func TestPolicyRoundTripsThroughJSON(t *testing.T) {
	data, err := json.Marshal(Default())
	if err != nil {
		t.Fatal(err)
	}
	back, err := Parse(data)
	if err != nil {
		t.Fatalf("Parse(Marshal(Default())): %v\n%s", err, data)
	}
	if !reflect.DeepEqual(back, Default()) {
		t.Errorf("round trip changed the policy:\n%s", data)
	}
	var viaUnmarshal Policy
	if err := json.Unmarshal(DefaultJSON(), &viaUnmarshal); err != nil || !reflect.DeepEqual(&viaUnmarshal, Default()) {
		t.Errorf("json.Unmarshal = %v", err)
	}
}

func TestParseRejectsBadPoliciesNamingTheField(t *testing.T) {
	base := string(DefaultJSON())
	edit := func(old, new string) string {
		if !strings.Contains(base, old) {
			panic("test edit does not match: " + old)
		}
		return strings.Replace(base, old, new, 1)
	}
	cases := []struct {
		name, json, field, code string
	}{
		{"not JSON", `{`, "", "invalid_json"},
		{"unknown field", edit(`"version": 1,`, `"version": 1, "owner": "x",`), "owner", "unknown_field"},
		{"unknown nested field", edit(`"window_days": 7,`, `"window_days": 7, "hours": 1,`), "not_as_expected.hours", "unknown_field"},
		{"missing name", edit(`"name": "default",`, ``), "name", "required"},
		{"bad name", edit(`"default"`, `"Default Policy"`), "name", "invalid_name"},
		{"version zero", edit(`"version": 1`, `"version": 0`), "version", "out_of_range"},
		{"version as text", edit(`"version": 1`, `"version": "1"`), "version", "invalid_type"},
		{"negative cooling-off", edit(`"cooling_off_hours": 24`, `"cooling_off_hours": -1`), "cooling_off_hours", "out_of_range"},
		{"negative window", edit(`"window_days": 7`, `"window_days": -7`), "not_as_expected.window_days", "out_of_range"},
		{"share over 100%", edit(`"consumed_less_than_basis_points": 1000`, `"consumed_less_than_basis_points": 10001`), "not_as_expected.consumed_less_than_basis_points", "out_of_range"},
		{"share as a float", edit(`"consumed_less_than_basis_points": 1000`, `"consumed_less_than_basis_points": 0.1`), "not_as_expected.consumed_less_than_basis_points", "invalid_type"},
		{"negative late-cancel share", edit(`"late_cancel_refund_basis_points": 5000`, `"late_cancel_refund_basis_points": -1`), "consultation.late_cancel_refund_basis_points", "out_of_range"},
		{"zero outage threshold", edit(`"outage_threshold_hours": 48`, `"outage_threshold_hours": 0`), "outage_threshold_hours", "out_of_range"},
		{"unknown currency in limits", edit(`"CNY": 100000`, `"XYZ": 100000`), "auto_approve.limits.XYZ", "unknown_currency"},
		{"lower-case currency in limits", edit(`"CNY": 100000`, `"cny": 100000`), "auto_approve.limits.cny", "unknown_currency"},
		{"negative limit", edit(`"USD": 15000`, `"USD": -1`), "auto_approve.limits.USD", "out_of_range"},
		{"limit as text", edit(`"USD": 15000`, `"USD": "150.00"`), "auto_approve.limits.USD", "invalid_type"},
		{"unknown rule", edit(`"cooling_off":`, `"cooling_down":`), "rules.cooling_down", "unknown_rule"},
		{"rule that never refunds", edit(`"cooling_off":`, `"dispute_open": {"auto": true, "retention": false, "arrival": {"min_business_days": 1, "max_business_days": 3}}, "cooling_off":`), "rules.dispute_open", "not_configurable"},
		{"missing rule", edit(`"cooling_off":              {"auto": true,  "retention": false, "arrival": {"min_business_days": 1, "max_business_days": 3}},`, ``), "rules.cooling_off", "required"},
		{"min above max arrival", edit(`{"min_business_days": 1, "max_business_days": 3}`, `{"min_business_days": 4, "max_business_days": 3}`), "rules.cooling_off.arrival.min_business_days", "min_above_max"},
		{"arrival a year and more away", edit(`{"min_business_days": 1, "max_business_days": 3}`, `{"min_business_days": 1, "max_business_days": 400}`), "rules.cooling_off.arrival.max_business_days", "out_of_range"},
		{"missing auto", edit(`{"auto": true,  "retention": false, "arrival": {"min_business_days": 1`, `{"retention": false, "arrival": {"min_business_days": 1`), "rules.cooling_off.auto", "required"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.json))
			var e *refundflow.Error
			if !errors.As(err, &e) {
				t.Fatalf("error = %v, want a *refundflow.Error", err)
			}
			if e.Field != tc.field || e.Code != tc.code {
				t.Errorf("error %q: field %q code %q, want field %q code %q", e, e.Field, e.Code, tc.field, tc.code)
			}
		})
	}
}

func TestCheckCalendarNamesUnknownCalendars(t *testing.T) {
	p := Default()
	p.Calendar = "mars"
	err := p.CheckCalendar(calendar.NewRegistry())
	var e *refundflow.Error
	if !errors.As(err, &e) || e.Field != "calendar" || !strings.Contains(e.Message, "24x7, cn") {
		t.Fatalf("CheckCalendar = %v", err)
	}
}

func TestParseRef(t *testing.T) {
	name, v, err := ParseRef("default@1")
	if err != nil || name != "default" || v != 1 {
		t.Fatalf("ParseRef = %q %d %v", name, v, err)
	}
	for _, bad := range []string{"default", "default@", "@1", "default@0", "default@x", "Default@1"} {
		if _, _, err := ParseRef(bad); err == nil {
			t.Errorf("ParseRef(%q) accepted", bad)
		}
	}
}
