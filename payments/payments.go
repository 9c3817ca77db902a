// Package payments is the Stripe adapter: refunds against a PaymentIntent
// through stripe-go v76, pointed at real Stripe, stripe-mock or the
// project's stateful fake (STRIPE_API_BASE).
//
// Every create carries the caller's business idempotency key — never
// stripe-go's random one, which would make a retry look like a new refund —
// and the case id in metadata, so a refund made by an attempt whose answer
// was lost can be found again by listing the PaymentIntent's refunds.
package payments

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/client"
)

// Metadata keys written on every refund.
const (
	MetaRefundID = "refundflow_refund_id"
	MetaAttempt  = "refundflow_attempt"
	MetaOrderID  = "refundflow_order_id"
)

// Config says which Stripe to talk to.
type Config struct {
	SecretKey string
	// APIBase is a Stripe-compatible server; empty means api.stripe.com.
	APIBase string
	// Timeout bounds one HTTP call (DefaultTimeout when zero).
	Timeout time.Duration
	// MaxNetworkRetries is stripe-go's own retry count for network errors,
	// 409s and 503s (safe: our idempotency key is on every retry).
	MaxNetworkRetries int64
	// DisableKeepAlives makes every call a new connection (chaos runs: a
	// dropped connection is then seen rather than silently resent).
	DisableKeepAlives bool
	// Metrics, when set, counts Stripe's responses by status (metrics.go).
	Metrics prometheus.Registerer
}

// Client makes and reads refunds.
type Client struct {
	api *client.API
}

// DefaultTimeout bounds one HTTP call to Stripe unless Config says otherwise.
const DefaultTimeout = 30 * time.Second

// New builds a client for cfg.
func New(cfg Config) *Client {
	timeout := cfg.Timeout
	if timeout == 0 {
		timeout = DefaultTimeout
	}
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.DisableKeepAlives = cfg.DisableKeepAlives
	var rt http.RoundTripper = transport
	if cfg.Metrics != nil {
		rt = countResponses(cfg.Metrics, transport)
	}
	bc := &stripe.BackendConfig{
		HTTPClient:        &http.Client{Timeout: timeout, Transport: rt},
		MaxNetworkRetries: stripe.Int64(cfg.MaxNetworkRetries),
		LeveledLogger:     &stripe.LeveledLogger{Level: stripe.LevelError},
	}
	if cfg.APIBase != "" {
		bc.URL = stripe.String(cfg.APIBase)
	}
	api := &client.API{}
	api.Init(cfg.SecretKey, &stripe.Backends{
		API:     stripe.GetBackendWithConfig(stripe.APIBackend, bc),
		Connect: stripe.GetBackendWithConfig(stripe.ConnectBackend, bc),
		Uploads: stripe.GetBackendWithConfig(stripe.UploadsBackend, bc),
	})
	return &Client{api: api}
}

// KeyWindow is how long Stripe promises to remember an idempotency key.
// Past it, the same key may create a second refund, so a caller that may
// have reached Stripe before must look for its refund first (FindByCase).
const KeyWindow = 24 * time.Hour

// Refund is the part of a Stripe refund refundflow uses.
type Refund struct {
	ID               string            `json:"id"`
	Status           string            `json:"status"` // pending, requires_action, succeeded, failed, canceled
	FailureReason    string            `json:"failure_reason,omitempty"`
	Amount           int64             `json:"amount"`
	Currency         string            `json:"currency"`
	PaymentIntent    string            `json:"payment_intent"`
	Metadata         map[string]string `json:"metadata"`
	Created          time.Time         `json:"created"`
	TransferReversal string            `json:"transfer_reversal,omitempty"`

	// What the ledger needs besides the amount (read through expand[]):
	// the creator's share this refund pulled back (reverse_transfer), how
	// much of the charge's application fee has been returned so far, all
	// refunds together (refund_application_fee; Stripe links a fee refund
	// to the fee, not to the refund), and Stripe's processing fee on the
	// charge, which a refund does not return.
	TransferReversalAmount int64 `json:"transfer_reversal_amount,omitempty"`
	ApplicationFeeRefunded int64 `json:"application_fee_refunded,omitempty"`
	ChargeFee              int64 `json:"charge_fee,omitempty"`
}

// RefundID is the case a refund was made for (its metadata), or "" for a
// refund made outside refundflow, e.g. by hand in the Stripe dashboard.
func (r Refund) RefundID() string { return r.Metadata[MetaRefundID] }

// expansions make one read return everything the ledger needs.
var expansions = []string{"transfer_reversal", "charge.balance_transaction", "charge.application_fee"}

func expand(p *stripe.Params, prefix string) {
	for _, e := range expansions {
		p.AddExpand(prefix + e)
	}
}

func expandList(p *stripe.ListParams) {
	for _, e := range expansions {
		p.AddExpand("data." + e)
	}
}

// Terminal reports whether the refund's status will not change any more
// (succeeded can still fail later, which Stripe reports by webhook).
func (r Refund) Terminal() bool {
	switch r.Status {
	case "succeeded", "failed", "canceled":
		return true
	}
	return false
}

// CreateRequest is one attempt at refunding a case.
type CreateRequest struct {
	PaymentIntent  string
	Amount         int64
	IdempotencyKey string
	RefundID       string
	OrderID        string
	Attempt        int
	// Connect: pull the creator's share back and return the platform fee
	// proportionally.
	ReverseTransfer      bool
	RefundApplicationFee bool
	// Unexpanded sends the create as refundflow sent it before it read the
	// ledger's figures in the same call: Stripe refuses a key reused with
	// other parameters, so a key first used that way keeps that form (the
	// figures then need a Get).
	Unexpanded bool
}

// Create asks Stripe for a refund.
func (c *Client) Create(ctx context.Context, r CreateRequest) (Refund, error) {
	if r.IdempotencyKey == "" {
		return Refund{}, errors.New("payments: an idempotency key is required")
	}
	p := &stripe.RefundParams{
		PaymentIntent: stripe.String(r.PaymentIntent),
		Amount:        stripe.Int64(r.Amount),
		Reason:        stripe.String(string(stripe.RefundReasonRequestedByCustomer)),
		Metadata: map[string]string{
			MetaRefundID: r.RefundID,
			MetaAttempt:  strconv.Itoa(r.Attempt),
			MetaOrderID:  r.OrderID,
		},
	}
	if r.ReverseTransfer {
		p.ReverseTransfer = stripe.Bool(true)
	}
	if r.RefundApplicationFee {
		p.RefundApplicationFee = stripe.Bool(true)
	}
	p.Context = ctx
	if !r.Unexpanded {
		expand(&p.Params, "")
	}
	p.SetIdempotencyKey(r.IdempotencyKey)
	sr, err := c.api.Refunds.New(p)
	if err != nil {
		return Refund{}, err
	}
	return fromStripe(sr), nil
}

// Get reads a refund by id.
func (c *Client) Get(ctx context.Context, id string) (Refund, error) {
	p := &stripe.RefundParams{}
	p.Context = ctx
	expand(&p.Params, "")
	sr, err := c.api.Refunds.Get(id, p)
	if err != nil {
		return Refund{}, err
	}
	return fromStripe(sr), nil
}

// FindByCase lists the PaymentIntent's refunds and returns the one that
// attempt of the case made (named in its metadata) whatever became of it
// — a refund that failed at the bank is the attempt's answer, and a new
// one would only fail again — or a live one another attempt of the case
// made, which must not be made twice either; nil if there is none. More
// than one would mean money moved twice; that is reported as an error for
// a person to look at.
func (c *Client) FindByCase(ctx context.Context, paymentIntent, refundID string, attempt int) (*Refund, error) {
	p := &stripe.RefundListParams{PaymentIntent: stripe.String(paymentIntent)}
	p.Context = ctx
	p.Limit = stripe.Int64(100)
	expandList(&p.ListParams)
	var found []Refund
	it := c.api.Refunds.List(p)
	for it.Next() {
		r := fromStripe(it.Refund())
		if r.Metadata[MetaRefundID] != refundID {
			continue
		}
		if r.Metadata[MetaAttempt] == strconv.Itoa(attempt) || r.Status != "failed" && r.Status != "canceled" {
			found = append(found, r)
		}
	}
	if err := it.Err(); err != nil {
		return nil, err
	}
	switch len(found) {
	case 0:
		return nil, nil
	case 1:
		return &found[0], nil
	}
	return nil, &DuplicateError{RefundID: refundID, Found: found}
}

// List calls fn for every refund created in [from, to), newest first.
func (c *Client) List(ctx context.Context, from, to time.Time, fn func(Refund) error) error {
	p := &stripe.RefundListParams{CreatedRange: &stripe.RangeQueryParams{
		GreaterThanOrEqual: from.Unix(), LesserThan: to.Unix(),
	}}
	p.Context = ctx
	p.Limit = stripe.Int64(100)
	expandList(&p.ListParams)
	it := c.api.Refunds.List(p)
	for it.Next() {
		if err := fn(fromStripe(it.Refund())); err != nil {
			return err
		}
	}
	return it.Err()
}

// Page is one page of a list, newest first.
type Page struct {
	Refunds []Refund
	HasMore bool
}

// ListPage reads up to limit refunds created in [from, to), older than the
// refund startingAfter ("" = from the newest): one call, so that a caller
// on the rate-limited task queue spends one request per page.
func (c *Client) ListPage(ctx context.Context, from, to time.Time, startingAfter string, limit int) (Page, error) {
	p := &stripe.RefundListParams{CreatedRange: &stripe.RangeQueryParams{
		GreaterThanOrEqual: from.Unix(), LesserThan: to.Unix(),
	}}
	p.Context = ctx
	p.Limit = stripe.Int64(int64(limit))
	p.Single = true
	if startingAfter != "" {
		p.StartingAfter = stripe.String(startingAfter)
	}
	expandList(&p.ListParams)
	it := c.api.Refunds.List(p)
	var page Page
	for it.Next() {
		page.Refunds = append(page.Refunds, fromStripe(it.Refund()))
	}
	if err := it.Err(); err != nil {
		return Page{}, err
	}
	page.HasMore = it.Meta().HasMore
	return page, nil
}

// DuplicateError says more than one refund names the same case: live
// ones, or two of the same attempt.
type DuplicateError struct {
	RefundID string
	Found    []Refund
}

func (e *DuplicateError) Error() string {
	return "payments: " + strconv.Itoa(len(e.Found)) + " Stripe refunds name case " + e.RefundID
}

func fromStripe(sr *stripe.Refund) Refund {
	r := Refund{
		ID:            sr.ID,
		Status:        string(sr.Status),
		FailureReason: string(sr.FailureReason),
		Amount:        sr.Amount,
		Currency:      string(sr.Currency),
		Metadata:      sr.Metadata,
		Created:       time.Unix(sr.Created, 0).UTC(),
	}
	if sr.PaymentIntent != nil {
		r.PaymentIntent = sr.PaymentIntent.ID
	}
	if sr.TransferReversal != nil {
		r.TransferReversal = sr.TransferReversal.ID
		r.TransferReversalAmount = sr.TransferReversal.Amount
	}
	if ch := sr.Charge; ch != nil {
		if ch.BalanceTransaction != nil {
			r.ChargeFee = ch.BalanceTransaction.Fee
		}
		if ch.ApplicationFee != nil {
			r.ApplicationFeeRefunded = ch.ApplicationFee.AmountRefunded
		}
	}
	return r
}
