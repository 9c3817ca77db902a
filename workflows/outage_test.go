package workflows_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/refundflow/refundflow"
	"github.com/refundflow/refundflow/activities/contract"
	"github.com/refundflow/refundflow/internal/casetest"
	"github.com/refundflow/refundflow/policy"
	"github.com/refundflow/refundflow/postgres"
	"github.com/refundflow/refundflow/workflows"
)

const adminKey = "key_admin"

// remediateAsChild runs the remediation as a child workflow: the test
// environment follows a child's continue-as-new into its next run, as the
// server does.
func remediateAsChild(ctx workflow.Context, in workflows.RemediationInput) (workflows.RemediationResult, error) {
	ctx = workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{WorkflowID: workflows.OutageWorkflowID(in.OutageID)})
	var res workflows.RemediationResult
	err := workflow.ExecuteChildWorkflow(ctx, workflows.OutageRemediation, in).Get(ctx, &res)
	return res, err
}

// outageWorld is a live course 5 of whose 12 sessions have been held, a
// 50-hour outage that ended 10 hours before the test starts, and the orders
// it affected.
type outageWorld struct {
	w       *casetest.World
	outage  *refundflow.Outage
	orders  []*refundflow.Order
	spared  []*refundflow.Order // bought after the outage, or of another product
	product string
}

func newOutageWorld(t *testing.T, affected int) *outageWorld {
	t.Helper()
	w := casetest.New(t)
	startsAt := start.Add(-30 * 24 * time.Hour)
	w.Product(refundflow.Product{ID: "ml-live", Type: refundflow.LiveCourse, Title: "ML Live", SessionsTotal: 12, SessionsHeld: 5, StartsAt: &startsAt})
	w.Product(refundflow.Product{ID: "go-basics", Type: refundflow.RecordedCourse, Title: "Go Basics", LessonsTotal: 20})
	ended := start.Add(-10 * time.Hour)
	o := &refundflow.Outage{ID: "cdn-down", ProductIDs: []string{"ml-live"}, StartedAt: ended.Add(-50 * time.Hour), EndedAt: &ended}
	if err := w.DB.CreateOutage(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	ow := &outageWorld{w: w, outage: o, product: "ml-live"}
	for i := range affected {
		id := "ow-" + string(rune('a'+i))
		ow.orders = append(ow.orders, order(w, id, "ml-live", 10000+int64(i)*37, 20*24*time.Hour))
	}
	ow.spared = append(ow.spared,
		order(w, "ow-late", "ml-live", 10000, 5*time.Hour), // bought after the outage ended
		order(w, "ow-other", "go-basics", 10000, 20*24*time.Hour))
	return ow
}

func (ow *outageWorld) start(t *testing.T, mode string) workflows.RemediationInput {
	t.Helper()
	if _, _, err := ow.w.DB.StartRemediation(context.Background(), ow.outage, mode, adminKey); err != nil {
		t.Fatal(err)
	}
	return workflows.RemediationInput{
		OutageID: ow.outage.ID, Mode: mode, SubmittedBy: adminKey,
		OfferWindow: offerWindow, ApprovalSLA: approvalSLA, StripeRatePerSecond: 20,
	}
}

func newRemediationEnv(t *testing.T, w *casetest.World) (*testsuite.TestWorkflowEnvironment, *caseRunner) {
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestWorkflowEnvironment()
	env.SetStartTime(start)
	env.RegisterWorkflow(remediateAsChild)
	env.RegisterWorkflow(workflows.OutageRemediation)
	env.RegisterActivity(w.Acts)
	runner := &caseRunner{t: t, w: w, answers: map[string][]plannedUpdate{}}
	w.Acts.Engine = runner
	return env, runner
}

// caseRunner runs each case a remediation starts to its end, in a test
// environment of its own — a case's workflow is independent of the
// remediation that started it — with the learner's answers planned for
// it. The page that starts it waits for it, so the remediation sees every
// case of a page ended.
type caseRunner struct {
	t       *testing.T
	w       *casetest.World
	mu      sync.Mutex
	answers map[string][]plannedUpdate // by case id
	started []string
	// onStart, when set, is called as each case starts.
	onStart func(contract.RefundStart)
}

type plannedUpdate struct {
	after  time.Duration
	update string
	arg    any
}

func (r *caseRunner) plan(refundID string, after time.Duration, update string, arg any) {
	r.answers[refundID] = append(r.answers[refundID], plannedUpdate{after, update, arg})
}

func (r *caseRunner) StartRefund(_ context.Context, c contract.RefundStart) error {
	r.mu.Lock()
	r.started = append(r.started, c.RefundID)
	onStart, answers := r.onStart, r.answers[c.RefundID]
	r.mu.Unlock()
	if onStart != nil {
		onStart(c)
	}
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestWorkflowEnvironment()
	env.SetStartTime(start)
	env.RegisterWorkflow(workflows.Refund)
	env.RegisterActivity(r.w.Acts)
	for _, a := range answers {
		env.RegisterDelayedCallback(func() {
			env.UpdateWorkflow(a.update, a.update+c.RefundID, &testsuite.TestUpdateCallback{
				OnAccept: func() {}, OnReject: func(err error) { r.t.Errorf("%s of %s refused: %v", a.update, c.RefundID, err) },
				OnComplete: func(any, error) {},
			}, a.arg)
		}, a.after)
	}
	env.ExecuteWorkflow(workflows.Refund, workflows.RefundInput{
		RefundID: c.RefundID, SubmittedBy: c.SubmittedBy, OfferWindow: c.OfferWindow, ApprovalSLA: c.ApprovalSLA,
		AppealWindow: workflows.DefaultAppealWindow, ExtensionOffer: c.ExtensionOffer,
	})
	if !env.IsWorkflowCompleted() || env.GetWorkflowError() != nil {
		r.t.Errorf("case %s did not complete: %v", c.RefundID, env.GetWorkflowError())
	}
	return nil
}

func (r *caseRunner) StartTicket(context.Context, contract.TicketStart) error { return nil }

func (r *caseRunner) RefundRun(context.Context, string) (contract.Run, error) {
	return contract.Run{Running: true}, nil
}

func (r *caseRunner) EndedAbnormally(context.Context, time.Time) ([]contract.EndedRun, error) {
	return nil, nil
}

func remediationResult(t *testing.T, env *testsuite.TestWorkflowEnvironment) workflows.RemediationResult {
	t.Helper()
	if !env.IsWorkflowCompleted() {
		t.Fatal("the remediation did not complete")
	}
	if err := env.GetWorkflowError(); err != nil {
		t.Fatalf("the remediation failed: %v", err)
	}
	var res workflows.RemediationResult
	if err := env.GetWorkflowResult(&res); err != nil {
		t.Fatal(err)
	}
	return res
}

// remainingShare is what rule platform_outage owes for the live course:
// the 7 of 12 sessions still to come, rounded down.
func remainingShare(amount int64) int64 { return amount * 7 / 12 }

func TestRemediationPagesThroughOrdersAcrossRunsAndRefundsEachLearnerOnce(t *testing.T) {
	ow := newOutageWorld(t, 7)
	in := ow.start(t, refundflow.RemediateRefund)
	in.PageSize, in.PagesPerRun = 2, 1
	env, _ := newRemediationEnv(t, ow.w)

	env.ExecuteWorkflow(remediateAsChild, in)

	res := remediationResult(t, env)
	// Pages of 2, 2, 2 and 1 orders, one page per run.
	if res.Status != refundflow.RemediationCompleted || res.Runs != 4 {
		t.Fatalf("result %+v, want completed after 4 runs", res)
	}
	for _, o := range ow.orders {
		refunds := ow.w.StripeRefundsFor(o.PaymentIntent)
		if len(refunds) != 1 || refunds[0].Amount != remainingShare(o.Amount) {
			t.Fatalf("order %s (%d paid): stripe refunds %+v, want one of %d", o.ID, o.Amount, refunds, remainingShare(o.Amount))
		}
		c := ow.w.Refund(postgres.OutageRefundID(ow.outage.ID, o.ID))
		if c.Reason != policy.ReasonTechnicalFailure || c.Decision.Rule != policy.RulePlatformOutage || c.Status != refundflow.StatusRefunded {
			t.Fatalf("case of %s: %s %s %s", o.ID, c.Reason, c.Decision.Rule, c.Status)
		}
	}
	for _, o := range ow.spared {
		if r := ow.w.StripeRefundsFor(o.PaymentIntent); len(r) != 0 {
			t.Fatalf("order %s was not affected but got %+v", o.ID, r)
		}
	}
	run, err := ow.w.DB.GetRemediation(context.Background(), ow.outage.ID)
	if err != nil || run.Status != refundflow.RemediationCompleted || run.Total != 7 || !run.AllOpened || run.FinishedAt == nil {
		t.Fatalf("run %+v: %v", run, err)
	}
	prog, err := ow.w.DB.GetRemediationProgress(context.Background(), ow.outage.ID)
	if err != nil || prog != (postgres.RemediationProgress{Opened: 7, Done: 7, Refunded: 7}) {
		t.Fatalf("progress %+v: %v", prog, err)
	}
}

// The server suggests continue-as-new when a history grows long; the
// remediation follows the suggestion after the page it is on, and the next
// run starts after that page.
func TestRemediationContinuesAsNewWhenTheServerSuggestsIt(t *testing.T) {
	ow := newOutageWorld(t, 3)
	in := ow.start(t, refundflow.RemediateRefund)
	in.PageSize = 1
	env, _ := newRemediationEnv(t, ow.w)
	env.SetContinueAsNewSuggested(true)

	env.ExecuteWorkflow(workflows.OutageRemediation, in)

	var can *workflow.ContinueAsNewError
	if !errors.As(env.GetWorkflowError(), &can) {
		t.Fatalf("ended with %v, want continue-as-new", env.GetWorkflowError())
	}
	var next workflows.RemediationInput
	if err := converter.GetDefaultDataConverter().FromPayloads(can.Input, &next); err != nil {
		t.Fatal(err)
	}
	if next.After != ow.orders[0].ID || next.AllOpened || next.Runs != 1 {
		t.Fatalf("next run %+v, want it to start after %s", next, ow.orders[0].ID)
	}
	prog, _ := ow.w.DB.GetRemediationProgress(context.Background(), ow.outage.ID)
	if prog.Opened != 1 || prog.Refunded != 1 {
		t.Fatalf("progress %+v, want the one case of the first page refunded", prog)
	}
}

func TestOfferModeOffersAnExtensionFirstAndRefundsOnDeclineOrSilence(t *testing.T) {
	ow := newOutageWorld(t, 3)
	in := ow.start(t, refundflow.RemediateOffer)
	env, cases := newRemediationEnv(t, ow.w)
	caseOf := func(o *refundflow.Order) string { return postgres.OutageRefundID(ow.outage.ID, o.ID) }
	cases.plan(caseOf(ow.orders[0]), time.Hour, workflows.AcceptOfferUpdate, workflows.AcceptOfferRequest{OfferID: "offer-1", By: learn})
	cases.plan(caseOf(ow.orders[1]), 2*time.Hour, workflows.DeclineOfferUpdate, workflows.LearnerRequest{By: learn})
	// orders[2] never answers.

	env.ExecuteWorkflow(remediateAsChild, in)
	ow.w.Deliver()

	if res := remediationResult(t, env); res.Status != refundflow.RemediationCompleted {
		t.Fatalf("result %+v", res)
	}
	kept := ow.w.Refund(postgres.OutageRefundID(ow.outage.ID, ow.orders[0].ID))
	if kept.Status != refundflow.StatusRetained || len(kept.Offers) != 1 || kept.Offers[0].Kind != refundflow.OfferExtendAccess {
		t.Fatalf("accepting case: %s offers %+v", kept.Status, kept.Offers)
	}
	provision := ow.w.Platform.Event(kept.ID, "offer.accepted")["provision"].(map[string]any)
	if provision["kind"] != "extend_access" || provision["days"] != float64(30) {
		t.Fatalf("provision %v", provision)
	}
	if r := ow.w.StripeRefundsFor(ow.orders[0].PaymentIntent); len(r) != 0 {
		t.Fatalf("money moved for a learner who took the extension: %+v", r)
	}
	for _, o := range ow.orders[1:] {
		c := ow.w.Refund(postgres.OutageRefundID(ow.outage.ID, o.ID))
		if c.Status != refundflow.StatusRefunded || *c.Amount != remainingShare(o.Amount) {
			t.Fatalf("case of %s: %s %v", o.ID, c.Status, c.Amount)
		}
	}
	prog, _ := ow.w.DB.GetRemediationProgress(context.Background(), ow.outage.ID)
	if prog != (postgres.RemediationProgress{Opened: 3, Done: 3, Refunded: 2, Retained: 1}) {
		t.Fatalf("progress %+v", prog)
	}
}

// Canceling stops the remediation between pages; the cases already open
// go on to their end.
func TestCanceledRemediationOpensNoMoreCasesAndLetsOpenOnesFinish(t *testing.T) {
	ow := newOutageWorld(t, 4)
	in := ow.start(t, refundflow.RemediateOffer)
	in.PageSize = 2
	env, cases := newRemediationEnv(t, ow.w)
	var once sync.Once
	// As the API does, the read model first — here as soon as the first
	// case has started: the next page finds the remediation canceled
	// (the API's signal, which ends a wait between pages at once, is
	// tested in the integration tests).
	cases.onStart = func(contract.RefundStart) {
		once.Do(func() {
			if _, ok, err := ow.w.DB.CancelRemediation(context.Background(), ow.outage.ID); err != nil || !ok {
				t.Errorf("cancel: %v %v", ok, err)
			}
		})
	}

	env.ExecuteWorkflow(remediateAsChild, in)

	if res := remediationResult(t, env); res.Status != refundflow.RemediationCanceled {
		t.Fatalf("result %+v", res)
	}
	prog, _ := ow.w.DB.GetRemediationProgress(context.Background(), ow.outage.ID)
	if prog != (postgres.RemediationProgress{Opened: 2, Done: 2, Refunded: 2}) {
		t.Fatalf("progress %+v: want the first page's 2 cases refunded after their offer window, no more", prog)
	}
	run, _ := ow.w.DB.GetRemediation(context.Background(), ow.outage.ID)
	if run.Status != refundflow.RemediationCanceled || run.AllOpened {
		t.Fatalf("run %+v", run)
	}
}
