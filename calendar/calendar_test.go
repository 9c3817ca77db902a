package calendar

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

func cn(t testing.TB) *Calendar {
	t.Helper()
	c, ok := Builtin("cn")
	if !ok {
		t.Fatal("no built-in cn calendar")
	}
	return c
}

func date(t testing.TB, s string) Date {
	t.Helper()
	d, err := ParseDate(s)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func at(t testing.TB, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func mustParse(t testing.TB, js string) *Calendar {
	t.Helper()
	c, err := Parse([]byte(js))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return c
}

// The notices name each make-up workday with its weekday; a typo in the data
// would silently move a working day, so every one is checked here.
func TestEmbeddedMakeUpWorkdaysFallOnTheWeekdaysTheNoticesName(t *testing.T) {
	cases := []struct {
		date string
		want time.Weekday
	}{
		{"2025-01-26", time.Sunday}, {"2025-02-08", time.Saturday}, {"2025-04-27", time.Sunday},
		{"2025-09-28", time.Sunday}, {"2025-10-11", time.Saturday},
		{"2026-01-04", time.Sunday}, {"2026-02-14", time.Saturday}, {"2026-02-28", time.Saturday},
		{"2026-05-09", time.Saturday}, {"2026-09-20", time.Sunday}, {"2026-10-10", time.Saturday},
	}
	c := cn(t)
	var listed []string
	for _, n := range c.KnownYears() {
		for _, d := range c.Definition().Years[n].Workdays {
			listed = append(listed, d.String())
		}
	}
	for _, tc := range cases {
		d := date(t, tc.date)
		if d.Weekday() != tc.want {
			t.Errorf("%s is a %s, the notice says %s", tc.date, d.Weekday(), tc.want)
		}
		if !c.IsBusinessDay(d) {
			t.Errorf("%s is a make-up workday but not a business day", tc.date)
		}
		if !slices.Contains(listed, tc.date) {
			t.Errorf("%s missing from the embedded data", tc.date)
		}
	}
	if len(listed) != len(cases) {
		t.Errorf("embedded data lists %d make-up workdays %v, the notices %d", len(listed), listed, len(cases))
	}
}

func TestEmbeddedHolidaysMatchTheNotices(t *testing.T) {
	periods := map[int][][2]string{
		2025: {{"2025-01-01", "2025-01-01"}, {"2025-01-28", "2025-02-04"}, {"2025-04-04", "2025-04-06"},
			{"2025-05-01", "2025-05-05"}, {"2025-05-31", "2025-06-02"}, {"2025-10-01", "2025-10-08"}},
		2026: {{"2026-01-01", "2026-01-03"}, {"2026-02-15", "2026-02-23"}, {"2026-04-04", "2026-04-06"},
			{"2026-05-01", "2026-05-05"}, {"2026-06-19", "2026-06-21"}, {"2026-09-25", "2026-09-27"},
			{"2026-10-01", "2026-10-07"}},
	}
	c := cn(t)
	def := c.Definition()
	for y, want := range periods {
		got := def.Years[y].Holidays
		if len(got) != len(want) {
			t.Fatalf("%d: %d holiday periods, want %d", y, len(got), len(want))
		}
		for i, p := range want {
			if got[i].From.String() != p[0] || got[i].To.String() != p[1] {
				t.Errorf("%d holiday %d = %s..%s, want %s..%s", y, i, got[i].From, got[i].To, p[0], p[1])
			}
			for d := date(t, p[0]); !d.After(date(t, p[1])); d = d.AddDays(1) {
				if c.IsBusinessDay(d) {
					t.Errorf("%s is a holiday but counted as a business day", d)
				}
			}
		}
		if def.Years[y].Source == "" {
			t.Errorf("%d cites no notice", y)
		}
	}
}

func TestBusinessDaysAroundSpringFestival2026(t *testing.T) {
	c := cn(t)
	cases := []struct {
		date     string
		business bool
	}{
		{"2026-02-13", true},  // Friday
		{"2026-02-14", true},  // Saturday, make-up workday
		{"2026-02-15", false}, // Sunday, first day off
		{"2026-02-18", false}, // Wednesday inside the holiday
		{"2026-02-23", false}, // Monday, last day off
		{"2026-02-24", true},  // Tuesday, back to work
		{"2026-02-27", true},  // Friday
		{"2026-02-28", true},  // Saturday, make-up workday
		{"2026-03-01", false}, // plain Sunday
	}
	for _, tc := range cases {
		if got := c.IsBusinessDay(date(t, tc.date)); got != tc.business {
			t.Errorf("IsBusinessDay(%s) = %v, want %v", tc.date, got, tc.business)
		}
	}
}

func TestAddBusinessDaysCountsStrictlyAfterTheDate(t *testing.T) {
	c := cn(t)
	cases := []struct {
		name, from string
		n          int
		want       string
	}{
		{"plain week", "2026-03-10", 1, "2026-03-11"},
		{"Friday +1 is Monday", "2026-03-13", 1, "2026-03-16"},
		{"from a Sunday the count starts Monday", "2026-03-15", 1, "2026-03-16"},
		{"zero is the date itself", "2026-02-15", 0, "2026-02-15"},
		{"Spring Festival: Friday +1 is the make-up Saturday", "2026-02-13", 1, "2026-02-14"},
		{"Spring Festival: Friday +2 skips Feb 15-23", "2026-02-13", 2, "2026-02-24"},
		{"Spring Festival: Friday +5", "2026-02-13", 5, "2026-02-27"},
		{"Spring Festival: make-up Saturday Feb 28 counts", "2026-02-25", 3, "2026-02-28"},
		{"inside the holiday the count starts after it", "2026-02-17", 1, "2026-02-24"},
		{"National Day: make-up Sunday Sep 20 counts", "2026-09-18", 1, "2026-09-20"},
		{"National Day: Wednesday Sep 30 +1 skips Oct 1-7", "2026-09-30", 1, "2026-10-08"},
		{"National Day: make-up Saturday Oct 10", "2026-09-30", 3, "2026-10-10"},
		{"National Day: +5", "2026-09-30", 5, "2026-10-13"},
		{"Mid-Autumn Sep 25-27 then work", "2026-09-24", 1, "2026-09-28"},
		{"2025 Spring Festival: Friday Jan 24 +1 is make-up Sunday Jan 26", "2025-01-24", 1, "2025-01-26"},
		{"2025 Spring Festival: +2 is Jan 27, then Feb 5", "2025-01-24", 3, "2025-02-05"},
		{"2025 National Day: Tuesday Sep 30 +1 is Oct 9", "2025-09-30", 1, "2025-10-09"},
		{"2025 National Day: make-up Saturday Oct 11", "2025-09-30", 3, "2025-10-11"},
		{"backwards over the holiday", "2026-02-24", -1, "2026-02-14"},
		{"New Year 2026: Dec 31 +1 skips Jan 1-3 to make-up Sunday Jan 4", "2025-12-31", 1, "2026-01-04"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := c.AddBusinessDays(date(t, tc.from), tc.n).String(); got != tc.want {
				t.Errorf("AddBusinessDays(%s, %d) = %s, want %s", tc.from, tc.n, got, tc.want)
			}
		})
	}
}

func TestYearsWithoutDataFallBackToWeekdaysAndSaySo(t *testing.T) {
	c := cn(t)
	// 2027-01-01 is a Friday: without data it is an ordinary working day.
	if !c.IsBusinessDay(date(t, "2027-01-01")) {
		t.Error("2027-01-01 (no data) should fall back to a weekday")
	}
	from := date(t, "2026-12-31")
	got := c.AddBusinessDays(from, 3)
	if got.String() != "2027-01-05" {
		t.Errorf("AddBusinessDays = %s, want 2027-01-05", got)
	}
	if fb := c.FallbackYears(from.AddDays(1), got); !slices.Equal(fb, []int{2027}) {
		t.Errorf("FallbackYears = %v, want [2027]", fb)
	}
	if fb := c.FallbackYears(date(t, "2026-02-13"), date(t, "2026-02-27")); fb != nil {
		t.Errorf("FallbackYears inside known data = %v, want none", fb)
	}
	if fb := c.FallbackYears(date(t, "2028-03-01"), date(t, "2024-06-01")); !slices.Equal(fb, []int{2024, 2027, 2028}) {
		t.Errorf("FallbackYears reversed span = %v, want [2024 2027 2028]", fb)
	}
	always, _ := Builtin("24x7")
	if fb := always.FallbackYears(date(t, "2030-01-01"), date(t, "2031-01-01")); fb != nil {
		t.Errorf("24x7 observes no holidays, yet FallbackYears = %v", fb)
	}
}

func TestDateOfIsTheLocalDateInTheCalendarZone(t *testing.T) {
	c := cn(t)
	cases := []struct{ instant, want string }{
		{"2026-02-13T15:59:59Z", "2026-02-13"},
		{"2026-02-13T16:00:00Z", "2026-02-14"}, // midnight in Shanghai
		{"2026-02-13T23:30:00Z", "2026-02-14"},
		{"2026-02-14T07:30:00+08:00", "2026-02-14"},
	}
	for _, tc := range cases {
		if got := c.DateOf(at(t, tc.instant)).String(); got != tc.want {
			t.Errorf("DateOf(%s) = %s, want %s", tc.instant, got, tc.want)
		}
	}
}

func TestBusinessHoursClock(t *testing.T) {
	c := cn(t) // 09:00-17:30 Asia/Shanghai
	cases := []struct {
		name, start string
		d           time.Duration
		want        string
	}{
		{"inside hours", "2026-03-10T10:00:00+08:00", 2 * time.Hour, "2026-03-10T12:00:00+08:00"},
		{"runs out exactly at closing", "2026-03-10T15:30:00+08:00", 2 * time.Hour, "2026-03-10T17:30:00+08:00"},
		{"carries over to the next morning", "2026-03-10T17:00:00+08:00", time.Hour, "2026-03-11T09:30:00+08:00"},
		{"starts before opening", "2026-03-10T06:00:00+08:00", time.Hour, "2026-03-10T10:00:00+08:00"},
		{"starts after closing", "2026-03-10T20:00:00+08:00", time.Hour, "2026-03-11T10:00:00+08:00"},
		{"starts on a Sunday", "2026-03-15T11:00:00+08:00", time.Hour, "2026-03-16T10:00:00+08:00"},
		{"Friday 17:00 before Qingming (Apr 4-6)", "2026-04-03T17:00:00+08:00", time.Hour, "2026-04-07T09:30:00+08:00"},
		{"Friday 17:00 before Spring Festival works the make-up Saturday", "2026-02-13T17:00:00+08:00", 2 * time.Hour, "2026-02-14T10:30:00+08:00"},
		{"Saturday Feb 14 17:00 waits until Feb 24", "2026-02-14T17:00:00+08:00", time.Hour, "2026-02-24T09:30:00+08:00"},
		{"Wednesday Sep 30 17:00 before National Day", "2026-09-30T17:00:00+08:00", 8*time.Hour + 30*time.Minute, "2026-10-08T17:00:00+08:00"},
		{"24 business hours from Friday noon", "2026-03-13T12:00:00+08:00", 24 * time.Hour, "2026-03-18T10:30:00+08:00"},
		{"start in UTC is read in Shanghai", "2026-03-10T01:00:00Z", time.Hour, "2026-03-10T10:00:00+08:00"},
		{"zero duration ends at start", "2026-03-15T11:00:00+08:00", 0, "2026-03-15T11:00:00+08:00"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			start := at(t, tc.start)
			got := c.AddBusinessTime(start, tc.d)
			if !got.Equal(at(t, tc.want)) {
				t.Errorf("AddBusinessTime(%s, %v) = %s, want %s", tc.start, tc.d, got.Format(time.RFC3339), tc.want)
			}
			if tc.d > 0 {
				if back := c.BusinessTimeBetween(start, got); back != tc.d {
					t.Errorf("BusinessTimeBetween = %v, want %v", back, tc.d)
				}
			}
		})
	}
}

func TestBusinessTimeBetween(t *testing.T) {
	c := cn(t)
	cases := []struct {
		a, b string
		want time.Duration
	}{
		{"2026-03-10T09:00:00+08:00", "2026-03-10T17:30:00+08:00", 8*time.Hour + 30*time.Minute},
		{"2026-03-13T17:00:00+08:00", "2026-03-16T09:30:00+08:00", time.Hour},
		{"2026-03-14T00:00:00+08:00", "2026-03-15T23:59:00+08:00", 0},                 // weekend
		{"2026-02-14T00:00:00+08:00", "2026-02-24T00:00:00+08:00", 510 * time.Minute}, // only the make-up Saturday
		{"2026-03-10T12:00:00+08:00", "2026-03-10T10:00:00+08:00", -2 * time.Hour},
	}
	for _, tc := range cases {
		if got := c.BusinessTimeBetween(at(t, tc.a), at(t, tc.b)); got != tc.want {
			t.Errorf("BusinessTimeBetween(%s, %s) = %v, want %v", tc.a, tc.b, got, tc.want)
		}
	}
}

func TestIsOpen(t *testing.T) {
	c := cn(t)
	cases := []struct {
		t    string
		open bool
	}{
		{"2026-03-10T09:00:00+08:00", true},
		{"2026-03-10T17:29:59+08:00", true},
		{"2026-03-10T17:30:00+08:00", false},
		{"2026-03-10T08:59:59+08:00", false},
		{"2026-02-14T10:00:00+08:00", true},  // make-up Saturday
		{"2026-02-16T10:00:00+08:00", false}, // Spring Festival Monday
	}
	for _, tc := range cases {
		if got := c.IsOpen(at(t, tc.t)); got != tc.open {
			t.Errorf("IsOpen(%s) = %v", tc.t, got)
		}
	}
}

func TestWholeDayCalendarCountsEachBusinessDayWhole(t *testing.T) {
	c := mustParse(t, `{"name": "weekdays", "time_zone": "UTC", "weekend": ["saturday", "sunday"], "years": {}}`)
	start := at(t, "2026-03-13T20:00:00Z") // Friday evening
	if got := c.AddBusinessTime(start, 6*time.Hour); !got.Equal(at(t, "2026-03-16T02:00:00Z")) {
		t.Errorf("AddBusinessTime = %s, want Monday 02:00", got)
	}
	if got := c.AddBusinessTime(at(t, "2026-03-14T10:00:00Z"), 48*time.Hour); !got.Equal(at(t, "2026-03-18T00:00:00Z")) {
		t.Errorf("48 business hours from Saturday = %s, want Wednesday 00:00", got)
	}
	if got := c.BusinessTimeBetween(at(t, "2026-03-13T00:00:00Z"), at(t, "2026-03-20T00:00:00Z")); got != 5*24*time.Hour {
		t.Errorf("one week = %v, want 120h", got)
	}
}

func TestTwentyFourSevenIsPlainTimeArithmetic(t *testing.T) {
	c, ok := Builtin("24x7")
	if !ok {
		t.Fatal("no 24x7 calendar")
	}
	start := at(t, "2026-02-14T23:30:00+08:00")
	for _, d := range []time.Duration{time.Minute, 30 * time.Minute, 4 * time.Hour, 24 * time.Hour, 90 * 24 * time.Hour} {
		if got := c.AddBusinessTime(start, d); !got.Equal(start.Add(d)) {
			t.Errorf("AddBusinessTime(+%v) = %s, want %s", d, got, start.Add(d))
		}
		if got := c.BusinessTimeBetween(start, start.Add(d)); got != d {
			t.Errorf("BusinessTimeBetween over %v = %v", d, got)
		}
	}
	if !c.IsBusinessDay(date(t, "2026-02-17")) || !c.IsOpen(start) {
		t.Error("24x7 must count holidays and nights")
	}
	if c.Location() != time.UTC {
		t.Errorf("24x7 zone = %v, want UTC", c.Location())
	}
}

// New York changes clocks on Sunday 2026-03-08 (02:00 → 03:00) and Sunday
// 2026-11-01 (02:00 → 01:00); business time is real elapsed time.
func TestBusinessTimeIsRealElapsedTimeAcrossDST(t *testing.T) {
	ny := mustParse(t, `{"name": "ny-night", "time_zone": "America/New_York", "weekend": [],
		"business_hours": {"open": "01:00", "close": "04:00"}, "years": {}}`)
	loc := ny.Location()
	springDay := time.Date(2026, 3, 8, 1, 0, 0, 0, loc)
	if got := ny.BusinessTimeBetween(springDay, time.Date(2026, 3, 8, 4, 0, 0, 0, loc)); got != 2*time.Hour {
		t.Errorf("spring-forward window = %v, want 2h", got)
	}
	if got := ny.AddBusinessTime(springDay, 150*time.Minute); !got.Equal(time.Date(2026, 3, 9, 1, 30, 0, 0, loc)) {
		t.Errorf("spring-forward carry-over = %s, want 2026-03-09 01:30", got)
	}
	fallDay := time.Date(2026, 11, 1, 1, 0, 0, 0, loc)
	if got := ny.AddBusinessTime(fallDay, 4*time.Hour); !got.Equal(fallDay.Add(4 * time.Hour)) {
		t.Errorf("fall-back window should hold 4 real hours, ends %s", got)
	}

	wholeDays := mustParse(t, `{"name": "ny", "time_zone": "America/New_York", "weekend": ["saturday"], "years": {}}`)
	sunday := time.Date(2026, 3, 8, 0, 0, 0, 0, loc)
	if got := wholeDays.BusinessTimeBetween(sunday, time.Date(2026, 3, 9, 0, 0, 0, 0, loc)); got != 23*time.Hour {
		t.Errorf("the spring-forward day holds %v of business time, want 23h", got)
	}
	if got := wholeDays.AddBusinessTime(sunday, 24*time.Hour); !got.Equal(time.Date(2026, 3, 9, 1, 0, 0, 0, loc)) {
		t.Errorf("24 business hours from the spring-forward midnight end %s, want Monday 01:00", got)
	}
}

func TestRoundTripOverMonthsOfRandomClocks(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	cals := []*Calendar{
		cn(t),
		mustParse(t, `{"name": "ny", "time_zone": "America/New_York", "weekend": ["saturday", "sunday"],
			"business_hours": {"open": "08:30", "close": "18:00"}, "years": {}}`),
		mustParse(t, `{"name": "days", "time_zone": "Europe/Berlin", "weekend": ["sunday"], "years": {}}`),
	}
	base := at(t, "2024-11-01T00:00:00Z")
	for _, c := range cals {
		for range 300 {
			start := base.Add(time.Duration(rng.Int64N(int64(3 * 365 * 24 * time.Hour))))
			d := time.Duration(rng.Int64N(int64(120 * 24 * time.Hour)))
			end := c.AddBusinessTime(start, d)
			if got := c.BusinessTimeBetween(start, end); got != d {
				t.Fatalf("%s: BusinessTimeBetween(%s, AddBusinessTime(+%v) = %s) = %v", c.Name(), start, d, end, got)
			}
		}
	}
}

func FuzzBusinessTimeRoundTrip(f *testing.F) {
	f.Add(int64(1771207200), int64(3600), uint8(0))    // 2026-02-16 10:00 Shanghai, inside Spring Festival
	f.Add(int64(1775206800), int64(3600), uint8(0))    // Friday 2026-04-03 17:00 Shanghai, before Qingming
	f.Add(int64(1772949600), int64(9000), uint8(1))    // 2026-03-08 01:00 New York, the spring-forward night
	f.Add(int64(1798761600), int64(8640000), uint8(0)) // 2027-01-01, no holiday data, 100 days
	cals := []*Calendar{
		cn(f),
		mustParse(f, `{"name": "ny-night", "time_zone": "America/New_York", "weekend": [],
			"business_hours": {"open": "01:00", "close": "04:00"}, "years": {}}`),
		mustParse(f, `{"name": "ny", "time_zone": "America/New_York", "weekend": ["saturday", "sunday"], "years": {}}`),
	}
	f.Fuzz(func(t *testing.T, unix, seconds int64, which uint8) {
		c := cals[int(which)%len(cals)]
		// Keep to 2024-2033, where real clocks run, and at most a year of business time.
		const lo, span = 1704067200, 10 * 365 * 86400
		if unix < lo || unix >= lo+span {
			unix = lo + abs(unix%span)
		}
		start := time.Unix(unix, 0)
		d := time.Duration(abs(seconds%(365*86400))) * time.Second
		end := c.AddBusinessTime(start, d)
		if end.Before(start) {
			t.Fatalf("%s: end %s before start %s", c.Name(), end, start)
		}
		if got := c.BusinessTimeBetween(start, end); got != d {
			t.Fatalf("%s: BusinessTimeBetween(%s, %s) = %v, want %v", c.Name(), start, end, got, d)
		}
	})
}

func abs(n int64) int64 {
	if n < 0 {
		return -n
	}
	return n
}

func BenchmarkAddBusinessTimeSixMonths(b *testing.B) {
	c := cn(b)
	start := at(b, "2026-01-05T10:00:00+08:00")
	d := 125 * 510 * time.Minute // about six months of 8.5-hour business days
	for b.Loop() {
		c.AddBusinessTime(start, d)
	}
}
