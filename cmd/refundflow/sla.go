package main

import (
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/refundflow/refundflow/calendar"
)

func newSLACmd() *cobra.Command {
	cmd := &cobra.Command{Use: "sla", Short: "Business-time SLA clocks"}
	var calName, start, duration string
	var calendarFiles []string
	deadline := &cobra.Command{
		Use:   "deadline --calendar NAME --start TIME --duration DUR",
		Short: "Print when a clock started at START with DURATION of business time ends",
		Long: `Prints, as an RFC 3339 time in the calendar's zone, the instant at which a
clock started at START (RFC 3339) ends after DURATION (a Go duration such as
30m, 24h or 72h) of business time on the calendar: built in are cn (Mon-Fri
09:00-17:30 Asia/Shanghai with the State Council holidays and make-up
workdays) and 24x7. A start outside business hours begins counting at the
next opening. When the answer crosses a year without holiday data a note
goes to stderr. Bad flags exit with status 2.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cals, err := loadCalendars(calendarFiles)
			if err != nil {
				return &exitError{code: 2, err: err}
			}
			return slaDeadline(cmd.OutOrStdout(), cmd.ErrOrStderr(), cals, calName, start, duration)
		},
	}
	deadline.Flags().StringVar(&calName, "calendar", "", "business calendar name, e.g. cn or 24x7")
	deadline.Flags().StringVar(&start, "start", "", "when the clock started, RFC 3339 (2026-02-13T17:00:00+08:00)")
	deadline.Flags().StringVar(&duration, "duration", "", "business time on the clock, a Go duration (24h, 30m)")
	deadline.Flags().StringArrayVar(&calendarFiles, "calendar-file", nil, "merge a calendar JSON file over the built-in calendars; repeatable")
	deadline.SetFlagErrorFunc(usageError)
	cmd.AddCommand(deadline)
	return cmd
}

// slaDeadline prints the deadline to w, and to notes when it assumed plain
// weekdays for a year without holiday data.
func slaDeadline(w, notes io.Writer, cals *calendar.Registry, calName, start, duration string) error {
	var problems []string
	cal, ok := cals.Get(calName)
	if !ok {
		problems = append(problems, fmt.Sprintf("--calendar %q: unknown calendar (known: %s)", calName, strings.Join(cals.Names(), ", ")))
	}
	begin, err := time.Parse(time.RFC3339, start)
	if err != nil {
		problems = append(problems, fmt.Sprintf("--start %q: want an RFC 3339 time such as 2026-02-13T17:00:00+08:00", start))
	}
	d, err := time.ParseDuration(duration)
	if err != nil || d < 0 {
		problems = append(problems, fmt.Sprintf("--duration %q: want a non-negative Go duration such as 24h or 30m", duration))
	}
	if len(problems) > 0 {
		return &exitError{code: 2, err: errors.New(strings.Join(problems, "\n"))}
	}
	end := cal.AddBusinessTime(begin, d)
	if years := cal.FallbackYears(cal.DateOf(begin), cal.DateOf(end)); len(years) > 0 {
		ys := make([]string, len(years))
		for i, y := range years {
			ys[i] = strconv.Itoa(y)
		}
		fmt.Fprintf(notes, "note: calendar %s has no holiday data for %s; plain weekdays assumed\n", cal.Name(), strings.Join(ys, ", "))
	}
	_, err = fmt.Fprintln(w, end.Format(time.RFC3339))
	return err
}
