// Package sla measures service-level targets in business time: a ticket's
// first response and resolution, a refund's approval (SPEC 4.5, 4.8).
//
// A Clock runs against one target on a business calendar (package
// calendar): it counts only business hours and days, can pause and resume
// keeping the time already used, and stops when the target is met. Marks
// on the clock — a warning at warn_at of the target, the breach at 100 %,
// a second escalation at 200 % — turn into instants that callers wait for
// (the workflows put them on durable timers). The arithmetic is plain Go
// and deterministic, so workflow code may use it.
//
// A Policy gives each ticket tier its targets and calendar; policies are
// data, edited by admins and pinned on a ticket when it opens.
package sla

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/refundflow/refundflow"
	"github.com/refundflow/refundflow/calendar"
)

// Tier is a learner's support tier.
type Tier string

const (
	Free Tier = "free"
	Paid Tier = "paid"
	VIP  Tier = "vip"
)

// Tiers lists every tier, cheapest first.
var Tiers = []Tier{Free, Paid, VIP}

// Valid reports whether t is a known tier.
func (t Tier) Valid() bool {
	for _, x := range Tiers {
		if t == x {
			return true
		}
	}
	return false
}

// Priority is how urgent a ticket is; urgent tickets get half the time.
type Priority string

const (
	Normal Priority = "normal"
	Urgent Priority = "urgent"
)

// Valid reports whether p is a known priority.
func (p Priority) Valid() bool { return p == Normal || p == Urgent }

// Policy is the SLA of a tier (SPEC 4.8): how much business time, on which
// calendar, the first response and the resolution may take, and at which
// fraction of each target the warning comes.
type Policy struct {
	Tier          Tier          `json:"tier"`
	Calendar      string        `json:"calendar"`
	FirstResponse time.Duration `json:"first_response"`
	Resolution    time.Duration `json:"resolution"`
	WarnAt        float64       `json:"warn_at"`
}

// Bounds of a target: a clock shorter than a second cannot be waited for
// meaningfully; one longer than a year is a typo.
const (
	MinTarget = time.Second
	MaxTarget = 366 * 24 * time.Hour
)

// PolicyInput is a policy as a person writes it (SPEC 5 shape): durations
// as Go durations ("30m", "24h"), warn_at as a fraction.
type PolicyInput struct {
	Tier          string
	Calendar      string
	FirstResponse string
	Resolution    string
	WarnAt        *float64
}

// Calendars finds a business calendar by name (*calendar.Registry does).
type Calendars interface {
	Get(name string) (*calendar.Calendar, bool)
}

// ParsePolicy checks a policy strictly and returns it. Every problem is
// reported at once, each naming its field (a *refundflow.Error with the
// others in Details): an unknown tier, a duration that does not parse or is
// out of bounds, warn_at outside (0, 1) are EINVALID; an unknown calendar
// is EUNPROCESSABLE.
func ParsePolicy(in PolicyInput, cals Calendars) (Policy, error) {
	var pr refundflow.Problems
	p := Policy{Tier: Tier(in.Tier), Calendar: in.Calendar}
	if !p.Tier.Valid() {
		pr.Add("tier", "unknown_tier", "%q is not a tier: use free, paid or vip", in.Tier)
	}
	switch _, ok := cals.Get(in.Calendar); {
	case in.Calendar == "":
		pr.Add("calendar", "missing_field", "is required: the name of a business calendar such as cn or 24x7")
	case !ok:
		// Well-formed but naming nothing: unprocessable, as for refund policies.
		pr = append(pr, &refundflow.Error{Kind: refundflow.EUNPROCESSABLE, Code: "unknown_calendar", Field: "calendar",
			Message: fmt.Sprintf("%q is not a known business calendar", in.Calendar)})
	}
	p.FirstResponse = parseTarget(&pr, "first_response", in.FirstResponse)
	p.Resolution = parseTarget(&pr, "resolution", in.Resolution)
	switch {
	case in.WarnAt == nil:
		pr.Add("warn_at", "missing_field", "is required: the fraction of a target at which to warn, such as 0.8")
	case !(*in.WarnAt > 0 && *in.WarnAt < 1) || math.IsNaN(*in.WarnAt):
		pr.Add("warn_at", "invalid_warn_at", "must be a fraction strictly between 0 and 1, such as 0.8")
	default:
		p.WarnAt = *in.WarnAt
	}
	if err := pr.Err(); err != nil {
		return Policy{}, err
	}
	return p, nil
}

func parseTarget(pr *refundflow.Problems, field, s string) time.Duration {
	if s == "" {
		pr.Add(field, "missing_field", "is required: a Go duration such as 30m or 24h")
		return 0
	}
	d, err := time.ParseDuration(s)
	switch {
	case err != nil:
		pr.Add(field, "invalid_duration", "%q is not a duration: use a Go duration such as 30m, 2h or 72h", s)
	case d < MinTarget || d > MaxTarget:
		pr.Add(field, "duration_out_of_range", "%q must be from %s to %s", s, FormatDuration(MinTarget), FormatDuration(MaxTarget))
	}
	return d
}

// For returns the targets a ticket of priority pr gets: urgent halves them.
func (p Policy) For(pr Priority) Policy {
	if pr == Urgent {
		p.FirstResponse /= 2
		p.Resolution /= 2
	}
	return p
}

// TicketClocks starts a ticket's clocks at opened: first response and
// resolution, each warning at warn_at and breaching at its target.
func (p Policy) TicketClocks(opened time.Time) []Clock {
	marks := []Mark{{Kind: Warning, Fraction: p.WarnAt}, {Kind: Breach, Fraction: 1}}
	return []Clock{
		NewClock(FirstResponse, p.FirstResponse, marks, opened),
		NewClock(Resolution, p.Resolution, marks, opened),
	}
}

// FormatDuration writes d the way people write targets: "30m", "24h",
// "1h30m", "5s"; below a second it falls back to time.Duration's form.
func FormatDuration(d time.Duration) string {
	if d <= 0 || d%time.Second != 0 {
		return d.String()
	}
	var b strings.Builder
	h, m, s := d/time.Hour, d%time.Hour/time.Minute, d%time.Minute/time.Second
	if h > 0 {
		fmt.Fprintf(&b, "%dh", h)
	}
	if m > 0 {
		fmt.Fprintf(&b, "%dm", m)
	}
	if s > 0 {
		fmt.Fprintf(&b, "%ds", s)
	}
	return b.String()
}
