package stripefake

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/stripe/stripe-go/v76"
)

// PaymentSpec describes a succeeded payment to seed: a payment intent with
// one charge. Ids may be chosen by the caller (e.g. "pi_order_123") so that a
// product database and the fake can be seeded consistently.
type PaymentSpec struct {
	ID       string `json:"id,omitempty"`        // "pi_..."; empty: a random id
	ChargeID string `json:"charge_id,omitempty"` // "ch_..."; empty: "ch_" + the suffix of a chosen ID, else random
	Amount   int64  `json:"amount"`              // minor units, > 0
	Currency string `json:"currency"`            // ISO 4217, any case (Stripe shows it lower-case)
	// Fee is Stripe's processing fee, shown on the charge's balance transaction.
	Fee int64 `json:"fee,omitempty"`
	// Destination makes it a Connect destination charge: the amount minus
	// ApplicationFeeAmount is transferred to this account ("acct_...").
	Destination          string            `json:"destination,omitempty"`
	ApplicationFeeAmount int64             `json:"application_fee_amount,omitempty"`
	Disputed             bool              `json:"disputed,omitempty"`
	Metadata             map[string]string `json:"metadata,omitempty"`
}

// Payment is the ids of what CreatePayment made.
type Payment struct {
	PaymentIntent      string `json:"payment_intent"`
	Charge             string `json:"charge"`
	BalanceTransaction string `json:"balance_transaction"`
	Transfer           string `json:"transfer,omitempty"`
	ApplicationFee     string `json:"application_fee,omitempty"`
}

// CreatePayment seeds a succeeded payment intent and its charge.
func (s *Server) CreatePayment(spec PaymentSpec) (Payment, error) {
	if spec.Amount <= 0 {
		return Payment{}, fmt.Errorf("payment amount %d must be positive: %w", spec.Amount, ErrInvalid)
	}
	currency := strings.ToLower(spec.Currency)
	if len(currency) != 3 || strings.Trim(currency, "abcdefghijklmnopqrstuvwxyz") != "" {
		return Payment{}, fmt.Errorf("payment currency %q: %w", spec.Currency, ErrInvalid)
	}
	if spec.Fee < 0 || spec.Fee > spec.Amount {
		return Payment{}, fmt.Errorf("payment fee %d outside 0..amount: %w", spec.Fee, ErrInvalid)
	}
	if spec.ApplicationFeeAmount < 0 || spec.ApplicationFeeAmount > spec.Amount {
		return Payment{}, fmt.Errorf("application fee %d outside 0..amount: %w", spec.ApplicationFeeAmount, ErrInvalid)
	}
	if spec.ApplicationFeeAmount > 0 && spec.Destination == "" {
		return Payment{}, fmt.Errorf("an application fee needs a Connect destination: %w", ErrInvalid)
	}
	if spec.Destination != "" && !strings.HasPrefix(spec.Destination, "acct_") {
		return Payment{}, fmt.Errorf("destination %q is not an account id (acct_...): %w", spec.Destination, ErrInvalid)
	}
	if spec.ID != "" && !strings.HasPrefix(spec.ID, "pi_") {
		return Payment{}, fmt.Errorf("payment intent id %q must start with pi_: %w", spec.ID, ErrInvalid)
	}
	if spec.ChargeID != "" && !strings.HasPrefix(spec.ChargeID, "ch_") {
		return Payment{}, fmt.Errorf("charge id %q must start with ch_: %w", spec.ChargeID, ErrInvalid)
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	piID, chID := spec.ID, spec.ChargeID
	if piID == "" {
		piID = s.ids.object("pi_")
	}
	switch {
	case chID != "":
	case spec.ID != "":
		chID = "ch_" + strings.TrimPrefix(spec.ID, "pi_")
	default:
		chID = s.ids.object("ch_")
	}
	for _, id := range []string{piID, chID} {
		if _, taken := s.store.render(id); taken {
			return Payment{}, fmt.Errorf("id %s: %w", id, ErrExists)
		}
	}
	now := s.clock.now()
	pi := &paymentIntent{id: piID, created: now, amount: spec.Amount, currency: currency, metadata: cloneMetadata(spec.Metadata)}
	ch := &charge{id: chID, created: now, amount: spec.Amount, currency: currency, disputed: spec.Disputed, paymentIntent: pi, destination: spec.Destination}
	pi.charge = ch
	ch.balanceTransaction = s.newBalanceTransaction(now, spec.Amount, spec.Fee, currency, chID, "charge")
	out := Payment{PaymentIntent: piID, Charge: chID, BalanceTransaction: ch.balanceTransaction}
	if spec.Destination != "" {
		ch.transfer = &transfer{id: s.ids.object("tr_"), created: now, amount: spec.Amount - spec.ApplicationFeeAmount, currency: currency, destination: spec.Destination, charge: ch}
		s.store.transfers[ch.transfer.id] = ch.transfer
		out.Transfer = ch.transfer.id
	}
	if spec.ApplicationFeeAmount > 0 {
		ch.applicationFee = &applicationFee{id: s.ids.object("fee_"), created: now, amount: spec.ApplicationFeeAmount, currency: currency, account: spec.Destination, charge: ch}
		s.store.fees[ch.applicationFee.id] = ch.applicationFee
		out.ApplicationFee = ch.applicationFee.id
	}
	s.store.payments[piID] = pi
	s.store.charges[chID] = ch
	return out, nil
}

// SetDisputed opens or closes a dispute on the payment's charge. As on
// Stripe, a fully refunded charge cannot be disputed.
func (s *Server) SetDisputed(paymentIntent string, disputed bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	pi, ok := s.store.payments[paymentIntent]
	if !ok {
		return fmt.Errorf("payment intent %s: %w", paymentIntent, ErrNotFound)
	}
	if disputed && pi.charge.amountRefunded() >= pi.charge.amount {
		return fmt.Errorf("charge %s is fully refunded and cannot be disputed: %w", pi.charge.id, ErrInvalid)
	}
	pi.charge.disputed = disputed
	return nil
}

// Behaviour is how new refunds of a payment progress.
type Behaviour struct {
	// Status a refund is created in: succeeded (default), pending or
	// requires_action.
	Status stripe.RefundStatus `json:"status,omitempty"`
	// Settle is where a pending or requires_action refund goes next:
	// succeeded (default) or failed, After its creation; with After zero it
	// waits for SettleRefund.
	Settle        stripe.RefundStatus        `json:"settle,omitempty"`
	After         time.Duration              `json:"after,omitempty"`
	FailureReason stripe.RefundFailureReason `json:"failure_reason,omitempty"` // when failing; default unknown
}

func (b *Behaviour) normalize() error {
	if b.Status == "" {
		b.Status = stripe.RefundStatusSucceeded
	}
	if b.Settle == "" {
		b.Settle = stripe.RefundStatusSucceeded
	}
	if !slices.Contains([]stripe.RefundStatus{stripe.RefundStatusSucceeded, stripe.RefundStatusPending, stripe.RefundStatusRequiresAction}, b.Status) {
		return fmt.Errorf("refunds cannot be created %s: %w", b.Status, ErrInvalid)
	}
	if b.Settle != stripe.RefundStatusSucceeded && b.Settle != stripe.RefundStatusFailed {
		return fmt.Errorf("refunds settle to succeeded or failed, not %s: %w", b.Settle, ErrInvalid)
	}
	if b.After < 0 {
		return fmt.Errorf("settle delay %v is negative: %w", b.After, ErrInvalid)
	}
	return nil
}

// MarshalJSON writes After as Go duration syntax.
func (b Behaviour) MarshalJSON() ([]byte, error) {
	type plain Behaviour
	return json.Marshal(struct {
		plain
		After durationJSON `json:"after,omitempty"`
	}{plain(b), durationJSON(b.After)})
}

// UnmarshalJSON reads After as Go duration syntax ("2s").
func (b *Behaviour) UnmarshalJSON(data []byte) error {
	type plain Behaviour
	var w struct {
		plain
		After durationJSON `json:"after"`
	}
	if err := json.Unmarshal(data, &w); err != nil {
		return err
	}
	*b = Behaviour(w.plain)
	b.After = time.Duration(w.After)
	return nil
}

// SetBehaviour sets how new refunds of one payment progress.
func (s *Server) SetBehaviour(paymentIntent string, b Behaviour) error {
	if err := b.normalize(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	pi, ok := s.store.payments[paymentIntent]
	if !ok {
		return fmt.Errorf("payment intent %s: %w", paymentIntent, ErrNotFound)
	}
	pi.behaviour = &b
	return nil
}

// SetDefaultBehaviour sets how new refunds progress for payments without a
// behaviour of their own (initially: succeed at once).
func (s *Server) SetDefaultBehaviour(b Behaviour) error {
	if err := b.normalize(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.defaultBehaviour = b
	return nil
}

func (s *Server) behaviourFor(pi *paymentIntent) Behaviour {
	if pi.behaviour != nil {
		return *pi.behaviour
	}
	b := s.defaultBehaviour
	if b.Status == "" {
		b.Status = stripe.RefundStatusSucceeded
	}
	return b
}

// SettleRefund moves a refund on, as the bank or the customer would: a
// pending refund to succeeded or failed; a requires_action one to pending,
// succeeded, failed or canceled; a succeeded one to failed. It sends the
// events of the change.
func (s *Server) SettleRefund(id string, status stripe.RefundStatus, reason stripe.RefundFailureReason) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.store.refunds[id]
	if !ok {
		return fmt.Errorf("refund %s: %w", id, ErrNotFound)
	}
	return s.transition(r, status, reason, nil)
}

// InjectFault appends a fault rule for its endpoint.
func (s *Server) InjectFault(f Fault) error {
	if err := f.normalize(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults[f.Endpoint] = append(s.faults[f.Endpoint], &f)
	return nil
}

// ClearFaults drops every rule not yet consumed.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = faultQueue{}
}

// Faults returns the rules not yet consumed (Times is what is left).
func (s *Server) Faults() []Fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.faults.pending()
}

// SetRateLimit replaces the per-endpoint limit; perSecond ≤ 0 removes it.
func (s *Server) SetRateLimit(perSecond float64, burst int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.limiter.set(perSecond, burst)
}

// Now is the fake clock's reading.
func (s *Server) Now() time.Time { return s.clock.now() }

// Advance moves the fake clock forward: idempotency keys older than their
// window are forgotten, and refunds due to settle do so now. Time never goes
// back (lists and key expiry rely on it), so a negative d panics.
func (s *Server) Advance(d time.Duration) {
	if d < 0 {
		panic("stripefake: Advance with a negative duration")
	}
	s.clock.advance(d)
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.clock.now()
	s.idem.lastSweep = time.Time{}
	s.idem.sweep(now)
	s.settleDueLocked(now)
}

// ConfigureWebhooks sets the endpoint and signing secret events are sent to
// from now on; an empty url stops sending.
func (s *Server) ConfigureWebhooks(url, secret string) { s.hooks.configure(url, secret) }

// SetWebhookMode changes how events are delivered from now on. Leaving
// out-of-order mode releases what it held.
func (s *Server) SetWebhookMode(m WebhookMode) { s.hooks.setMode(m) }

// FlushWebhooks releases events held by out-of-order mode, shuffled.
func (s *Server) FlushWebhooks() { s.hooks.flush() }

// Events returns every event emitted so far, oldest first, with its
// delivery record.
func (s *Server) Events() []Event { return s.hooks.list() }

// ResendEvent delivers a past event again, as the dashboard's "resend" does:
// same id, same payload, a fresh signature.
func (s *Server) ResendEvent(id string) error { return s.hooks.resend(id) }

// Counters are what the fake has seen and done.
type Counters struct {
	// Requests counts API requests by endpoint and HTTP status answered;
	// status 0 counts connections dropped by a fault.
	Requests             map[string]map[int]int `json:"requests"`
	RefundsCreated       int                    `json:"refunds_created"`
	RateLimited          int                    `json:"rate_limited"` // 429 rate_limit answers: the limiter's and injected ones
	IdempotentReplays    int                    `json:"idempotent_replays"`
	IdempotencyConflicts int                    `json:"idempotency_conflicts"` // 409 idempotency_key_in_use
	IdempotencyErrors    int                    `json:"idempotency_errors"`    // key reused with other parameters or endpoint
	FaultsInjected       int                    `json:"faults_injected"`
}

func newCounters() Counters {
	return Counters{Requests: map[string]map[int]int{}}
}

// RefundRecord is a refund as the fake holds it, for assertions.
type RefundRecord struct {
	ID                   string                     `json:"id"`
	PaymentIntent        string                     `json:"payment_intent"`
	Charge               string                     `json:"charge"`
	Amount               int64                      `json:"amount"`
	Currency             string                     `json:"currency"`
	Status               stripe.RefundStatus        `json:"status"`
	FailureReason        stripe.RefundFailureReason `json:"failure_reason,omitempty"`
	Reason               string                     `json:"reason,omitempty"`
	Metadata             map[string]string          `json:"metadata"`
	Created              time.Time                  `json:"created"`
	IdempotencyKey       string                     `json:"idempotency_key,omitempty"` // the key of the request that created it
	TransferReversal     string                     `json:"transfer_reversal,omitempty"`
	ApplicationFeeRefund string                     `json:"application_fee_refund,omitempty"`
}

// PaymentTotals is one payment's money as the fake holds it.
type PaymentTotals struct {
	Charge   string `json:"charge"`
	Amount   int64  `json:"amount"`
	Currency string `json:"currency"`
	// Refunded is charge.amount_refunded: pending, requires_action and
	// succeeded refunds; Succeeded counts only the last.
	Refunded               int64 `json:"refunded"`
	Succeeded              int64 `json:"succeeded"`
	Disputed               bool  `json:"disputed"`
	Transferred            int64 `json:"transferred"`
	TransferReversed       int64 `json:"transfer_reversed"`
	ApplicationFee         int64 `json:"application_fee"`
	ApplicationFeeRefunded int64 `json:"application_fee_refunded"`
}

// ReversalRecord is a Connect transfer reversal.
type ReversalRecord struct {
	ID          string `json:"id"`
	Transfer    string `json:"transfer"`
	Destination string `json:"destination"`
	Refund      string `json:"refund"`
	Amount      int64  `json:"amount"`
	Currency    string `json:"currency"`
}

// FeeRefundRecord is an application-fee refund.
type FeeRefundRecord struct {
	ID             string `json:"id"`
	ApplicationFee string `json:"application_fee"`
	Refund         string `json:"refund"`
	Amount         int64  `json:"amount"`
	Currency       string `json:"currency"`
}

// Snapshot is the fake's whole state at one moment.
type Snapshot struct {
	Now                   time.Time                `json:"now"`
	Refunds               []RefundRecord           `json:"refunds"` // creation order
	Payments              map[string]PaymentTotals `json:"payments"`
	TransferReversals     []ReversalRecord         `json:"transfer_reversals"`
	ApplicationFeeRefunds []FeeRefundRecord        `json:"application_fee_refunds"`
	Counters              Counters                 `json:"counters"`
	Webhooks              WebhookStats             `json:"webhooks"`
}

// Snapshot copies the state; later changes do not show in it.
func (s *Server) Snapshot() Snapshot {
	s.mu.Lock()
	defer s.mu.Unlock()
	snap := Snapshot{
		Now:                   s.clock.now(),
		Refunds:               make([]RefundRecord, 0, len(s.store.refundLog)),
		Payments:              make(map[string]PaymentTotals, len(s.store.payments)),
		TransferReversals:     []ReversalRecord{},
		ApplicationFeeRefunds: []FeeRefundRecord{},
		Counters:              s.counters,
		Webhooks:              s.hooks.snapshot(),
	}
	snap.Counters.Requests = make(map[string]map[int]int, len(s.counters.Requests))
	for ep, byStatus := range s.counters.Requests {
		snap.Counters.Requests[ep] = maps.Clone(byStatus)
	}
	for _, r := range s.store.refundLog {
		rec := RefundRecord{
			ID: r.id, PaymentIntent: r.charge.paymentIntent.id, Charge: r.charge.id,
			Amount: r.amount, Currency: r.currency, Status: r.status, FailureReason: r.failureReason,
			Reason: r.reason, Metadata: maps.Clone(r.metadata), Created: r.created, IdempotencyKey: r.idempotencyKey,
		}
		if r.reversal != nil {
			rec.TransferReversal = r.reversal.id
			snap.TransferReversals = append(snap.TransferReversals, ReversalRecord{
				ID: r.reversal.id, Transfer: r.reversal.transfer.id, Destination: r.reversal.transfer.destination,
				Refund: r.id, Amount: r.reversal.amount, Currency: r.reversal.currency,
			})
		}
		if r.feeRefund != nil {
			rec.ApplicationFeeRefund = r.feeRefund.id
			snap.ApplicationFeeRefunds = append(snap.ApplicationFeeRefunds, FeeRefundRecord{
				ID: r.feeRefund.id, ApplicationFee: r.feeRefund.fee.id, Refund: r.id,
				Amount: r.feeRefund.amount, Currency: r.feeRefund.currency,
			})
		}
		snap.Refunds = append(snap.Refunds, rec)
	}
	for id, pi := range s.store.payments {
		ch := pi.charge
		t := PaymentTotals{Charge: ch.id, Amount: ch.amount, Currency: ch.currency, Refunded: ch.amountRefunded(), Disputed: ch.disputed}
		for _, r := range ch.refunds {
			if r.status == stripe.RefundStatusSucceeded {
				t.Succeeded += r.amount
			}
		}
		if ch.transfer != nil {
			t.Transferred, t.TransferReversed = ch.transfer.amount, ch.transfer.reversed
		}
		if ch.applicationFee != nil {
			t.ApplicationFee, t.ApplicationFeeRefunded = ch.applicationFee.amount, ch.applicationFee.refunded
		}
		snap.Payments[id] = t
	}
	return snap
}
