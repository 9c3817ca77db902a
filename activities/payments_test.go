package activities_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/refundflow/refundflow"
	"github.com/refundflow/refundflow/activities"
	"github.com/refundflow/refundflow/activities/contract"
	"github.com/refundflow/refundflow/internal/casetest"
	"github.com/refundflow/refundflow/internal/stripefake"
	"github.com/refundflow/refundflow/ledger"
	"github.com/refundflow/refundflow/payments"
	"github.com/refundflow/refundflow/policy"
	"github.com/refundflow/refundflow/postgres"
	"github.com/refundflow/refundflow/postgres/pgtest"
	"github.com/refundflow/refundflow/refund"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// money is one world and a Temporal activity environment to run the
// payment activities in (they read their attempt number from it).
type money struct {
	t       *testing.T
	w       *casetest.World
	env     *testsuite.TestActivityEnvironment
	amounts map[string]int64
}

func newMoney(t *testing.T) *money {
	var suite testsuite.WorkflowTestSuite
	m := &money{t: t, w: casetest.New(t), env: suite.NewTestActivityEnvironment(), amounts: map[string]int64{}}
	m.env.RegisterActivity(m.w.Acts)
	m.w.Product(refundflow.Product{ID: "course", Type: refundflow.RecordedCourse, Title: "Course", LessonsTotal: 10})
	return m
}

func (m *money) ctx() context.Context { return context.Background() }

// open opens a case for amount on the order, approved, about to be paid.
func (m *money) open(caseID, orderID string, amount int64) {
	m.t.Helper()
	m.w.Case(caseID, orderID, policy.ReasonOther, "key_platform")
	m.amounts[caseID] = amount
}

// input is attempt n of a case, as the case's workflow asks for it.
func (m *money) input(caseID string, n int) contract.PaymentInput {
	amount := m.amounts[caseID]
	return contract.PaymentInput{
		RefundID: caseID, Attempt: n, Amount: amount, Seq: 2*n - 1, At: time.Now(),
		Case: refund.Snapshot{Status: refundflow.StatusRefunding, Amount: &amount, EscalationLevel: 1},
	}
}

// reserve holds attempt n of a case without calling Stripe (what a try
// that died before its call left behind).
func (m *money) reserve(caseID string, n int) refund.Attempt {
	m.t.Helper()
	in := m.input(caseID, n)
	att, err := m.w.DB.ReservePayment(m.ctx(), caseID, n, in.Amount, func(refund.Attempt) refund.Step {
		return refund.Step{RefundID: caseID, Seq: in.Seq, At: in.At, Event: "payment_requested", Snapshot: in.Case}
	})
	if err != nil {
		m.t.Fatal(err)
	}
	return *att
}

// inFlight is what an order holds for refunds not settled yet.
func (m *money) inFlight(orderID string) int64 {
	m.t.Helper()
	var n int64
	if err := m.w.DB.Pool.QueryRow(m.ctx(), "SELECT in_flight_amount FROM orders WHERE id = $1", orderID).Scan(&n); err != nil {
		m.t.Fatal(err)
	}
	return n
}

// pay runs the payment activity for attempt n of a case.
func (m *money) pay(caseID string, n int) (contract.PaymentResult, error) {
	v, err := m.env.ExecuteActivity(m.w.Acts.RefundThroughStripe, m.input(caseID, n))
	if err != nil {
		return contract.PaymentResult{}, err
	}
	var r contract.PaymentResult
	return r, v.Get(&r)
}

func (m *money) mustPay(caseID string, n int) contract.PaymentResult {
	m.t.Helper()
	r, err := m.pay(caseID, n)
	if err != nil {
		m.t.Fatal(err)
	}
	return r
}

func (m *money) get(id string) contract.StripeRefund {
	m.t.Helper()
	v, err := m.env.ExecuteActivity(m.w.Acts.GetStripeRefund, id)
	if err != nil {
		m.t.Fatal(err)
	}
	var r contract.StripeRefund
	if err := v.Get(&r); err != nil {
		m.t.Fatal(err)
	}
	return r
}

// settle records how attempt n of a case that waited for Stripe ended, as
// the case's workflow does.
func (m *money) settle(caseID string, n int, r contract.StripeRefund) contract.PaymentResult {
	m.t.Helper()
	amount := m.amounts[caseID]
	res, err := m.w.Acts.SettleRefund(m.ctx(), contract.SettleInput{
		RefundID: caseID, Attempt: n, Refund: r, Seq: 2*n + 1,
		Case: refund.Snapshot{Status: refundflow.StatusRefunding, Amount: &amount, EscalationLevel: 1, ProviderRefundID: r.ID, PaymentStatus: "pending"},
	})
	if err != nil {
		m.t.Fatal(err)
	}
	return res
}

// lostAnswer is another try of the attempt (a worker since killed): Stripe
// makes the refund under the attempt's key, then answers 500 and saves
// that answer under the key.
func (m *money) lostAnswer(att refund.Attempt) {
	m.t.Helper()
	if err := m.w.Stripe.InjectFault(stripefake.Fault{Kind: stripefake.FaultErrorAfterCommit, Status: 500}); err != nil {
		m.t.Fatal(err)
	}
	if _, err := m.w.Acts.Stripe.Create(m.ctx(), payments.CreateRequest{PaymentIntent: att.PaymentIntent, Amount: att.Amount,
		IdempotencyKey: att.IdempotencyKey, RefundID: att.RefundID, OrderID: att.OrderID, Attempt: att.N}); err == nil {
		m.t.Fatal("the injected 500 was not seen")
	}
}

// dashboardRefund refunds by hand, as someone in the Stripe dashboard
// would: no idempotency key of ours, no metadata.
func (m *money) dashboardRefund(paymentIntent string, amount int64) *stripe.Refund {
	m.t.Helper()
	sc := &client.API{}
	sc.Init("sk_test_dashboard", &stripe.Backends{API: stripe.GetBackendWithConfig(stripe.APIBackend, &stripe.BackendConfig{URL: stripe.String(m.w.StripeAt)})})
	r, err := sc.Refunds.New(&stripe.RefundParams{PaymentIntent: stripe.String(paymentIntent), Amount: stripe.Int64(amount)})
	if err != nil {
		m.t.Fatal(err)
	}
	return r
}

// The attempt, its key and the hold are written before Stripe is called,
// and the outcome — the hold booked as refunded, the ledger, the case's
// step and its messages — in the transaction that settles it. A try after
// that finds the outcome recorded and calls Stripe no more.
func TestPaymentIsReservedBeforeStripeAndSettledWithItsStep(t *testing.T) {
	m := newMoney(t)
	o := m.w.Order(refundflow.Order{ID: "once", LearnerID: "l0", ProductID: "course", Amount: 10000, PurchasedAt: time.Now()})
	m.open("rf-once", o.ID, 10000)

	res := m.mustPay("rf-once", 1)
	if res.Outcome != refund.PaymentSucceeded || res.Step.Seq != 2 || res.Step.Event != "refunded" || res.Step.Snapshot.Status != refundflow.StatusRefunded {
		t.Fatalf("outcome %s, step %d %s %s", res.Outcome, res.Step.Seq, res.Step.Event, res.Step.Snapshot.Status)
	}
	rc := m.w.Refund("rf-once")
	events := m.w.Events("rf-once")
	if rc.Status != refundflow.StatusRefunded || !slices.Equal(events, []string{"payment_requested", "refunded"}) {
		t.Fatalf("case %s, timeline %v", rc.Status, events)
	}
	if got, held := m.w.OrderNow(o.ID).RefundedAmount, m.inFlight(o.ID); got != 10000 || held != 0 {
		t.Fatalf("order refunded %d, in flight %d", got, held)
	}
	if got := m.w.LearnerKinds("l0"); !slices.Equal(got, []string{"refunded"}) {
		t.Fatalf("learner heard %v", got)
	}

	again := m.mustPay("rf-once", 1) // the same attempt tried again (its answer lost)
	if again.Outcome != refund.PaymentSucceeded || again.Step.Snapshot.ProviderRefundID != res.Step.Snapshot.ProviderRefundID {
		t.Fatalf("again: %s %s", again.Outcome, again.Step.Snapshot.ProviderRefundID)
	}
	if refunds := m.w.StripeRefundsFor(o.PaymentIntent); len(refunds) != 1 {
		t.Fatalf("%d refunds at Stripe", len(refunds))
	}
}

// The key of an attempt reserved more than half of Stripe's 24-hour window
// ago no longer proves a create safe (a workflow reset, a queue that was
// down): even a first try looks for the refund before creating one.
func TestCreateWithAnOldKeyLooksForTheRefundFirst(t *testing.T) {
	m := newMoney(t)
	o := m.w.Order(refundflow.Order{ID: "old-key", LearnerID: "l1", ProductID: "course", Amount: 10000, PurchasedAt: time.Now().Add(-time.Hour)})
	m.open("rf-old-key", o.ID, 10000)
	if err := m.w.Stripe.InjectFault(stripefake.Fault{Kind: stripefake.FaultErrorAfterCommit, Status: 500}); err != nil {
		t.Fatal(err)
	}
	if _, err := m.pay("rf-old-key", 1); err == nil {
		t.Fatal("the injected 500 was not seen")
	}
	m.w.Stripe.Advance(25 * time.Hour) // Stripe forgets the key
	m.w.Acts.Now = func() time.Time { return time.Now().Add(25 * time.Hour) }

	res := m.mustPay("rf-old-key", 1) // the first try of a reset workflow
	refunds := m.w.StripeRefundsFor(o.PaymentIntent)
	if len(refunds) != 1 || res.Outcome != refund.PaymentSucceeded || res.Step.Snapshot.ProviderRefundID != refunds[0].ID {
		t.Fatalf("made %d refunds; outcome %s with %s", len(refunds), res.Outcome, res.Step.Snapshot.ProviderRefundID)
	}
}

// Stripe saved a 500 it answered before making anything under the
// attempt's key, and replays it to every retry with that key: the key is
// spent. The retry looks once more for the case's refund and, finding
// none, says so — the hold is released and the case makes a new attempt
// with a new key instead of asking Stripe the same thing for a day.
func TestKeyAnsweredWithASaved5xxIsSpent(t *testing.T) {
	m := newMoney(t)
	o := m.w.Order(refundflow.Order{ID: "spent", LearnerID: "l4", ProductID: "course", Amount: 10000, PurchasedAt: time.Now()})
	m.open("rf-spent", o.ID, 10000)
	if err := m.w.Stripe.InjectFault(stripefake.Fault{Kind: stripefake.FaultErrorBeforeCommit, Status: 500}); err != nil {
		t.Fatal(err)
	}
	_, err := m.pay("rf-spent", 1)
	if _, retryable := errorType(err); !retryable {
		t.Fatalf("Stripe's first 500: %v, want a retry", err)
	}
	res := m.mustPay("rf-spent", 1)
	if res.Outcome != refund.PaymentKeySpent || res.Step.Event != "payment_retried" || res.Step.Snapshot.Status != refundflow.StatusRefunding {
		t.Fatalf("the 500 replayed: %s %s, want the key spent", res.Outcome, res.Step.Event)
	}
	if refunds := m.w.StripeRefundsFor(o.PaymentIntent); len(refunds) != 0 {
		t.Fatalf("made %d refunds", len(refunds))
	}
	if held := m.inFlight(o.ID); held != 0 {
		t.Fatalf("%d still held", held)
	}

	next := m.mustPay("rf-spent", 2)
	if next.Outcome != refund.PaymentSucceeded || len(m.w.StripeRefundsFor(o.PaymentIntent)) != 1 {
		t.Fatalf("the next attempt: %s", next.Outcome)
	}
}

// A refund committed under a key whose saved answer is a 500 is adopted
// when that answer comes back, even by a try that had not looked first.
func TestRefundBehindASaved5xxIsAdoptedNotSpent(t *testing.T) {
	m := newMoney(t)
	o := m.w.Order(refundflow.Order{ID: "behind", LearnerID: "l5", ProductID: "course", Amount: 10000, PurchasedAt: time.Now()})
	m.open("rf-behind", o.ID, 10000)
	m.lostAnswer(m.reserve("rf-behind", 1))

	res := m.mustPay("rf-behind", 1)
	refunds := m.w.StripeRefundsFor(o.PaymentIntent)
	if len(refunds) != 1 || res.Outcome != refund.PaymentSucceeded || res.Step.Snapshot.ProviderRefundID != refunds[0].ID {
		t.Fatalf("made %d refunds; adopted %+v", len(refunds), res.Step.Snapshot)
	}
}

// The chaos run's case: a try made a pending refund and lost the answer
// to a 500; the bank failed the refund before the retry looked. The
// failed refund is the attempt's answer — adopted, so the case ends
// failed with one refund at Stripe — not a reason to spend the key and
// make a second refund that would fail the same way.
func TestRefundTheBankFailedBehindASaved5xxIsAdoptedNotSpent(t *testing.T) {
	m := newMoney(t)
	o := m.w.Order(refundflow.Order{ID: "bank-failed", LearnerID: "l6", ProductID: "course", Amount: 10000, PurchasedAt: time.Now()})
	m.open("rf-bank-failed", o.ID, 10000)
	att := m.reserve("rf-bank-failed", 1)
	if err := m.w.Stripe.SetBehaviour(o.PaymentIntent, stripefake.Behaviour{Status: stripe.RefundStatusPending, Settle: stripe.RefundStatusFailed}); err != nil {
		t.Fatal(err)
	}
	m.lostAnswer(att)
	made := m.w.StripeRefundsFor(o.PaymentIntent)
	if len(made) != 1 {
		t.Fatalf("made %d refunds", len(made))
	}
	if err := m.w.Stripe.SettleRefund(made[0].ID, stripe.RefundStatusFailed, stripe.RefundFailureReasonLostOrStolenCard); err != nil {
		t.Fatal(err)
	}

	res, err := m.pay("rf-bank-failed", 1)
	if err != nil {
		t.Fatalf("the retry: %v, want the failed refund adopted", err)
	}
	if res.Outcome != refund.PaymentFailed || res.Step.Snapshot.ProviderRefundID != made[0].ID || res.Step.Snapshot.Status != refundflow.StatusFailed {
		t.Fatalf("adopted %s %+v", res.Outcome, res.Step.Snapshot)
	}
	if refunds := m.w.StripeRefundsFor(o.PaymentIntent); len(refunds) != 1 {
		t.Fatalf("%d refunds at Stripe", len(refunds))
	}
	// Another attempt of the case does not take this one's failure for its own.
	if other, err := m.w.Acts.Stripe.FindByCase(m.ctx(), o.PaymentIntent, att.RefundID, 2); err != nil || other != nil {
		t.Fatalf("attempt 2 found %+v, %v", other, err)
	}
}

// A Stripe refund that fails and that the case has not recorded waits
// while the case is paying (it may record it yet), and is left alone once
// the case's payment has ended with another: nothing of it was booked, and
// the reversal does not retry for a week.
func TestReversalOfARefundTheCaseNeverRecordedEndsOnceTheCaseHasPaid(t *testing.T) {
	m := newMoney(t)
	o := m.w.Order(refundflow.Order{ID: "unrecorded", LearnerID: "l7", ProductID: "course", Amount: 10000, PurchasedAt: time.Now()})
	m.open("rf-unrecorded", o.ID, 10000)
	m.reserve("rf-unrecorded", 1)
	reverse := func() (contract.ReverseResult, error) {
		return m.w.Acts.ReverseRefundBooking(m.ctx(), contract.ReverseInput{RefundID: "rf-unrecorded", ProviderRefundID: "re_unrecorded", At: time.Now()})
	}
	if _, err := reverse(); refundflow.ErrorCode(err) != postgres.ErrNotBookedYet {
		t.Fatalf("while the case pays: %v, want %s", err, postgres.ErrNotBookedYet)
	}

	m.mustPay("rf-unrecorded", 1)
	rev, err := reverse()
	if err != nil || rev.Reversed {
		t.Fatalf("after the case was refunded: %+v, %v", rev, err)
	}
	if got := m.w.OrderNow(o.ID).RefundedAmount; got != 10000 {
		t.Fatalf("order refunded %d", got)
	}
}

// 429s are retried after a delay the activity chooses; Stripe's
// refusals that no retry can fix end the attempt: the case is failed,
// with a code and words for finance and the platform — not Stripe's raw
// error — and the hold is released.
func TestStripeErrorsAreClassifiedForRetry(t *testing.T) {
	m := newMoney(t)
	o := m.w.Order(refundflow.Order{ID: "cls", LearnerID: "l2", ProductID: "course", Amount: 10000, PurchasedAt: time.Now()})
	m.open("rf-cls", o.ID, 10000)

	if err := m.w.Stripe.InjectFault(stripefake.Fault{Kind: stripefake.FaultRateLimit}); err != nil {
		t.Fatal(err)
	}
	_, err := m.pay("rf-cls", 1)
	if typ, retryable := errorType(err); typ != activities.ErrStripeRateLimited || !retryable {
		t.Fatalf("429: %v (type %s, retryable %v)", err, typ, retryable)
	}

	if err := m.w.Stripe.SetDisputed(o.PaymentIntent, true); err != nil {
		t.Fatal(err)
	}
	res := m.mustPay("rf-cls", 1)
	if res.Outcome != refund.PaymentFailed || res.Step.Detail["code"] != "disputed" || res.Step.Snapshot.Status != refundflow.StatusFailed {
		t.Fatalf("disputed: %s %v", res.Outcome, res.Step.Detail)
	}
	if msg, _ := res.Step.Detail["message"].(string); msg == "" || strings.Contains(msg, "stripe") {
		t.Fatalf("the timeline says %q", msg)
	}
	if got, held := m.w.OrderNow(o.ID).RefundedAmount, m.inFlight(o.ID); got != 0 || held != 0 {
		t.Fatalf("order refunded %d, in flight %d", got, held)
	}
}

// Property: whatever mix of refunds happens — full and partial, Connect
// or not, pending then succeeded or failed, failed after they succeeded,
// made by hand in the dashboard and adopted — every ledger transaction
// balances, and the ledger holds exactly what the fake Stripe moved.
func TestLedgerStaysBalancedAndEqualToStripesRecord(t *testing.T) {
	for seed := uint64(1); seed <= 4; seed++ {
		t.Run(fmt.Sprintf("seed %d", seed), func(t *testing.T) {
			m := newMoney(t)
			rng := rand.New(rand.NewPCG(seed, 99))
			m.w.Product(refundflow.Product{ID: "connect", Type: refundflow.RecordedCourse, Title: "Connect", LessonsTotal: 10, CreatorAccount: "acct_teacher"})
			run, err := m.w.DB.StartReconciliation(m.ctx(), "run-"+fmt.Sprint(seed), "manual", time.Now().Add(-time.Hour), time.Now().Add(72*time.Hour))
			if err != nil {
				t.Fatal(err)
			}
			for i := range 12 {
				m.randomOrder(rng, fmt.Sprintf("o%d", i), run.ID)
			}
			m.ledgerEqualsStripe()
		})
	}
}

// randomOrder sells one order and refunds it a few times, at random.
func (m *money) randomOrder(rng *rand.Rand, id, runID string) {
	m.t.Helper()
	amount := 100 + rng.Int64N(99900)
	o := refundflow.Order{ID: id, LearnerID: "learner-" + id, ProductID: "course", Amount: amount, PurchasedAt: time.Now()}
	if rng.IntN(2) == 0 {
		o.ProductID = "connect"
		o.ApplicationFeeAmount = rng.Int64N(amount * 3 / 10)
	}
	m.w.Order(o)
	pi := "pi_" + id
	remaining := amount
	for k := 0; k < 3 && remaining > 0; k++ {
		part := remaining
		if rng.IntN(2) == 0 {
			part = 1 + rng.Int64N(remaining)
		}
		if rng.IntN(6) == 0 {
			r := m.dashboardRefund(pi, part)
			page, err := m.env.ExecuteActivity(m.w.Acts.ReconcileStripePage, contract.ReconcilePageInput{Run: contract.ReconcileRun{
				RunID: runID, From: time.Unix(r.Created, 0), To: time.Unix(r.Created+1, 0)}})
			if err != nil || page == nil {
				m.t.Fatalf("reconcile: %v", err)
			}
			remaining -= part
			continue
		}
		caseID := fmt.Sprintf("rf-%s-%d", id, k)
		m.open(caseID, id, part)
		outcome := rng.IntN(4) // 0 succeeded; 1 pending then succeeded; 2 pending then failed; 3 succeeded then failed
		b := stripefake.Behaviour{}
		if outcome == 1 || outcome == 2 {
			b.Status = stripe.RefundStatusPending
		}
		if err := m.w.Stripe.SetBehaviour(pi, b); err != nil {
			m.t.Fatal(err)
		}
		res := m.mustPay(caseID, 1)
		r := res.Refund
		if outcome == 1 || outcome == 2 {
			to := stripe.RefundStatusSucceeded
			if outcome == 2 {
				to = stripe.RefundStatusFailed
			}
			if err := m.w.Stripe.SettleRefund(r.ID, to, ""); err != nil {
				m.t.Fatal(err)
			}
			r = m.get(r.ID)
			m.settle(caseID, 1, r)
		}
		if outcome == 3 {
			if err := m.w.Stripe.SettleRefund(r.ID, stripe.RefundStatusFailed, stripe.RefundFailureReasonExpiredOrCanceledCard); err != nil {
				m.t.Fatal(err)
			}
			rev, err := m.w.Acts.ReverseRefundBooking(m.ctx(), contract.ReverseInput{RefundID: caseID, ProviderRefundID: r.ID, At: time.Now()})
			if err != nil || !rev.Reversed {
				m.t.Fatalf("reverse: %+v %v", rev, err)
			}
		}
		if r.Status == "succeeded" && outcome != 3 {
			remaining -= part
		}
	}
}

func (m *money) ledgerEqualsStripe() {
	m.t.Helper()
	ctx := m.ctx()
	if bad, err := m.w.DB.UnbalancedLedgerTransactions(ctx); err != nil || len(bad) > 0 {
		m.t.Fatalf("unbalanced transactions %v: %v", bad, err)
	}
	balances, err := m.w.DB.LedgerBalances(ctx)
	if err != nil {
		m.t.Fatal(err)
	}
	var refunds, clawbacks, feesReturned, total int64
	for _, b := range balances {
		net := b.Debit - b.Credit
		total += net
		switch b.Account {
		case ledger.Refunds:
			refunds += net
		case ledger.CreatorPayable:
			clawbacks -= net
		case ledger.ApplicationFees:
			feesReturned += net
		}
	}
	snap := m.w.Stripe.Snapshot()
	var succeeded, reversed, feeRefunded int64
	for pi, p := range snap.Payments {
		succeeded += p.Succeeded
		reversed += p.TransferReversed
		feeRefunded += p.ApplicationFeeRefunded
		var refunded, inFlight int64
		if err := m.w.DB.Pool.QueryRow(ctx, "SELECT refunded_amount, in_flight_amount FROM orders WHERE payment_intent = $1", pi).Scan(&refunded, &inFlight); err != nil {
			m.t.Fatal(err)
		}
		if refunded != p.Succeeded || inFlight != 0 {
			m.t.Errorf("order of %s: refunded %d, in flight %d; Stripe succeeded %d", pi, refunded, inFlight, p.Succeeded)
		}
	}
	if total != 0 || refunds != succeeded || clawbacks != reversed || feesReturned != feeRefunded {
		m.t.Fatalf("ledger: net %d, refunds %d, clawbacks %d, fees returned %d; Stripe: refunds %d, reversed %d, fees returned %d",
			total, refunds, clawbacks, feesReturned, succeeded, reversed, feeRefunded)
	}
}

// errorType is the application error type of an activity's failure and
// whether Temporal would retry it.
func errorType(err error) (string, bool) {
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) {
		return appErr.Type(), !appErr.NonRetryable()
	}
	return "", err != nil
}

// Refunded ≤ paid holds per PaymentIntent, not only per order: two orders
// of one cart that claim more than the charge took between them (the
// platform's mistake) get at most the charge back — Stripe refuses the
// rest, the case fails with a code, and its hold is released.
func TestOrdersSharingAChargeGetAtMostTheChargeBack(t *testing.T) {
	m := newMoney(t)
	// The charge is 19900; the platform sends its two courses as 9900 and
	// 19900.
	first := m.w.Order(refundflow.Order{ID: "cart-1", LearnerID: "l-cart", ProductID: "course", Amount: 19900, PaymentIntent: "pi_cart", PurchasedAt: time.Now()})
	first.Amount = 9900
	second := *first
	second.ID, second.Amount = "cart-2", 19900
	for _, o := range []*refundflow.Order{first, &second} {
		if _, err := m.w.DB.UpsertOrder(m.ctx(), o, postgres.PinPolicy); err != nil {
			t.Fatal(err)
		}
	}
	m.open("rf-cart-1", "cart-1", 9900)
	m.open("rf-cart-2", "cart-2", 19900)

	if res := m.mustPay("rf-cart-1", 1); res.Outcome != refund.PaymentSucceeded {
		t.Fatalf("the first order: %s", res.Outcome)
	}
	res := m.mustPay("rf-cart-2", 1)

	if res.Outcome != refund.PaymentFailed || res.Step.Detail["code"] != "amount_too_large" {
		t.Fatalf("the second order: %s %v", res.Outcome, res.Step.Detail)
	}
	var refunded int64
	for _, r := range m.w.StripeRefundsFor("pi_cart") {
		refunded += r.Amount
	}
	if refunded != 9900 {
		t.Fatalf("Stripe refunded %d of a 19900 charge, want the first order's 9900", refunded)
	}
	if got, held := m.w.OrderNow("cart-2").RefundedAmount, m.inFlight("cart-2"); got != 0 || held != 0 {
		t.Fatalf("the second order: refunded %d, in flight %d", got, held)
	}
}
