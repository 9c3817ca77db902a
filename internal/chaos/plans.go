package chaos

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/stripe/stripe-go/v76"

	"github.com/refundflow/refundflow/internal/stripefake"
)

// A path is one way a case goes, from the facts the platform pushes to the
// answers people give, and where it must end.
type path struct {
	name   string
	weight int
	// The order: which product, how long ago, how much was consumed.
	product  string
	reason   string
	age      time.Duration
	watched  float64
	sessions int
	skip     bool // skip_retention
	// What the fake Stripe does with the payment.
	disputed  bool
	behaviour *stripefake.Behaviour
	// share is the part of the order refunded, in percent (0: none).
	share int64
	// final is the status the case must end in.
	final string
	// waits: the case waits for a person (an offer's answer, an approver)
	// before it can close, so a platform that retries its request without
	// an Idempotency-Key finds it open (409) whatever became of the first
	// try. Only these cases are submitted without a key: a case that may
	// close by itself before the retry comes makes the retry a second
	// request, which is what keys are for.
	waits bool
	// act says what the run does when the case shows a status; the
	// second result is an approval amount in percent of the order
	// (0: the decision's amount). appealed is the read model's word.
	act func(status string, appealed bool) (action, int64)
}

// action is something people (or the bank) do to a case.
type action string

const (
	actNone          action = ""
	actDecline       action = "decline"
	actAccept        action = "accept"
	actWithdraw      action = "withdraw"
	actApprove       action = "approve"  // by the first approver
	actApprove2      action = "approve2" // by the second approver
	actReject        action = "reject"
	actAppeal        action = "appeal"
	actFailAtTheBank action = "fail_at_bank" // Stripe fails the refund after it succeeded
)

const (
	courseProduct  = "chaos-course"
	altProduct     = "chaos-course-alt"
	liveProduct    = "chaos-live"
	creatorAccount = "acct_chaos_creator"
)

func when(status string, a action) func(string, bool) (action, int64) {
	return func(s string, _ bool) (action, int64) {
		if s == status {
			return a, 0
		}
		return actNone, 0
	}
}

func never(string, bool) (action, int64) { return actNone, 0 }

const day = 24 * time.Hour

// paths: every route through the refund case (SPEC 4.5) and every way
// Stripe can end a refund (SPEC 4.6). Weights are out of 100.
var paths = []path{
	// Cooling-off: the policy approves it, no offer.
	{name: "auto", weight: 16, product: courseProduct, reason: "changed_mind", age: 2 * time.Hour, share: 100, final: "refunded", act: never},
	{name: "skip_retention", weight: 6, product: courseProduct, reason: "changed_mind", age: 3 * day, skip: true, share: 100, final: "refunded", act: never},
	// Not as expected within 7 days: offers first.
	{name: "offer_declined", weight: 8, product: courseProduct, reason: "not_as_expected", age: 3 * day, share: 100, final: "refunded", waits: true,
		act: when("offered", actDecline)},
	{name: "offer_accepted", weight: 6, product: courseProduct, reason: "changed_mind", age: 3 * day, final: "retained", waits: true,
		act: when("offered", actAccept)},
	{name: "withdrawn_offer", weight: 3, product: courseProduct, reason: "changed_mind", age: 3 * day, final: "withdrawn", waits: true,
		act: when("offered", actWithdraw)},
	// Quality: a person verifies.
	{name: "approved", weight: 9, product: courseProduct, reason: "quality_issue", age: 10 * day, share: 100, final: "refunded", waits: true,
		act: when("awaiting_approval", actApprove)},
	{name: "rejected", weight: 5, product: courseProduct, reason: "quality_issue", age: 10 * day, final: "rejected", waits: true,
		act: when("awaiting_approval", actReject)},
	{name: "appeal_approved", weight: 5, product: courseProduct, reason: "quality_issue", age: 10 * day, share: 100, final: "refunded", waits: true,
		act: func(s string, appealed bool) (action, int64) {
			switch {
			case s == "awaiting_approval" && !appealed:
				return actReject, 0
			case s == "awaiting_approval":
				return actApprove2, 0 // the appeal goes to another approver
			case s == "rejected" && !appealed:
				return actAppeal, 0
			}
			return actNone, 0
		}},
	{name: "withdrawn_approval", weight: 4, product: courseProduct, reason: "quality_issue", age: 10 * day, final: "withdrawn", waits: true,
		act: when("awaiting_approval", actWithdraw)},
	// No outage on record: a person sets the amount.
	{name: "review_approved", weight: 5, product: courseProduct, reason: "technical_failure", age: 10 * day, share: 70, final: "refunded", waits: true,
		act: func(s string, _ bool) (action, int64) {
			if s == "awaiting_approval" {
				return actApprove, 70
			}
			return actNone, 0
		}},
	// Outside the policy: rejected at once; appealable.
	{name: "policy_rejected", weight: 3, product: courseProduct, reason: "changed_mind", age: 40 * day, watched: 0.6, final: "rejected", act: never},
	{name: "policy_appealed", weight: 4, product: courseProduct, reason: "changed_mind", age: 40 * day, watched: 0.6, share: 50, final: "refunded",
		act: func(s string, appealed bool) (action, int64) {
			switch {
			case s == "rejected" && !appealed:
				return actAppeal, 0
			case s == "awaiting_approval":
				return actApprove2, 50
			}
			return actNone, 0
		}},
	// Stripe ends it later: pending, then succeeded or failed (webhooks).
	{name: "pending_succeeded", weight: 8, product: courseProduct, reason: "changed_mind", age: 2 * time.Hour, share: 100, final: "refunded", act: never,
		behaviour: &stripefake.Behaviour{Status: stripe.RefundStatusPending, Settle: stripe.RefundStatusSucceeded}},
	{name: "pending_failed", weight: 5, product: courseProduct, reason: "changed_mind", age: 2 * time.Hour, final: "failed", act: never,
		behaviour: &stripefake.Behaviour{Status: stripe.RefundStatusPending, Settle: stripe.RefundStatusFailed, FailureReason: stripe.RefundFailureReasonLostOrStolenCard}},
	// The charge is disputed at Stripe (the platform did not say): Stripe refuses.
	{name: "disputed", weight: 4, product: courseProduct, reason: "changed_mind", age: 2 * time.Hour, disputed: true, final: "failed", act: never},
	// Succeeded, then failed at the bank: the booking is reversed.
	{name: "failed_after_success", weight: 3, product: courseProduct, reason: "changed_mind", age: 2 * time.Hour, final: "failed",
		act: when("refunded", actFailAtTheBank)},
	// A live course paid to its creator through Connect: pro rata, with
	// the creator's share pulled back and the platform fee returned.
	{name: "connect", weight: 6, product: liveProduct, reason: "schedule_change", age: 20 * day, sessions: 4, skip: true, share: 60, final: "refunded", act: never},
}

// caseRun is one case of the run: what it was set up to do, and what the
// run has seen of it.
type caseRun struct {
	n        int
	path     *path
	orderID  string
	pi       string
	currency string
	amount   int64
	fee      int64 // the platform's application fee (Connect)

	// keyless cases are submitted without an Idempotency-Key; reserved
	// ones (keyless too) are kept for an outage and sent while the API or
	// Temporal is down.
	keyless, reserved bool
	sent              bool // a reserved case's submission has begun

	id        string // the case, once submitted
	status    string
	appealed  bool
	did       map[action]bool // actions the API confirmed
	nextTry   time.Time
	failures  int // actions and submissions that did not go through
	submitErr string
	// viaConflict: the id came from a 409 refund_in_progress, not from the
	// answer that created the case. metOutage: a try failed for want of a
	// server (no answer, or a 5xx).
	viaConflict, metOutage bool
	// named are the cases the request's answers named (a 503 names the
	// case it could not start yet): one, the case's id, and no other.
	named []string
}

// expectedRefund is what Stripe must have refunded for the case.
func (c *caseRun) expectedRefund() int64 {
	if c.path.final != "refunded" {
		return 0
	}
	return c.amount * c.path.share / 100
}

// planCases draws n cases: every path once first (so that a short run
// covers them all), then by weight; submitted in a shuffled order.
func planCases(n int, rng *rand.Rand) []*caseRun {
	total := 0
	for _, p := range paths {
		total += p.weight
	}
	var cases []*caseRun
	for i := range n {
		p := &paths[i%len(paths)]
		if i >= len(paths) {
			x := rng.IntN(total)
			for j := range paths {
				if x < paths[j].weight {
					p = &paths[j]
					break
				}
				x -= paths[j].weight
			}
		}
		c := &caseRun{n: i + 1, path: p, did: map[action]bool{}}
		c.orderID = fmt.Sprintf("chaos-%04d", c.n)
		c.pi = "pi_" + c.orderID
		switch {
		case p.product == liveProduct:
			// Amounts whose 60 % and 15 % are whole.
			c.currency, c.amount = "CNY", 1000*int64(10+rng.IntN(40))
			c.fee = c.amount * 15 / 100
		case rng.IntN(10) < 7:
			c.currency, c.amount = "CNY", 100*int64(10+rng.IntN(890)) // within CNY's auto-approval limit
		default:
			c.currency, c.amount = "USD", 100*int64(5+rng.IntN(145)) // within USD's
		}
		cases = append(cases, c)
	}
	rng.Shuffle(len(cases), func(i, j int) { cases[i], cases[j] = cases[j], cases[i] })
	return cases
}

// chooseKeyless picks the cases submitted without an Idempotency-Key, among
// those that wait for a person (see path.waits): the first reserved of
// them are kept for the outages, and every other one of the rest goes in
// the run's ordinary flow.
func chooseKeyless(cases []*caseRun, reserved int) {
	n := 0
	for _, c := range cases {
		if !c.path.waits {
			continue
		}
		c.reserved = n < reserved
		c.keyless = c.reserved || (n-reserved)%2 == 0
		n++
	}
}

// seedCatalogue pushes the products every case buys.
func seedCatalogue(ctx context.Context, a *api, now time.Time) error {
	products := []map[string]any{
		{"id": altProduct, "type": "recorded_course", "title": "Chaos course B", "lessons_total": 20},
		{"id": courseProduct, "type": "recorded_course", "title": "Chaos course A", "lessons_total": 20, "alternatives": []string{altProduct}},
		{"id": liveProduct, "type": "live_course", "title": "Chaos live course", "sessions_total": 10, "sessions_held": 4,
			"starts_at": now.Add(-14 * day).UTC().Format(time.RFC3339), "creator_account": creatorAccount},
	}
	for _, p := range products {
		if _, err := retry(ctx, func() (int, error) {
			return a.call(ctx, "platform", "PUT", "/v1/products/"+p["id"].(string), p, nil)
		}); err != nil {
			return err
		}
	}
	return nil
}

// seedCase pushes the case's order to refundflow and its payment to the
// fake Stripe, with the same ids.
func seedCase(ctx context.Context, a *api, f *fake, c *caseRun, now time.Time) error {
	p := c.path
	spec := stripefake.PaymentSpec{ID: c.pi, Amount: c.amount, Currency: c.currency, Fee: c.amount * 3 / 100, Disputed: p.disputed}
	if c.fee > 0 {
		spec.Destination, spec.ApplicationFeeAmount = creatorAccount, c.fee
	}
	if err := f.createPayment(ctx, spec); err != nil {
		return err
	}
	if p.behaviour != nil {
		b := *p.behaviour
		b.After = time.Duration(2+c.n%5) * time.Second
		if err := f.setBehaviour(ctx, c.pi, b); err != nil {
			return err
		}
	}
	order := map[string]any{
		"learner_id": "learner-" + c.orderID, "learner_email": c.orderID + "@example.com", "locale": []string{"zh-CN", "en"}[c.n%2],
		"product_id": p.product, "amount": c.amount, "currency": c.currency, "application_fee_amount": c.fee,
		"purchased_at": now.Add(-p.age).UTC().Format(time.RFC3339), "payment_intent": c.pi,
	}
	if _, err := retry(ctx, func() (int, error) { return a.call(ctx, "platform", "PUT", "/v1/orders/"+c.orderID, order, nil) }); err != nil {
		return err
	}
	if p.watched > 0 || p.sessions > 0 {
		progress := map[string]any{}
		if p.watched > 0 {
			progress["watched_ratio"] = p.watched
		}
		if p.sessions > 0 {
			progress["sessions_attended"] = p.sessions
		}
		if _, err := retry(ctx, func() (int, error) {
			return a.call(ctx, "platform", "POST", "/v1/orders/"+c.orderID+"/progress", progress, nil)
		}); err != nil {
			return err
		}
	}
	return nil
}

// retry repeats a call that failed for want of a server (network error,
// 5xx) a few times; 4xx answers are final.
func retry(ctx context.Context, call func() (int, error)) (int, error) {
	var status int
	var err error
	for i := range 8 {
		status, err = call()
		if err == nil || (status >= 400 && status < 500) {
			return status, err
		}
		select {
		case <-ctx.Done():
			return status, ctx.Err()
		case <-time.After(time.Duration(250<<i) * time.Millisecond):
		}
	}
	return status, err
}
