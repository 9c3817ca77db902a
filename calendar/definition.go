package calendar

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/refundflow/refundflow"
	"github.com/refundflow/refundflow/internal/jsonwalk"
)

// Definition is a calendar as data: the JSON shape of the embedded calendars,
// of calendar files and of PUT /v1/calendars/{name}. Example:
//
//	{"name": "cn", "time_zone": "Asia/Shanghai",
//	 "weekend": ["saturday", "sunday"],
//	 "business_hours": {"open": "09:00", "close": "17:30"},
//	 "years": {"2026": {"source": "国务院办公厅关于2026年部分节假日安排的通知 (2025-11-04)",
//	   "holidays": [{"name": "春节 Spring Festival", "from": "2026-02-15", "to": "2026-02-23"}],
//	   "workdays": ["2026-02-14", "2026-02-28"]}}}
type Definition struct {
	Name     string `json:"name"`
	TimeZone string `json:"time_zone"`
	// Weekend lists lower-case English day names that are not working days
	// unless a year makes them make-up workdays.
	Weekend []string `json:"weekend"`
	// BusinessHours, when set, limits business time to open–close (local
	// time) on every business day; without it a business day counts whole.
	BusinessHours *Hours `json:"business_hours"`
	// Years holds the published schedule per year. A calendar with no years
	// observes no public holidays at all (24x7, a plain weekday calendar);
	// one with some years falls back to plain weekdays outside them.
	Years map[int]Year `json:"years"`
}

// Hours is a daily opening window, "HH:MM" local time; Close may be "24:00".
type Hours struct {
	Open  string `json:"open"`
	Close string `json:"close"`
}

// Year is one year's published schedule.
type Year struct {
	// Source cites the official notice the dates come from.
	Source   string    `json:"source"`
	Holidays []Holiday `json:"holidays"`
	// Workdays are make-up working days (调休上班) that fall on a weekend.
	Workdays []Date `json:"workdays"`
}

// Holiday is a named run of days off, From to To inclusive.
type Holiday struct {
	Name string `json:"name"`
	From Date   `json:"from"`
	To   Date   `json:"to"`
}

var (
	namePattern  = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,62}$`)
	clockPattern = regexp.MustCompile(`^([01][0-9]|2[0-4]):([0-5][0-9])$`)
	dayNames     = map[string]time.Weekday{
		"sunday": time.Sunday, "monday": time.Monday, "tuesday": time.Tuesday, "wednesday": time.Wednesday,
		"thursday": time.Thursday, "friday": time.Friday, "saturday": time.Saturday,
	}
)

// Parse reads one calendar definition strictly: unknown fields, wrong types,
// bad dates, impossible schedules and unknown time zones are errors
// (*refundflow.Error with the JSON path in Field, every problem in Details).
func Parse(data []byte) (*Calendar, error) {
	tree, err := jsonwalk.Decode(data, "calendar")
	if err != nil {
		return nil, err
	}
	var w jsonwalk.Walker
	def := readDefinition(&w, tree)
	if err := w.Problems.Err(); err != nil {
		return nil, err
	}
	return New(def)
}

func readDefinition(w *jsonwalk.Walker, v any) Definition {
	var def Definition
	m, ok := w.Object(v, "", "name", "time_zone", "weekend", "business_hours", "years")
	if !ok {
		return def
	}
	def.Name = w.Str(m, "", "name", true)
	def.TimeZone = w.Str(m, "", "time_zone", true)
	if v, ok := w.Value(m, "", "weekend", true); ok {
		def.Weekend = []string{}
		for i, e := range w.Array(v, "weekend") {
			p := fmt.Sprintf("weekend[%d]", i)
			if s, ok := e.(string); ok {
				def.Weekend = append(def.Weekend, s)
			} else {
				w.Problems.Add(p, "invalid_type", "must be a day name such as \"saturday\"")
			}
		}
	}
	if v, ok := w.Value(m, "", "business_hours", false); ok {
		if h, ok := w.Object(v, "business_hours", "open", "close"); ok {
			def.BusinessHours = &Hours{
				Open:  w.Str(h, "business_hours", "open", true),
				Close: w.Str(h, "business_hours", "close", true),
			}
		}
	}
	if v, ok := w.Value(m, "", "years", true); ok {
		if ys, ok := v.(map[string]any); ok {
			def.Years = make(map[int]Year, len(ys))
			for key, yv := range ys {
				path := jsonwalk.Join("years", key)
				n, err := strconv.Atoi(key)
				if err != nil || n < 1000 || n > 9999 || key != strconv.Itoa(n) {
					w.Problems.Add(path, "invalid_year", "%q is not a year: want four digits such as \"2027\"", key)
					continue
				}
				def.Years[n] = readYear(w, yv, path)
			}
		} else {
			w.Problems.Add("years", "invalid_type", "must be an object keyed by year")
		}
	}
	return def
}

func readYear(w *jsonwalk.Walker, v any, path string) Year {
	var y Year
	m, ok := w.Object(v, path, "source", "holidays", "workdays")
	if !ok {
		return y
	}
	y.Source = w.Str(m, path, "source", true)
	if v, ok := w.Value(m, path, "holidays", false); ok {
		for i, e := range w.Array(v, jsonwalk.Join(path, "holidays")) {
			p := fmt.Sprintf("%s.holidays[%d]", path, i)
			h, ok := w.Object(e, p, "name", "from", "to")
			if !ok {
				continue
			}
			hol := Holiday{Name: w.Str(h, p, "name", false)}
			if v, ok := w.Value(h, p, "from", true); ok {
				hol.From = readDate(w, v, jsonwalk.Join(p, "from"))
			}
			if v, ok := w.Value(h, p, "to", false); ok {
				hol.To = readDate(w, v, jsonwalk.Join(p, "to"))
			}
			y.Holidays = append(y.Holidays, hol)
		}
	}
	if v, ok := w.Value(m, path, "workdays", false); ok {
		for i, e := range w.Array(v, jsonwalk.Join(path, "workdays")) {
			y.Workdays = append(y.Workdays, readDate(w, e, fmt.Sprintf("%s.workdays[%d]", path, i)))
		}
	}
	return y
}

func readDate(w *jsonwalk.Walker, v any, path string) Date {
	s, ok := v.(string)
	if !ok {
		w.Problems.Add(path, "invalid_type", "must be a date string YYYY-MM-DD")
		return Date{}
	}
	d, err := ParseDate(s)
	if err != nil {
		w.Problems.Add(path, "invalid_date", "%v", err)
	}
	return d
}

// New checks a definition and builds the calendar. A holiday without To is
// one day long. Errors are *refundflow.Error values naming the field.
func New(def Definition) (*Calendar, error) {
	var probs refundflow.Problems
	c := &Calendar{name: def.Name, tz: def.TimeZone, years: make(map[int]*year, len(def.Years))}

	if !namePattern.MatchString(def.Name) {
		probs.Add("name", "invalid_name", "%q must be 1-63 lower-case letters, digits, '-' or '_'", def.Name)
	}
	switch loc, err := time.LoadLocation(def.TimeZone); {
	case def.TimeZone == "" || def.TimeZone == "Local" || err != nil:
		probs.Add("time_zone", "unknown_time_zone", "%q is not an IANA time zone such as \"Asia/Shanghai\"", def.TimeZone)
	default:
		c.loc = loc
	}

	for i, name := range def.Weekend {
		wd, ok := dayNames[name]
		switch {
		case !ok:
			probs.Add(fmt.Sprintf("weekend[%d]", i), "invalid_day", "%q is not a day name such as \"saturday\"", name)
		case c.weekend[wd]:
			probs.Add(fmt.Sprintf("weekend[%d]", i), "duplicate_day", "%q is listed twice", name)
		default:
			c.weekend[wd] = true
		}
	}
	if len(def.Weekend) >= 7 && !slices.Contains(c.weekend[:], false) {
		probs.Add("weekend", "no_working_days", "a calendar needs at least one working day a week")
	}

	if h := def.BusinessHours; h != nil {
		open, okOpen := parseClock(h.Open)
		closing, okClose := parseClock(h.Close)
		if !okOpen {
			probs.Add("business_hours.open", "invalid_time", "%q is not a time of day HH:MM", h.Open)
		}
		if !okClose {
			probs.Add("business_hours.close", "invalid_time", "%q is not a time of day HH:MM (24:00 allowed)", h.Close)
		}
		if okOpen && okClose {
			if closing <= open {
				probs.Add("business_hours.close", "closes_before_opening", "closes at %s, not after it opens at %s", h.Close, h.Open)
			}
			c.hours = &window{open: open, close: closing}
		}
	}

	years := make([]int, 0, len(def.Years))
	for n := range def.Years {
		years = append(years, n)
	}
	slices.Sort(years)
	for _, n := range years {
		y, ok := compileYear(n, def.Years[n], c.weekend, &probs)
		if ok {
			c.years[n] = y
		}
	}

	if err := probs.Err(); err != nil {
		return nil, err
	}
	c.always = c.hours == nil && !slices.Contains(c.weekend[:], true) && !c.hasHolidays()
	return c, nil
}

// parseClock reads HH:MM into minutes after midnight; 24:00 is the end of the day.
func parseClock(s string) (int, bool) {
	m := clockPattern.FindStringSubmatch(s)
	if m == nil {
		return 0, false
	}
	h, _ := strconv.Atoi(m[1])
	mm, _ := strconv.Atoi(m[2])
	if h == 24 && mm != 0 {
		return 0, false
	}
	return h*60 + mm, true
}

func compileYear(n int, src Year, weekend [7]bool, probs *refundflow.Problems) (*year, bool) {
	path := jsonwalk.Join("years", strconv.Itoa(n))
	before := len(*probs)
	y := &year{src: Year{Source: src.Source}}
	if n < 1000 || n > 9999 {
		probs.Add(path, "invalid_year", "%d is not a four-digit year", n)
		return nil, false
	}
	if strings.TrimSpace(src.Source) == "" {
		probs.Add(jsonwalk.Join(path, "source"), "required", "cite the official notice the dates come from")
	}
	// where remembers which entry first claimed a date, to name both sides of a clash.
	where := map[Date]string{}
	for i, h := range src.Holidays {
		p := fmt.Sprintf("%s.holidays[%d]", path, i)
		if h.To.IsZero() {
			h.To = h.From
		}
		switch {
		case h.From.IsZero():
			probs.Add(jsonwalk.Join(p, "from"), "required", "required")
			continue
		case h.From.Year != n:
			probs.Add(jsonwalk.Join(p, "from"), "wrong_year", "%s is not in %d", h.From, n)
			continue
		case h.To.Year != n:
			probs.Add(jsonwalk.Join(p, "to"), "wrong_year", "%s is not in %d", h.To, n)
			continue
		case h.To.Before(h.From):
			probs.Add(jsonwalk.Join(p, "to"), "ends_before_start", "%s is before from %s", h.To, h.From)
			continue
		}
		for d := h.From; !d.After(h.To); d = d.AddDays(1) {
			if other, dup := where[d]; dup {
				probs.Add(p, "duplicate_date", "%s is already a holiday in %s", d, other)
				continue
			}
			where[d] = p
			y.kind[d.Month][d.Day] = dayOff
		}
		y.src.Holidays = append(y.src.Holidays, h)
	}
	for i, d := range src.Workdays {
		p := fmt.Sprintf("%s.workdays[%d]", path, i)
		switch other, dup := where[d]; {
		case d.IsZero():
			probs.Add(p, "required", "required")
		case d.Year != n:
			probs.Add(p, "wrong_year", "%s is not in %d", d, n)
		case dup && strings.Contains(other, ".holidays["):
			probs.Add(p, "holiday_and_workday", "%s is both a make-up workday and a holiday (%s)", d, other)
		case dup:
			probs.Add(p, "duplicate_date", "%s is already listed in %s", d, other)
		case !weekend[d.Weekday()]:
			probs.Add(p, "not_a_weekend_day", "%s is a %s, a working day already", d, d.Weekday())
		default:
			where[d] = p
			y.kind[d.Month][d.Day] = makeUpDay
			y.src.Workdays = append(y.src.Workdays, d)
		}
	}
	return y, len(*probs) == before
}

// Definition returns the calendar as data, so it can be stored or served.
func (c *Calendar) Definition() Definition {
	def := Definition{Name: c.name, TimeZone: c.tz, Weekend: []string{}, Years: make(map[int]Year, len(c.years))}
	for wd := time.Sunday; wd <= time.Saturday; wd++ {
		if c.weekend[wd] {
			def.Weekend = append(def.Weekend, strings.ToLower(wd.String()))
		}
	}
	if c.hours != nil {
		def.BusinessHours = &Hours{Open: formatClock(c.hours.open), Close: formatClock(c.hours.close)}
	}
	for n, y := range c.years {
		def.Years[n] = Year{
			Source:   y.src.Source,
			Holidays: slices.Clone(y.src.Holidays),
			Workdays: slices.Clone(y.src.Workdays),
		}
	}
	return def
}

func formatClock(min int) string {
	return fmt.Sprintf("%02d:%02d", min/60, min%60)
}
