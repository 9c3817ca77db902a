// Package outbox delivers what the steps of cases and tickets wrote in
// their own transactions: emails (SMTP, or the sink when none is
// configured) and signed platform webhooks. It runs in every worker
// process; any number of them share the work by claiming messages with
// FOR UPDATE SKIP LOCKED. A commit wakes them at once (LISTEN/NOTIFY), and
// a short poll covers a lost notification and the retries that fall due.
//
// Delivery is at least once: a claim is a lease, so a worker killed in the
// middle of a send gives the message back when the lease runs out, and the
// receiver deduplicates by the message id (the email's Message-ID, the
// event's id). A failed try is retried with backoff; a message that keeps
// failing past MaxAge, or that the receiver refuses for good, ends in the
// dead letter — status dead, its attempts and last error in PostgreSQL,
// shown in the console — never dropped.
package outbox

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"net/mail"
	"net/url"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"
	"golang.org/x/time/rate"

	"github.com/refundflow/refundflow/notify"
	"github.com/refundflow/refundflow/postgres"
)

// Options tune delivery; the zero value of each means its default.
type Options struct {
	// Batch is how many messages of a channel one round claims (20).
	Batch int
	// Concurrency is how many sends run at once (8).
	Concurrency int
	// Lease is how long a claimed message is this worker's (2 minutes): it
	// must outlast one send, whose own timeouts are well below it.
	Lease time.Duration
	// Poll is how often the outbox is looked at without a notification (2 s).
	Poll time.Duration
	// MaxAge is how long a message keeps being retried before it goes to
	// the dead letter (24 hours).
	MaxAge time.Duration
	// MaxBackoff caps the wait between two tries (10 minutes).
	MaxBackoff time.Duration
	// PerDestination is how many messages per second go to one
	// destination — an email domain, a webhook host — from this worker
	// (20).
	PerDestination float64
}

func (o Options) withDefaults() Options {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	defd := func(v *time.Duration, d time.Duration) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&o.Batch, 20)
	def(&o.Concurrency, 8)
	defd(&o.Lease, 2*time.Minute)
	defd(&o.Poll, 2*time.Second)
	defd(&o.MaxAge, 24*time.Hour)
	defd(&o.MaxBackoff, 10*time.Minute)
	if o.PerDestination <= 0 {
		o.PerDestination = 20
	}
	return o
}

// Dispatcher delivers the outbox.
type Dispatcher struct {
	DB *postgres.DB
	// Mailer sends email; nil keeps every email in the sink (the dev
	// stack's outbox page shows them).
	Mailer notify.Mailer
	// Webhooks signs and sends platform events; nil records them only.
	Webhooks *notify.WebhookSender
	Logger   *slog.Logger
	// Now is the delivery clock; nil means time.Now.
	Now     func() time.Time
	Options Options

	once     sync.Once
	mu       sync.Mutex
	limiters map[string]*rate.Limiter
}

func (d *Dispatcher) init() {
	d.once.Do(func() {
		d.Options = d.Options.withDefaults()
		d.limiters = map[string]*rate.Limiter{}
		if d.Logger == nil {
			d.Logger = slog.New(slog.DiscardHandler)
		}
	})
}

func (d *Dispatcher) now() time.Time {
	if d.Now != nil {
		return d.Now()
	}
	return time.Now()
}

// Run delivers until ctx ends.
func (d *Dispatcher) Run(ctx context.Context) error {
	d.init()
	wake := make(chan struct{}, 1)
	go func() {
		_ = d.DB.ListenOutbox(ctx, func() {
			select {
			case wake <- struct{}{}:
			default:
			}
		})
	}()
	for {
		if _, err := d.DeliverDue(ctx); err != nil && ctx.Err() == nil {
			// PostgreSQL is away: try again at the next poll.
			d.Logger.Warn("outbox delivery round failed", "error", err)
		}
		wait := d.Options.Poll
		if due, ok, err := d.DB.NextOutboxDue(ctx); err == nil && ok {
			wait = min(wait, max(due.Sub(d.now()), 0))
		}
		select {
		case <-ctx.Done():
			return nil
		case <-wake:
		case <-time.After(wait):
		}
	}
}

// DeliverDue delivers every message that is due now, in rounds of a batch
// per channel, and returns how many it tried.
func (d *Dispatcher) DeliverDue(ctx context.Context) (int, error) {
	d.init()
	tried := 0
	for {
		now := d.now()
		emails, err := d.DB.ClaimEmails(ctx, now, now.Add(d.Options.Lease), d.Options.Batch)
		if err != nil {
			return tried, err
		}
		events, err := d.DB.ClaimEvents(ctx, now, now.Add(d.Options.Lease), d.Options.Batch)
		if err != nil {
			return tried, err
		}
		if len(emails) == 0 && len(events) == 0 {
			return tried, nil
		}
		g, gctx := errgroup.WithContext(ctx)
		g.SetLimit(d.Options.Concurrency)
		for _, e := range emails {
			g.Go(func() error { return d.deliverEmail(gctx, e) })
		}
		for _, ev := range events {
			g.Go(func() error { return d.deliverEvent(gctx, ev) })
		}
		if err := g.Wait(); err != nil {
			return tried, err
		}
		tried += len(emails) + len(events)
	}
}

// deliverEmail makes one try at an email and records how it went; only a
// failure to record it is returned (the lease gives the email back then).
func (d *Dispatcher) deliverEmail(ctx context.Context, e *postgres.EmailRecord) error {
	if d.Mailer == nil {
		return d.DB.EmailDelivered(ctx, e.ID, postgres.EmailSink, d.now())
	}
	if err := d.throttle(ctx, "email:"+emailDomain(e.To)); err != nil {
		return err
	}
	err := d.Mailer.Send(ctx, e.Email())
	if err == nil {
		return d.DB.EmailDelivered(ctx, e.ID, postgres.EmailSent, d.now())
	}
	next, dead := d.retry(e.CreatedAt, e.Attempts, err)
	d.logFailure("email", e.ID, e.Attempts, dead, err)
	return d.DB.EmailFailed(ctx, e.ID, next, err.Error(), dead)
}

// deliverEvent makes one try at a platform event and records it with the
// receiver's answer.
func (d *Dispatcher) deliverEvent(ctx context.Context, ev *postgres.EventRecord) error {
	if d.Webhooks == nil {
		return d.DB.EventDelivered(ctx, ev.ID, postgres.EventNotConfigured, d.now(), nil)
	}
	if err := d.throttle(ctx, "webhook:"+urlHost(d.Webhooks.URL)); err != nil {
		return err
	}
	began := d.now()
	status, err := d.Webhooks.Send(ctx, ev.Event())
	try := postgres.DeliveryTry{Attempt: ev.Attempts, At: began, HTTPStatus: status, Latency: d.now().Sub(began)}
	if err == nil {
		return d.DB.EventDelivered(ctx, ev.ID, postgres.EventDelivered, d.now(), &try)
	}
	try.Error = err.Error()
	next, dead := d.retry(ev.RetriesFrom(), ev.Attempts, err)
	d.logFailure("webhook", ev.ID, ev.Attempts, dead, err)
	return d.DB.EventFailed(ctx, ev.ID, next, try, dead)
}

// retry says when to try a message again after its attempts-th failure,
// and whether it goes to the dead letter instead: refused for good, or
// failing for longer than MaxAge since from (when it was written, or
// redelivered).
func (d *Dispatcher) retry(from time.Time, attempts int, err error) (next time.Time, dead bool) {
	now := d.now()
	if notify.IsPermanent(err) || now.Sub(from) >= d.Options.MaxAge {
		return now, true
	}
	wait := backoff(attempts, d.Options.MaxBackoff)
	var de *notify.DeliveryError
	if errors.As(err, &de) && de.RetryAfter > wait {
		wait = min(de.RetryAfter, d.Options.MaxBackoff)
	}
	return now.Add(wait), false
}

// backoff is 5 s doubling per failed try up to limit, of which the last
// quarter is random, so that a receiver coming back is not hit by every
// message at once.
func backoff(attempts int, limit time.Duration) time.Duration {
	w := min(5*time.Second<<min(max(attempts-1, 0), 16), limit)
	return w - w/4 + rand.N(w/4+1)
}

func (d *Dispatcher) logFailure(channel, id string, attempts int, dead bool, err error) {
	if dead {
		d.Logger.Error("outbox message in the dead letter", "channel", channel, "id", id, "attempts", attempts, "error", err)
		return
	}
	d.Logger.Warn("outbox delivery failed; will retry", "channel", channel, "id", id, "attempts", attempts, "error", err)
}

// throttle waits for destination's share of PerDestination.
func (d *Dispatcher) throttle(ctx context.Context, destination string) error {
	d.mu.Lock()
	l, ok := d.limiters[destination]
	if !ok {
		l = rate.NewLimiter(rate.Limit(d.Options.PerDestination), max(int(d.Options.PerDestination), 1))
		d.limiters[destination] = l
	}
	d.mu.Unlock()
	return l.Wait(ctx)
}

func emailDomain(to string) string {
	addr := to
	if a, err := mail.ParseAddress(to); err == nil {
		addr = a.Address
	}
	_, domain, _ := strings.Cut(addr, "@")
	return strings.ToLower(domain)
}

func urlHost(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return raw
	}
	return u.Host
}
