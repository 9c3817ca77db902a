package workflows_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/client"
	sdkclient "go.temporal.io/sdk/client"
	"go.temporal.io/sdk/testsuite"

	"github.com/refundflow/refundflow"
	"github.com/refundflow/refundflow/internal/casetest"
	"github.com/refundflow/refundflow/internal/stripefake"
	"github.com/refundflow/refundflow/ledger"
	"github.com/refundflow/refundflow/payments"
	"github.com/refundflow/refundflow/policy"
	"github.com/refundflow/refundflow/postgres/pgtest"
	"github.com/refundflow/refundflow/refund"
	"github.com/refundflow/refundflow/workflows"
)

func dashboard(w *casetest.World) *client.API {
	sc := &client.API{}
	sc.Init("sk_test_dashboard", &stripe.Backends{API: stripe.GetBackendWithConfig(stripe.APIBackend, &stripe.BackendConfig{URL: stripe.String(w.StripeAt)})})
	return sc
}

func reconcile(t *testing.T, w *casetest.World, id string, from, to time.Time) ledger.ReconciliationRun {
	t.Helper()
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestWorkflowEnvironment()
	env.RegisterWorkflow(workflows.Reconcile)
	env.RegisterActivity(w.Acts)
	env.SetStartWorkflowOptions(sdkclient.StartWorkflowOptions{ID: id})
	env.ExecuteWorkflow(workflows.Reconcile, workflows.ReconcileInput{From: from, To: to, Trigger: workflows.ReconcileTriggerManual})
	var run ledger.ReconciliationRun
	if err := env.GetWorkflowResult(&run); err != nil {
		t.Fatal(err)
	}
	return run
}

// Reconciliation finds every kind of difference between Stripe and the
// ledger, page after page of Stripe's list, and adopts a refund made by
// hand in the dashboard onto its order.
func TestReconciliationFindsWhatDiffersAndAdoptsDashboardRefunds(t *testing.T) {
	w := casetest.New(t)
	ctx := context.Background()
	recordedCourse(w)

	// Matched: a case refunded the normal way.
	c, _ := coolingOffCase(t, w, "r1")
	if res := c.run(false); res.Status != refundflow.StatusRefunded {
		t.Fatalf("result %+v", res)
	}
	// Adopted: refunded in the dashboard, no metadata.
	dash := order(w, "r2", "go-basics", 10000, 10*24*time.Hour)
	if _, err := dashboard(w).Refunds.New(&stripe.RefundParams{PaymentIntent: stripe.String(dash.PaymentIntent), Amount: stripe.Int64(2500)}); err != nil {
		t.Fatal(err)
	}
	// Missing in the ledger: a refund that names a case refundflow never booked.
	lost := order(w, "r3", "go-basics", 10000, 10*24*time.Hour)
	if _, err := w.Acts.Stripe.Create(ctx, payments.CreateRequest{PaymentIntent: lost.PaymentIntent, Amount: 700, IdempotencyKey: "k-lost",
		RefundID: "rf-never", OrderID: "r3", Attempt: 1}); err != nil {
		t.Fatal(err)
	}
	// Missing in Stripe: booked for a refund Stripe never made.
	order(w, "r4", "go-basics", 10000, 10*24*time.Hour)
	ghost := w.Case("rf-r4", "r4", policy.ReasonOther, platformKey)
	pgtest.Pay(t, w.DB, 900, refund.Settlement{RefundID: ghost, Attempt: 1, Status: "succeeded", ProviderRefundID: "re_ghost", ProviderCreated: w.Stripe.Now()})
	// Pages: more dashboard refunds than one list page holds, on a payment
	// no order names.
	if _, err := w.Stripe.CreatePayment(stripefake.PaymentSpec{ID: "pi_elsewhere", Amount: 1_000_000, Currency: "CNY"}); err != nil {
		t.Fatal(err)
	}
	for range 101 {
		if _, err := dashboard(w).Refunds.New(&stripe.RefundParams{PaymentIntent: stripe.String("pi_elsewhere"), Amount: stripe.Int64(100)}); err != nil {
			t.Fatal(err)
		}
	}

	now := w.Stripe.Now()
	run := reconcile(t, w, "reconcile/test", now.Add(-time.Hour), now.Add(time.Hour))

	if run.Status != "finished" || run.StripeRefunds != 1+1+1+101+1 || run.Matched != 1 || run.Adopted != 1 || run.Findings != 1+1+101 {
		t.Fatalf("run %+v", run)
	}
	_, findings, err := w.DB.ReconciliationRun(ctx, run.ID)
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]int{}
	for _, f := range findings {
		kinds[f.Kind]++
	}
	want := map[string]int{"manual_refund_adopted": 1, "missing_in_ledger": 1, "missing_in_stripe": 1, "manual_refund_unmatched": 101}
	if fmt.Sprint(kinds) != fmt.Sprint(want) {
		t.Fatalf("findings %v, want %v", kinds, want)
	}
	if got := w.OrderNow("r2").RefundedAmount; got != 2500 {
		t.Fatalf("the dashboard refund is not on its order: %d", got)
	}

	// Again: the adopted refund is now matched, nothing is booked twice.
	again := reconcile(t, w, "reconcile/again", now.Add(-time.Hour), now.Add(time.Hour))
	if again.Adopted != 0 || again.Matched != 2 || w.OrderNow("r2").RefundedAmount != 2500 {
		t.Fatalf("second run %+v, order refunded %d", again, w.OrderNow("r2").RefundedAmount)
	}
}
