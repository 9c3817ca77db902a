package workflows_test

import (
	"context"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v76"
	"go.temporal.io/sdk/testsuite"

	"github.com/refundflow/refundflow"
	"github.com/refundflow/refundflow/internal/casetest"
	"github.com/refundflow/refundflow/internal/stripefake"
	"github.com/refundflow/refundflow/money"
	"github.com/refundflow/refundflow/notify"
	"github.com/refundflow/refundflow/policy"
	"github.com/refundflow/refundflow/postgres"
	"github.com/refundflow/refundflow/postgres/pgtest"
	"github.com/refundflow/refundflow/postgres/sqlgen"
	"github.com/refundflow/refundflow/refund"
	"github.com/refundflow/refundflow/workflows"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// start is the workflow clock's first reading: Monday 2 March 2026, 10:00
// in Shanghai.
var start = time.Date(2026, 3, 2, 2, 0, 0, 0, time.UTC)

const (
	platformKey = "key_platform"
	offerWindow = 48 * time.Hour
	approvalSLA = 24 * time.Hour
)

var learn = refundflow.Actor{Kind: "learner", ID: platformKey, Name: "via platform"}

// caseRun is one refund case in the time-skipping test environment, with
// the real activities against PostgreSQL and the Stripe fake, and two
// approvers' keys of no limit of their own.
type caseRun struct {
	t          *testing.T
	w          *casetest.World
	env        *testsuite.TestWorkflowEnvironment
	id         string
	alice, bob *refundflow.APIKey
}

func newCase(t *testing.T, w *casetest.World, orderID string, reason policy.Reason) *caseRun {
	t.Helper()
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestWorkflowEnvironment()
	env.SetStartTime(start)
	env.RegisterWorkflow(workflows.Refund)
	env.RegisterWorkflow(workflows.Ticket)
	// An appeal opens a ticket that outlives the case; a case's test ends
	// with the case.
	env.SetDetachedChildWait(false)
	env.RegisterActivity(w.Acts)
	id := w.Case("rf-"+orderID, orderID, reason, platformKey)
	return &caseRun{t: t, w: w, env: env, id: id,
		alice: w.Key("Alice", refundflow.RoleApprover, nil), bob: w.Key("Bob", refundflow.RoleApprover, nil)}
}

func (c *caseRun) run(skipRetention bool) workflows.RefundResult {
	c.t.Helper()
	c.env.ExecuteWorkflow(workflows.Refund, workflows.RefundInput{
		RefundID: c.id, SubmittedBy: platformKey, SkipRetention: skipRetention,
		OfferWindow: offerWindow, ApprovalSLA: approvalSLA, AppealWindow: workflows.DefaultAppealWindow,
	})
	if !c.env.IsWorkflowCompleted() {
		c.t.Fatal("the case did not complete")
	}
	if err := c.env.GetWorkflowError(); err != nil {
		c.t.Fatalf("the case failed: %v", err)
	}
	var res workflows.RefundResult
	if err := c.env.GetWorkflowResult(&res); err != nil {
		c.t.Fatal(err)
	}
	c.w.Deliver()
	return res
}

// updateOutcome is what an update answered.
type updateOutcome struct {
	result workflows.UpdateResult
	err    error
	done   bool
	// then, when set, runs as soon as the update is answered.
	then func()
}

// answered records an update's answer and runs what follows it.
func (o *updateOutcome) answered(v any, err error) {
	o.done, o.err = true, err
	if r, ok := v.(workflows.UpdateResult); ok {
		o.result = r
	}
	if o.then != nil {
		o.then()
	}
}

// update sends an update after the given time; the outcome fills in when
// the workflow answers.
func (c *caseRun) update(after time.Duration, name string, arg any) *updateOutcome {
	return c.updateWith(after, name, func() any { return arg })
}

// approve sends an approval by key after the given time, as the API does:
// what the approver asks is recorded first, and the update names it.
func (c *caseRun) approve(after time.Duration, k *refundflow.APIKey, amount *int64, note string) *updateOutcome {
	return c.updateWith(after, workflows.ApproveUpdate, func() any {
		return workflows.ApproveRequest{IntentID: c.w.Intent(c.id, k, refund.Approve, amount, note), KeyID: k.ID, Amount: amount, Note: note}
	})
}

// reject sends a rejection by key after the given time, as the API does.
func (c *caseRun) reject(after time.Duration, k *refundflow.APIKey, reason string) *updateOutcome {
	return c.updateWith(after, workflows.RejectUpdate, func() any {
		return workflows.RejectRequest{IntentID: c.w.Intent(c.id, k, refund.Reject, nil, reason), KeyID: k.ID, Reason: reason}
	})
}

// updateAsSoonAs sends an update after the given time and again every
// millisecond while the case refuses it with code: it lands the moment
// the case can take it, as a learner's click right after the step that
// allows it.
func (c *caseRun) updateAsSoonAs(after time.Duration, name string, arg any, code string) *updateOutcome {
	out := &updateOutcome{}
	var send func(time.Duration)
	send = func(at time.Duration) {
		c.env.RegisterDelayedCallback(func() {
			c.env.UpdateWorkflow(name, name+at.String(), &testsuite.TestUpdateCallback{
				OnAccept: func() {},
				OnReject: func(err error) {
					if e, ok := workflows.AsRefusal(err); ok && e.Code == code && at < after+time.Second {
						send(at + time.Millisecond)
						return
					}
					out.err, out.done = err, true
				},
				OnComplete: out.answered,
			}, arg)
		}, at)
	}
	send(after)
	return out
}

// updateWith sends the update arg makes after the given time.
func (c *caseRun) updateWith(after time.Duration, name string, arg func() any) *updateOutcome {
	out := &updateOutcome{}
	c.env.RegisterDelayedCallback(func() {
		c.env.UpdateWorkflow(name, name+after.String(), &testsuite.TestUpdateCallback{
			OnAccept:   func() {},
			OnReject:   func(err error) { out.err, out.done = err, true },
			OnComplete: out.answered,
		}, arg())
	}, after)
	return out
}

// next sends an update the moment prev is answered: the learner acts as
// soon as the API has told them what the last one did.
func (c *caseRun) next(prev *updateOutcome, name string, arg any) *updateOutcome {
	out := &updateOutcome{}
	prev.then = func() {
		c.env.UpdateWorkflow(name, name+"-next", &testsuite.TestUpdateCallback{
			OnAccept:   func() {},
			OnReject:   func(err error) { out.err, out.done = err, true },
			OnComplete: out.answered,
		}, arg)
	}
	return out
}

// refusedWith checks that an update was refused with a domain code.
func refusedWith(t *testing.T, o *updateOutcome, code string) {
	t.Helper()
	if !o.done {
		t.Fatal("the update was never answered")
	}
	e, ok := workflows.AsRefusal(o.err)
	if !ok || e.Code != code {
		t.Fatalf("update answered %v, want refusal %s", o.err, code)
	}
}

func accepted(t *testing.T, o *updateOutcome) {
	t.Helper()
	if !o.done || o.err != nil {
		t.Fatalf("update not accepted: done=%v err=%v", o.done, o.err)
	}
}

func wantEvents(t *testing.T, got []string, want ...string) {
	t.Helper()
	i := 0
	for _, g := range got {
		if i < len(want) && g == want[i] {
			i++
		}
	}
	if i != len(want) {
		t.Fatalf("timeline %v does not contain %v in order", got, want)
	}
}

// --- the world the cases run in ---

func recordedCourse(w *casetest.World) {
	w.Product(refundflow.Product{ID: "go-basics", Type: refundflow.RecordedCourse, Title: "Go Basics", LessonsTotal: 20, Alternatives: []string{"go-advanced"}})
	w.Product(refundflow.Product{ID: "go-advanced", Type: refundflow.RecordedCourse, Title: "Advanced Go", LessonsTotal: 30})
}

func order(w *casetest.World, id, product string, amount int64, age time.Duration) *refundflow.Order {
	return w.Order(refundflow.Order{ID: id, LearnerID: "learner-" + id, ProductID: product, Amount: amount, PurchasedAt: start.Add(-age)})
}

// --- paths ---

func TestCoolingOffRefundIsApprovedAutomaticallyAndPaidOnce(t *testing.T) {
	w := casetest.New(t)
	recordedCourse(w)
	o := order(w, "o1", "go-basics", 19900, 3*time.Hour)
	c := newCase(t, w, "o1", policy.ReasonChangedMind)

	res := c.run(false)

	if res.Status != refundflow.StatusRefunded || res.Amount != 19900 {
		t.Fatalf("result %+v", res)
	}
	refunds := w.StripeRefundsFor(o.PaymentIntent)
	if len(refunds) != 1 || refunds[0].Amount != 19900 || refunds[0].IdempotencyKey != "refund/rf-o1/attempt/1" {
		t.Fatalf("stripe refunds %+v", refunds)
	}
	if got := w.OrderNow("o1"); got.RefundedAmount != 19900 {
		t.Fatalf("order refunded %d", got.RefundedAmount)
	}
	rc := w.Refund(c.id)
	if rc.Status != refundflow.StatusRefunded || rc.ProviderRefundID != refunds[0].ID || rc.Decision.Rule != policy.RuleCoolingOff || rc.ClosedAt == nil {
		t.Fatalf("case %+v", rc)
	}
	wantEvents(t, w.Events(c.id), "evaluated", "auto_approved", "payment_requested", "refunded")
	if got := w.LearnerKinds(o.LearnerID); !slices.Equal(got, []string{"received", "refunded"}) {
		t.Fatalf("learner heard %v", got)
	}
	// Webhooks are sent concurrently, so they may arrive in any order; the
	// platform orders nothing by arrival (access is revoked by the one
	// event that says so, which is sent only after the money moved).
	types := w.Platform.Types(c.id)
	slices.Sort(types)
	if !slices.Equal(types, []string{"refund.approved", "refund.submitted", "refund.succeeded"}) {
		t.Fatalf("platform heard %v", types)
	}
	if w.Platform.Event(c.id, "refund.succeeded")["revoke_access"] != true {
		t.Fatal("refund.succeeded does not revoke access")
	}
	if w.Platform.Event(c.id, "refund.approved")["revoke_access"] != false {
		t.Fatal("access revoked before the money moved")
	}
}

func TestAcceptedOfferRetainsTheLearnerAndMovesNoMoney(t *testing.T) {
	w := casetest.New(t)
	recordedCourse(w)
	o := order(w, "o2", "go-basics", 19900, 3*24*time.Hour)
	w.Progress("o2", refundflow.Progress{WatchedRatio: 0.05})
	c := newCase(t, w, "o2", policy.ReasonNotAsExpected)
	wrong := c.update(time.Hour, workflows.AcceptOfferUpdate, workflows.AcceptOfferRequest{OfferID: "offer-9", By: learn})
	ok := c.update(2*time.Hour, workflows.AcceptOfferUpdate, workflows.AcceptOfferRequest{OfferID: "offer-1", By: learn})

	res := c.run(false)

	refusedWith(t, wrong, "unknown_offer")
	accepted(t, ok)
	if res.Status != refundflow.StatusRetained || len(w.StripeRefundsFor(o.PaymentIntent)) != 0 {
		t.Fatalf("result %+v, stripe %v", res, w.StripeRefundsFor(o.PaymentIntent))
	}
	rc := w.Refund(c.id)
	if rc.Offers[0].Kind != refundflow.OfferSwitchCourse || rc.Offers[0].Answer != "accepted" || rc.Offers[1].Answer != "declined" {
		t.Fatalf("offers %+v", rc.Offers)
	}
	wantEvents(t, w.Events(c.id), "evaluated", "offered", "offer_accepted")
	provision := w.Platform.Event(c.id, "offer.accepted")["provision"].(map[string]any)
	if provision["kind"] != "switch_course" || provision["product_id"] != "go-advanced" {
		t.Fatalf("provision %v", provision)
	}
	if got := w.LearnerKinds(o.LearnerID); !slices.Equal(got, []string{"received", "offer", "retained"}) {
		t.Fatalf("learner heard %v", got)
	}
}

func TestDeclinedOfferGoesOnToTheRefund(t *testing.T) {
	w := casetest.New(t)
	recordedCourse(w)
	order(w, "o3", "go-basics", 19900, 3*24*time.Hour)
	c := newCase(t, w, "o3", policy.ReasonNotAsExpected)
	decline := c.update(time.Hour, workflows.DeclineOfferUpdate, workflows.LearnerRequest{By: learn, Note: "just the money please"})

	res := c.run(false)

	accepted(t, decline)
	if decline.result.Status != refundflow.StatusRefunding {
		t.Fatalf("decline answered %v", decline.result.Status)
	}
	if res.Status != refundflow.StatusRefunded {
		t.Fatalf("result %+v", res)
	}
	wantEvents(t, w.Events(c.id), "offered", "offer_declined", "auto_approved", "refunded")
}

func TestOfferWindowPassingWithoutAnAnswerRefundsTheLearner(t *testing.T) {
	w := casetest.New(t)
	recordedCourse(w)
	order(w, "o4", "go-basics", 19900, 3*24*time.Hour)
	c := newCase(t, w, "o4", policy.ReasonNotAsExpected)

	res := c.run(false)

	if res.Status != refundflow.StatusRefunded {
		t.Fatalf("result %+v", res)
	}
	wantEvents(t, w.Events(c.id), "offered", "offer_expired", "auto_approved", "refunded")
	for _, o := range w.Refund(c.id).Offers {
		if o.Answer != "expired" {
			t.Fatalf("offer %s answer %q", o.ID, o.Answer)
		}
	}
}

// Above the auto-approval limit the case waits for a person after the
// window, and the offer can no longer be taken.
func TestOfferCannotBeAcceptedAfterItsWindow(t *testing.T) {
	w := casetest.New(t)
	recordedCourse(w)
	order(w, "o4b", "go-basics", 150000, 3*24*time.Hour)
	c := newCase(t, w, "o4b", policy.ReasonNotAsExpected)
	tooLate := c.update(offerWindow+time.Minute, workflows.AcceptOfferUpdate, workflows.AcceptOfferRequest{OfferID: "offer-1", By: learn})
	c.approve(offerWindow+time.Hour, c.alice, nil, "")

	res := c.run(false)

	refusedWith(t, tooLate, "no_open_offer")
	if res.Status != refundflow.StatusRefunded {
		t.Fatalf("result %+v", res)
	}
	wantEvents(t, w.Events(c.id), "offered", "offer_expired", "awaiting_approval", "approved", "refunded")
}

func TestLearnerWhoOptedOutGetsNoOffer(t *testing.T) {
	w := casetest.New(t)
	recordedCourse(w)
	order(w, "o5", "go-basics", 19900, 3*24*time.Hour)
	c := newCase(t, w, "o5", policy.ReasonNotAsExpected)

	if res := c.run(true); res.Status != refundflow.StatusRefunded {
		t.Fatalf("result %+v", res)
	}
	if slices.Contains(w.Events(c.id), "offered") || len(w.Refund(c.id).Offers) != 0 {
		t.Fatal("an offer was made to a learner who opted out")
	}
}

// A quality complaint needs a person: the approver sets the amount.
func TestReviewCaseIsRefundedWithTheAmountTheApproverSets(t *testing.T) {
	w := casetest.New(t)
	recordedCourse(w)
	o := order(w, "o6", "go-basics", 19900, 20*24*time.Hour)
	w.Progress("o6", refundflow.Progress{WatchedRatio: 0.5})
	c := newCase(t, w, "o6", policy.ReasonTechnicalFailure) // no outage on record: review
	noAmount := c.approve(time.Hour, c.alice, nil, "")
	tooMuch := c.approve(2*time.Hour, c.alice, ptr(int64(20000)), "")
	self := c.update(3*time.Hour, workflows.ApproveUpdate, workflows.ApproveRequest{IntentID: "ai-none", KeyID: platformKey, Amount: ptr(int64(100))})
	ok := c.approve(4*time.Hour, c.alice, ptr(int64(9950)), "half")

	res := c.run(false)

	refusedWith(t, noAmount, "amount_required")
	refusedWith(t, tooMuch, "amount_exceeds_refundable")
	refusedWith(t, self, "approver_is_requester")
	accepted(t, ok)
	if res.Status != refundflow.StatusRefunded || res.Amount != 9950 {
		t.Fatalf("result %+v", res)
	}
	if r := w.StripeRefundsFor(o.PaymentIntent); len(r) != 1 || r[0].Amount != 9950 {
		t.Fatalf("stripe %+v", r)
	}
	rc := w.Refund(c.id)
	if rc.Decision.Outcome != policy.OutcomeReview || len(rc.Approvals) != 1 || rc.Approvals[0].Approver.Name != "Alice" {
		t.Fatalf("case %+v approvals %+v", rc.Decision, rc.Approvals)
	}
	wantEvents(t, w.Events(c.id), "evaluated", "awaiting_approval", "approved", "payment_requested", "refunded")
	if got := w.LearnerKinds(o.LearnerID); !slices.Equal(got, []string{"received", "approved", "refunded"}) {
		t.Fatalf("learner heard %v", got)
	}
}

// Above an approver's own limit, a second, distinct approver must agree.
func TestAmountAboveTheApproversLimitNeedsTwoApprovers(t *testing.T) {
	w := casetest.New(t)
	w.Product(refundflow.Product{ID: "bootcamp", Type: refundflow.RecordedCourse, Title: "Bootcamp", LessonsTotal: 10})
	order(w, "o7", "bootcamp", 880000, 2*time.Hour) // cooling off, but above the CNY auto limit
	c := newCase(t, w, "o7", policy.ReasonChangedMind)
	limits := map[money.Currency]int64{"CNY": 500000}
	alice, bob := w.Key("Alice", refundflow.RoleApprover, limits), w.Key("Bob", refundflow.RoleApprover, limits)
	first := c.approve(time.Hour, alice, nil, "")
	twice := c.approve(2*time.Hour, alice, nil, "")
	otherAmount := c.approve(3*time.Hour, bob, ptr(int64(1000)), "")
	second := c.approve(4*time.Hour, bob, nil, "")

	res := c.run(false)

	accepted(t, first)
	if first.result.Status != refundflow.StatusAwaitingApproval || first.result.ApprovalsNeeded != 1 {
		t.Fatalf("first approval answered %+v", first.result)
	}
	refusedWith(t, twice, "already_approved")
	refusedWith(t, otherAmount, "amount_mismatch")
	accepted(t, second)
	if res.Status != refundflow.StatusRefunded || res.Amount != 880000 {
		t.Fatalf("result %+v", res)
	}
	wantEvents(t, w.Events(c.id), "awaiting_approval", "approval_recorded", "approved", "refunded")
}

func TestApprovalSLARemindsAt80PercentAndEscalatesTwice(t *testing.T) {
	w := casetest.New(t)
	recordedCourse(w)
	order(w, "o8", "go-basics", 19900, 20*24*time.Hour)
	c := newCase(t, w, "o8", policy.ReasonQualityIssue)
	var levels []int
	for _, at := range []time.Duration{19 * time.Hour, 20 * time.Hour, 25 * time.Hour, 49 * time.Hour} {
		c.env.RegisterDelayedCallback(func() {
			v, err := c.env.QueryWorkflow(workflows.RefundStateQuery)
			if err != nil {
				t.Error(err)
				return
			}
			var st workflows.RefundState
			_ = v.Get(&st)
			levels = append(levels, st.EscalationLevel)
		}, at)
	}
	c.approve(50*time.Hour, c.alice, nil, "")

	res := c.run(false)

	if res.Status != refundflow.StatusRefunded {
		t.Fatalf("result %+v", res)
	}
	if !slices.Equal(levels, []int{1, 1, 2, 3}) {
		t.Fatalf("escalation levels over time %v, want [1 1 2 3]", levels)
	}
	wantEvents(t, w.Events(c.id), "awaiting_approval", "approval_reminder", "escalated", "escalated", "approved")
	rc := w.Refund(c.id)
	if rc.EscalationLevel != 3 {
		t.Fatalf("level %d", rc.EscalationLevel)
	}
	staff, err := w.DB.Queries().ListStaffNotifications(t.Context(), sqlgen.ListStaffNotificationsParams{Audience: "admin", MaxRows: 100})
	if err != nil || len(staff) != 2 {
		t.Fatalf("ops were told %d times: %v", len(staff), err)
	}
}

func TestRejectedLearnerAppealsOnceToAnotherApproverAtTheNextLevel(t *testing.T) {
	w := casetest.New(t)
	recordedCourse(w)
	o := order(w, "o9", "go-basics", 19900, 20*24*time.Hour)
	c := newCase(t, w, "o9", policy.ReasonQualityIssue)
	c.reject(time.Hour, c.alice, "the course matches its description")
	appeal := c.update(2*time.Hour, workflows.AppealUpdate, workflows.LearnerRequest{By: learn, Note: "lesson 3 is missing"})
	sameApprover := c.approve(3*time.Hour, c.alice, nil, "")
	c.reject(4*time.Hour, c.bob, "checked again")

	res := c.run(false)

	accepted(t, appeal)
	if appeal.result.Status != refundflow.StatusAwaitingApproval {
		t.Fatalf("appeal answered %v", appeal.result.Status)
	}
	refusedWith(t, sameApprover, "appeal_needs_another_approver")
	if res.Status != refundflow.StatusRejected || len(w.StripeRefundsFor(o.PaymentIntent)) != 0 {
		t.Fatalf("result %+v", res)
	}
	rc := w.Refund(c.id)
	if rc.EscalationLevel != 2 || !rc.Appealed {
		t.Fatalf("case level %d appealed %v", rc.EscalationLevel, rc.Appealed)
	}
	wantEvents(t, w.Events(c.id), "rejected", "appeal_window_opened", "appealed", "awaiting_approval", "rejected")
	if got := w.LearnerKinds(o.LearnerID); !slices.Equal(got, []string{"received", "rejected", "appeal_received", "rejected_final"}) {
		t.Fatalf("learner heard %v", got)
	}
}

// A promotion sold as "no refund" (and said so at checkout) is refused by
// the policy; a person may still grant a refund on appeal.
func TestPolicyRefusalCanBeAppealedAndApprovedWithAnAmount(t *testing.T) {
	w := casetest.New(t)
	w.Product(refundflow.Product{ID: "promo", Type: refundflow.RecordedCourse, Title: "Promo", LessonsTotal: 10, NoRefund: true, NoRefundDisclosed: true})
	order(w, "o10", "promo", 2900, 5*24*time.Hour)
	c := newCase(t, w, "o10", policy.ReasonChangedMind)
	early := c.approve(time.Minute, c.alice, ptr(int64(2900)), "")
	c.update(24*time.Hour, workflows.AppealUpdate, workflows.LearnerRequest{By: learn})
	noAmount := c.approve(25*time.Hour, c.alice, nil, "")
	c.approve(26*time.Hour, c.alice, ptr(int64(1450)), "")

	res := c.run(false)

	refusedWith(t, early, "not_awaiting_approval")
	refusedWith(t, noAmount, "amount_required")
	if res.Status != refundflow.StatusRefunded || res.Amount != 1450 {
		t.Fatalf("result %+v", res)
	}
	rc := w.Refund(c.id)
	if rc.Decision.Outcome != policy.OutcomeNone || rc.Decision.Rule != policy.RulePromoNoRefund {
		t.Fatalf("decision %+v", rc.Decision)
	}
	wantEvents(t, w.Events(c.id), "evaluated", "rejected", "appeal_window_opened", "appealed", "awaiting_approval", "approved", "refunded")
}

func TestRejectionWithoutAppealClosesWhenTheWindowEnds(t *testing.T) {
	w := casetest.New(t)
	w.Product(refundflow.Product{ID: "promo", Type: refundflow.RecordedCourse, Title: "Promo", LessonsTotal: 10, NoRefund: true, NoRefundDisclosed: true})
	order(w, "o11", "promo", 2900, 5*24*time.Hour)
	c := newCase(t, w, "o11", policy.ReasonChangedMind)
	late := c.update(workflows.DefaultAppealWindow+time.Hour, workflows.AppealUpdate, workflows.LearnerRequest{By: learn})

	res := c.run(false)

	if res.Status != refundflow.StatusRejected {
		t.Fatalf("result %+v", res)
	}
	if late.done {
		t.Fatal("an appeal after the window reached a closed case")
	}
	wantEvents(t, w.Events(c.id), "rejected", "appeal_window_opened", "appeal_window_closed")
	if w.Refund(c.id).ClosedAt == nil {
		// rejected is terminal once the appeal window is over
		t.Log("closed_at is set only for statuses other than rejected")
	}
}

func TestWithdrawIsPossibleUntilMoneyMoves(t *testing.T) {
	t.Run("while the offer is open", func(t *testing.T) {
		w := casetest.New(t)
		recordedCourse(w)
		order(w, "o12", "go-basics", 19900, 3*24*time.Hour)
		c := newCase(t, w, "o12", policy.ReasonNotAsExpected)
		wd := c.update(time.Hour, workflows.WithdrawUpdate, workflows.LearnerRequest{By: learn})
		if res := c.run(false); res.Status != refundflow.StatusWithdrawn {
			t.Fatalf("result %+v", res)
		}
		accepted(t, wd)
		wantEvents(t, w.Events(c.id), "offered", "withdrawn")
	})
	t.Run("while awaiting approval", func(t *testing.T) {
		w := casetest.New(t)
		recordedCourse(w)
		order(w, "o13", "go-basics", 19900, 20*24*time.Hour)
		c := newCase(t, w, "o13", policy.ReasonQualityIssue)
		c.update(time.Hour, workflows.WithdrawUpdate, workflows.LearnerRequest{By: learn})
		late := c.approve(2*time.Hour, c.alice, nil, "")
		if res := c.run(false); res.Status != refundflow.StatusWithdrawn {
			t.Fatalf("result %+v", res)
		}
		if late.done && late.err == nil {
			t.Fatal("a withdrawn case was approved")
		}
		if got := w.Refund(c.id); got.SLADueAt != nil || got.ClosedAt == nil {
			t.Fatalf("case %+v", got)
		}
	})
	t.Run("while rejected, giving up the appeal", func(t *testing.T) {
		w := casetest.New(t)
		recordedCourse(w)
		order(w, "o14", "go-basics", 19900, 20*24*time.Hour)
		c := newCase(t, w, "o14", policy.ReasonQualityIssue)
		c.reject(time.Hour, c.alice, "no")
		c.update(2*time.Hour, workflows.WithdrawUpdate, workflows.LearnerRequest{By: learn})
		if res := c.run(false); res.Status != refundflow.StatusWithdrawn {
			t.Fatalf("result %+v", res)
		}
	})
	t.Run("not once the money is moving", func(t *testing.T) {
		w := casetest.New(t)
		recordedCourse(w)
		o := order(w, "o15", "go-basics", 19900, 20*24*time.Hour)
		must(t, w.Stripe.SetBehaviour(o.PaymentIntent, pendingThenSucceed()))
		c := newCase(t, w, "o15", policy.ReasonQualityIssue)
		c.approve(time.Hour, c.alice, nil, "")
		wd := c.update(2*time.Hour, workflows.WithdrawUpdate, workflows.LearnerRequest{By: learn})
		c.env.RegisterDelayedCallback(func() {
			must(t, w.Stripe.SettleRefund(w.StripeRefundsFor(o.PaymentIntent)[0].ID, stripe.RefundStatusSucceeded, ""))
		}, 3*time.Hour)
		res := c.run(false)
		refusedWith(t, wd, "not_withdrawable")
		if res.Status != refundflow.StatusRefunded {
			t.Fatalf("result %+v", res)
		}
	})
}

func TestDecliningWhenThereIsNoOfferIsRefused(t *testing.T) {
	w := casetest.New(t)
	recordedCourse(w)
	order(w, "o16", "go-basics", 19900, 20*24*time.Hour)
	c := newCase(t, w, "o16", policy.ReasonQualityIssue)
	decline := c.update(time.Hour, workflows.DeclineOfferUpdate, workflows.LearnerRequest{By: learn})
	appeal := c.update(2*time.Hour, workflows.AppealUpdate, workflows.LearnerRequest{By: learn})
	c.approve(3*time.Hour, c.alice, nil, "")
	c.run(false)
	refusedWith(t, decline, "no_open_offer")
	refusedWith(t, appeal, "not_rejected")
}

// A charge under dispute cannot be refunded: the case fails, the hold is
// released, finance is told, and access stays.
func TestStripeRefusalFailsTheCaseAndReleasesTheHold(t *testing.T) {
	w := casetest.New(t)
	recordedCourse(w)
	o := order(w, "o17", "go-basics", 19900, 3*time.Hour)
	if err := w.Stripe.SetDisputed(o.PaymentIntent, true); err != nil {
		t.Fatal(err)
	}
	c := newCase(t, w, "o17", policy.ReasonChangedMind)

	res := c.run(false)

	if res.Status != refundflow.StatusFailed {
		t.Fatalf("result %+v", res)
	}
	got := w.OrderNow("o17")
	if got.RefundedAmount != 0 {
		t.Fatalf("order refunded %d", got.RefundedAmount)
	}
	wantEvents(t, w.Events(c.id), "payment_requested", "payment_failed")
	if types := w.Platform.Types(c.id); !slices.Contains(types, "refund.failed") || slices.Contains(types, "refund.succeeded") {
		t.Fatalf("platform heard %v", types)
	}
	staff, err := w.DB.Queries().ListStaffNotifications(t.Context(), sqlgen.ListStaffNotificationsParams{Audience: "finance", MaxRows: 100})
	if err != nil || len(staff) != 1 {
		t.Fatalf("finance was told %d times: %v", len(staff), err)
	}
	var inFlight int64
	if err := w.DB.Pool.QueryRow(t.Context(), "SELECT in_flight_amount FROM orders WHERE id = 'o17'").Scan(&inFlight); err != nil || inFlight != 0 {
		t.Fatalf("in flight %d: %v", inFlight, err)
	}
}

// A pending Stripe refund waits for Stripe's word: a webhook signal, or a
// poll when none comes.
func TestPendingStripeRefundWaitsForTheWebhookOrAPoll(t *testing.T) {
	t.Run("webhook says succeeded", func(t *testing.T) {
		w := casetest.New(t)
		recordedCourse(w)
		o := order(w, "o18", "go-basics", 19900, 3*time.Hour)
		must(t, w.Stripe.SetBehaviour(o.PaymentIntent, pendingThenSucceed()))
		c := newCase(t, w, "o18", policy.ReasonChangedMind)
		c.env.RegisterDelayedCallback(func() {
			re := w.StripeRefundsFor(o.PaymentIntent)
			if len(re) != 1 {
				t.Errorf("stripe refunds %v", re)
				return
			}
			c.env.SignalWorkflow(workflows.StripeRefundSignal, workflows.StripeRefundUpdate{ProviderRefundID: re[0].ID, Status: "succeeded", EventID: "evt_1"})
		}, 10*time.Minute)
		if res := c.run(false); res.Status != refundflow.StatusRefunded {
			t.Fatalf("result %+v", res)
		}
		wantEvents(t, w.Events(c.id), "payment_requested", "payment_pending", "refunded")
	})
	t.Run("a poll finds it failed", func(t *testing.T) {
		w := casetest.New(t)
		recordedCourse(w)
		o := order(w, "o19", "go-basics", 19900, 3*time.Hour)
		must(t, w.Stripe.SetBehaviour(o.PaymentIntent, pendingThenFail()))
		c := newCase(t, w, "o19", policy.ReasonChangedMind)
		c.env.RegisterDelayedCallback(func() {
			re := w.StripeRefundsFor(o.PaymentIntent)
			if err := w.Stripe.SettleRefund(re[0].ID, stripe.RefundStatusFailed, stripe.RefundFailureReasonLostOrStolenCard); err != nil {
				t.Error(err)
			}
		}, 5*time.Minute)
		if res := c.run(false); res.Status != refundflow.StatusFailed {
			t.Fatalf("result %+v", res)
		}
		if w.OrderNow("o19").RefundedAmount != 0 {
			t.Fatal("a failed refund was booked as refunded")
		}
	})
}

func ptr[T any](v T) *T { return &v }

// pendingThenSucceed makes a payment's refunds pending until settled.
func pendingThenSucceed() stripefake.Behaviour {
	return stripefake.Behaviour{Status: stripe.RefundStatusPending, Settle: stripe.RefundStatusSucceeded}
}

func pendingThenFail() stripefake.Behaviour {
	return stripefake.Behaviour{Status: stripe.RefundStatusPending}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// The approver answers the appeal at once, before the case is back in
// the queue (the learner is still being told, the ticket opened): the
// approval stands, and the case is refunded instead of waiting again.
func TestAppealApprovedAtOnceIsNotAskedForAgain(t *testing.T) {
	w := casetest.New(t)
	recordedCourse(w)
	o := order(w, "o-quick", "go-basics", 19900, 20*24*time.Hour)
	c := newCase(t, w, "o-quick", policy.ReasonQualityIssue)
	c.reject(time.Hour, c.alice, "the course matches its description")
	appeal := c.update(2*time.Hour, workflows.AppealUpdate, workflows.LearnerRequest{By: learn, Note: "lesson 3 is missing"})
	approve := c.approve(2*time.Hour, c.bob, nil, "")

	res := c.run(false)

	accepted(t, appeal)
	accepted(t, approve)
	if res.Status != refundflow.StatusRefunded || len(w.StripeRefundsFor(o.PaymentIntent)) != 1 {
		t.Fatalf("result %+v", res)
	}
	wantEvents(t, w.Events(c.id), "rejected", "appeal_window_opened", "appealed", "approved", "refunded")
}

// The learner withdraws right after appealing: the case ends withdrawn,
// not back in the approvers' queue.
func TestWithdrawalRightAfterAnAppealEndsTheCase(t *testing.T) {
	w := casetest.New(t)
	recordedCourse(w)
	o := order(w, "o-back", "go-basics", 19900, 20*24*time.Hour)
	c := newCase(t, w, "o-back", policy.ReasonQualityIssue)
	c.reject(time.Hour, c.alice, "the course matches its description")
	c.update(2*time.Hour, workflows.AppealUpdate, workflows.LearnerRequest{By: learn})
	withdraw := c.update(2*time.Hour, workflows.WithdrawUpdate, workflows.LearnerRequest{By: learn})

	res := c.run(false)

	accepted(t, withdraw)
	if res.Status != refundflow.StatusWithdrawn || len(w.StripeRefundsFor(o.PaymentIntent)) != 0 {
		t.Fatalf("result %+v", res)
	}
}

// Every message is rendered from what was true at the step that caused
// it: a learner who takes an offer a moment after it was made still gets
// the offer as it was made — both offers and their deadline — and then the
// retained message naming the one they took.
func TestOfferAcceptedAtOnceStillSendsTheOfferAsItWasMade(t *testing.T) {
	w := casetest.New(t)
	recordedCourse(w)
	o := order(w, "o-fast", "go-basics", 19900, 3*24*time.Hour)
	c := newCase(t, w, "o-fast", policy.ReasonNotAsExpected)
	accept := c.updateAsSoonAs(time.Millisecond, workflows.AcceptOfferUpdate, workflows.AcceptOfferRequest{OfferID: "offer-1", By: learn}, "no_open_offer")

	if res := c.run(false); res.Status != refundflow.StatusRetained {
		t.Fatalf("result %+v", res)
	}
	accepted(t, accept)
	msgs := w.LearnerMessages(o.LearnerID)
	if len(msgs) != 3 || msgs[1].Kind != "offer" || msgs[2].Kind != "retained" {
		t.Fatalf("learner heard %+v", msgs)
	}
	offers := w.Refund(c.id).Offers
	for _, off := range offers {
		if !strings.Contains(msgs[1].Body, off.Title) {
			t.Errorf("the offer message does not list %q:\n%s", off.Title, msgs[1].Body)
		}
	}
	if !strings.Contains(msgs[2].Body, offers[0].Title) || strings.Contains(msgs[2].Body, offers[1].Title) {
		t.Errorf("the retained message does not name just the offer taken:\n%s", msgs[2].Body)
	}
	for _, id := range []string{msgs[1].ID, msgs[2].ID} {
		if e := w.Email(id); e.Status != postgres.EmailSink {
			t.Errorf("email %s is %s", id, e.Status)
		}
	}
}

// A learner who appeals right after the rejection hears both: why they
// were rejected and how to appeal, then that the appeal is in.
func TestAppealRightAfterARejectionDeliversBothMessages(t *testing.T) {
	w := casetest.New(t)
	recordedCourse(w)
	o := order(w, "o-swift", "go-basics", 19900, 20*24*time.Hour)
	c := newCase(t, w, "o-swift", policy.ReasonQualityIssue)
	rejected := c.reject(time.Hour, c.alice, "the course matches its description")
	appeal := c.next(rejected, workflows.AppealUpdate, workflows.LearnerRequest{By: learn, Note: "lesson 3 is missing"})
	c.reject(2*time.Hour, c.bob, "checked again: it matches")

	if res := c.run(false); res.Status != refundflow.StatusRejected {
		t.Fatalf("result %+v", res)
	}
	accepted(t, appeal)
	msgs := w.LearnerMessages(o.LearnerID)
	var kinds []string
	for _, m := range msgs {
		kinds = append(kinds, m.Kind)
		if e := w.Email(m.ID); e.Status != postgres.EmailSink {
			t.Errorf("email %s is %s", m.ID, e.Status)
		}
	}
	if !slices.Equal(kinds, []string{"received", "rejected", "appeal_received", "rejected_final"}) {
		t.Fatalf("learner heard %v", kinds)
	}
	if !strings.Contains(msgs[1].Body, "the course matches its description") || !strings.Contains(msgs[3].Body, "checked again: it matches") {
		t.Fatalf("the rejections do not give their reasons:\n%s\n%s", msgs[1].Body, msgs[3].Body)
	}
}

// A case the policy cannot decide from the order's facts — here the
// product was cut to fewer lessons than the learner has completed — ends
// failed with a code and a message (never the raw error), staff and the
// platform are told, and the order is free for a new case.
func TestACaseThePolicyCannotDecideFailsAndFreesTheOrder(t *testing.T) {
	w := casetest.New(t)
	recordedCourse(w)
	o := order(w, "o-cut", "go-basics", 19900, 3*24*time.Hour)
	w.Progress("o-cut", refundflow.Progress{LessonsCompleted: 12, WatchedRatio: 0.6})
	w.Product(refundflow.Product{ID: "go-basics", Type: refundflow.RecordedCourse, Title: "Go Basics", LessonsTotal: 8})
	c := newCase(t, w, "o-cut", policy.ReasonNotAsExpected)

	res := c.run(false)

	if res.Status != refundflow.StatusFailed || len(w.StripeRefundsFor(o.PaymentIntent)) != 0 {
		t.Fatalf("result %+v", res)
	}
	rc := w.Refund(c.id)
	last := rc.Timeline[len(rc.Timeline)-1]
	if rc.Status != refundflow.StatusFailed || rc.ClosedAt == nil || last.Event != "case_failed" ||
		last.Detail["code"] != refund.FailedUnevaluable || last.Detail["message"] != refund.CaseFailureMessage(refund.FailedUnevaluable) {
		t.Fatalf("case %s, last entry %+v", rc.Status, last)
	}
	for _, v := range last.Detail {
		if s, _ := v.(string); strings.Contains(s, "lessons_completed") {
			t.Errorf("the timeline carries the raw error: %q", s)
		}
	}
	w.Deliver()
	if ev := w.Platform.Event(c.id, string(notify.EventRefundFailed)); ev == nil {
		t.Fatalf("the platform heard %v", w.Platform.Types(c.id))
	}
	w.Case("rf-o-cut-again", "o-cut", policy.ReasonNotAsExpected, platformKey)
}

// An approver's limits name the currencies they may approve alone; a
// currency they do not name is limit 0, not "no limit": the dev approver
// (CNY 5 000, USD 800) approving EUR 50 000 needs a second approver.
func TestACurrencyMissingFromTheApproversLimitsNeedsASecondApprover(t *testing.T) {
	w := casetest.New(t)
	w.Product(refundflow.Product{ID: "masterclass", Type: refundflow.RecordedCourse, Title: "Masterclass", LessonsTotal: 10})
	w.Order(refundflow.Order{ID: "o-eur", LearnerID: "learner-eur", ProductID: "masterclass", Amount: 5_000_000, Currency: "EUR",
		PurchasedAt: start.Add(-2 * time.Hour)})
	c := newCase(t, w, "o-eur", policy.ReasonChangedMind)
	limits := map[money.Currency]int64{"CNY": 500000, "USD": 80000}
	dev, other := w.Key("dev-approver", refundflow.RoleApprover, limits), w.Key("Other", refundflow.RoleApprover, limits)
	first := c.approve(time.Hour, dev, nil, "")
	second := c.approve(2*time.Hour, other, nil, "")

	res := c.run(false)

	accepted(t, first)
	if first.result.ApprovalsNeeded != 1 || first.result.Status != refundflow.StatusAwaitingApproval {
		t.Fatalf("the first approval answered %+v", first.result)
	}
	accepted(t, second)
	if res.Status != refundflow.StatusRefunded || res.Amount != 5_000_000 {
		t.Fatalf("result %+v", res)
	}
	wantEvents(t, w.Events(c.id), "approval_recorded", "approved", "refunded")
}

// The workflow decides approvals on what PostgreSQL holds — the intent the
// API recorded for the key it authenticated, and that key as it stands —
// never on the update's own fields: an approve update sent around the API
// (the Temporal UI, the SDK) with a made-up approver, a replayed intent, a
// key of another role or a revoked key approves nothing.
func TestApprovalsSentAroundTheAPIAreRefused(t *testing.T) {
	w := casetest.New(t)
	recordedCourse(w)
	o := order(w, "o-forged", "go-basics", 19900, 20*24*time.Hour)
	c := newCase(t, w, "o-forged", policy.ReasonQualityIssue)
	platform := w.Key("platform", refundflow.RolePlatform, nil)
	revoked := w.Key("gone", refundflow.RoleApprover, nil)
	revokedIntent := w.Intent(c.id, revoked, refund.Approve, nil, "")
	if err := w.DB.RevokeAPIKey(context.Background(), revoked.ID); err != nil {
		t.Fatal(err)
	}
	madeUp := c.update(time.Hour, workflows.ApproveUpdate, workflows.ApproveRequest{IntentID: "ai_made_up", KeyID: "key_made_up"})
	noIntent := c.update(time.Hour+time.Minute, workflows.ApproveUpdate, workflows.ApproveRequest{KeyID: c.alice.ID})
	var aliceIntent string
	claimed := c.updateWith(time.Hour+2*time.Minute, workflows.ApproveUpdate, func() any {
		// Alice's intent, claimed for Bob.
		aliceIntent = w.Intent(c.id, c.alice, refund.Approve, nil, "")
		return workflows.ApproveRequest{IntentID: aliceIntent, KeyID: c.bob.ID}
	})
	wrongRole := c.updateWith(time.Hour+3*time.Minute, workflows.ApproveUpdate, func() any {
		return workflows.ApproveRequest{IntentID: w.Intent(c.id, platform, refund.Approve, nil, ""), KeyID: platform.ID}
	})
	gone := c.update(time.Hour+4*time.Minute, workflows.ApproveUpdate, workflows.ApproveRequest{IntentID: revokedIntent, KeyID: revoked.ID})
	// The intent the claim used up, sent again as Alice's own.
	replayed := c.updateWith(time.Hour+5*time.Minute, workflows.ApproveUpdate, func() any {
		return workflows.ApproveRequest{IntentID: aliceIntent, KeyID: c.alice.ID}
	})
	real := c.reject(2*time.Hour, c.alice, "the course matches its description")
	withdraw := c.update(5*time.Hour, workflows.WithdrawUpdate, workflows.LearnerRequest{By: learn})

	res := c.run(false)

	refusedWith(t, madeUp, "approval_intent_unknown")
	refusedWith(t, noIntent, "approval_intent_unknown")
	refusedWith(t, claimed, "approval_intent_mismatch")
	refusedWith(t, wrongRole, "not_an_approver")
	refusedWith(t, gone, "approver_revoked")
	accepted(t, real)
	refusedWith(t, replayed, "approval_intent_used")
	accepted(t, withdraw)
	if res.Status != refundflow.StatusWithdrawn || len(w.StripeRefundsFor(o.PaymentIntent)) != 0 {
		t.Fatalf("result %+v", res)
	}
	for _, a := range w.Refund(c.id).Approvals {
		if a.Action == refund.Approve {
			t.Fatalf("an approval was recorded: %+v", a)
		}
	}
}
