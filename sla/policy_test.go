package sla

import (
	"errors"
	"math"
	"testing"
	"time"

	"github.com/refundflow/refundflow"
	"github.com/refundflow/refundflow/calendar"
)

func fraction(f float64) *float64 { return &f }

func TestParsePolicyReadsTheSpecShape(t *testing.T) {
	p, err := ParsePolicy(PolicyInput{Tier: "vip", Calendar: "24x7", FirstResponse: "5s", Resolution: "1h30m", WarnAt: fraction(0.8)}, calendar.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	want := Policy{Tier: VIP, Calendar: "24x7", FirstResponse: 5 * time.Second, Resolution: 90 * time.Minute, WarnAt: 0.8}
	if p != want {
		t.Fatalf("policy %+v, want %+v", p, want)
	}
	if j := p.JSON(); j.FirstResponse != "5s" || j.Resolution != "1h30m" {
		t.Fatalf("written back as %+v", j)
	}
}

// Bad input names the field and says what is wrong; every problem at once.
func TestParsePolicyRefusesBadInputWithTheFieldAndACode(t *testing.T) {
	good := PolicyInput{Tier: "free", Calendar: "cn", FirstResponse: "24h", Resolution: "72h", WarnAt: fraction(0.8)}
	cases := []struct {
		name        string
		edit        func(*PolicyInput)
		field, code string
		kind        refundflow.Kind
	}{
		{"unknown tier", func(p *PolicyInput) { p.Tier = "gold" }, "tier", "unknown_tier", refundflow.EINVALID},
		{"unknown calendar", func(p *PolicyInput) { p.Calendar = "mars" }, "calendar", "unknown_calendar", refundflow.EUNPROCESSABLE},
		{"no calendar", func(p *PolicyInput) { p.Calendar = "" }, "calendar", "missing_field", refundflow.EINVALID},
		{"duration that does not parse", func(p *PolicyInput) { p.FirstResponse = "24 hours" }, "first_response", "invalid_duration", refundflow.EINVALID},
		{"bare number", func(p *PolicyInput) { p.Resolution = "72" }, "resolution", "invalid_duration", refundflow.EINVALID},
		{"negative duration", func(p *PolicyInput) { p.Resolution = "-1h" }, "resolution", "duration_out_of_range", refundflow.EINVALID},
		{"zero duration", func(p *PolicyInput) { p.FirstResponse = "0s" }, "first_response", "duration_out_of_range", refundflow.EINVALID},
		{"sub-second duration", func(p *PolicyInput) { p.FirstResponse = "500ms" }, "first_response", "duration_out_of_range", refundflow.EINVALID},
		{"over a year", func(p *PolicyInput) { p.Resolution = "9000h" }, "resolution", "duration_out_of_range", refundflow.EINVALID},
		{"missing duration", func(p *PolicyInput) { p.Resolution = "" }, "resolution", "missing_field", refundflow.EINVALID},
		{"warn_at 0", func(p *PolicyInput) { p.WarnAt = fraction(0) }, "warn_at", "invalid_warn_at", refundflow.EINVALID},
		{"warn_at 1", func(p *PolicyInput) { p.WarnAt = fraction(1) }, "warn_at", "invalid_warn_at", refundflow.EINVALID},
		{"warn_at above 1", func(p *PolicyInput) { p.WarnAt = fraction(80) }, "warn_at", "invalid_warn_at", refundflow.EINVALID},
		{"warn_at negative", func(p *PolicyInput) { p.WarnAt = fraction(-0.2) }, "warn_at", "invalid_warn_at", refundflow.EINVALID},
		{"warn_at NaN", func(p *PolicyInput) { p.WarnAt = fraction(math.NaN()) }, "warn_at", "invalid_warn_at", refundflow.EINVALID},
		{"warn_at missing", func(p *PolicyInput) { p.WarnAt = nil }, "warn_at", "missing_field", refundflow.EINVALID},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			in := good
			tc.edit(&in)
			_, err := ParsePolicy(in, calendar.NewRegistry())
			var e *refundflow.Error
			if !errors.As(err, &e) || e.Field != tc.field || e.Code != tc.code || e.Kind != tc.kind {
				t.Fatalf("error %#v, want %s %s on %s", err, tc.kind, tc.code, tc.field)
			}
		})
	}
	_, err := ParsePolicy(PolicyInput{Tier: "gold", Calendar: "mars", FirstResponse: "x", Resolution: "y"}, calendar.NewRegistry())
	var e *refundflow.Error
	if !errors.As(err, &e) || len(e.Details) != 5 {
		t.Fatalf("want all five problems at once, got %v", err)
	}
}

func TestFormatDurationWritesTargetsAsPeopleDo(t *testing.T) {
	for d, want := range map[time.Duration]string{
		30 * time.Minute:          "30m",
		24 * time.Hour:            "24h",
		72 * time.Hour:            "72h",
		90 * time.Minute:          "1h30m",
		5 * time.Second:           "5s",
		time.Hour + 5*time.Second: "1h5s",
		1500 * time.Millisecond:   "1.5s",
		2*time.Hour + 3*time.Minute + 4*time.Second: "2h3m4s",
	} {
		if got := FormatDuration(d); got != want {
			t.Errorf("FormatDuration(%s) = %q, want %q", d, got, want)
		}
		if back, err := time.ParseDuration(FormatDuration(d)); err != nil || back != d {
			t.Errorf("%q does not parse back to %s", FormatDuration(d), d)
		}
	}
}
