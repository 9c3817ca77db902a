package workflows_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/refundflow/refundflow"
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

func newRemediationEnv(w *casetest.World) *testsuite.TestWorkflowEnvironment {
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestWorkflowEnvironment()
	env.SetStartTime(start)
	env.RegisterWorkflow(remediateAsChild)
	env.RegisterWorkflow(workflows.OutageRemediation)
	env.RegisterWorkflow(workflows.Refund)
	env.RegisterActivity(w.Acts)
	return env
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
	in := ow.start(t, postgres.RemediateRefund)
	in.PageSize, in.PagesPerRun = 2, 1
	env := newRemediationEnv(ow.w)

	env.ExecuteWorkflow(remediateAsChild, in)

	res := remediationResult(t, env)
	// Pages of 2, 2, 2 and 1 orders, one page per run.
	if res.Status != postgres.RemediationCompleted || res.Runs != 4 {
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
	if err != nil || run.Status != postgres.RemediationCompleted || run.Total != 7 || !run.AllOpened || run.FinishedAt == nil {
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
	in := ow.start(t, postgres.RemediateRefund)
	in.PageSize = 1
	env := newRemediationEnv(ow.w)
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
	in := ow.start(t, postgres.RemediateOffer)
	env := newRemediationEnv(ow.w)
	answer := func(after time.Duration, o *refundflow.Order, update string, arg any) {
		env.RegisterDelayedCallback(func() {
			id := workflows.RefundWorkflowID(postgres.OutageRefundID(ow.outage.ID, o.ID))
			env.UpdateWorkflowByID(id, update, update+o.ID, &testsuite.TestUpdateCallback{
				OnAccept: func() {}, OnReject: func(err error) { t.Errorf("%s of %s refused: %v", update, o.ID, err) },
				OnComplete: func(any, error) {},
			}, arg)
		}, after)
	}
	answer(time.Hour, ow.orders[0], workflows.AcceptOfferUpdate, workflows.AcceptOfferRequest{OfferID: "offer-1", By: learn})
	answer(2*time.Hour, ow.orders[1], workflows.DeclineOfferUpdate, workflows.LearnerRequest{By: learn})
	// orders[2] never answers.

	env.ExecuteWorkflow(remediateAsChild, in)

	if res := remediationResult(t, env); res.Status != postgres.RemediationCompleted {
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
	in := ow.start(t, postgres.RemediateOffer)
	in.PageSize = 2
	env := newRemediationEnv(ow.w)
	canceled := false
	// As the API does: the read model first, then the signal — here as
	// soon as the first case has started.
	env.SetOnChildWorkflowStartedListener(func(info *workflow.Info, _ workflow.Context, _ converter.EncodedValues) {
		if canceled || info.WorkflowType.Name != "Refund" {
			return
		}
		canceled = true
		if _, ok, err := ow.w.DB.CancelRemediation(context.Background(), ow.outage.ID); err != nil || !ok {
			t.Errorf("cancel: %v %v", ok, err)
		}
		if err := env.SignalWorkflowByID(workflows.OutageWorkflowID(ow.outage.ID), workflows.CancelRemediationSignal, nil); err != nil {
			t.Error(err)
		}
	})

	env.ExecuteWorkflow(remediateAsChild, in)

	if res := remediationResult(t, env); res.Status != postgres.RemediationCanceled {
		t.Fatalf("result %+v", res)
	}
	prog, _ := ow.w.DB.GetRemediationProgress(context.Background(), ow.outage.ID)
	if prog != (postgres.RemediationProgress{Opened: 2, Done: 2, Refunded: 2}) {
		t.Fatalf("progress %+v: want the first page's 2 cases refunded after their offer window, no more", prog)
	}
	run, _ := ow.w.DB.GetRemediation(context.Background(), ow.outage.ID)
	if run.Status != postgres.RemediationCanceled || run.AllOpened {
		t.Fatalf("run %+v", run)
	}
}
