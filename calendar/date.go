package calendar

import (
	"fmt"
	"time"
)

// Date is a civil date with no time zone: the day a person in some place
// would name. Holidays, make-up workdays and arrival dates are dates, not
// instants, so they must not drift when converted between zones.
type Date struct {
	Year  int
	Month time.Month
	Day   int
}

// MakeDate returns the date y-m-d, normalising overflow the way time.Date
// does (MakeDate(2026, 2, 30) is 2026-03-02).
func MakeDate(y int, m time.Month, d int) Date {
	return dateOf(time.Date(y, m, d, 12, 0, 0, 0, time.UTC))
}

// DateOf returns the date of t in t's own location; use Calendar.DateOf for
// the date in a calendar's zone.
func DateOf(t time.Time) Date {
	return dateOf(t)
}

func dateOf(t time.Time) Date {
	y, m, d := t.Date()
	return Date{y, m, d}
}

// ParseDate reads a strict YYYY-MM-DD date.
func ParseDate(s string) (Date, error) {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return Date{}, fmt.Errorf("invalid date %q: want YYYY-MM-DD", s)
	}
	return dateOf(t), nil
}

// String formats the date as YYYY-MM-DD.
func (d Date) String() string {
	var b [10]byte
	return string(d.appendTo(b[:0]))
}

func (d Date) appendTo(b []byte) []byte {
	if d.Year < 0 || d.Year > 9999 {
		return fmt.Appendf(b, "%04d-%02d-%02d", d.Year, int(d.Month), d.Day)
	}
	b = append4(b, d.Year)
	b = append(b, '-')
	b = append2(b, int(d.Month))
	b = append(b, '-')
	return append2(b, d.Day)
}

func append4(b []byte, n int) []byte {
	return append(b, byte('0'+n/1000), byte('0'+n/100%10), byte('0'+n/10%10), byte('0'+n%10))
}

func append2(b []byte, n int) []byte {
	return append(b, byte('0'+n/10%10), byte('0'+n%10))
}

// MarshalText formats the date as YYYY-MM-DD (and so does JSON).
func (d Date) MarshalText() ([]byte, error) {
	return d.appendTo(make([]byte, 0, 10)), nil
}

// UnmarshalText reads a strict YYYY-MM-DD date.
func (d *Date) UnmarshalText(b []byte) error {
	v, err := ParseDate(string(b))
	if err != nil {
		return err
	}
	*d = v
	return nil
}

// IsZero reports whether d is the zero Date.
func (d Date) IsZero() bool { return d == Date{} }

// AddDays returns the date n days after d (before, if n is negative).
func (d Date) AddDays(n int) Date {
	return MakeDate(d.Year, d.Month, d.Day+n)
}

// Weekday returns the day of the week of d.
func (d Date) Weekday() time.Weekday {
	return time.Date(d.Year, d.Month, d.Day, 12, 0, 0, 0, time.UTC).Weekday()
}

// Compare returns -1, 0 or +1 as d is before, equal to or after e.
func (d Date) Compare(e Date) int {
	switch {
	case d.Year != e.Year:
		return sign(d.Year - e.Year)
	case d.Month != e.Month:
		return sign(int(d.Month) - int(e.Month))
	default:
		return sign(d.Day - e.Day)
	}
}

func sign(n int) int {
	switch {
	case n < 0:
		return -1
	case n > 0:
		return 1
	}
	return 0
}

// Before reports whether d is before e.
func (d Date) Before(e Date) bool { return d.Compare(e) < 0 }

// After reports whether d is after e.
func (d Date) After(e Date) bool { return d.Compare(e) > 0 }

// In returns the first instant of d in loc (local midnight, or the first
// existing instant after it where a DST change skips midnight).
func (d Date) In(loc *time.Location) time.Time {
	return time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, loc)
}
