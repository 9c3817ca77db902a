package chaos

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/refundflow/refundflow/internal/stripefake"
	"github.com/refundflow/refundflow/payments"
)

// Violation is something that must never happen and did.
type Violation struct {
	Check  string // what was checked: terminal, requests, outcome, stripe, order, ledger, access, webhooks, messages
	Case   string // the case id, when it is about a case
	Order  string
	Detail string
}

func (v Violation) String() string {
	var b strings.Builder
	b.WriteString(v.Check)
	if v.Case != "" {
		b.WriteString(" case=" + v.Case)
	}
	if v.Order != "" {
		b.WriteString(" order=" + v.Order)
	}
	return b.String() + ": " + v.Detail
}

// terminal statuses: the case will not change by itself any more (a
// rejected case only if the learner appeals).
var terminal = map[string]bool{"refunded": true, "retained": true, "rejected": true, "withdrawn": true, "failed": true}

// evidence is everything the checks compare.
type evidence struct {
	cases    []caseRun
	stripe   stripefake.Snapshot
	orders   map[string]orderRow
	ledger   ledgerFigures
	events   eventFigures
	casePays map[string]string
	msgs     messageEvidence
}

type orderRow struct {
	amount, refunded, inFlight int64
	pi                         string
}

type ledgerFigures struct {
	// debits and credits per currency, over every posting.
	debits, credits map[string]int64
	// net per order and account: debit − credit.
	net       map[string]map[string]int64
	unsettled []unsettled
}

// unsettled is a payment attempt that never reached succeeded, failed or
// canceled: money held in flight.
type unsettled struct {
	refundID string
	attempt  int
	status   string
}

type eventFigures struct {
	recorded, unprocessed int
	// outcomes counts what routing did with the events (signalled, stale,
	// case_closed...), and retries the cases' new attempts after a spent
	// idempotency key: how the product coped, for the findings.
	outcomes map[string]int
	retries  int
}

// gather reads the database's side. The stack is calm by now: every case
// has ended or the wait for it has.
func gather(ctx context.Context, dbURL string, ev *evidence) error {
	orders := map[string]orderRow{}
	lf := ledgerFigures{debits: map[string]int64{}, credits: map[string]int64{}, net: map[string]map[string]int64{}}
	ef := eventFigures{outcomes: map[string]int{}}
	ev.casePays = map[string]string{}
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)

	rows, err := conn.Query(ctx, `SELECT id, amount, refunded_amount, in_flight_amount, payment_intent FROM orders`)
	if err != nil {
		return err
	}
	for rows.Next() {
		var id string
		var o orderRow
		if err := rows.Scan(&id, &o.amount, &o.refunded, &o.inFlight, &o.pi); err != nil {
			return err
		}
		orders[id] = o
	}
	if err := rows.Err(); err != nil {
		return err
	}

	rows, err = conn.Query(ctx, `
		SELECT t.order_id, t.currency, p.account, sum(p.debit), sum(p.credit)
		FROM ledger_postings p JOIN ledger_transactions t ON t.id = p.transaction_id
		GROUP BY t.order_id, t.currency, p.account`)
	if err != nil {
		return err
	}
	for rows.Next() {
		var order, currency, account string
		var dr, cr int64
		if err := rows.Scan(&order, &currency, &account, &dr, &cr); err != nil {
			return err
		}
		lf.debits[currency] += dr
		lf.credits[currency] += cr
		if lf.net[order] == nil {
			lf.net[order] = map[string]int64{}
		}
		lf.net[order][account] += dr - cr
	}
	if err := rows.Err(); err != nil {
		return err
	}

	rows, err = conn.Query(ctx, `SELECT refund_id, attempt, status FROM payment_attempts WHERE status NOT IN ('succeeded', 'failed', 'canceled') ORDER BY refund_id`)
	if err != nil {
		return err
	}
	for rows.Next() {
		var u unsettled
		if err := rows.Scan(&u.refundID, &u.attempt, &u.status); err != nil {
			return err
		}
		lf.unsettled = append(lf.unsettled, u)
	}
	if err := rows.Err(); err != nil {
		return err
	}

	rows, err = conn.Query(ctx, `SELECT outcome, count(*), count(*) FILTER (WHERE processed_at IS NULL) FROM stripe_events GROUP BY outcome`)
	if err != nil {
		return err
	}
	for rows.Next() {
		var outcome string
		var n, unprocessed int
		if err := rows.Scan(&outcome, &n, &unprocessed); err != nil {
			return err
		}
		ef.outcomes[outcome] = n
		ef.recorded += n
		ef.unprocessed += unprocessed
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM refund_timeline WHERE event = 'payment_retried'`).Scan(&ef.retries); err != nil {
		return err
	}
	ev.orders, ev.ledger, ev.events = orders, lf, ef

	// The Stripe refund each case says it was paid with.
	if err := gatherMessages(ctx, conn, &ev.msgs); err != nil {
		return err
	}
	rows, err = conn.Query(ctx, `SELECT id, provider_refund_id FROM refunds WHERE provider_refund_id IS NOT NULL`)
	if err != nil {
		return err
	}
	for rows.Next() {
		var id, provider string
		if err := rows.Scan(&id, &provider); err != nil {
			return err
		}
		ev.casePays[id] = provider
	}
	return rows.Err()
}

// check compares everything and lists what must not be.
func check(ev evidence) []Violation {
	var out []Violation
	add := func(check, caseID, order, format string, args ...any) {
		out = append(out, Violation{Check: check, Case: caseID, Order: order, Detail: fmt.Sprintf(format, args...)})
	}

	byCase := map[string][]stripefake.RefundRecord{}
	known := map[string]bool{}
	for _, c := range ev.cases {
		if c.id != "" {
			known[c.id] = true
		}
	}
	revoked := revocations(ev.msgs.hooks)
	for _, r := range ev.stripe.Refunds {
		id := r.Metadata[payments.MetaRefundID]
		if !known[id] {
			add("stripe", id, "", "Stripe refund %s (%d %s, %s) names no case of the run", r.ID, r.Amount, r.Currency, r.Status)
			continue
		}
		byCase[id] = append(byCase[id], r)
	}

	for _, c := range ev.cases {
		if c.id == "" {
			add("requests", "", c.orderID, "the request got no case: %s", c.submitErr)
			continue
		}
		if !terminal[c.status] {
			// What its path promises cannot be judged yet; the orders'
			// and the ledger's checks still see any money it moved.
			add("terminal", c.id, c.orderID, "path %s: still %s", c.path.name, c.status)
			continue
		}
		if c.status != c.path.final {
			add("outcome", c.id, c.orderID, "path %s: ended %s, not %s", c.path.name, c.status, c.path.final)
		}
		checkCaseRefunds(c, byCase[c.id], ev.casePays[c.id], add)
		// Access goes once the money moved, and only then: once for a
		// refunded case, and for one whose refund failed at the bank after
		// it had succeeded (the platform heard of the success first).
		n := revoked[c.id]
		want := 0
		if c.path.final == "refunded" || c.path.name == "failed_after_success" {
			want = 1
		}
		if n != want {
			add("access", c.id, c.orderID, "path %s, %s: the platform was told %d times to revoke access", c.path.name, c.status, n)
		}
	}
	checkRequests(ev, add)
	checkMessages(ev.msgs, add)
	checkMoney(ev, add)
	if ev.events.recorded != ev.stripe.Webhooks.Events {
		add("webhooks", "", "", "%d Stripe events recorded once each, for %d sent", ev.events.recorded, ev.stripe.Webhooks.Events)
	}
	if ev.events.unprocessed > 0 {
		add("webhooks", "", "", "%d Stripe events recorded but never routed", ev.events.unprocessed)
	}
	return out
}

// revocations counts, per case, the distinct events the platform took that
// told it to revoke access.
func revocations(hooks map[string]received) map[string]int {
	perCase := map[string]int{}
	for _, ev := range hooks {
		var env struct {
			Data struct {
				RefundID     string `json:"refund_id"`
				RevokeAccess bool   `json:"revoke_access"`
			} `json:"data"`
		}
		if json.Unmarshal(ev.Body, &env) == nil && env.Data.RevokeAccess {
			perCase[env.Data.RefundID]++
		}
	}
	return perCase
}

// checkRequests: the answers to one request named one case (the case
// checks above see it end), and the read model holds no case that no
// answer named: a request that opened a case must hear of it — its id, or
// a 409 or 503 naming it.
func checkRequests(ev evidence, add func(string, string, string, string, ...any)) {
	known := map[string]bool{}
	for _, c := range ev.cases {
		for _, id := range c.named {
			known[id] = true
		}
		if len(c.named) > 1 {
			add("requests", c.id, c.orderID, "the answers to one request named %d cases: %v", len(c.named), c.named)
		}
	}
	for _, r := range ev.msgs.cases {
		if !known[r.id] {
			add("requests", r.id, r.orderID, "a case no answer named (%s)", r.status)
		}
	}
}

// checkCaseRefunds: one succeeded Stripe refund of the right amount per
// refunded case, and it is the one the case names; none for the others
// (a failed case may have a failed one).
func checkCaseRefunds(c caseRun, refunds []stripefake.RefundRecord, named string, add func(string, string, string, string, ...any)) {
	succeeded := 0
	var ids []string
	for _, r := range refunds {
		ids = append(ids, fmt.Sprintf("%s %s %d", r.ID, r.Status, r.Amount))
		if r.Status == "succeeded" {
			succeeded++
		}
	}
	switch {
	case c.path.final == "refunded":
		if len(refunds) != 1 || succeeded != 1 {
			add("stripe", c.id, c.orderID, "refunded case has Stripe refunds %v; want exactly one, succeeded", ids)
			return
		}
		if want := c.expectedRefund(); refunds[0].Amount != want {
			add("stripe", c.id, c.orderID, "Stripe refunded %d; the path refunds %d", refunds[0].Amount, want)
		}
		if named != refunds[0].ID {
			add("stripe", c.id, c.orderID, "the case names Stripe refund %q, Stripe holds %s", named, refunds[0].ID)
		}
	case c.path.final == "failed":
		if succeeded > 0 {
			add("stripe", c.id, c.orderID, "failed case has a succeeded Stripe refund: %v", ids)
		}
		if len(refunds) > 1 {
			add("stripe", c.id, c.orderID, "failed case has %d Stripe refunds: %v", len(refunds), ids)
		}
	default:
		if len(refunds) > 0 {
			add("stripe", c.id, c.orderID, "%s case has Stripe refunds %v", c.path.final, ids)
		}
	}
}

// checkMoney: refunded ≤ paid and nothing in flight on every order, equal
// to Stripe's record; the ledger balanced per currency and equal to
// Stripe per order (and so per currency).
func checkMoney(ev evidence, add func(string, string, string, string, ...any)) {
	ids := make([]string, 0, len(ev.orders))
	for id := range ev.orders {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		o := ev.orders[id]
		pay, ok := ev.stripe.Payments[o.pi]
		if !ok {
			add("order", "", id, "payment %s unknown to Stripe", o.pi)
			continue
		}
		net := ev.ledger.net[id]
		switch {
		case o.refunded > o.amount || pay.Succeeded > pay.Amount:
			add("order", "", id, "refunded %d (Stripe %d) of %d paid", o.refunded, pay.Succeeded, o.amount)
		case o.refunded != pay.Succeeded:
			add("order", "", id, "refundflow says %d refunded, Stripe %d", o.refunded, pay.Succeeded)
		}
		if o.inFlight != 0 {
			add("order", "", id, "%d still in flight", o.inFlight)
		}
		if net["refunds"] != pay.Succeeded {
			add("ledger", "", id, "ledger refunds %d, Stripe succeeded %d", net["refunds"], pay.Succeeded)
		}
		if -net["creator_payable"] != pay.TransferReversed {
			add("ledger", "", id, "ledger clawback %d, Stripe transfer reversals %d", -net["creator_payable"], pay.TransferReversed)
		}
		if net["application_fees"] != pay.ApplicationFeeRefunded {
			add("ledger", "", id, "ledger application fees returned %d, Stripe %d", net["application_fees"], pay.ApplicationFeeRefunded)
		}
	}
	for cur, dr := range ev.ledger.debits {
		if cr := ev.ledger.credits[cur]; dr != cr {
			add("ledger", "", "", "%s: debits %d ≠ credits %d", cur, dr, cr)
		}
	}
	for _, u := range ev.ledger.unsettled {
		add("order", u.refundID, "", "payment attempt %d never settled: %s", u.attempt, u.status)
	}
}
