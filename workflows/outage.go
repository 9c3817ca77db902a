package workflows

import (
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/refundflow/refundflow"
	"github.com/refundflow/refundflow/activities/contract"
)

// RemediationInput starts the remediation of an outage, or carries it on
// into the next run after continue-as-new.
type RemediationInput struct {
	OutageID string
	// Mode is refundflow.RemediateRefund or refundflow.RemediateOffer.
	Mode string
	// SubmittedBy is the admin key that started it: the requester of its
	// cases, who therefore cannot approve them.
	SubmittedBy string
	// The cases' windows, from the configuration when it started.
	OfferWindow time.Duration
	ApprovalSLA time.Duration
	// StripeRatePerSecond is the payments queue's rate: it sizes how much
	// work may wait ahead of it (see awaitRoom).
	StripeRatePerSecond float64
	// PageSize cases are opened and started together; PagesPerRun pages
	// make one run, after which the workflow continues as new.
	PageSize    int
	PagesPerRun int

	// Where the previous runs stopped: the order id the next page starts
	// after, and whether every case is open already.
	After     string
	AllOpened bool
	// Runs counts the runs before this one.
	Runs int
}

// Defaults for RemediationInput: a run opens at most 10 000 cases, in a few
// hundred history events (a page is one activity, and the waits between).
const (
	DefaultRemediationPageSize    = 200
	DefaultRemediationPagesPerRun = 50
)

// RemediationResult is how a remediation ended and how many runs it took.
type RemediationResult struct {
	Status string
	Runs   int
}

// OutageRemediation gives every learner an outage affected what the policy
// owes them (SPEC 4.9), in two phases:
//
//  1. Open: page through the affected orders by id; for each page, one
//     activity opens the cases in the read model (one transaction,
//     idempotent) and starts each case's Refund workflow — one workflow
//     start each, not a child workflow (which costs twice as much), so that
//     cases outlive the run that started them. Many pages make a run; then
//     the workflow continues as new, so that 100 000 orders fit in bounded
//     histories.
//  2. Await: wait until every case has ended, reading the read model, then
//     mark the remediation completed.
//
// The money moves as fast as the payments queue's rate limit allows: the
// only brake here keeps the engine from holding more cases ahead of the
// payments queue than it can pay in half a minute. A cancellation (the API
// records it, then signals) stops it between pages; open cases go on.
func OutageRemediation(ctx workflow.Context, in RemediationInput) (RemediationResult, error) {
	m := &remediation{in: in, cancels: workflow.GetSignalChannel(ctx, CancelRemediationSignal)}
	if m.in.PageSize <= 0 {
		m.in.PageSize = DefaultRemediationPageSize
	}
	if m.in.PagesPerRun <= 0 {
		m.in.PagesPerRun = DefaultRemediationPagesPerRun
	}
	return m.run(ctx)
}

type remediation struct {
	in       RemediationInput
	cancels  workflow.ReceiveChannel
	canceled bool
}

func (m *remediation) run(ctx workflow.Context) (RemediationResult, error) {
	for page := 0; !m.in.AllOpened; page++ {
		if m.noticeCancel() {
			return m.result(refundflow.RemediationCanceled), nil
		}
		// Every run opens at least one page, so that runs make progress.
		if page == m.in.PagesPerRun || (page > 0 && workflow.GetInfo(ctx).GetContinueAsNewSuggested()) {
			return m.continueAsNew(ctx)
		}
		if err := m.awaitRoom(ctx); err != nil {
			return RemediationResult{}, err
		}
		if m.canceled {
			continue
		}
		var p contract.OutagePageResult
		err := workflow.ExecuteActivity(dbCtx(ctx, 5*time.Minute), contract.OpenOutageCases, contract.OpenOutageCasesInput{
			OutageID: m.in.OutageID, After: m.in.After, Limit: m.in.PageSize, SubmittedBy: m.in.SubmittedBy,
			OfferWindow: m.in.OfferWindow, ApprovalSLA: m.in.ApprovalSLA, ExtensionOffer: m.in.Mode == refundflow.RemediateOffer,
		}).Get(ctx, &p)
		if err != nil {
			return RemediationResult{}, err
		}
		if p.Canceled {
			return m.result(refundflow.RemediationCanceled), nil
		}
		m.in.After, m.in.AllOpened = p.Next, p.Last
	}
	return m.awaitCases(ctx)
}

// awaitRoom waits while more of the remediation's cases are working ahead
// of the payments queue than it pays in workAhead. That keeps the queue
// busy without handing the engine 100 000 cases at once.
func (m *remediation) awaitRoom(ctx workflow.Context) error {
	rate := max(m.in.StripeRatePerSecond, 1)
	room := max(int(rate*workAhead.Seconds()), 2*m.in.PageSize)
	for !m.canceled {
		prog, err := m.progress(ctx)
		if err != nil {
			return err
		}
		if prog.Active < room {
			return nil
		}
		// Until the queue has paid for half the room, at its rate.
		wait := time.Duration(float64(prog.Active-room/2) / rate * float64(time.Second))
		m.sleep(ctx, min(max(wait, time.Second), time.Minute))
	}
	return nil
}

// workAhead is how much payments-queue work the remediation keeps open.
const workAhead = 30 * time.Second

// awaitCases waits until every case has ended, then completes the
// remediation. It reads the read model every 5 s while cases keep ending,
// and less and less often (every minute at most) while none do: offer-mode
// cases wait days for learners.
func (m *remediation) awaitCases(ctx workflow.Context) (RemediationResult, error) {
	const quick, slow = 5 * time.Second, time.Minute
	poll, lastDone := quick, -1
	for polls := 0; ; polls++ {
		if m.noticeCancel() {
			return m.result(refundflow.RemediationCanceled), nil
		}
		prog, err := m.progress(ctx)
		if err != nil {
			return RemediationResult{}, err
		}
		if prog.Done >= prog.Opened {
			var completed bool
			err := workflow.ExecuteActivity(dbCtx(ctx, 2*time.Minute), contract.CompleteRemediation, contract.CompleteRemediationInput{
				OutageID: m.in.OutageID, At: workflow.Now(ctx),
			}).Get(ctx, &completed)
			if err != nil {
				return RemediationResult{}, err
			}
			if !completed {
				return m.result(refundflow.RemediationCanceled), nil
			}
			return m.result(refundflow.RemediationCompleted), nil
		}
		if polls > 0 && workflow.GetInfo(ctx).GetContinueAsNewSuggested() {
			return m.continueAsNew(ctx)
		}
		if prog.Done > lastDone {
			poll = quick
		} else {
			poll = min(2*poll, slow)
		}
		lastDone = prog.Done
		m.sleep(ctx, poll)
	}
}

func (m *remediation) progress(ctx workflow.Context) (contract.RemediationProgress, error) {
	var p contract.RemediationProgress
	err := workflow.ExecuteActivity(dbCtx(ctx, 2*time.Minute), contract.GetRemediationProgress, m.in.OutageID).Get(ctx, &p)
	return p, err
}

// sleep waits for d or a cancellation, whichever comes first.
func (m *remediation) sleep(ctx workflow.Context, d time.Duration) {
	tctx, stop := workflow.WithCancel(ctx)
	defer stop()
	workflow.NewSelector(ctx).
		AddFuture(workflow.NewTimer(tctx, d), func(workflow.Future) {}).
		AddReceive(m.cancels, func(workflow.ReceiveChannel, bool) { m.noticeCancel() }).
		Select(ctx)
}

// noticeCancel drains the cancel signal and reports whether the
// remediation is canceled.
func (m *remediation) noticeCancel() bool {
	for m.cancels.ReceiveAsync(nil) {
		m.canceled = true
	}
	return m.canceled
}

// continueAsNew hands the remediation to a fresh run with an empty
// history; a cancel signal that arrived meanwhile ends it instead (the
// new run would not see it).
func (m *remediation) continueAsNew(ctx workflow.Context) (RemediationResult, error) {
	if m.noticeCancel() {
		return m.result(refundflow.RemediationCanceled), nil
	}
	next := m.in
	next.Runs++
	return RemediationResult{}, workflow.NewContinueAsNewError(ctx, OutageRemediation, next)
}

func (m *remediation) result(status string) RemediationResult {
	return RemediationResult{Status: status, Runs: m.in.Runs + 1}
}
