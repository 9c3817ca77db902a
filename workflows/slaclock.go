package workflows

import (
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/refundflow/refundflow/calendar"
	"github.com/refundflow/refundflow/sla"
)

// SLA clocks on durable timers. Package sla says when a clock reaches its
// next mark (a warning, a breach) in business time; awaitMarks sleeps on a
// workflow timer until then, or until something the story waits for
// happens first, and reports the marks reached. The ticket workflow and
// the refund's approval SLA both wait this way.

// awaitFunc waits until cond holds or timeout passes (no timeout when it
// is negative) and reports whether cond holds: refundCase.await and
// ticketCase.await.
type awaitFunc func(ctx workflow.Context, timeout time.Duration, cond func() bool) bool

// awaitMarks waits for the next mark of any running clock unless cond
// holds first. It reports cond (done), or advances the clocks to now and
// returns the events they reached, in the order they happened. With no
// mark ahead it waits for cond alone.
func awaitMarks(ctx workflow.Context, cal *calendar.Calendar, clocks []sla.Clock, await awaitFunc, cond func() bool) (reached []sla.Event, done bool) {
	timeout := time.Duration(forever)
	if next, ok := sla.Next(cal, clocks); ok {
		timeout = max(next.Sub(workflow.Now(ctx)), 0)
	}
	if await(ctx, timeout, cond) {
		return nil, true
	}
	return sla.Advance(cal, clocks, workflow.Now(ctx)), false
}

// approvalCalendar is the calendar the refund approval SLA counts on:
// every hour of every day, as REFUNDFLOW_APPROVAL_SLA has always meant
// (24h is a day, not three business days).
func approvalCalendar() *calendar.Calendar {
	c, _ := calendar.Builtin("24x7")
	return c
}

// approvalMarks remind the approvers at 80 % of the approval SLA and
// escalate one level at 100 % and again at 200 % (SPEC 4.5).
var approvalMarks = []sla.Mark{
	{Kind: sla.Warning, Fraction: 0.8},
	{Kind: sla.Breach, Fraction: 1},
	{Kind: sla.Breach, Fraction: 2},
}
