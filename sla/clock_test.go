package sla

import (
	"testing"
	"time"

	"github.com/refundflow/refundflow/calendar"
)

func cal(t *testing.T, name string) *calendar.Calendar {
	t.Helper()
	c, ok := calendar.Builtin(name)
	if !ok {
		t.Fatalf("no built-in calendar %s", name)
	}
	return c
}

func at(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

var (
	free = Policy{Tier: Free, Calendar: "cn", FirstResponse: 24 * time.Hour, Resolution: 72 * time.Hour, WarnAt: 0.8}
	paid = Policy{Tier: Paid, Calendar: "24x7", FirstResponse: 2 * time.Hour, Resolution: 24 * time.Hour, WarnAt: 0.8}
	vip  = Policy{Tier: VIP, Calendar: "24x7", FirstResponse: 30 * time.Minute, Resolution: 4 * time.Hour, WarnAt: 0.8}
)

func sameInstant(t *testing.T, what string, got time.Time, ok bool, want string) {
	t.Helper()
	if !ok {
		t.Fatalf("%s: no instant, want %s", what, want)
	}
	if w := at(t, want); !got.Equal(w) {
		t.Fatalf("%s: %s, want %s", what, got.Format(time.RFC3339), want)
	}
}

// Every deadline of a free ticket (cn business hours 09:00–17:30) from the
// moment it opens, in the cases the business calendar makes interesting.
func TestFreeTicketDeadlinesFollowTheBusinessCalendar(t *testing.T) {
	cases := []struct {
		name            string
		opened          string
		frWarn, frDue   string
		resWarn, resDue string
	}{
		{
			// Half an hour left on Friday, then Qingming (Sat 4 – Mon 6 April).
			name:   "opened Friday 17:00 before a holiday",
			opened: "2026-04-03T17:00:00+08:00",
			frWarn: "2026-04-09T10:42:00+08:00", frDue: "2026-04-09T15:30:00+08:00",
			resWarn: "2026-04-15T15:06:00+08:00", resDue: "2026-04-17T12:30:00+08:00",
		},
		{
			// Saturday 14 February is worked before the Spring Festival (15–23).
			name:   "opened Friday 17:00 before a make-up Saturday and the Spring Festival",
			opened: "2026-02-13T17:00:00+08:00",
			frWarn: "2026-02-25T10:42:00+08:00", frDue: "2026-02-25T15:30:00+08:00",
			resWarn: "2026-03-02T15:06:00+08:00", resDue: "2026-03-04T12:30:00+08:00",
		},
		{
			name:   "opened on a make-up Saturday morning",
			opened: "2026-02-28T10:00:00+08:00",
			frWarn: "2026-03-03T12:12:00+08:00", frDue: "2026-03-03T17:00:00+08:00",
			resWarn: "2026-03-09T16:36:00+08:00", resDue: "2026-03-11T14:00:00+08:00",
		},
		{
			name:   "opened on a Sunday night starts counting Monday 09:00",
			opened: "2026-03-08T22:00:00+08:00",
			frWarn: "2026-03-11T11:12:00+08:00", frDue: "2026-03-11T16:00:00+08:00",
			resWarn: "2026-03-17T15:36:00+08:00", resDue: "2026-03-19T13:00:00+08:00",
		},
	}
	cn := cal(t, "cn")
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			clocks := free.TicketClocks(at(t, tc.opened))
			fr, res := &clocks[0], &clocks[1]
			w, ok := fr.InstantOf(cn, free.WarnAt)
			sameInstant(t, "first response warning", w, ok, tc.frWarn)
			d, ok := fr.DueAt(cn)
			sameInstant(t, "first response due", d, ok, tc.frDue)
			w, ok = res.InstantOf(cn, free.WarnAt)
			sameInstant(t, "resolution warning", w, ok, tc.resWarn)
			d, ok = res.DueAt(cn)
			sameInstant(t, "resolution due", d, ok, tc.resDue)
			if used := fr.UsedAt(cn, at(t, tc.frDue)); used != 24*time.Hour {
				t.Fatalf("at the deadline the clock has used %s, want 24h", used)
			}
		})
	}
}

// Waiting on the customer stops the clock and keeps what it used: the
// weekend spent waiting does not count, even on a 24x7 calendar.
func TestPauseAcrossAWeekendKeepsTheTimeUsed(t *testing.T) {
	t.Run("24x7", func(t *testing.T) {
		c24 := cal(t, "24x7")
		clocks := paid.TicketClocks(at(t, "2026-03-06T10:00:00Z")) // Friday
		res := &clocks[1]
		res.Pause(c24, at(t, "2026-03-06T11:00:00Z"))
		if _, ok := res.DueAt(c24); ok || !res.Paused() {
			t.Fatal("a paused clock has no deadline")
		}
		if _, _, ok := res.Next(c24); ok {
			t.Fatal("a paused clock reaches no mark")
		}
		if got := res.UsedAt(c24, at(t, "2026-03-09T08:00:00Z")); got != time.Hour {
			t.Fatalf("used %s while paused, want 1h", got)
		}
		res.Resume(at(t, "2026-03-09T09:00:00Z")) // Monday
		d, ok := res.DueAt(c24)
		sameInstant(t, "resolution due", d, ok, "2026-03-10T08:00:00Z")
	})
	t.Run("cn business hours", func(t *testing.T) {
		cn := cal(t, "cn")
		clocks := free.TicketClocks(at(t, "2026-03-05T10:00:00+08:00")) // Thursday
		res := &clocks[1]
		res.Pause(cn, at(t, "2026-03-06T12:00:00+08:00"))
		if got := res.Used; got != 10*time.Hour+30*time.Minute {
			t.Fatalf("used %s before the pause, want 10h30m", got)
		}
		res.Resume(at(t, "2026-03-09T10:00:00+08:00"))
		d, ok := res.DueAt(cn)
		sameInstant(t, "resolution due", d, ok, "2026-03-18T12:00:00+08:00")
	})
}

// Marks are reached at their instant exactly: not a nanosecond before.
func TestWarningAndBreachAreReachedExactlyAtTheirInstants(t *testing.T) {
	c24 := cal(t, "24x7")
	opened := at(t, "2026-03-02T02:00:00Z")
	clocks := vip.TicketClocks(opened)
	fr := &clocks[0]
	warnAt, breachAt := opened.Add(24*time.Minute), opened.Add(30*time.Minute)

	if next, ok := Next(c24, clocks); !ok || !next.Equal(warnAt) {
		t.Fatalf("next mark %s, want the warning at %s", next, warnAt)
	}
	if ev := Advance(c24, clocks, warnAt.Add(-time.Nanosecond)); len(ev) != 0 {
		t.Fatalf("events before the warning: %+v", ev)
	}
	ev := Advance(c24, clocks, warnAt)
	if len(ev) != 1 || ev[0].Kind != Warning || ev[0].Target != FirstResponse || !ev[0].At.Equal(warnAt) || !ev[0].DueAt.Equal(breachAt) {
		t.Fatalf("at the warning: %+v", ev)
	}
	if ev := Advance(c24, clocks, breachAt.Add(-time.Nanosecond)); len(ev) != 0 {
		t.Fatalf("events before the breach: %+v", ev)
	}
	ev = Advance(c24, clocks, breachAt)
	if len(ev) != 1 || ev[0].Kind != Breach || !ev[0].At.Equal(breachAt) {
		t.Fatalf("at the breach: %+v", ev)
	}
	if _, _, ok := fr.Next(c24); ok {
		t.Fatal("a clock past its last mark has no next mark")
	}
	if next, _ := Next(c24, clocks); !next.Equal(opened.Add(192 * time.Minute)) {
		t.Fatalf("next mark %s, want the resolution warning at 80 %% of 4h", next)
	}
}

// A clock that wakes late (a worker was down) reports every mark it passed,
// at the instants they were due, in order.
func TestALateLookReportsEveryMarkPassedAtItsOwnInstant(t *testing.T) {
	c24 := cal(t, "24x7")
	opened := at(t, "2026-03-02T02:00:00Z")
	clocks := vip.TicketClocks(opened)
	ev := Advance(c24, clocks, opened.Add(5*time.Hour))
	want := []struct {
		kind   EventKind
		target Target
		after  time.Duration
	}{
		{Warning, FirstResponse, 24 * time.Minute},
		{Breach, FirstResponse, 30 * time.Minute},
		{Warning, Resolution, 192 * time.Minute},
		{Breach, Resolution, 4 * time.Hour},
	}
	if len(ev) != len(want) {
		t.Fatalf("events %+v", ev)
	}
	for i, w := range want {
		if ev[i].Kind != w.kind || ev[i].Target != w.target || !ev[i].At.Equal(opened.Add(w.after)) {
			t.Errorf("event %d: %+v, want %s %s at +%s", i, ev[i], w.target, w.kind, w.after)
		}
	}
}

func TestMetClockReachesNoMoreMarksAndKeepsItsDeadline(t *testing.T) {
	cn := cal(t, "cn")
	clocks := free.TicketClocks(at(t, "2026-04-03T17:00:00+08:00"))
	fr := &clocks[0]
	fr.Stop(cn, at(t, "2026-04-07T10:00:00+08:00"))
	if !fr.Met() || fr.Used != 90*time.Minute {
		t.Fatalf("met %v used %s, want 1h30m of business time", fr.Met(), fr.Used)
	}
	if ev := fr.Advance(cn, at(t, "2026-05-01T00:00:00+08:00")); len(ev) != 0 {
		t.Fatalf("a met clock reached %+v", ev)
	}
	d, ok := fr.DueAt(cn)
	sameInstant(t, "deadline it met", d, ok, "2026-04-09T15:30:00+08:00")
	v := fr.View(cn)
	if v.State != "met" || v.WarningAt != nil || *v.Used != "1h30m" {
		t.Fatalf("view %+v", v)
	}
}

// A reopened ticket's resolution clock counts on from what it had used.
func TestReopenedClockCountsOnFromTheTimeUsed(t *testing.T) {
	c24 := cal(t, "24x7")
	opened := at(t, "2026-03-02T00:00:00Z")
	clocks := paid.TicketClocks(opened)
	res := &clocks[1]
	res.Stop(c24, opened.Add(20*time.Hour))
	res.Reopen(opened.Add(48 * time.Hour))
	d, ok := res.DueAt(c24)
	sameInstant(t, "due after reopening", d, ok, "2026-03-04T04:00:00Z")
	ev := res.Advance(c24, opened.Add(48*time.Hour))
	if len(ev) != 1 || ev[0].Kind != Warning || !ev[0].At.Equal(opened.Add(48*time.Hour)) {
		t.Fatalf("a reopened clock past its warning share warns when it restarts: %+v", ev)
	}
}

// The approval SLA: remind at 80 %, escalate at 100 % and again at 200 %.
func TestApprovalClockMarksRemindAndEscalateTwice(t *testing.T) {
	c24 := cal(t, "24x7")
	start := at(t, "2026-03-02T02:00:00Z")
	c := NewClock(Approval, 24*time.Hour, []Mark{{Breach, 2}, {Warning, 0.8}, {Breach, 1}}, start)
	ev := c.Advance(c24, start.Add(48*time.Hour))
	if len(ev) != 3 {
		t.Fatalf("events %+v", ev)
	}
	for i, want := range []time.Duration{1152 * time.Minute, 24 * time.Hour, 48 * time.Hour} {
		if !ev[i].At.Equal(start.Add(want)) || !ev[i].DueAt.Equal(start.Add(24*time.Hour)) {
			t.Errorf("event %d %+v, want at +%s due +24h", i, ev[i], want)
		}
	}
}

func TestUrgentPriorityHalvesTheTargets(t *testing.T) {
	got := vip.For(Urgent)
	if got.FirstResponse != 15*time.Minute || got.Resolution != 2*time.Hour || got.WarnAt != 0.8 || got.Calendar != "24x7" {
		t.Fatalf("urgent vip %+v", got)
	}
	if vip.For(Normal) != vip {
		t.Fatal("normal priority changed the targets")
	}
}

func TestDescribeShowsEveryDeadlineAndWhatHappened(t *testing.T) {
	cn := cal(t, "cn")
	clocks := free.TicketClocks(at(t, "2026-04-03T17:00:00+08:00"))
	events := Advance(cn, clocks, at(t, "2026-04-09T16:00:00+08:00"))
	events[len(events)-1].Level = 2
	s := Describe(cn, free, clocks, 2, events)
	if s.Calendar != "cn" || s.Paused || s.EscalationLevel != 2 || len(s.Warnings) != 1 || len(s.Breaches) != 1 || s.Breaches[0].Level != 2 {
		t.Fatalf("status %+v", s)
	}
	if !s.FirstResponseDueAt.Equal(at(t, "2026-04-09T15:30:00+08:00")) || !s.ResolutionDueAt.Equal(at(t, "2026-04-17T12:30:00+08:00")) {
		t.Fatalf("deadlines %s %s", s.FirstResponseDueAt, s.ResolutionDueAt)
	}
	if s.Policy.FirstResponse != "24h" || s.Policy.Resolution != "72h" || s.Clocks[1].WarningAt == nil {
		t.Fatalf("policy %+v clocks %+v", s.Policy, s.Clocks)
	}
	if State(clocks, events) != "breached" {
		t.Fatalf("state %s", State(clocks, events))
	}
	clocks[1].Pause(cn, at(t, "2026-04-09T16:00:00+08:00"))
	if s := Describe(cn, free, clocks, 2, events); !s.Paused || s.ResolutionDueAt != nil {
		t.Fatalf("paused status %+v", s)
	}
	if due, ok := NextDue(cn, clocks); !ok || !due.Equal(at(t, "2026-04-09T15:30:00+08:00")) {
		t.Fatalf("next due %s %v: the overdue first response", due, ok)
	}
}

func TestStateIsWarningOnlyWhileAWarnedClockIsNotMet(t *testing.T) {
	c24 := cal(t, "24x7")
	opened := at(t, "2026-03-02T00:00:00Z")
	clocks := vip.TicketClocks(opened)
	events := Advance(c24, clocks, opened.Add(25*time.Minute))
	if got := State(clocks, events); got != "warning" {
		t.Fatalf("state %s, want warning", got)
	}
	clocks[0].Stop(c24, opened.Add(26*time.Minute))
	if got := State(clocks, events); got != "ok" {
		t.Fatalf("state %s after the first response, want ok", got)
	}
}
