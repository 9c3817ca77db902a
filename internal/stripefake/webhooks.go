package stripefake

import (
	"bytes"
	"container/heap"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/stripe/stripe-go/v76"
)

// Event types the fake sends. charge.refund.updated is what integrations on
// API versions before 2024-10-28 listen to; refund.* are the newer ones.
const (
	EventRefundCreated       = "refund.created"
	EventRefundUpdated       = "refund.updated"
	EventRefundFailed        = "refund.failed"
	EventChargeRefundUpdated = "charge.refund.updated"
)

// WebhookMode bends delivery the way Stripe's does in practice (it promises
// neither exactly-once nor ordered delivery), so a receiver can be tested
// against both.
type WebhookMode struct {
	// Duplicate delivers every event twice (two deliveries, same event id).
	Duplicate bool `json:"duplicate"`
	// OutOfOrder holds events back and releases them shuffled: on
	// FlushWebhooks, or every HoldFor when that is set (for standalone runs
	// where nobody calls flush). A shuffle that happens to keep the original
	// order is reversed, so held events never come out in order.
	OutOfOrder bool          `json:"out_of_order"`
	HoldFor    time.Duration `json:"hold_for,omitempty"`
}

// MarshalJSON writes HoldFor as Go duration syntax.
func (m WebhookMode) MarshalJSON() ([]byte, error) {
	type plain WebhookMode
	return json.Marshal(struct {
		plain
		HoldFor durationJSON `json:"hold_for,omitempty"`
	}{plain(m), durationJSON(m.HoldFor)})
}

// UnmarshalJSON reads HoldFor as Go duration syntax.
func (m *WebhookMode) UnmarshalJSON(b []byte) error {
	type plain WebhookMode
	var w struct {
		plain
		HoldFor durationJSON `json:"hold_for"`
	}
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	*m = WebhookMode(w.plain)
	m.HoldFor = time.Duration(w.HoldFor)
	return nil
}

// Event is an event the fake emitted, with its delivery record. Payload is
// the exact JSON body sent (and re-sent) to the endpoint.
type Event struct {
	ID        string          `json:"id"`
	Type      string          `json:"type"`
	Created   time.Time       `json:"created"`
	Payload   json.RawMessage `json:"payload"`
	Attempts  int             `json:"attempts"`  // POSTs made for it, retries and duplicates included
	Delivered int             `json:"delivered"` // POSTs answered 2xx
}

// WebhookStats counts deliveries over all events.
type WebhookStats struct {
	Events    int `json:"events"`
	Attempts  int `json:"attempts"`
	Delivered int `json:"delivered"`
	Failed    int `json:"failed"`    // attempts answered non-2xx or not answered
	Abandoned int `json:"abandoned"` // deliveries given up after the last attempt
	Pending   int `json:"pending"`   // deliveries waiting to be sent or retried
	Held      int `json:"held"`      // deliveries held back by OutOfOrder
}

type delivery struct {
	event   *Event
	attempt int // attempts made so far
	due     time.Time
	seq     int64 // orders deliveries that are due at the same time
}

// webhooks records events and delivers them in the background: one sender,
// earliest due first, each failure rescheduled with exponential backoff, so
// events go out in order unless a retry or OutOfOrder says otherwise.
type webhooks struct {
	log         *slog.Logger
	client      *http.Client
	retryBase   time.Duration
	retryMax    time.Duration
	maxAttempts int

	mu        sync.Mutex
	url       string
	secret    string
	mode      WebhookMode
	shuffler  *rand.Rand
	events    []*Event
	byID      map[string]*Event
	queue     deliveryQueue
	held      []*delivery
	heldSince time.Time
	seq       int64
	stats     WebhookStats
	closed    bool

	wake   chan struct{}
	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{}
}

func newWebhooks(opts Options, log *slog.Logger, seed uint64) *webhooks {
	ctx, cancel := context.WithCancel(context.Background())
	w := &webhooks{
		log:         log,
		client:      opts.WebhookClient,
		retryBase:   opts.WebhookRetryBase,
		retryMax:    opts.WebhookRetryMax,
		maxAttempts: opts.WebhookMaxAttempts,
		url:         opts.WebhookURL,
		secret:      opts.WebhookSecret,
		shuffler:    rand.New(rand.NewPCG(seed, 3)),
		byID:        map[string]*Event{},
		wake:        make(chan struct{}, 1),
		ctx:         ctx,
		cancel:      cancel,
		done:        make(chan struct{}),
	}
	if w.client == nil {
		w.client = &http.Client{Timeout: 10 * time.Second}
	}
	if w.retryBase <= 0 {
		w.retryBase = time.Second
	}
	if w.retryMax <= 0 {
		w.retryMax = time.Minute
	}
	go w.run()
	return w
}

type eventRequest struct {
	id             string
	idempotencyKey string
}

// record builds and stores an event and schedules its delivery. The object is
// marshalled now, so the event shows the state at the moment it happened.
func (w *webhooks) record(id, typ string, created time.Time, obj, previous object, req *eventRequest) {
	w.mu.Lock()
	defer w.mu.Unlock()
	pending := 0
	if w.url != "" {
		pending = 1
	}
	data := object{"object": obj}
	if previous != nil {
		data["previous_attributes"] = previous
	}
	request := object{"id": nil, "idempotency_key": nil}
	if req != nil {
		request = object{"id": req.id, "idempotency_key": nullable(req.idempotencyKey)}
	}
	payload, err := json.Marshal(object{
		"id":               id,
		"object":           "event",
		"api_version":      stripe.APIVersion,
		"created":          created.Unix(),
		"data":             data,
		"livemode":         false,
		"pending_webhooks": pending,
		"request":          request,
		"type":             typ,
	})
	if err != nil {
		// Only maps of JSON values are marshalled here; failing is a bug.
		panic(fmt.Sprintf("stripefake: marshal event: %v", err))
	}
	ev := &Event{ID: id, Type: typ, Created: created, Payload: payload}
	w.events = append(w.events, ev)
	w.byID[id] = ev
	w.stats.Events++
	if w.url == "" || w.closed {
		return
	}
	copies := 1
	if w.mode.Duplicate {
		copies = 2
	}
	now := time.Now()
	for range copies {
		d := &delivery{event: ev, due: now}
		if w.mode.OutOfOrder {
			if len(w.held) == 0 {
				w.heldSince = now
			}
			w.held = append(w.held, d)
			continue
		}
		w.push(d)
	}
	w.signal()
}

func (w *webhooks) push(d *delivery) {
	w.seq++
	d.seq = w.seq
	heap.Push(&w.queue, d)
}

func (w *webhooks) signal() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// releaseLocked moves held deliveries into the queue in shuffled order.
func (w *webhooks) releaseLocked(now time.Time) {
	if len(w.held) == 0 {
		return
	}
	held := w.held
	w.held = nil
	shuffled := slices.Clone(held)
	w.shuffler.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
	if len(shuffled) > 1 && slices.Equal(shuffled, held) {
		slices.Reverse(shuffled)
	}
	for _, d := range shuffled {
		d.due = now
		w.push(d)
	}
}

func (w *webhooks) configure(url, secret string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.url, w.secret = url, secret
	w.signal()
}

func (w *webhooks) setMode(m WebhookMode) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.mode = m
	if !m.OutOfOrder {
		w.releaseLocked(time.Now())
	}
	w.signal()
}

func (w *webhooks) flush() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.releaseLocked(time.Now())
	w.signal()
}

func (w *webhooks) resend(id string) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	ev, ok := w.byID[id]
	if !ok {
		return fmt.Errorf("event %s: %w", id, ErrNotFound)
	}
	if w.url == "" {
		return fmt.Errorf("no webhook endpoint configured: %w", ErrInvalid)
	}
	w.push(&delivery{event: ev, due: time.Now()})
	w.signal()
	return nil
}

func (w *webhooks) list() []Event {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := make([]Event, len(w.events))
	for i, ev := range w.events {
		out[i] = *ev
	}
	return out
}

func (w *webhooks) snapshot() WebhookStats {
	w.mu.Lock()
	defer w.mu.Unlock()
	st := w.stats
	st.Pending = len(w.queue)
	st.Held = len(w.held)
	return st
}

func (w *webhooks) close() {
	w.mu.Lock()
	w.closed = true
	w.mu.Unlock()
	w.cancel()
	<-w.done
}

// run is the sender loop.
func (w *webhooks) run() {
	defer close(w.done)
	for {
		d, wait, url, secret := w.next()
		if d == nil {
			if !w.sleep(wait) {
				return
			}
			continue
		}
		err := w.post(url, secret, d.event.Payload)
		w.settle(d, err)
		if w.ctx.Err() != nil {
			return
		}
	}
}

// sleep waits until woken, until wait has passed (if positive) or until
// close; it reports false on close.
func (w *webhooks) sleep(wait time.Duration) bool {
	var timer <-chan time.Time
	if wait > 0 {
		t := time.NewTimer(wait)
		defer t.Stop()
		timer = t.C
	}
	select {
	case <-w.ctx.Done():
		return false
	case <-w.wake:
	case <-timer:
	}
	return true
}

// next takes the delivery to send now, or says how long to wait for one
// (0 = until woken).
func (w *webhooks) next() (d *delivery, wait time.Duration, url, secret string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	now := time.Now()
	if w.mode.OutOfOrder && w.mode.HoldFor > 0 && len(w.held) > 0 {
		release := w.heldSince.Add(w.mode.HoldFor)
		if !now.Before(release) {
			w.releaseLocked(now)
		} else {
			wait = release.Sub(now)
		}
	}
	if w.url == "" || len(w.queue) == 0 {
		return nil, wait, "", ""
	}
	if due := w.queue[0].due; due.After(now) {
		if wait == 0 || due.Sub(now) < wait {
			wait = due.Sub(now)
		}
		return nil, wait, "", ""
	}
	d = heap.Pop(&w.queue).(*delivery)
	return d, 0, w.url, w.secret
}

// deliveryQueue is a heap of deliveries, earliest due first and, among
// those due together, in the order they were queued; a backlog of thousands
// (a receiver down during a benchmark) stays cheap to serve.
type deliveryQueue []*delivery

func (q deliveryQueue) Len() int { return len(q) }

func (q deliveryQueue) Less(i, j int) bool {
	if !q[i].due.Equal(q[j].due) {
		return q[i].due.Before(q[j].due)
	}
	return q[i].seq < q[j].seq
}

func (q deliveryQueue) Swap(i, j int) { q[i], q[j] = q[j], q[i] }

func (q *deliveryQueue) Push(x any) { *q = append(*q, x.(*delivery)) }

func (q *deliveryQueue) Pop() any {
	old := *q
	d := old[len(old)-1]
	old[len(old)-1] = nil
	*q = old[:len(old)-1]
	return d
}

func (w *webhooks) settle(d *delivery, err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	d.attempt++
	d.event.Attempts++
	w.stats.Attempts++
	if err == nil {
		d.event.Delivered++
		w.stats.Delivered++
		return
	}
	w.stats.Failed++
	if w.maxAttempts > 0 && d.attempt >= w.maxAttempts {
		w.stats.Abandoned++
		w.log.Warn("webhook delivery abandoned", "event", d.event.ID, "type", d.event.Type, "attempts", d.attempt, "err", err)
		return
	}
	backoff := w.retryBase << min(d.attempt-1, 30)
	if backoff > w.retryMax || backoff <= 0 {
		backoff = w.retryMax
	}
	d.due = time.Now().Add(backoff)
	w.log.Info("webhook delivery failed, will retry", "event", d.event.ID, "type", d.event.Type, "attempt", d.attempt, "retry_in", backoff, "err", err)
	w.push(d)
}

// post sends one delivery signed as Stripe signs: the v1 scheme is
// HMAC-SHA256 over "<unix time>.<body>" with the endpoint secret, sent as
// Stripe-Signature: t=<unix time>,v1=<hex>. The time is the wall clock at
// sending, since receivers check it against theirs (5 minutes by default).
func (w *webhooks) post(url, secret string, payload []byte) error {
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(ts + "."))
	mac.Write(payload)
	req, err := http.NewRequestWithContext(w.ctx, http.MethodPost, url, bytes.NewReader(payload))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	req.Header.Set("User-Agent", "Stripe/1.0 (+https://stripe.com/docs/webhooks)")
	req.Header.Set("Stripe-Signature", "t="+ts+",v1="+hex.EncodeToString(mac.Sum(nil)))
	resp, err := w.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("endpoint answered %s", resp.Status)
	}
	return nil
}
