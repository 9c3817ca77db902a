// Package casetest builds the world a refund case runs in, for tests: a
// migrated PostgreSQL database, the stateful Stripe fake, a platform
// webhook receiver that verifies signatures, and the real activities wired
// to them. Workflow tests (time-skipping) and integration tests (a real
// Temporal server) share it.
package casetest

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/refundflow/refundflow"
	"github.com/refundflow/refundflow/activities"
	"github.com/refundflow/refundflow/activities/contract"
	"github.com/refundflow/refundflow/internal/stripefake"
	"github.com/refundflow/refundflow/money"
	"github.com/refundflow/refundflow/notify"
	"github.com/refundflow/refundflow/outbox"
	"github.com/refundflow/refundflow/payments"
	"github.com/refundflow/refundflow/policy"
	"github.com/refundflow/refundflow/postgres"
	"github.com/refundflow/refundflow/postgres/pgtest"
	"github.com/refundflow/refundflow/refund"
)

// WebhookSecret signs the platform webhooks the receiver accepts.
const WebhookSecret = "whsec_platform_test"

// World is one test's database, Stripe and platform.
type World struct {
	T        testing.TB
	DB       *postgres.DB
	Stripe   *stripefake.Server
	StripeAt string // base URL of the fake
	Platform *Receiver
	Acts     *activities.Activities
	// Outbox delivers what the steps wrote, to the platform receiver (and
	// the email sink): Deliver runs it.
	Outbox *outbox.Dispatcher
	// Starts records the workflows the activities started.
	Starts *Starts
}

// New builds a world with a fresh database.
func New(t testing.TB) *World {
	t.Helper()
	db := pgtest.Open(t)
	if err := db.EnsureDefaultPolicy(context.Background()); err != nil {
		t.Fatal(err)
	}
	fake := stripefake.New(stripefake.Options{Seed: 1})
	stripeSrv := httptest.NewServer(fake)
	t.Cleanup(func() { stripeSrv.Close(); fake.Close() })
	platform := NewReceiver(t)
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	starts := &Starts{}
	w := &World{
		T: t, DB: db, Stripe: fake, StripeAt: stripeSrv.URL, Platform: platform, Starts: starts,
		Acts: &activities.Activities{
			DB:     db,
			Stripe: payments.New(payments.Config{SecretKey: "sk_test_casetest", APIBase: stripeSrv.URL}),
			Engine: starts,
			Logger: logger,
		},
		Outbox: &outbox.Dispatcher{
			DB: db, Logger: logger,
			Webhooks: &notify.WebhookSender{URL: platform.URL, Secret: WebhookSecret, Client: &http.Client{Timeout: 5 * time.Second}},
		},
	}
	return w
}

// Deliver delivers every message the steps wrote so far.
func (w *World) Deliver() {
	w.T.Helper()
	if _, err := w.Outbox.DeliverDue(context.Background()); err != nil {
		w.T.Fatal(err)
	}
}

// Starts records the workflows activities start, for tests that run a
// workflow in the time-skipping environment (integration tests start them
// for real, with workflows.Engine). It says a case started here runs and
// any other has no workflow, unless Runs says otherwise; Ended is what
// EndedAbnormally lists.
type Starts struct {
	mu      sync.Mutex
	Refunds []contract.RefundStart
	Tickets []contract.TicketStart
	Runs    map[string]contract.Run
	Ended   []contract.EndedRun
}

// StartRefund records a case's start.
func (s *Starts) StartRefund(_ context.Context, c contract.RefundStart) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.Refunds = append(s.Refunds, c)
	return nil
}

// RefundRun says how a case's workflow stands.
func (s *Starts) RefundRun(_ context.Context, refundID string) (contract.Run, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r, ok := s.Runs[refundID]; ok {
		return r, nil
	}
	for _, c := range s.Refunds {
		if c.RefundID == refundID {
			return contract.Run{Running: true}, nil
		}
	}
	return contract.Run{Missing: true}, nil
}

// EndedAbnormally lists Ended.
func (s *Starts) EndedAbnormally(context.Context, time.Time) ([]contract.EndedRun, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.Ended), nil
}

// StartTicket records a ticket's start.
func (s *Starts) StartTicket(_ context.Context, t contract.TicketStart) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.Tickets = append(s.Tickets, t)
	return nil
}

// Key creates an API key of role with approval limits (none: nil).
func (w *World) Key(name string, role refundflow.Role, limits map[money.Currency]int64) *refundflow.APIKey {
	w.T.Helper()
	k, _, err := w.DB.CreateAPIKey(context.Background(), name, role, limits)
	if err != nil {
		w.T.Fatal(err)
	}
	return k
}

// Intent records what key asks of case id (what the API does before it
// sends an approve or reject update) and returns its id.
func (w *World) Intent(id string, key *refundflow.APIKey, action string, amount *int64, note string) string {
	w.T.Helper()
	in, err := w.DB.CreateApprovalIntent(context.Background(), refund.Intent{
		ID: "ai_" + id + "_" + key.ID + "_" + time.Now().Format("150405.000000000"), RefundID: id, KeyID: key.ID, Action: action, Amount: amount, Note: note,
	})
	if err != nil {
		w.T.Fatal(err)
	}
	return in.ID
}

// Product stores a product.
func (w *World) Product(p refundflow.Product) *refundflow.Product {
	w.T.Helper()
	if _, err := w.DB.UpsertProduct(context.Background(), &p); err != nil {
		w.T.Fatal(err)
	}
	return &p
}

// Order stores an order and seeds its payment at the Stripe fake under the
// order's PaymentIntent id.
func (w *World) Order(o refundflow.Order) *refundflow.Order {
	w.T.Helper()
	if o.PaymentIntent == "" {
		o.PaymentIntent = "pi_" + o.ID
	}
	if o.LearnerEmail == "" {
		o.LearnerEmail = o.LearnerID + "@example.com"
	}
	if o.Locale == "" {
		o.Locale = refundflow.LocaleZhCN
	}
	if o.Currency == "" {
		o.Currency = "CNY"
	}
	ctx := context.Background()
	if _, err := w.DB.UpsertOrder(ctx, &o, postgres.PinPolicy); err != nil {
		w.T.Fatal(err)
	}
	product, err := w.DB.GetProduct(ctx, o.ProductID)
	if err != nil {
		w.T.Fatal(err)
	}
	spec := stripefake.PaymentSpec{ID: o.PaymentIntent, Amount: o.Amount, Currency: string(o.Currency), Fee: o.Amount * 3 / 100}
	if product.CreatorAccount != "" {
		spec.Destination = product.CreatorAccount
		spec.ApplicationFeeAmount = o.ApplicationFeeAmount
	}
	if _, err := w.Stripe.CreatePayment(spec); err != nil {
		w.T.Fatal(err)
	}
	return &o
}

// Progress records consumption of an order.
func (w *World) Progress(orderID string, p refundflow.Progress) {
	w.T.Helper()
	if _, err := w.DB.RecordProgress(context.Background(), orderID, p); err != nil {
		w.T.Fatal(err)
	}
}

// Case opens a case in the read model (what POST /v1/refunds does before it
// starts the workflow) and returns its id.
func (w *World) Case(id, orderID string, reason policy.Reason, submittedBy string) string {
	w.T.Helper()
	ctx := context.Background()
	order, err := w.DB.GetOrder(ctx, orderID)
	if err != nil {
		w.T.Fatal(err)
	}
	if _, err := w.DB.InsertRefund(ctx, postgres.NewRefund{
		ID: id, Order: order, Reason: reason, SubmittedBy: submittedBy, RequestHash: []byte(id),
	}); err != nil {
		w.T.Fatal(err)
	}
	return id
}

// Refund reads a case back.
func (w *World) Refund(id string) *postgres.RefundCase {
	w.T.Helper()
	c, err := w.DB.GetRefund(context.Background(), id)
	if err != nil {
		w.T.Fatal(err)
	}
	return c
}

// OrderNow reads an order back.
func (w *World) OrderNow(id string) *refundflow.Order {
	w.T.Helper()
	o, err := w.DB.GetOrder(context.Background(), id)
	if err != nil {
		w.T.Fatal(err)
	}
	return o
}

// Events lists the timeline events of a case in order.
func (w *World) Events(id string) []string {
	w.T.Helper()
	var out []string
	for _, e := range w.Refund(id).Timeline {
		out = append(out, e.Event)
	}
	return out
}

// LearnerKinds lists the kinds of the in-app messages a learner got, oldest first.
func (w *World) LearnerKinds(learnerID string) []string {
	w.T.Helper()
	msgs, err := w.DB.LearnerMessages(context.Background(), learnerID, nil, "", 100)
	if err != nil {
		w.T.Fatal(err)
	}
	out := make([]string, 0, len(msgs))
	for i := len(msgs) - 1; i >= 0; i-- {
		out = append(out, msgs[i].Kind)
	}
	return out
}

// LearnerMessages lists a learner's in-app messages, oldest first.
func (w *World) LearnerMessages(learnerID string) []postgres.LearnerMessage {
	w.T.Helper()
	msgs, err := w.DB.LearnerMessages(context.Background(), learnerID, nil, "", 100)
	if err != nil {
		w.T.Fatal(err)
	}
	slices.Reverse(msgs)
	return msgs
}

// Email reads an email of the outbox back.
func (w *World) Email(id string) *postgres.EmailRecord {
	w.T.Helper()
	all, err := w.DB.Emails(context.Background(), 1000)
	if err != nil {
		w.T.Fatal(err)
	}
	for _, e := range all {
		if e.ID == id {
			return e
		}
	}
	w.T.Fatalf("no email %s", id)
	return nil
}

// StripeRefundsFor lists the fake's refunds of a PaymentIntent.
func (w *World) StripeRefundsFor(paymentIntent string) []stripefake.RefundRecord {
	var out []stripefake.RefundRecord
	for _, r := range w.Stripe.Snapshot().Refunds {
		if r.PaymentIntent == paymentIntent {
			out = append(out, r)
		}
	}
	return out
}

// Money is a CNY amount for readability in tests.
func Money(yuan int64) int64 { return yuan * 100 }

// Currency is the default test currency.
const Currency money.Currency = "CNY"

// Receiver is the platform's webhook endpoint: it verifies every
// signature and keeps the events it accepted.
type Receiver struct {
	URL    string
	mu     sync.Mutex
	events []ReceivedEvent
	bodies map[string][]byte
	// refuse is what the endpoint answers instead of accepting; 0
	// accepts.
	refuse int
	t      testing.TB
}

// ReceivedEvent is one verified webhook.
type ReceivedEvent struct {
	ID   string          `json:"id"`
	Type string          `json:"type"`
	Data json.RawMessage `json:"data"`
}

// NewReceiver starts a webhook receiver.
func NewReceiver(t testing.TB) *Receiver {
	r := &Receiver{t: t, bodies: map[string][]byte{}}
	srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		refuse := r.refuse
		r.mu.Unlock()
		if refuse != 0 {
			http.Error(rw, "the platform is down", refuse)
			return
		}
		if err := notify.Verify(WebhookSecret, req.Header.Get(notify.SignatureHeader), body, time.Now(), notify.DefaultTolerance); err != nil {
			http.Error(rw, err.Error(), http.StatusBadRequest)
			return
		}
		var ev ReceivedEvent
		if err := json.Unmarshal(body, &ev); err != nil {
			http.Error(rw, err.Error(), http.StatusBadRequest)
			return
		}
		r.mu.Lock()
		r.events = append(r.events, ev)
		if _, ok := r.bodies[ev.ID]; !ok {
			r.bodies[ev.ID] = body
		}
		r.mu.Unlock()
		rw.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(srv.Close)
	r.URL = srv.URL
	return r
}

// Refuse makes the endpoint answer status to every delivery instead of
// accepting it (a platform that is down: 503; one that refuses for good:
// 410); Refuse(0) accepts again.
func (r *Receiver) Refuse(status int) {
	r.mu.Lock()
	r.refuse = status
	r.mu.Unlock()
}

// Body is the raw body of the first accepted delivery of an event.
func (r *Receiver) Body(id string) []byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.bodies[id]
}

// Deliveries is how many deliveries the endpoint accepted, duplicates
// included.
func (r *Receiver) Deliveries() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.events)
}

// Events returns the accepted events, deduplicated by id, in arrival order.
func (r *Receiver) Events() []ReceivedEvent {
	r.mu.Lock()
	defer r.mu.Unlock()
	seen := map[string]bool{}
	var out []ReceivedEvent
	for _, e := range r.events {
		if !seen[e.ID] {
			seen[e.ID] = true
			out = append(out, e)
		}
	}
	return out
}

// Types lists the types of the accepted events for one case.
func (r *Receiver) Types(refundID string) []string {
	var out []string
	for _, e := range r.Events() {
		var d struct {
			RefundID string `json:"refund_id"`
		}
		_ = json.Unmarshal(e.Data, &d)
		if d.RefundID == refundID {
			out = append(out, e.Type)
		}
	}
	return out
}

// Event returns the data of the first event of a type for a case.
func (r *Receiver) Event(refundID, typ string) map[string]any {
	for _, e := range r.Events() {
		var d map[string]any
		_ = json.Unmarshal(e.Data, &d)
		if e.Type == typ && d["refund_id"] == refundID {
			return d
		}
	}
	return nil
}
