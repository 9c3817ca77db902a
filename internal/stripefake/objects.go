package stripefake

import (
	"maps"
	"math/big"
	"strings"
	"time"

	"github.com/stripe/stripe-go/v76"
)

// The stored objects. They point at each other; the wire shapes (maps in
// Stripe's JSON layout) are rendered from them on every read, so a response
// always shows the current state, and expand[] can swap an id for an object.

type paymentIntent struct {
	id        string
	created   time.Time
	amount    int64
	currency  string
	metadata  map[string]string
	charge    *charge
	behaviour *Behaviour // nil: the server's default
}

type charge struct {
	id                 string
	created            time.Time
	amount             int64
	currency           string
	disputed           bool
	balanceTransaction string
	paymentIntent      *paymentIntent
	destination        string // Connect destination account, "" when not a destination charge
	transfer           *transfer
	applicationFee     *applicationFee
	refunds            []*refund
}

// amountRefunded is what Stripe shows as charge.amount_refunded: every refund
// that has not failed or been canceled holds its amount.
func (c *charge) amountRefunded() int64 {
	var sum int64
	for _, r := range c.refunds {
		if r.holdsMoney() {
			sum += r.amount
		}
	}
	return sum
}

type transfer struct {
	id          string
	created     time.Time
	amount      int64
	currency    string
	destination string
	charge      *charge
	reversed    int64 // sum of the reversals
	basis       int64 // sum of the refund amounts that asked for a reversal
	reversals   []*transferReversal
}

type transferReversal struct {
	id       string
	created  time.Time
	amount   int64
	currency string
	transfer *transfer
	refund   *refund
}

type applicationFee struct {
	id       string
	created  time.Time
	amount   int64
	currency string
	account  string
	charge   *charge
	refunded int64 // sum of the fee refunds
	basis    int64 // sum of the refund amounts that asked for the fee back
	refunds  []*feeRefund
}

type feeRefund struct {
	id       string
	created  time.Time
	amount   int64
	currency string
	fee      *applicationFee
	refund   *refund
}

type balanceTransaction struct {
	id       string
	created  time.Time
	amount   int64
	fee      int64
	currency string
	source   string
	kind     string // Stripe's balance transaction "type": charge, refund, refund_failure
}

type refund struct {
	seq                       int // creation order; lists sort on it (newest first)
	id                        string
	created                   time.Time
	amount                    int64
	currency                  string
	charge                    *charge
	metadata                  map[string]string
	reason                    string
	status                    stripe.RefundStatus
	failureReason             stripe.RefundFailureReason
	balanceTransaction        string
	failureBalanceTransaction string
	reversal                  *transferReversal
	feeRefund                 *feeRefund
	idempotencyKey            string

	// A refund that settles on its own (Behaviour.After) moves to settleTo at
	// settleAt on the fake clock, whichever comes first of the real timer and
	// a clock advance.
	settleAt     time.Time
	settleTo     stripe.RefundStatus
	settleReason stripe.RefundFailureReason
	timer        *time.Timer
}

func (r *refund) holdsMoney() bool {
	switch r.status {
	case stripe.RefundStatusPending, stripe.RefundStatusRequiresAction, stripe.RefundStatusSucceeded:
		return true
	}
	return false
}

// proportional returns the share of total that part/whole of a payment stands
// for, rounded half up to the minor unit. Callers pass cumulative parts
// (everything refunded so far with the flag, this refund included) and
// subtract what was already moved, so that the shares of several partial
// refunds add up to exactly total once the whole payment is refunded, and
// each share is within half a minor unit of its exact proportion. big.Int
// because total × part overflows int64 for large amounts.
func proportional(total, part, whole int64) int64 {
	if whole <= 0 {
		return 0
	}
	n := new(big.Int).Mul(big.NewInt(total), big.NewInt(part))
	n.Mul(n, big.NewInt(2))
	n.Add(n, big.NewInt(whole))
	n.Quo(n, new(big.Int).Mul(big.NewInt(whole), big.NewInt(2)))
	return n.Int64()
}

// Rendering.

type object = map[string]any

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func metadataObject(md map[string]string) object {
	out := make(object, len(md))
	for k, v := range md {
		out[k] = v
	}
	return out
}

func listObject(url string, data []object, hasMore bool) object {
	if data == nil {
		data = []object{}
	}
	return object{"object": "list", "url": url, "has_more": hasMore, "data": data}
}

func (r *refund) object() object {
	o := object{
		"id":                       r.id,
		"object":                   "refund",
		"amount":                   r.amount,
		"balance_transaction":      nullable(r.balanceTransaction),
		"charge":                   r.charge.id,
		"created":                  r.created.Unix(),
		"currency":                 r.currency,
		"metadata":                 metadataObject(r.metadata),
		"payment_intent":           r.charge.paymentIntent.id,
		"reason":                   nullable(r.reason),
		"receipt_number":           nil,
		"source_transfer_reversal": nil,
		"status":                   string(r.status),
		"transfer_reversal":        nil,
	}
	if r.reversal != nil {
		o["transfer_reversal"] = r.reversal.id
	}
	if r.status == stripe.RefundStatusFailed {
		o["failure_reason"] = string(r.failureReason)
		o["failure_balance_transaction"] = r.failureBalanceTransaction
	}
	if r.status == stripe.RefundStatusRequiresAction {
		o["next_action"] = object{
			"type":            "display_details",
			"display_details": object{"expires_at": r.created.Add(7 * 24 * time.Hour).Unix()},
		}
	}
	return o
}

func (c *charge) object() object {
	refunded := c.amountRefunded()
	o := object{
		"id":                     c.id,
		"object":                 "charge",
		"amount":                 c.amount,
		"amount_captured":        c.amount,
		"amount_refunded":        refunded,
		"application_fee":        nil,
		"application_fee_amount": nil,
		"balance_transaction":    c.balanceTransaction,
		"captured":               true,
		"created":                c.created.Unix(),
		"currency":               c.currency,
		"disputed":               c.disputed,
		"livemode":               false,
		"metadata":               metadataObject(c.paymentIntent.metadata),
		"paid":                   true,
		"payment_intent":         c.paymentIntent.id,
		"refunded":               refunded == c.amount,
		"status":                 "succeeded",
		"transfer":               nil,
		"transfer_data":          nil,
	}
	if c.applicationFee != nil {
		o["application_fee"] = c.applicationFee.id
		o["application_fee_amount"] = c.applicationFee.amount
	}
	if c.transfer != nil {
		o["transfer"] = c.transfer.id
		o["transfer_data"] = object{"amount": nil, "destination": c.destination}
	}
	return o
}

func (p *paymentIntent) object() object {
	o := object{
		"id":                     p.id,
		"object":                 "payment_intent",
		"amount":                 p.amount,
		"amount_capturable":      0,
		"amount_received":        p.amount,
		"application_fee_amount": nil,
		"capture_method":         "automatic",
		"created":                p.created.Unix(),
		"currency":               p.currency,
		"latest_charge":          p.charge.id,
		"livemode":               false,
		"metadata":               metadataObject(p.metadata),
		"status":                 "succeeded",
		"transfer_data":          nil,
	}
	if p.charge.applicationFee != nil {
		o["application_fee_amount"] = p.charge.applicationFee.amount
	}
	if p.charge.transfer != nil {
		o["transfer_data"] = object{"destination": p.charge.destination}
	}
	return o
}

func (t *transfer) object() object {
	data := make([]object, 0, len(t.reversals))
	for i := len(t.reversals) - 1; i >= 0; i-- {
		data = append(data, t.reversals[i].object())
	}
	return object{
		"id":                 t.id,
		"object":             "transfer",
		"amount":             t.amount,
		"amount_reversed":    t.reversed,
		"created":            t.created.Unix(),
		"currency":           t.currency,
		"destination":        t.destination,
		"livemode":           false,
		"metadata":           object{},
		"reversals":          listObject("/v1/transfers/"+t.id+"/reversals", data, false),
		"reversed":           t.reversed == t.amount,
		"source_transaction": t.charge.id,
	}
}

func (v *transferReversal) object() object {
	return object{
		"id":                         v.id,
		"object":                     "transfer_reversal",
		"amount":                     v.amount,
		"balance_transaction":        nil,
		"created":                    v.created.Unix(),
		"currency":                   v.currency,
		"destination_payment_refund": nil,
		"metadata":                   object{},
		"source_refund":              v.refund.id,
		"transfer":                   v.transfer.id,
	}
}

func (f *applicationFee) object() object {
	data := make([]object, 0, len(f.refunds))
	for i := len(f.refunds) - 1; i >= 0; i-- {
		data = append(data, f.refunds[i].object())
	}
	return object{
		"id":              f.id,
		"object":          "application_fee",
		"account":         f.account,
		"amount":          f.amount,
		"amount_refunded": f.refunded,
		"charge":          f.charge.id,
		"created":         f.created.Unix(),
		"currency":        f.currency,
		"livemode":        false,
		"refunded":        f.refunded == f.amount,
		"refunds":         listObject("/v1/application_fees/"+f.id+"/refunds", data, false),
	}
}

func (f *feeRefund) object() object {
	return object{
		"id":                  f.id,
		"object":              "fee_refund",
		"amount":              f.amount,
		"balance_transaction": nil,
		"created":             f.created.Unix(),
		"currency":            f.currency,
		"fee":                 f.fee.id,
		"metadata":            object{},
	}
}

func (b *balanceTransaction) object() object {
	return object{
		"id":           b.id,
		"object":       "balance_transaction",
		"amount":       b.amount,
		"available_on": b.created.Unix(),
		"created":      b.created.Unix(),
		"currency":     b.currency,
		"fee":          b.fee,
		"fee_details":  []object{},
		"net":          b.amount - b.fee,
		"source":       b.source,
		"status":       "available",
		"type":         b.kind,
	}
}

// store is every object by id; the server embeds it under its mutex.
type store struct {
	payments  map[string]*paymentIntent
	charges   map[string]*charge
	refunds   map[string]*refund
	transfers map[string]*transfer
	reversals map[string]*transferReversal
	fees      map[string]*applicationFee
	feeRefund map[string]*feeRefund
	balance   map[string]*balanceTransaction
	refundLog []*refund // creation order
}

func newStore() store {
	return store{
		payments:  map[string]*paymentIntent{},
		charges:   map[string]*charge{},
		refunds:   map[string]*refund{},
		transfers: map[string]*transfer{},
		reversals: map[string]*transferReversal{},
		fees:      map[string]*applicationFee{},
		feeRefund: map[string]*feeRefund{},
		balance:   map[string]*balanceTransaction{},
	}
}

// render returns the wire object with id, of any stored type.
func (st *store) render(id string) (object, bool) {
	if p, ok := st.payments[id]; ok {
		return p.object(), true
	}
	if c, ok := st.charges[id]; ok {
		return c.object(), true
	}
	if r, ok := st.refunds[id]; ok {
		return r.object(), true
	}
	if t, ok := st.transfers[id]; ok {
		return t.object(), true
	}
	if v, ok := st.reversals[id]; ok {
		return v.object(), true
	}
	if f, ok := st.fees[id]; ok {
		return f.object(), true
	}
	if f, ok := st.feeRefund[id]; ok {
		return f.object(), true
	}
	if b, ok := st.balance[id]; ok {
		return b.object(), true
	}
	return nil, false
}

// expand replaces ids by objects along each dotted path ("latest_charge",
// "data.transfer_reversal", "charge.balance_transaction"). Paths through
// fields that are not ids are ignored rather than refused: the fake is
// lenient where Stripe would only tell the caller about its own mistake.
func (st *store) expand(o object, paths []string) {
	for _, p := range paths {
		st.expandPath(o, strings.Split(p, "."))
	}
}

func (st *store) expandPath(o object, parts []string) {
	switch v := o[parts[0]].(type) {
	case string:
		if x, ok := st.render(v); ok {
			o[parts[0]] = x
			if len(parts) > 1 {
				st.expandPath(x, parts[1:])
			}
		}
	case object:
		if len(parts) > 1 {
			st.expandPath(v, parts[1:])
		}
	case []object:
		if len(parts) > 1 {
			for _, x := range v {
				st.expandPath(x, parts[1:])
			}
		}
	}
}

func cloneMetadata(md map[string]string) map[string]string {
	if md == nil {
		return map[string]string{}
	}
	return maps.Clone(md)
}
