package sla

import (
	"math"
	"slices"
	"time"

	"github.com/refundflow/refundflow/calendar"
)

// Target names what a clock measures.
type Target string

const (
	FirstResponse Target = "first_response" // until an agent first answers a ticket
	Resolution    Target = "resolution"     // until the ticket is resolved
	Approval      Target = "approval"       // until an approver decides a refund
)

// EventKind is what happens when a clock reaches a mark.
type EventKind string

const (
	Warning EventKind = "warning" // the target is close: someone should act
	Breach  EventKind = "breach"  // the target is missed: escalate
)

// Mark is a point on a clock, as a fraction of its target: the warning at
// warn_at, the breach at 1, a second escalation at 2.
type Mark struct {
	Kind     EventKind `json:"kind"`
	Fraction float64   `json:"fraction"`
}

// Clock measures the business time spent against one target. It is a
// plain value (it travels in workflow state and the read model); the
// calendar it runs on is passed to the methods that need one, and must be
// the same every time.
//
// A clock is running, paused (waiting on the customer) or met. Pausing
// keeps the time already used; resuming counts on from there.
type Clock struct {
	Target Target        `json:"target"`
	Budget time.Duration `json:"budget"`
	Marks  []Mark        `json:"marks"`
	// Used is the business time used before Since; all of it when the
	// clock is paused or met.
	Used time.Duration `json:"used"`
	// Since is when the clock last started running; nil when it is not.
	Since *time.Time `json:"since,omitempty"`
	// MetAt is when the target was met; nil until then.
	MetAt *time.Time `json:"met_at,omitempty"`
	// Reached holds the instants at which the first len(Reached) marks were
	// reached, in order.
	Reached []time.Time `json:"reached,omitempty"`
}

// Event is a mark reached: a warning or a breach of a target.
type Event struct {
	Kind   EventKind `json:"kind"`
	Target Target    `json:"target"`
	// At is the instant the clock reached the mark (not when someone
	// noticed).
	At time.Time `json:"at"`
	// DueAt is the target's deadline as it stood then.
	DueAt time.Time `json:"due_at"`
	// Level is the escalation level the event left its subject at, for
	// breaches; the clock does not know levels, its owner fills it in.
	Level int `json:"level,omitempty"`
}

// NewClock starts a clock at start with its marks, in increasing fraction.
func NewClock(target Target, budget time.Duration, marks []Mark, start time.Time) Clock {
	m := slices.Clone(marks)
	slices.SortStableFunc(m, func(a, b Mark) int {
		switch {
		case a.Fraction < b.Fraction:
			return -1
		case a.Fraction > b.Fraction:
			return 1
		}
		return 0
	})
	return Clock{Target: target, Budget: budget, Marks: m, Since: &start}
}

// Running reports whether the clock is counting.
func (c *Clock) Running() bool { return c.Since != nil }

// Met reports whether the target was met (the clock stopped for good,
// unless reopened).
func (c *Clock) Met() bool { return c.MetAt != nil }

// Paused reports whether the clock waits to resume.
func (c *Clock) Paused() bool { return c.Since == nil && c.MetAt == nil }

// UsedAt returns the business time used by now.
func (c *Clock) UsedAt(cal *calendar.Calendar, now time.Time) time.Duration {
	if c.Since == nil {
		return c.Used
	}
	return c.Used + max(cal.BusinessTimeBetween(*c.Since, now), 0)
}

// Pause stops a running clock at now, keeping the time used.
func (c *Clock) Pause(cal *calendar.Calendar, now time.Time) {
	if c.Since == nil {
		return
	}
	c.Used = c.UsedAt(cal, now)
	c.Since = nil
}

// Resume lets a paused clock count on from now.
func (c *Clock) Resume(now time.Time) {
	if c.Paused() {
		c.Since = &now
	}
}

// Stop records the target as met at now. A paused clock is met with the
// time it had used when it paused.
func (c *Clock) Stop(cal *calendar.Calendar, now time.Time) {
	if c.Met() {
		return
	}
	c.Used = c.UsedAt(cal, now)
	c.Since = nil
	c.MetAt = &now
}

// Reopen lets a met clock count on from now with the time it had used (a
// resolved ticket the learner says is not solved).
func (c *Clock) Reopen(now time.Time) {
	if c.Met() {
		c.MetAt = nil
		c.Since = &now
	}
}

// share is fraction f of the target, to the nanosecond.
func (c *Clock) share(f float64) time.Duration {
	return time.Duration(math.Round(float64(c.Budget) * f))
}

// InstantOf returns when the clock reaches fraction f of its target: the
// recorded instant of a mark already reached; for a running clock, when it
// will if it keeps running; for a met clock, when it would have (its
// deadline then). A paused clock has no such instant: it depends on when
// it resumes.
func (c *Clock) InstantOf(cal *calendar.Calendar, f float64) (time.Time, bool) {
	for i, at := range c.Reached {
		if c.Marks[i].Fraction == f {
			return at, true
		}
	}
	switch {
	case c.Since != nil:
		return cal.AddBusinessTime(*c.Since, c.share(f)-c.Used), true
	case c.MetAt != nil && c.Used < c.share(f):
		return cal.AddBusinessTime(*c.MetAt, c.share(f)-c.Used), true
	}
	return time.Time{}, false
}

// DueAt returns the deadline: when the clock reaches its target.
func (c *Clock) DueAt(cal *calendar.Calendar) (time.Time, bool) {
	return c.InstantOf(cal, 1)
}

// Next returns the next mark a running clock will reach and when; false
// when the clock is not running or has reached every mark.
func (c *Clock) Next(cal *calendar.Calendar) (Mark, time.Time, bool) {
	if c.Since == nil || len(c.Reached) == len(c.Marks) {
		return Mark{}, time.Time{}, false
	}
	m := c.Marks[len(c.Reached)]
	at, _ := c.InstantOf(cal, m.Fraction)
	return m, at, true
}

// Advance records every mark the clock has reached by now, in order, and
// returns them as events. A mark reached exactly at now counts.
func (c *Clock) Advance(cal *calendar.Calendar, now time.Time) []Event {
	var out []Event
	for {
		m, at, ok := c.Next(cal)
		if !ok || at.After(now) {
			return out
		}
		c.Reached = append(c.Reached, at)
		due, _ := c.DueAt(cal)
		out = append(out, Event{Kind: m.Kind, Target: c.Target, At: at, DueAt: due})
	}
}

// Next returns the earliest instant at which one of the clocks reaches its
// next mark; false when none is running towards one.
func Next(cal *calendar.Calendar, clocks []Clock) (time.Time, bool) {
	var next time.Time
	found := false
	for i := range clocks {
		if _, at, ok := clocks[i].Next(cal); ok && (!found || at.Before(next)) {
			next, found = at, true
		}
	}
	return next, found
}

// Advance advances every clock to now and returns the events in the order
// they happened.
func Advance(cal *calendar.Calendar, clocks []Clock, now time.Time) []Event {
	var out []Event
	for i := range clocks {
		out = append(out, clocks[i].Advance(cal, now)...)
	}
	slices.SortStableFunc(out, func(a, b Event) int { return a.At.Compare(b.At) })
	return out
}
