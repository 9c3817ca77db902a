package stripefake

import (
	"fmt"
	"maps"
	"net/url"
	"slices"
	"sort"
	"time"

	"github.com/stripe/stripe-go/v76"
)

var refundReasons = []string{"duplicate", "fraudulent", "requested_by_customer"}

// createRefund is POST /v1/refunds.
func (s *Server) createRefund(c *call) (func() (object, error), error) {
	p := c.params
	// customer, currency, instructions_email and origin are accepted because
	// stripe-go may send them; they do not apply to card refunds of a charge.
	if err := allowParams(p, "amount", "charge", "currency", "customer", "expand", "instructions_email",
		"metadata", "origin", "payment_intent", "reason", "refund_application_fee", "reverse_transfer"); err != nil {
		return nil, err
	}
	piID, chID := p.Get("payment_intent"), p.Get("charge")
	switch {
	case piID == "" && chID == "":
		return nil, invalidRequest("", "parameter_missing", "One of the following params should be provided for this request: payment_intent or charge.")
	case piID != "" && chID != "":
		return nil, invalidRequest("charge", "parameters_exclusive", "You may only specify one of these parameters: charge, payment_intent.")
	}
	amount, hasAmount, err := intParam(p, "amount")
	if err != nil {
		return nil, err
	}
	if hasAmount && amount < 1 {
		return nil, invalidRequest("amount", "parameter_invalid_integer", "This value must be greater than or equal to 1.")
	}
	reason := p.Get("reason")
	if reason != "" && !slices.Contains(refundReasons, reason) {
		return nil, invalidRequest("reason", "", "Invalid reason: must be one of duplicate, fraudulent, or requested_by_customer")
	}
	reverse, err := boolParam(p, "reverse_transfer")
	if err != nil {
		return nil, err
	}
	refundFee, err := boolParam(p, "refund_application_fee")
	if err != nil {
		return nil, err
	}
	md, _, err := metadataParam(p)
	if err != nil {
		return nil, err
	}
	expand := expandParam(p)

	return func() (object, error) {
		ch, err := s.chargeFor(piID, chID)
		if err != nil {
			return nil, err
		}
		// Stripe's order: a disputed charge belongs to the dispute process;
		// then nothing left; then too much asked.
		if ch.disputed {
			return nil, invalidRequest("", "charge_disputed", "Charge %s has been charged back; cannot issue a refund.", ch.id)
		}
		remaining := ch.amount - ch.amountRefunded()
		if remaining <= 0 {
			return nil, invalidRequest("", "charge_already_refunded", "Charge %s has already been refunded.", ch.id)
		}
		if !hasAmount {
			amount = remaining
		}
		if amount > remaining {
			return nil, invalidRequest("amount", "amount_too_large", "Refund amount (%d %s) is greater than unrefunded amount on charge (%d %s)", amount, ch.currency, remaining, ch.currency)
		}
		r := s.newRefund(ch, amount, reason, md, reverse, refundFee, c)
		o := r.object()
		s.store.expand(o, expand)
		return o, nil
	}, nil
}

func (s *Server) chargeFor(piID, chID string) (*charge, error) {
	if piID != "" {
		pi, ok := s.store.payments[piID]
		if !ok {
			return nil, noSuch("payment_intent", piID, "payment_intent")
		}
		return pi.charge, nil
	}
	ch, ok := s.store.charges[chID]
	if !ok {
		return nil, noSuch("charge", chID, "charge")
	}
	return ch, nil
}

// newRefund commits a refund, its balance transaction and its Connect side
// effects, and starts its life cycle.
func (s *Server) newRefund(ch *charge, amount int64, reason string, md map[string]string, reverse, refundFee bool, c *call) *refund {
	now := s.clock.now()
	b := s.behaviourFor(ch.paymentIntent)
	r := &refund{
		seq:            len(s.store.refundLog) + 1,
		id:             s.ids.object("re_"),
		created:        now,
		amount:         amount,
		currency:       ch.currency,
		charge:         ch,
		metadata:       md,
		reason:         reason,
		status:         b.Status,
		idempotencyKey: c.idemKey,
	}
	r.balanceTransaction = s.newBalanceTransaction(now, -amount, 0, ch.currency, r.id, "refund")
	ch.refunds = append(ch.refunds, r)
	s.store.refunds[r.id] = r
	s.store.refundLog = append(s.store.refundLog, r)
	if reverse && ch.transfer != nil {
		r.reversal = s.reverseTransfer(ch.transfer, r, now)
	}
	if refundFee && ch.applicationFee != nil {
		r.feeRefund = s.refundApplicationFee(ch.applicationFee, r, now)
	}
	s.counters.RefundsCreated++
	s.emit(EventRefundCreated, r, nil, c.event())
	if r.status != stripe.RefundStatusSucceeded && b.After > 0 {
		s.scheduleSettle(r, b, now)
	}
	return r
}

func (s *Server) newBalanceTransaction(now time.Time, amount, fee int64, currency, source, kind string) string {
	b := &balanceTransaction{id: s.ids.object("txn_"), created: now, amount: amount, fee: fee, currency: currency, source: source, kind: kind}
	s.store.balance[b.id] = b
	return b.id
}

// reverseTransfer pulls back the connected account's proportional share of
// this refund (see proportional for the rounding). A share that rounds to
// zero creates no reversal, as Stripe creates no zero-amount objects.
func (s *Server) reverseTransfer(t *transfer, r *refund, now time.Time) *transferReversal {
	t.basis += r.amount
	amount := min(proportional(t.amount, t.basis, t.charge.amount), t.amount) - t.reversed
	if amount <= 0 {
		return nil
	}
	v := &transferReversal{id: s.ids.object("trr_"), created: now, amount: amount, currency: t.currency, transfer: t, refund: r}
	t.reversed += amount
	t.reversals = append(t.reversals, v)
	s.store.reversals[v.id] = v
	return v
}

// refundApplicationFee returns the platform's proportional share of this
// refund, rounded like reverseTransfer.
func (s *Server) refundApplicationFee(f *applicationFee, r *refund, now time.Time) *feeRefund {
	f.basis += r.amount
	amount := min(proportional(f.amount, f.basis, f.charge.amount), f.amount) - f.refunded
	if amount <= 0 {
		return nil
	}
	fr := &feeRefund{id: s.ids.object("fr_"), created: now, amount: amount, currency: f.currency, fee: f, refund: r}
	f.refunded += amount
	f.refunds = append(f.refunds, fr)
	s.store.feeRefund[fr.id] = fr
	return fr
}

// scheduleSettle arranges for r to settle at now+After on the fake clock:
// by a real timer, or earlier if a test advances the clock past it.
func (s *Server) scheduleSettle(r *refund, b Behaviour, now time.Time) {
	r.settleAt = now.Add(b.After)
	r.settleTo = b.Settle
	r.settleReason = b.FailureReason
	s.waiting[r.id] = r
	if !s.closed {
		r.timer = time.AfterFunc(b.After, s.settleDue)
	}
}

func (s *Server) settleDue() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.settleDueLocked(s.clock.now())
}

func (s *Server) settleDueLocked(now time.Time) {
	var due []*refund
	for _, r := range s.waiting {
		if !r.settleAt.After(now) {
			due = append(due, r)
		}
	}
	sort.Slice(due, func(i, j int) bool { return due[i].seq < due[j].seq })
	for _, r := range due {
		if err := s.transition(r, r.settleTo, r.settleReason, nil); err != nil {
			// Behaviour.normalize only allows settling to succeeded or
			// failed, which every waiting status can reach.
			panic("stripefake: " + err.Error())
		}
	}
}

// transitions lists where each refund status may go. Stripe moves pending
// refunds to succeeded or failed, requires_action ones to pending once the
// customer acts (or canceled by the caller), and a succeeded refund can
// still fail later (e.g. the card was closed).
var transitions = map[stripe.RefundStatus][]stripe.RefundStatus{
	stripe.RefundStatusPending:        {stripe.RefundStatusSucceeded, stripe.RefundStatusFailed},
	stripe.RefundStatusRequiresAction: {stripe.RefundStatusPending, stripe.RefundStatusSucceeded, stripe.RefundStatusFailed, stripe.RefundStatusCanceled},
	stripe.RefundStatusSucceeded:      {stripe.RefundStatusFailed},
}

// transition changes r's status and sends the events Stripe sends for it:
// refund.updated and charge.refund.updated, plus refund.failed on failure.
func (s *Server) transition(r *refund, to stripe.RefundStatus, reason stripe.RefundFailureReason, req *eventRequest) error {
	from := r.status
	if !slices.Contains(transitions[from], to) {
		return fmt.Errorf("refund %s is %s and cannot become %s: %w", r.id, from, to, ErrInvalid)
	}
	now := s.clock.now()
	previous := object{"status": string(from)}
	r.status = to
	if to == stripe.RefundStatusFailed {
		if reason == "" {
			reason = stripe.RefundFailureReasonUnknown
		}
		r.failureReason = reason
		// The money comes back to the balance, like Stripe's refund_failure
		// balance transaction.
		r.failureBalanceTransaction = s.newBalanceTransaction(now, r.amount, 0, r.currency, r.id, "refund_failure")
		previous["failure_reason"] = nil
		previous["failure_balance_transaction"] = nil
	}
	if r.timer != nil {
		r.timer.Stop()
		r.timer = nil
	}
	delete(s.waiting, r.id)
	s.emit(EventRefundUpdated, r, previous, req)
	s.emit(EventChargeRefundUpdated, r, previous, req)
	if to == stripe.RefundStatusFailed {
		s.emit(EventRefundFailed, r, previous, req)
	}
	return nil
}

func (s *Server) emit(typ string, r *refund, previous object, req *eventRequest) {
	s.hooks.record(s.ids.request("evt_"), typ, s.clock.now(), r.object(), previous, req)
}

// updateRefund is POST /v1/refunds/{id}: Stripe lets only metadata change.
func (s *Server) updateRefund(c *call) (func() (object, error), error) {
	if err := allowParams(c.params, "metadata", "expand"); err != nil {
		return nil, err
	}
	md, clearAll, err := metadataParam(c.params)
	if err != nil {
		return nil, err
	}
	id, expand := c.pathValue("id"), expandParam(c.params)
	return func() (object, error) {
		r, ok := s.store.refunds[id]
		if !ok {
			return nil, noSuch("refund", id, "id")
		}
		before := maps.Clone(r.metadata)
		if clearAll {
			clear(r.metadata)
		}
		for k, v := range md {
			if v == "" {
				delete(r.metadata, k)
			} else {
				r.metadata[k] = v
			}
		}
		if !maps.Equal(before, r.metadata) {
			previous := object{"metadata": metadataObject(before)}
			s.emit(EventRefundUpdated, r, previous, c.event())
			s.emit(EventChargeRefundUpdated, r, previous, c.event())
		}
		o := r.object()
		s.store.expand(o, expand)
		return o, nil
	}, nil
}

// cancelRefund is POST /v1/refunds/{id}/cancel.
func (s *Server) cancelRefund(c *call) (func() (object, error), error) {
	if err := allowParams(c.params, "expand"); err != nil {
		return nil, err
	}
	id, expand := c.pathValue("id"), expandParam(c.params)
	return func() (object, error) {
		r, ok := s.store.refunds[id]
		if !ok {
			return nil, noSuch("refund", id, "id")
		}
		if r.status != stripe.RefundStatusRequiresAction {
			return nil, invalidRequest("", "", "You can only cancel refunds with a status of requires_action; refund %s has status %s.", r.id, r.status)
		}
		if err := s.transition(r, stripe.RefundStatusCanceled, "", c.event()); err != nil {
			return nil, err
		}
		o := r.object()
		s.store.expand(o, expand)
		return o, nil
	}, nil
}

// listRefunds is GET /v1/refunds: newest first, cursor pagination with
// starting_after / ending_before as stripe-go's iterator drives it.
func (s *Server) listRefunds(c *call) (func() (object, error), error) {
	p := c.params
	if err := allowParams(p, "charge", "payment_intent", "created", "limit", "starting_after", "ending_before", "expand"); err != nil {
		return nil, err
	}
	limit, hasLimit, err := intParam(p, "limit")
	if err != nil {
		return nil, err
	}
	if !hasLimit {
		limit = 10
	}
	if limit < 1 || limit > 100 {
		return nil, invalidRequest("limit", "parameter_invalid_integer", "This value must be between 1 and 100 (it is currently %d).", limit)
	}
	created, err := createdFilter(p)
	if err != nil {
		return nil, err
	}
	if p.Get("starting_after") != "" && p.Get("ending_before") != "" {
		return nil, invalidRequest("ending_before", "parameters_exclusive", "You may only specify one of these parameters: ending_before, starting_after.")
	}
	chID, piID := p.Get("charge"), p.Get("payment_intent")
	after, before := p.Get("starting_after"), p.Get("ending_before")
	expand := expandParam(p)

	return func() (object, error) {
		// Newest first, filtered. A payment's own refunds are the candidates
		// when the caller names it, so that adopting a refund after an
		// ambiguous failure stays cheap with 100 000 refunds in the fake.
		candidates := s.store.refundLog
		if chID != "" || piID != "" {
			candidates = nil
			if ch, ok := s.store.charges[chID]; ok {
				candidates = ch.refunds
			} else if pi, ok := s.store.payments[piID]; ok && chID == "" {
				candidates = pi.charge.refunds
			}
		}
		var match []*refund
		for i := len(candidates) - 1; i >= 0; i-- {
			r := candidates[i]
			if (chID == "" || r.charge.id == chID) && (piID == "" || r.charge.paymentIntent.id == piID) && created(r.created.Unix()) {
				match = append(match, r)
			}
		}
		var page []*refund
		hasMore := false
		switch {
		case after != "":
			cursor, ok := s.store.refunds[after]
			if !ok {
				return nil, noSuch("refund", after, "starting_after")
			}
			// Older than the cursor: the tail of match.
			i := sort.Search(len(match), func(i int) bool { return match[i].seq < cursor.seq })
			page = match[i:min(len(match), i+int(limit))]
			hasMore = i+int(limit) < len(match)
		case before != "":
			cursor, ok := s.store.refunds[before]
			if !ok {
				return nil, noSuch("refund", before, "ending_before")
			}
			// Newer than the cursor, the ones closest to it, still newest first.
			j := sort.Search(len(match), func(i int) bool { return match[i].seq <= cursor.seq })
			i := max(0, j-int(limit))
			page = match[i:j]
			hasMore = i > 0
		default:
			page = match[:min(len(match), int(limit))]
			hasMore = len(match) > int(limit)
		}
		data := make([]object, len(page))
		for i, r := range page {
			data[i] = r.object()
		}
		o := listObject("/v1/refunds", data, hasMore)
		s.store.expand(o, expand)
		return o, nil
	}, nil
}

// createdFilter reads created=<unix> or created[gt|gte|lt|lte]=<unix>.
func createdFilter(p url.Values) (func(int64) bool, error) {
	type bound struct {
		key string
		ok  func(v, b int64) bool
	}
	bounds := []bound{
		{"created", func(v, b int64) bool { return v == b }},
		{"created[gt]", func(v, b int64) bool { return v > b }},
		{"created[gte]", func(v, b int64) bool { return v >= b }},
		{"created[lt]", func(v, b int64) bool { return v < b }},
		{"created[lte]", func(v, b int64) bool { return v <= b }},
	}
	var checks []func(int64) bool
	for k := range p {
		if paramBase(k) != "created" {
			continue
		}
		i := slices.IndexFunc(bounds, func(b bound) bool { return b.key == k })
		if i < 0 {
			return nil, unknownParameter(k)
		}
		b, _, err := intParam(p, k)
		if err != nil {
			return nil, err
		}
		ok := bounds[i].ok
		checks = append(checks, func(v int64) bool { return ok(v, b) })
	}
	return func(v int64) bool {
		for _, check := range checks {
			if !check(v) {
				return false
			}
		}
		return true
	}, nil
}

// retrieve is GET /v1/<kind>s/{id} for any stored object type.
func (s *Server) retrieve(kind string, exists func(id string) bool) endpoint {
	return func(c *call) (func() (object, error), error) {
		if err := allowParams(c.params, "expand"); err != nil {
			return nil, err
		}
		id, expand := c.pathValue("id"), expandParam(c.params)
		return func() (object, error) {
			if !exists(id) {
				return nil, noSuch(kind, id, "id")
			}
			o, _ := s.store.render(id)
			s.store.expand(o, expand)
			return o, nil
		}, nil
	}
}
