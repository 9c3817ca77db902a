package workflows_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v76"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/refundflow/refundflow"
	"github.com/refundflow/refundflow/activities/contract"
	"github.com/refundflow/refundflow/internal/casetest"
	"github.com/refundflow/refundflow/internal/stripefake"
	"github.com/refundflow/refundflow/ledger"
	"github.com/refundflow/refundflow/policy"
	"github.com/refundflow/refundflow/postgres"
	"github.com/refundflow/refundflow/postgres/sqlgen"
	"github.com/refundflow/refundflow/refund"
	"github.com/refundflow/refundflow/workflows"
)

// coolingOffCase is an auto-approved full refund of 199.00 (bought 3 hours
// ago, nothing watched).
func coolingOffCase(t *testing.T, w *casetest.World, orderID string) (*caseRun, *refundflow.Order) {
	t.Helper()
	recordedCourse(w)
	o := order(w, orderID, "go-basics", 19900, 3*time.Hour)
	return newCase(t, w, orderID, policy.ReasonChangedMind), o
}

// net is an account's debits minus credits in the whole ledger.
func net(t *testing.T, w *casetest.World, account ledger.Account, party string) int64 {
	t.Helper()
	balances, err := w.DB.LedgerBalances(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var sum int64
	for _, b := range balances {
		if b.Account == account && (party == "*" || b.Party == party) {
			sum += b.Debit - b.Credit
		}
	}
	return sum
}

// ledgerMatchesStripe checks that the ledger balances and holds exactly
// what the fake Stripe moved: refunds that succeeded, creator shares
// pulled back and application fees returned.
func ledgerMatchesStripe(t *testing.T, w *casetest.World) {
	t.Helper()
	snap := w.Stripe.Snapshot()
	var succeeded, reversed, feesReturned int64
	for _, p := range snap.Payments {
		succeeded += p.Succeeded
		reversed += p.TransferReversed
		feesReturned += p.ApplicationFeeRefunded
	}
	if got := net(t, w, ledger.Refunds, "*"); got != succeeded {
		t.Errorf("ledger refunds %d, Stripe refunded %d", got, succeeded)
	}
	if got := -net(t, w, ledger.CreatorPayable, "*"); got != reversed {
		t.Errorf("ledger clawbacks %d, Stripe reversed %d", got, reversed)
	}
	if got := net(t, w, ledger.ApplicationFees, "*"); got != feesReturned {
		t.Errorf("ledger fees returned %d, Stripe returned %d", got, feesReturned)
	}
	balances, err := w.DB.LedgerBalances(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	sums := map[string]int64{}
	for _, b := range balances {
		sums[string(b.Currency)] += b.Debit - b.Credit
	}
	for cur, sum := range sums {
		if sum != 0 {
			t.Errorf("the %s ledger does not balance: %d", cur, sum)
		}
	}
}

func TestSucceededRefundIsBookedOnTheLedgerInTheSettlement(t *testing.T) {
	w := casetest.New(t)
	c, o := coolingOffCase(t, w, "m1")

	if res := c.run(false); res.Status != refundflow.StatusRefunded {
		t.Fatalf("result %+v", res)
	}

	if got := net(t, w, ledger.Refunds, ""); got != 19900 {
		t.Fatalf("refunds account %d", got)
	}
	if got := net(t, w, ledger.StripeFeesUnrecovered, ""); got != o.Amount*3/100 {
		t.Fatalf("unrecovered Stripe fee %d, want the whole 3%% fee of a full refund", got)
	}
	ledgerMatchesStripe(t, w)
}

// The refund is committed at Stripe, but the answer is a 500: the retry
// finds the refund by its metadata instead of asking again.
func TestStripe5xxAfterCommitIsAdoptedNotRepeated(t *testing.T) {
	w := casetest.New(t)
	c, o := coolingOffCase(t, w, "m2")
	must(t, w.Stripe.InjectFault(stripefake.Fault{Kind: stripefake.FaultErrorAfterCommit, Status: 500}))

	if res := c.run(false); res.Status != refundflow.StatusRefunded {
		t.Fatalf("result %+v", res)
	}

	refunds := w.StripeRefundsFor(o.PaymentIntent)
	if len(refunds) != 1 || w.Refund(c.id).ProviderRefundID != refunds[0].ID {
		t.Fatalf("stripe refunds %+v, case %s", refunds, w.Refund(c.id).ProviderRefundID)
	}
	if w.Stripe.Snapshot().Counters.FaultsInjected != 1 {
		t.Fatal("the fault was not hit")
	}
	if w.OrderNow("m2").RefundedAmount != 19900 {
		t.Fatal("not booked once")
	}
	ledgerMatchesStripe(t, w)
}

// Stripe answers 500 before it made anything, and saves that answer
// under the attempt's key: every retry with the key gets the same 500.
// The case settles that attempt, waits, and makes a new one with a new key
// (written before the call like the first), and is refunded once.
func TestStripe5xxSavedUnderTheKeyLeadsToANewAttemptWithANewKey(t *testing.T) {
	w := casetest.New(t)
	c, o := coolingOffCase(t, w, "m5")
	must(t, w.Stripe.InjectFault(stripefake.Fault{Kind: stripefake.FaultErrorBeforeCommit, Status: 500}))

	if res := c.run(false); res.Status != refundflow.StatusRefunded {
		t.Fatalf("result %+v", res)
	}

	refunds := w.StripeRefundsFor(o.PaymentIntent)
	if len(refunds) != 1 || refunds[0].IdempotencyKey != refund.IdempotencyKey(c.id, 2) || w.Refund(c.id).ProviderRefundID != refunds[0].ID {
		t.Fatalf("stripe refunds %+v, case %s", refunds, w.Refund(c.id).ProviderRefundID)
	}
	wantEvents(t, w.Events(c.id), "payment_requested", "payment_retried", "payment_requested", "refunded")
	var statuses []string
	rows, err := w.DB.Pool.Query(t.Context(), "SELECT status FROM payment_attempts WHERE refund_id = $1 ORDER BY attempt", c.id)
	must(t, err)
	for rows.Next() {
		var s string
		must(t, rows.Scan(&s))
		statuses = append(statuses, s)
	}
	if !slices.Equal(statuses, []string{"failed", "succeeded"}) {
		t.Fatalf("attempts %v", statuses)
	}
	// Finance sees no failed refund: the case went on.
	report, err := w.DB.Queries().AttemptReport(t.Context(), sqlgen.AttemptReportParams{Tz: "UTC", FromAt: time.Now().Add(-day), ToAt: time.Now().Add(day)})
	if err != nil || len(report) != 0 {
		t.Fatalf("attempts reported %+v: %v", report, err)
	}
	if got := w.OrderNow("m5"); got.RefundedAmount != 19900 {
		t.Fatalf("order refunded %d", got.RefundedAmount)
	}
	ledgerMatchesStripe(t, w)
}

// Stripe forgets an idempotency key after 24 hours: a retry that came
// later would make a second refund with the same key. The retry adopts
// the refund the lost answer was about instead.
func TestRetryPastTheKeyWindowAdoptsTheRefundInsteadOfMakingASecond(t *testing.T) {
	w := casetest.New(t)
	c, o := coolingOffCase(t, w, "m3")
	must(t, w.Stripe.InjectFault(stripefake.Fault{Kind: stripefake.FaultErrorAfterCommit, Status: 502}))
	// After the first try failed and before it is retried, a day passes
	// at Stripe.
	c.env.RegisterDelayedCallback(func() { w.Stripe.Advance(25 * time.Hour) }, time.Second)

	if res := c.run(false); res.Status != refundflow.StatusRefunded {
		t.Fatalf("result %+v", res)
	}
	if refunds := w.StripeRefundsFor(o.PaymentIntent); len(refunds) != 1 {
		t.Fatalf("stripe refunds %+v", refunds)
	}
	ledgerMatchesStripe(t, w)
}

// A burst of 429s is waited out with backoff; the refund is made once.
func TestRateLimitBurstIsRetriedWithBackoff(t *testing.T) {
	w := casetest.New(t)
	c, o := coolingOffCase(t, w, "m4")
	must(t, w.Stripe.InjectFault(stripefake.Fault{Kind: stripefake.FaultRateLimit, Times: 6}))

	if res := c.run(false); res.Status != refundflow.StatusRefunded {
		t.Fatalf("result %+v", res)
	}
	snap := w.Stripe.Snapshot()
	if snap.Counters.RateLimited != 6 || len(w.StripeRefundsFor(o.PaymentIntent)) != 1 {
		t.Fatalf("rate limited %d times, %d refunds", snap.Counters.RateLimited, len(w.StripeRefundsFor(o.PaymentIntent)))
	}
}

// A refund that goes pending and then fails ends the case failed: the
// hold goes back to the order, nothing is booked as refunded, finance is
// told. Stripe's news arrives twice and out of order; the older word
// ("pending") never moves the refund back.
func TestRefundFailingAfterPendingFailsTheCaseWhateverOrderTheWebhooksCome(t *testing.T) {
	w := casetest.New(t)
	c, o := coolingOffCase(t, w, "m5")
	must(t, w.Stripe.SetBehaviour(o.PaymentIntent, pendingThenFail()))
	signal := func(after time.Duration, status string) {
		c.env.RegisterDelayedCallback(func() {
			re := w.StripeRefundsFor(o.PaymentIntent)
			c.env.SignalWorkflow(workflows.StripeRefundSignal, workflows.StripeRefundUpdate{
				ProviderRefundID: re[0].ID, Status: status, FailureReason: "expired_or_canceled_card", EventID: "evt_" + status,
			})
		}, after)
	}
	c.env.RegisterDelayedCallback(func() {
		must(t, w.Stripe.SettleRefund(w.StripeRefundsFor(o.PaymentIntent)[0].ID, stripe.RefundStatusFailed, stripe.RefundFailureReasonExpiredOrCanceledCard))
	}, 5*time.Minute)
	signal(6*time.Minute, "failed")
	signal(7*time.Minute, "failed")  // a duplicate
	signal(8*time.Minute, "pending") // late

	if res := c.run(false); res.Status != refundflow.StatusFailed {
		t.Fatalf("result %+v", res)
	}
	var refunded, inFlight int64
	if err := w.DB.Pool.QueryRow(t.Context(), "SELECT refunded_amount, in_flight_amount FROM orders WHERE id = 'm5'").Scan(&refunded, &inFlight); err != nil {
		t.Fatal(err)
	}
	if refunded != 0 || inFlight != 0 {
		t.Fatalf("order refunded %d, in flight %d", refunded, inFlight)
	}
	wantEvents(t, w.Events(c.id), "payment_requested", "payment_pending", "payment_failed")
	staff, err := w.DB.Queries().ListStaffNotifications(t.Context(), sqlgen.ListStaffNotificationsParams{Audience: "finance", MaxRows: 100})
	if err != nil || len(staff) != 1 {
		t.Fatalf("finance was told %d times: %v", len(staff), err)
	}
	ledgerMatchesStripe(t, w)
}

// A refund that succeeded is news that a late "pending" cannot undo.
func TestLatePendingWebhookDoesNotMoveASucceededRefundBack(t *testing.T) {
	w := casetest.New(t)
	c, o := coolingOffCase(t, w, "m6")
	must(t, w.Stripe.SetBehaviour(o.PaymentIntent, stripefake.Behaviour{Status: stripe.RefundStatusRequiresAction}))
	send := func(after time.Duration, status string) {
		c.env.RegisterDelayedCallback(func() {
			c.env.SignalWorkflow(workflows.StripeRefundSignal, workflows.StripeRefundUpdate{
				ProviderRefundID: w.StripeRefundsFor(o.PaymentIntent)[0].ID, Status: status, EventID: "evt_" + status,
			})
		}, after)
	}
	c.env.RegisterDelayedCallback(func() {
		must(t, w.Stripe.SettleRefund(w.StripeRefundsFor(o.PaymentIntent)[0].ID, stripe.RefundStatusSucceeded, ""))
	}, time.Minute)
	send(2*time.Minute, "succeeded")
	send(3*time.Minute, "pending")

	if res := c.run(false); res.Status != refundflow.StatusRefunded {
		t.Fatalf("result %+v", res)
	}
	if w.OrderNow("m6").RefundedAmount != 19900 {
		t.Fatal("not booked")
	}
	ledgerMatchesStripe(t, w)
}

// Connect: the creator's share is pulled back and the platform's fee
// returned in proportion, and the ledger holds what Stripe moved.
func TestConnectRefundClawsBackTheCreatorsShareProportionally(t *testing.T) {
	w := casetest.New(t)
	w.Product(refundflow.Product{ID: "live-go", Type: refundflow.LiveCourse, Title: "Live Go", SessionsTotal: 10, SessionsHeld: 4,
		StartsAt: ptr(start.Add(-14 * 24 * time.Hour)), CreatorAccount: "acct_teacher"})
	o := w.Order(refundflow.Order{ID: "m7", LearnerID: "learner-m7", ProductID: "live-go", Amount: 10000, ApplicationFeeAmount: 1500,
		PurchasedAt: start.Add(-20 * 24 * time.Hour)})
	c := newCase(t, w, "m7", policy.ReasonScheduleChange)

	res := c.run(true)

	// Live pro-rata: 6 of 10 sessions to come, 60.00 of 100.00.
	if res.Status != refundflow.StatusRefunded || res.Amount != 6000 {
		t.Fatalf("result %+v", res)
	}
	totals := w.Stripe.Snapshot().Payments[o.PaymentIntent]
	if totals.TransferReversed != 5100 || totals.ApplicationFeeRefunded != 900 {
		t.Fatalf("stripe totals %+v", totals)
	}
	if got := -net(t, w, ledger.CreatorPayable, "acct_teacher"); got != 5100 {
		t.Fatalf("clawback from acct_teacher %d", got)
	}
	ledgerMatchesStripe(t, w)
}

// A refund can fail after it succeeded (a closed card): once the case has
// booked it, a small workflow reverses the booking and tells finance.
func TestRefundFailingAfterItSucceededIsReversedOnce(t *testing.T) {
	w := casetest.New(t)
	c, o := coolingOffCase(t, w, "m8")
	if res := c.run(false); res.Status != refundflow.StatusRefunded {
		t.Fatalf("result %+v", res)
	}
	re := w.StripeRefundsFor(o.PaymentIntent)[0]
	must(t, w.Stripe.SettleRefund(re.ID, stripe.RefundStatusFailed, stripe.RefundFailureReasonExpiredOrCanceledCard))

	for i := range 2 { // a redelivered event starts it again: nothing more happens
		var suite testsuite.WorkflowTestSuite
		env := suite.NewTestWorkflowEnvironment()
		env.RegisterWorkflow(workflows.RefundFailedAfterSuccess)
		env.RegisterActivity(w.Acts)
		env.ExecuteWorkflow(workflows.RefundFailedAfterSuccess, workflows.RefundFailedInput{
			RefundID: c.id, ProviderRefundID: re.ID, FailureReason: "expired_or_canceled_card", EventID: "evt_failed",
		})
		var reversed bool
		if err := env.GetWorkflowResult(&reversed); err != nil || reversed != (i == 0) {
			t.Fatalf("run %d: reversed=%v err=%v", i, reversed, err)
		}
	}

	if got := w.OrderNow("m8"); got.RefundedAmount != 0 {
		t.Fatalf("order still shows %d refunded", got.RefundedAmount)
	}
	rc := w.Refund(c.id)
	if rc.Status != refundflow.StatusFailed || rc.PaymentStatus != "failed" {
		t.Fatalf("case %s, payment %s", rc.Status, rc.PaymentStatus)
	}
	wantEvents(t, w.Events(c.id), "refunded", "refund_failed_after_success")
	if got := net(t, w, ledger.Refunds, ""); got != 0 {
		t.Fatalf("refunds account %d after the reversal", got)
	}
	if got := net(t, w, ledger.StripeFeesUnrecovered, ""); got != 0 {
		t.Fatalf("unrecovered fee %d after the reversal", got)
	}
	staff, err := w.DB.Queries().ListStaffNotifications(t.Context(), sqlgen.ListStaffNotificationsParams{Audience: "finance", MaxRows: 100})
	if err != nil || len(staff) != 1 {
		t.Fatalf("finance was told %d times: %v", len(staff), err)
	}
	w.Deliver()
	if types := w.Platform.Types(c.id); !slices.Contains(types, "refund.failed") {
		t.Fatalf("platform heard %v", types)
	}
	ledgerMatchesStripe(t, w)
}

// A failure that overtakes the booking waits for it: reversing fails,
// retryably, until the case has recorded the refund.
func TestReversalWaitsUntilTheCaseHasBookedTheRefund(t *testing.T) {
	w := casetest.New(t)
	c, o := coolingOffCase(t, w, "m9")
	must(t, w.Stripe.SetBehaviour(o.PaymentIntent, pendingThenFail()))
	c.env.RegisterDelayedCallback(func() {
		re := w.StripeRefundsFor(o.PaymentIntent)[0]
		// At Stripe: succeeded, then failed; the case has heard nothing yet.
		must(t, w.Stripe.SettleRefund(re.ID, stripe.RefundStatusSucceeded, ""))
		must(t, w.Stripe.SettleRefund(re.ID, stripe.RefundStatusFailed, stripe.RefundFailureReasonLostOrStolenCard))
		_, err := w.Acts.ReverseRefundBooking(context.Background(), contract.ReverseInput{RefundID: c.id, ProviderRefundID: re.ID, At: start})
		var appErr *temporal.ApplicationError
		if refundflow.ErrorCode(err) != postgres.ErrNotBookedYet || errors.As(err, &appErr) {
			t.Errorf("reversing before the booking: %v, want a retryable %s", err, postgres.ErrNotBookedYet)
		}
		c.env.SignalWorkflow(workflows.StripeRefundSignal, workflows.StripeRefundUpdate{ProviderRefundID: re.ID, Status: "succeeded", EventID: "evt_ok"})
	}, time.Minute)
	if res := c.run(false); res.Status != refundflow.StatusRefunded {
		t.Fatalf("result %+v", res)
	}

	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestWorkflowEnvironment()
	env.RegisterWorkflow(workflows.RefundFailedAfterSuccess)
	env.RegisterActivity(w.Acts)
	env.ExecuteWorkflow(workflows.RefundFailedAfterSuccess, workflows.RefundFailedInput{RefundID: c.id, ProviderRefundID: w.StripeRefundsFor(o.PaymentIntent)[0].ID})
	var reversed bool
	if err := env.GetWorkflowResult(&reversed); err != nil || !reversed {
		t.Fatalf("reversed=%v err=%v", reversed, err)
	}
	if w.OrderNow("m9").RefundedAmount != 0 {
		t.Fatal("not reversed")
	}
	ledgerMatchesStripe(t, w)
}
