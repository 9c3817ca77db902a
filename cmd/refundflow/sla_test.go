package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/refundflow/refundflow/calendar"
)

func TestSLADeadlinePrintsWhenTheBusinessClockEnds(t *testing.T) {
	cases := []struct {
		name, calendar, start, duration, want string
	}{
		{"cn: Friday 17:00 before Qingming", "cn", "2026-04-03T17:00:00+08:00", "1h", "2026-04-07T09:30:00+08:00"},
		{"cn: works the make-up Saturday before Spring Festival", "cn", "2026-02-13T17:00:00+08:00", "2h", "2026-02-14T10:30:00+08:00"},
		{"cn: a UTC start outside hours waits for the opening", "cn", "2026-03-10T00:00:00Z", "30m", "2026-03-10T09:30:00+08:00"},
		{"cn: 24 business hours", "cn", "2026-03-13T12:00:00+08:00", "24h", "2026-03-18T10:30:00+08:00"},
		{"24x7 is plain addition", "24x7", "2026-02-14T23:30:00+08:00", "90m", "2026-02-14T17:00:00Z"},
		{"zero duration", "24x7", "2026-02-14T23:30:00Z", "0s", "2026-02-14T23:30:00Z"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var out, notes bytes.Buffer
			if err := slaDeadline(&out, &notes, calendar.NewRegistry(), tc.calendar, tc.start, tc.duration); err != nil {
				t.Fatal(err)
			}
			if got := strings.TrimSpace(out.String()); got != tc.want {
				t.Errorf("deadline = %s, want %s", got, tc.want)
			}
			if notes.Len() != 0 {
				t.Errorf("unexpected note %q", notes.String())
			}
		})
	}
}

func TestSLADeadlineNotesYearsWithoutHolidayData(t *testing.T) {
	var out, notes bytes.Buffer
	if err := slaDeadline(&out, &notes, calendar.NewRegistry(), "cn", "2026-12-31T17:00:00+08:00", "1h"); err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(out.String()); got != "2027-01-01T09:30:00+08:00" {
		t.Errorf("deadline = %s", got)
	}
	if !strings.Contains(notes.String(), "no holiday data for 2027") {
		t.Errorf("note = %q", notes.String())
	}
}

func TestSLADeadlineRejectsBadFlagsWithStatus2(t *testing.T) {
	cases := []struct {
		args []string
		says string
	}{
		{[]string{"deadline", "--calendar", "mars", "--start", "2026-03-10T10:00:00Z", "--duration", "1h"}, `--calendar "mars": unknown calendar (known: 24x7, cn)`},
		{[]string{"deadline", "--calendar", "cn", "--start", "tomorrow", "--duration", "1h"}, `--start "tomorrow"`},
		{[]string{"deadline", "--calendar", "cn", "--start", "2026-03-10T10:00:00Z", "--duration", "3d"}, `--duration "3d"`},
		{[]string{"deadline", "--calendar", "cn", "--start", "2026-03-10T10:00:00Z", "--duration", "-1h"}, `--duration "-1h"`},
		{[]string{"deadline"}, `--calendar ""`},
		{[]string{"deadline", "--calendar", "cn", "--start", "2026-03-10T10:00:00Z", "--duration", "1h", "--colour", "red"}, "unknown flag"},
	}
	for _, tc := range cases {
		stdout, stderr, code := run(t, newSLACmd(), "", tc.args...)
		if code != 2 || !strings.Contains(stderr, tc.says) || stdout != "" {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want status 2 saying %q", tc.args, code, stdout, stderr, tc.says)
		}
	}
}

func TestSLADeadlineCommand(t *testing.T) {
	stdout, stderr, code := run(t, newSLACmd(), "", "deadline", "--calendar", "cn", "--start", "2026-09-30T17:00:00+08:00", "--duration", "8h30m")
	if code != 0 || stdout != "2026-10-08T17:00:00+08:00\n" {
		t.Errorf("exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
}
