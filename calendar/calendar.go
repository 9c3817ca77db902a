// Package calendar says which days and hours are business time, so that
// refund arrival dates ("3–5 business days") and SLA clocks ("24 business
// hours") mean the same thing everywhere.
//
// A Calendar has a time zone, weekend days, each year's public holidays and
// make-up working days (调休上班) as published, and optional daily business
// hours. The built-in "cn" calendar carries the State Council schedules for
// 2025 and 2026 with business hours 09:00–17:30 Asia/Shanghai; "24x7" is
// UTC with every instant counted. Years without published data fall back to
// plain weekdays, and FallbackYears says when an answer relied on that.
//
// Calendars are immutable values, safe for concurrent use; a Registry holds
// the current calendar for each name and can swap it at run time.
package calendar

import (
	"slices"
	"time"
	_ "time/tzdata" // zones must resolve on machines without a system zoneinfo
)

// Calendar answers business-day and business-time questions for one place.
type Calendar struct {
	name    string
	tz      string
	loc     *time.Location
	weekend [7]bool
	hours   *window
	years   map[int]*year
	// always marks a calendar where every instant is business time, so
	// arithmetic is plain time arithmetic.
	always bool
}

// window is the daily opening, in minutes after local midnight.
type window struct {
	open, close int
}

type dayKind uint8

const (
	ordinary  dayKind = iota // decided by the weekend
	dayOff                   // public holiday
	makeUpDay                // weekend day worked instead (调休上班)
)

type year struct {
	src  Year
	kind [13][32]dayKind
}

// Name returns the calendar's name, e.g. "cn".
func (c *Calendar) Name() string { return c.name }

// Location returns the calendar's time zone.
func (c *Calendar) Location() *time.Location { return c.loc }

// KnownYears returns the years that have published data, in order.
func (c *Calendar) KnownYears() []int {
	ys := make([]int, 0, len(c.years))
	for n := range c.years {
		ys = append(ys, n)
	}
	slices.Sort(ys)
	return ys
}

// DateOf returns the local date of t in the calendar's zone: 2026-02-13T17:00Z
// is already 2026-02-14 in Asia/Shanghai.
func (c *Calendar) DateOf(t time.Time) Date {
	return dateOf(t.In(c.loc))
}

// IsBusinessDay reports whether d is a working day: not a holiday, and either
// not a weekend day or a make-up workday. Years without data count as plain
// weekdays.
func (c *Calendar) IsBusinessDay(d Date) bool {
	if y, ok := c.years[d.Year]; ok && d.Month >= time.January && d.Month <= time.December && d.Day >= 1 && d.Day <= 31 {
		switch y.kind[d.Month][d.Day] {
		case dayOff:
			return false
		case makeUpDay:
			return true
		}
	}
	return !c.weekend[d.Weekday()]
}

// FallbackYears returns, in order, the years between from and to (inclusive,
// either order) for which the calendar has no published data, so that an
// answer computed over that span assumed plain weekdays. It is nil for a
// calendar that observes no holidays at all (no years, like 24x7).
func (c *Calendar) FallbackYears(from, to Date) []int {
	if len(c.years) == 0 {
		return nil
	}
	lo, hi := from.Year, to.Year
	if lo > hi {
		lo, hi = hi, lo
	}
	var out []int
	for n := lo; n <= hi; n++ {
		if _, ok := c.years[n]; !ok {
			out = append(out, n)
		}
	}
	return out
}

// AddBusinessDays returns the n-th business day strictly after d (strictly
// before for negative n; d itself for 0). FallbackYears(d, result) says
// whether the answer assumed plain weekdays somewhere.
func (c *Calendar) AddBusinessDays(d Date, n int) Date {
	step := 1
	if n < 0 {
		step, n = -1, -n
	}
	for n > 0 {
		d = d.AddDays(step)
		if c.IsBusinessDay(d) {
			n--
		}
	}
	return d
}

// openWindow returns the business interval [open, close) of local date d, or
// ok=false when d has none. Without business hours a business day is open
// from local midnight to the next, which is 23 or 25 hours across a DST change.
func (c *Calendar) openWindow(d Date) (open, close time.Time, ok bool) {
	if !c.IsBusinessDay(d) {
		return time.Time{}, time.Time{}, false
	}
	if c.hours == nil {
		return d.In(c.loc), d.AddDays(1).In(c.loc), true
	}
	open = time.Date(d.Year, d.Month, d.Day, 0, c.hours.open, 0, 0, c.loc)
	close = time.Date(d.Year, d.Month, d.Day, 0, c.hours.close, 0, 0, c.loc)
	// A DST jump inside the window can normalise the ends past each other.
	return open, close, open.Before(close)
}

// IsOpen reports whether t is business time.
func (c *Calendar) IsOpen(t time.Time) bool {
	if c.always {
		return true
	}
	open, close, ok := c.openWindow(c.DateOf(t))
	return ok && !t.Before(open) && t.Before(close)
}

// AddBusinessTime returns the instant at which a clock started at start ends
// after running for d of business time. A start outside business time begins
// counting at the next opening; a clock that runs out exactly at closing ends
// at closing. For d ≤ 0 it returns start. The result is in the calendar's
// zone. It walks whole days, so it costs one step per calendar day spanned;
// FallbackYears(DateOf(start), DateOf(result)) says whether it assumed plain
// weekdays somewhere.
func (c *Calendar) AddBusinessTime(start time.Time, d time.Duration) time.Time {
	if d <= 0 {
		return start.In(c.loc)
	}
	if c.always {
		return start.Add(d).In(c.loc)
	}
	rem := d
	for day := c.DateOf(start); ; day = day.AddDays(1) {
		open, close, ok := c.openWindow(day)
		if !ok {
			continue
		}
		from := open
		if start.After(from) {
			from = start
		}
		if !from.Before(close) {
			continue
		}
		avail := close.Sub(from)
		if rem <= avail {
			return from.Add(rem).In(c.loc)
		}
		rem -= avail
	}
}

// BusinessTimeBetween returns how much business time lies between a and b;
// negative when b is before a. It is the inverse of AddBusinessTime:
// BusinessTimeBetween(a, AddBusinessTime(a, d)) == d.
func (c *Calendar) BusinessTimeBetween(a, b time.Time) time.Duration {
	if b.Before(a) {
		return -c.BusinessTimeBetween(b, a)
	}
	if c.always {
		return b.Sub(a)
	}
	var total time.Duration
	last := c.DateOf(b)
	for day := c.DateOf(a); !day.After(last); day = day.AddDays(1) {
		open, close, ok := c.openWindow(day)
		if !ok {
			continue
		}
		if a.After(open) {
			open = a
		}
		if b.Before(close) {
			close = b
		}
		if open.Before(close) {
			total += close.Sub(open)
		}
	}
	return total
}

// Merge returns a calendar with u's name, zone, weekend and hours, and the
// years of both; a year present in u replaces the same year of c.
func (c *Calendar) Merge(u *Calendar) *Calendar {
	m := *u
	m.years = make(map[int]*year, len(c.years)+len(u.years))
	for n, y := range c.years {
		m.years[n] = y
	}
	for n, y := range u.years {
		m.years[n] = y
	}
	m.always = m.hours == nil && !slices.Contains(m.weekend[:], true) && !m.hasHolidays()
	return &m
}

func (c *Calendar) hasHolidays() bool {
	for _, y := range c.years {
		if len(y.src.Holidays) > 0 {
			return true
		}
	}
	return false
}
