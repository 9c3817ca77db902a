package calendar

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/refundflow/refundflow"
)

const validYear2027 = `{"name": "cn", "time_zone": "Asia/Shanghai", "weekend": ["saturday", "sunday"],
	"business_hours": {"open": "09:00", "close": "17:30"},
	"years": {"2027": {"source": "test notice",
		"holidays": [{"name": "元旦", "from": "2027-01-01"}, {"name": "春节", "from": "2027-02-06", "to": "2027-02-12"}],
		"workdays": ["2027-02-20"]}}}`

func TestParseRejectsBadCalendarsNamingTheField(t *testing.T) {
	cases := []struct {
		name, json, field, code string
	}{
		{"not JSON", `{`, "", "invalid_json"},
		{"trailing data", `{} {}`, "", "invalid_json"},
		{"not an object", `[]`, "", "invalid_type"},
		{"unknown top-level field", `{"name": "x", "time_zone": "UTC", "weekend": [], "years": {}, "holiday": []}`, "holiday", "unknown_field"},
		{"missing name", `{"time_zone": "UTC", "weekend": [], "years": {}}`, "name", "required"},
		{"bad name", `{"name": "Not Ok", "time_zone": "UTC", "weekend": [], "years": {}}`, "name", "invalid_name"},
		{"unknown zone", `{"name": "x", "time_zone": "Mars/Olympus", "weekend": [], "years": {}}`, "time_zone", "unknown_time_zone"},
		{"Local is not a zone", `{"name": "x", "time_zone": "Local", "weekend": [], "years": {}}`, "time_zone", "unknown_time_zone"},
		{"zone of the wrong type", `{"name": "x", "time_zone": 8, "weekend": [], "years": {}}`, "time_zone", "invalid_type"},
		{"unknown weekday", `{"name": "x", "time_zone": "UTC", "weekend": ["sat"], "years": {}}`, "weekend[0]", "invalid_day"},
		{"weekday twice", `{"name": "x", "time_zone": "UTC", "weekend": ["sunday", "sunday"], "years": {}}`, "weekend[1]", "duplicate_day"},
		{"no working day", `{"name": "x", "time_zone": "UTC", "weekend": ["sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"], "years": {}}`, "weekend", "no_working_days"},
		{"hours end before they start", `{"name": "x", "time_zone": "UTC", "weekend": [], "business_hours": {"open": "17:30", "close": "09:00"}, "years": {}}`, "business_hours.close", "closes_before_opening"},
		{"empty hours", `{"name": "x", "time_zone": "UTC", "weekend": [], "business_hours": {"open": "09:00", "close": "09:00"}, "years": {}}`, "business_hours.close", "closes_before_opening"},
		{"bad clock", `{"name": "x", "time_zone": "UTC", "weekend": [], "business_hours": {"open": "9am", "close": "17:00"}, "years": {}}`, "business_hours.open", "invalid_time"},
		{"past midnight", `{"name": "x", "time_zone": "UTC", "weekend": [], "business_hours": {"open": "09:00", "close": "24:30"}, "years": {}}`, "business_hours.close", "invalid_time"},
		{"unknown field in hours", `{"name": "x", "time_zone": "UTC", "weekend": [], "business_hours": {"open": "09:00", "close": "17:00", "lunch": "12:00"}, "years": {}}`, "business_hours.lunch", "unknown_field"},
		{"year key not a year", `{"name": "x", "time_zone": "UTC", "weekend": [], "years": {"27": {"source": "s"}}}`, "years.27", "invalid_year"},
		{"year key with a leading zero", `{"name": "x", "time_zone": "UTC", "weekend": [], "years": {"0999": {"source": "s"}}}`, "years.0999", "invalid_year"},
		{"year without source", `{"name": "x", "time_zone": "UTC", "weekend": [], "years": {"2027": {"holidays": []}}}`, "years.2027.source", "required"},
		{"bad date", `{"name": "x", "time_zone": "UTC", "weekend": [], "years": {"2027": {"source": "s", "holidays": [{"from": "2027-02-30"}]}}}`, "years.2027.holidays[0].from", "invalid_date"},
		{"holiday in another year", `{"name": "x", "time_zone": "UTC", "weekend": [], "years": {"2027": {"source": "s", "holidays": [{"from": "2026-12-31"}]}}}`, "years.2027.holidays[0].from", "wrong_year"},
		{"holiday running into the next year", `{"name": "x", "time_zone": "UTC", "weekend": [], "years": {"2027": {"source": "s", "holidays": [{"from": "2027-12-31", "to": "2028-01-01"}]}}}`, "years.2027.holidays[0].to", "wrong_year"},
		{"holiday ending before it starts", `{"name": "x", "time_zone": "UTC", "weekend": [], "years": {"2027": {"source": "s", "holidays": [{"from": "2027-05-05", "to": "2027-05-01"}]}}}`, "years.2027.holidays[0].to", "ends_before_start"},
		{"overlapping holidays", `{"name": "x", "time_zone": "UTC", "weekend": [], "years": {"2027": {"source": "s", "holidays": [{"from": "2027-05-01", "to": "2027-05-05"}, {"from": "2027-05-05"}]}}}`, "years.2027.holidays[1]", "duplicate_date"},
		{"unknown field in a holiday", `{"name": "x", "time_zone": "UTC", "weekend": [], "years": {"2027": {"source": "s", "holidays": [{"from": "2027-05-01", "until": "2027-05-05"}]}}}`, "years.2027.holidays[0].until", "unknown_field"},
		{"both holiday and workday", `{"name": "x", "time_zone": "UTC", "weekend": ["saturday", "sunday"], "years": {"2027": {"source": "s", "holidays": [{"from": "2027-02-06", "to": "2027-02-12"}], "workdays": ["2027-02-06"]}}}`, "years.2027.workdays[0]", "holiday_and_workday"},
		{"workday in another year", `{"name": "x", "time_zone": "UTC", "weekend": ["saturday", "sunday"], "years": {"2027": {"source": "s", "workdays": ["2026-02-14"]}}}`, "years.2027.workdays[0]", "wrong_year"},
		{"workday that is a weekday already", `{"name": "x", "time_zone": "UTC", "weekend": ["saturday", "sunday"], "years": {"2027": {"source": "s", "workdays": ["2027-02-17"]}}}`, "years.2027.workdays[0]", "not_a_weekend_day"},
		{"workday twice", `{"name": "x", "time_zone": "UTC", "weekend": ["saturday", "sunday"], "years": {"2027": {"source": "s", "workdays": ["2027-02-20", "2027-02-20"]}}}`, "years.2027.workdays[1]", "duplicate_date"},
		{"workday not a string", `{"name": "x", "time_zone": "UTC", "weekend": [], "years": {"2027": {"source": "s", "workdays": [20270220]}}}`, "years.2027.workdays[0]", "invalid_type"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.json))
			var e *refundflow.Error
			if !errors.As(err, &e) {
				t.Fatalf("Parse error = %v, want a *refundflow.Error", err)
			}
			if e.Field != tc.field || e.Code != tc.code || e.Kind != refundflow.EINVALID {
				t.Errorf("error = %q (field %q, code %q), want field %q code %q", e, e.Field, e.Code, tc.field, tc.code)
			}
		})
	}
}

func TestParseReportsEveryProblemAtOnce(t *testing.T) {
	_, err := Parse([]byte(`{"name": "", "time_zone": "Nowhere", "weekend": ["funday"], "years": {}}`))
	var e *refundflow.Error
	if !errors.As(err, &e) || len(e.Details) != 3 {
		t.Fatalf("err = %v, want three problems", err)
	}
}

func TestMergingALoadedYearAddsItAndReplacesTheSameYear(t *testing.T) {
	r := NewRegistry()
	loaded := mustParse(t, validYear2027)
	merged := r.Merge(loaded)
	if got := merged.KnownYears(); !reflect.DeepEqual(got, []int{2025, 2026, 2027}) {
		t.Fatalf("years after merge = %v", got)
	}
	if c, _ := r.Get("cn"); c != merged {
		t.Fatal("registry does not serve the merged calendar")
	}
	if merged.IsBusinessDay(date(t, "2027-02-08")) || !merged.IsBusinessDay(date(t, "2027-02-20")) {
		t.Error("2027 data not applied")
	}
	if merged.IsBusinessDay(date(t, "2026-02-16")) {
		t.Error("2026 data lost by the merge")
	}
	if fb := merged.FallbackYears(date(t, "2027-01-01"), date(t, "2027-12-31")); fb != nil {
		t.Errorf("2027 still falls back: %v", fb)
	}

	// Loading 2026 again replaces the whole year, not just the listed days.
	replacement := mustParse(t, `{"name": "cn", "time_zone": "Asia/Shanghai", "weekend": ["saturday", "sunday"],
		"business_hours": {"open": "09:00", "close": "17:30"},
		"years": {"2026": {"source": "corrected notice", "holidays": [{"from": "2026-10-01", "to": "2026-10-07"}]}}}`)
	again := r.Merge(replacement)
	if !again.IsBusinessDay(date(t, "2026-02-16")) {
		t.Error("replaced 2026 still has the old Spring Festival")
	}
	if again.IsBusinessDay(date(t, "2026-10-05")) || again.IsBusinessDay(date(t, "2026-02-14")) {
		t.Error("replacement 2026 not in force")
	}
	if !reflect.DeepEqual(again.KnownYears(), []int{2025, 2026, 2027}) {
		t.Errorf("years = %v", again.KnownYears())
	}
	if orig, _ := Builtin("cn"); !orig.IsBusinessDay(date(t, "2026-02-14")) {
		t.Error("merging changed the shared built-in calendar")
	}
}

func TestDefinitionRoundTripsThroughJSON(t *testing.T) {
	for _, name := range []string{"cn", "24x7"} {
		c, _ := Builtin(name)
		data, err := json.Marshal(c.Definition())
		if err != nil {
			t.Fatal(err)
		}
		back, err := Parse(data)
		if err != nil {
			t.Fatalf("%s: Parse(Marshal(Definition())) = %v\n%s", name, err, data)
		}
		if !reflect.DeepEqual(back.Definition(), c.Definition()) {
			t.Errorf("%s: round trip changed the calendar", name)
		}
	}
}

func TestRegistryServesConcurrentReadersWhileCalendarsAreReplaced(t *testing.T) {
	r := NewRegistry()
	if got := r.Names(); !reflect.DeepEqual(got, []string{"24x7", "cn"}) {
		t.Fatalf("Names = %v", got)
	}
	loaded := mustParse(t, validYear2027)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for range 200 {
				if i == 0 {
					r.Merge(loaded)
					r.Put(cn(t))
					continue
				}
				c, ok := r.Get("cn")
				if !ok || c.AddBusinessDays(date(t, "2026-02-13"), 2) != (Date{2026, time.February, 24}) {
					t.Error("reader saw a broken calendar")
					return
				}
			}
		})
	}
	wg.Wait()
}

func FuzzParse(f *testing.F) {
	for _, name := range []string{"cn.json", "24x7.json"} {
		data, err := builtinFiles.ReadFile("data/" + name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte(validYear2027))
	f.Add([]byte(`{"name": "x", "time_zone": "UTC", "weekend": [], "business_hours": {"open": "00:00", "close": "24:00"}, "years": {"2030": {"source": "s"}}}`))
	f.Add([]byte(`{"years": {"2027": {"holidays": [{"from": "2027-01-01", "to": null}], "workdays": [null, 1]}}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse(data)
		if err != nil {
			var e *refundflow.Error
			if !errors.As(err, &e) || strings.TrimSpace(e.Error()) == "" {
				t.Fatalf("error without a field-naming *refundflow.Error: %v", err)
			}
			return
		}
		// A calendar that parses must be usable: arithmetic terminates and is consistent.
		start := time.Date(2026, 2, 13, 17, 0, 0, 0, c.Location())
		end := c.AddBusinessTime(start, 40*time.Hour)
		if got := c.BusinessTimeBetween(start, end); got != 40*time.Hour {
			t.Fatalf("round trip = %v", got)
		}
		c.AddBusinessDays(c.DateOf(start), 10)
		if _, err := Parse(mustJSON(t, c.Definition())); err != nil {
			t.Fatalf("definition of a parsed calendar does not parse: %v", err)
		}
	})
}

func mustJSON(t *testing.T, v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
