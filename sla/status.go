package sla

import (
	"time"

	"github.com/refundflow/refundflow/calendar"
)

// Status is a ticket's SLA as people read it (the SPEC 5 "sla" object):
// every deadline, not just the next; whether the clocks wait on the
// customer; the escalation level; the warnings and breaches so far. Policy
// and Clocks add the pinned targets and each clock's state.
type Status struct {
	Calendar           string      `json:"calendar"`
	FirstResponseDueAt *time.Time  `json:"first_response_due_at"`
	ResolutionDueAt    *time.Time  `json:"resolution_due_at"`
	Paused             bool        `json:"paused"`
	EscalationLevel    int         `json:"escalation_level"`
	Warnings           []Event     `json:"warnings"`
	Breaches           []Event     `json:"breaches"`
	Policy             PolicyJSON  `json:"policy"`
	Clocks             []ClockView `json:"clocks"`
}

// PolicyJSON is a policy in the SPEC 5 shape: {tier, calendar,
// first_response, resolution, warn_at} with Go durations.
type PolicyJSON struct {
	Tier          Tier    `json:"tier"`
	Calendar      string  `json:"calendar"`
	FirstResponse string  `json:"first_response"`
	Resolution    string  `json:"resolution"`
	WarnAt        float64 `json:"warn_at"`
}

// JSON returns the policy in the SPEC 5 shape.
func (p Policy) JSON() PolicyJSON {
	return PolicyJSON{Tier: p.Tier, Calendar: p.Calendar, FirstResponse: FormatDuration(p.FirstResponse),
		Resolution: FormatDuration(p.Resolution), WarnAt: p.WarnAt}
}

// ClockView is one clock as people read it.
type ClockView struct {
	Target Target `json:"target"`
	// Duration is the target, as written in the policy ("30m").
	Duration string `json:"duration"`
	// State is running, paused or met.
	State string `json:"state"`
	// WarningAt is when the warning comes or came; null while paused, and
	// for a clock met before its warning.
	WarningAt *time.Time `json:"warning_at"`
	// DueAt is the deadline; null while paused.
	DueAt *time.Time `json:"due_at"`
	MetAt *time.Time `json:"met_at"`
	// Used is the business time used, once the clock is paused or met.
	Used *string `json:"used"`
}

// View describes the clock.
func (c *Clock) View(cal *calendar.Calendar) ClockView {
	v := ClockView{Target: c.Target, Duration: FormatDuration(c.Budget), State: "running"}
	if c.MetAt != nil {
		met := *c.MetAt
		v.MetAt = &met
	}
	switch {
	case c.Met():
		v.State = "met"
	case c.Paused():
		v.State = "paused"
	}
	if !c.Running() {
		used := FormatDuration(c.Used.Round(time.Second))
		v.Used = &used
	}
	if due, ok := c.DueAt(cal); ok {
		v.DueAt = &due
	}
	for i, m := range c.Marks {
		if m.Kind != Warning {
			continue
		}
		if i < len(c.Reached) {
			at := c.Reached[i]
			v.WarningAt = &at
		} else if c.Running() {
			at, _ := c.InstantOf(cal, m.Fraction)
			v.WarningAt = &at
		}
		break
	}
	return v
}

// Describe builds a ticket's SLA status from its clocks, escalation level
// and the events so far.
func Describe(cal *calendar.Calendar, p Policy, clocks []Clock, level int, events []Event) Status {
	s := Status{
		Calendar: cal.Name(), EscalationLevel: level, Policy: p.JSON(),
		Warnings: []Event{}, Breaches: []Event{}, Clocks: make([]ClockView, 0, len(clocks)),
	}
	for i := range clocks {
		c := &clocks[i]
		v := c.View(cal)
		s.Clocks = append(s.Clocks, v)
		s.Paused = s.Paused || c.Paused()
		switch c.Target {
		case FirstResponse:
			s.FirstResponseDueAt = v.DueAt
		case Resolution:
			s.ResolutionDueAt = v.DueAt
		}
	}
	for _, e := range events {
		if e.Kind == Breach {
			s.Breaches = append(s.Breaches, e)
		} else {
			s.Warnings = append(s.Warnings, e)
		}
	}
	return s
}

// State sums up a ticket's SLA for queues and filters: "breached" once any
// target was missed, "warning" while a clock that is not met has passed its
// warning, "ok" otherwise.
func State(clocks []Clock, events []Event) string {
	for _, e := range events {
		if e.Kind == Breach {
			return "breached"
		}
	}
	for i := range clocks {
		c := &clocks[i]
		if c.Met() {
			continue
		}
		for j := range c.Reached {
			if c.Marks[j].Kind == Warning {
				return "warning"
			}
		}
	}
	return "ok"
}

// States lists the values of State.
var States = []string{"ok", "warning", "breached"}

// NextDue returns the earliest deadline among the clocks still counting,
// passed or not: what ops sort and filter on (the SlaDeadline search
// attribute). False when no clock is running.
func NextDue(cal *calendar.Calendar, clocks []Clock) (time.Time, bool) {
	var next time.Time
	found := false
	for i := range clocks {
		c := &clocks[i]
		if !c.Running() {
			continue
		}
		if due, ok := c.DueAt(cal); ok && (!found || due.Before(next)) {
			next, found = due, true
		}
	}
	return next, found
}
