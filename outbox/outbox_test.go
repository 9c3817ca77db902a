package outbox_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/refundflow/refundflow/internal/smtptest"
	"github.com/refundflow/refundflow/notify"
	"github.com/refundflow/refundflow/outbox"
	"github.com/refundflow/refundflow/postgres"
	"github.com/refundflow/refundflow/postgres/pgtest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// clock is a delivery clock the test moves.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

// newClock starts at the database's now: what was written before it is
// due.
func newClock(t *testing.T, db *postgres.DB) *clock {
	t.Helper()
	var now time.Time
	if err := db.Pool.QueryRow(context.Background(), "SELECT now()").Scan(&now); err != nil {
		t.Fatal(err)
	}
	return &clock{now: now}
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// mailer sends to a real SMTP server on loopback.
func mailer(t *testing.T, srv *smtptest.Server) notify.Mailer {
	t.Helper()
	m, err := notify.NewSMTPMailer("smtp://127.0.0.1:"+srv.Port(), "refunds@refundflow.example")
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(srv.Cert.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(leaf)
	m.TLSConfig = &tls.Config{RootCAs: roots}
	m.Timeout = 2 * time.Second
	return m
}

func email(id, to string) notify.Email {
	return notify.Email{To: to, Subject: "Refund " + id, Text: "The money is on its way.", MessageID: id}
}

func write(t *testing.T, db *postgres.DB, o notify.Outbox) {
	t.Helper()
	if err := db.WriteOutbox(context.Background(), o); err != nil {
		t.Fatal(err)
	}
}

func deliver(t *testing.T, d *outbox.Dispatcher) int {
	t.Helper()
	n, err := d.DeliverDue(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func emailRecord(t *testing.T, db *postgres.DB, id string) *postgres.EmailRecord {
	t.Helper()
	all, err := db.Emails(context.Background(), 100)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range all {
		if e.ID == id {
			return e
		}
	}
	t.Fatalf("no email %s", id)
	return nil
}

func messageIDs(srv *smtptest.Server) []string {
	var out []string
	for _, m := range srv.Received() {
		for _, line := range strings.Split(string(m.Data), "\n") {
			if k, v, ok := strings.Cut(strings.TrimRight(line, "\r"), ": "); ok && strings.EqualFold(k, "Message-Id") {
				out = append(out, v)
			}
		}
	}
	return out
}

func TestEmailIsDeliveredOnceWithItsIDAsTheMessageID(t *testing.T) {
	db := pgtest.Open(t)
	srv := smtptest.Start(t, nil)
	d := &outbox.Dispatcher{DB: db, Mailer: mailer(t, srv)}
	write(t, db, notify.Outbox{RefundID: "rf-1", Emails: []notify.Email{email("rf-1/0002/refunded", "li@example.com")}})

	if n := deliver(t, d); n != 1 {
		t.Fatalf("tried %d", n)
	}
	if n := deliver(t, d); n != 0 {
		t.Fatalf("tried %d more", n)
	}
	if ids := messageIDs(srv); len(ids) != 1 || ids[0] != "<rf-1/0002/refunded@refundflow.example>" {
		t.Fatalf("Message-IDs %v", ids)
	}
	if e := emailRecord(t, db, "rf-1/0002/refunded"); e.Status != postgres.EmailSent || e.Attempts != 1 || e.SentAt == nil {
		t.Fatalf("record %+v", e)
	}
}

// The SMTP server is down for an hour: the email waits, retried with
// backoff, and goes out once the server is back — once.
func TestEmailWhoseServerIsDownForAnHourIsDeliveredWhenItComesBack(t *testing.T) {
	db := pgtest.Open(t)
	srv := smtptest.Start(t, nil)
	write(t, db, notify.Outbox{Emails: []notify.Email{email("rf-2/0001/received", "wang@example.com")}})
	clk := newClock(t, db)
	d := &outbox.Dispatcher{DB: db, Mailer: mailer(t, srv), Now: clk.Now}
	srv.Down()

	for elapsed := time.Duration(0); elapsed < time.Hour; elapsed += time.Minute {
		deliver(t, d)
		clk.advance(time.Minute)
	}
	e := emailRecord(t, db, "rf-2/0001/received")
	if e.Status != postgres.EmailPending || e.Attempts < 5 || e.LastError == "" {
		t.Fatalf("after an hour down: %+v", e)
	}
	if err := srv.Up(); err != nil {
		t.Fatal(err)
	}
	clk.advance(10 * time.Minute) // the longest backoff
	deliver(t, d)
	if e := emailRecord(t, db, "rf-2/0001/received"); e.Status != postgres.EmailSent {
		t.Fatalf("after the server came back: %+v", e)
	}
	if n := len(srv.Received()); n != 1 {
		t.Fatalf("%d emails arrived", n)
	}
}

// A message that can never be delivered ends in the dead letter with its
// attempts and last error: one the receiver refuses for good at once, one
// that keeps failing once it is older than MaxAge.
func TestUndeliverableMessagesEndInTheDeadLetter(t *testing.T) {
	db := pgtest.Open(t)
	srv := smtptest.Start(t, func(s *smtptest.Server) {
		s.RcptReplies = map[string]string{"gone@example.com": "550 5.1.1 no such user"}
	})
	var refusals atomic.Int32
	platform := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		refusals.Add(1)
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	defer platform.Close()
	write(t, db, notify.Outbox{RefundID: "rf-3", Emails: []notify.Email{email("rf-3/0001/received", "gone@example.com")},
		Events: []notify.Event{{ID: "evt_rf-3_1_refund.submitted", Type: notify.EventRefundSubmitted, CreatedAt: time.Now(), Data: map[string]string{"refund_id": "rf-3"}}}})
	clk := newClock(t, db)
	d := &outbox.Dispatcher{DB: db, Mailer: mailer(t, srv), Now: clk.Now, Options: outbox.Options{MaxAge: 6 * time.Hour},
		Webhooks: &notify.WebhookSender{URL: platform.URL, Secret: "whsec_test"}}

	deliver(t, d)
	if e := emailRecord(t, db, "rf-3/0001/received"); e.Status != postgres.EmailDead || e.Attempts != 1 || !strings.Contains(e.LastError, "550") {
		t.Fatalf("refused email: %+v", e)
	}
	for range 100 {
		clk.advance(10 * time.Minute)
		deliver(t, d)
	}
	events, err := db.Events(context.Background(), 10)
	if err != nil || len(events) != 1 {
		t.Fatalf("events %v: %v", events, err)
	}
	if ev := events[0]; ev.Status != postgres.EventDead || ev.Attempts < 10 || !strings.Contains(ev.LastError, "503") || int(refusals.Load()) != ev.Attempts {
		t.Fatalf("failing event: %+v after %d refusals", ev, refusals.Load())
	}
	counts, err := db.OutboxCounts(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	dead := map[string]int64{}
	for _, c := range counts {
		if c.Status == postgres.EmailDead {
			dead[c.Channel] = c.N
		}
	}
	if dead["email"] != 1 || dead["webhook"] != 1 {
		t.Fatalf("dead letter %+v", counts)
	}
}

// A worker killed in the middle of a send leaves the message claimed; the
// claim is a lease, and once it runs out another worker delivers it.
func TestMessageOfAKilledWorkerIsDeliveredWhenItsLeaseRunsOut(t *testing.T) {
	db := pgtest.Open(t)
	srv := smtptest.Start(t, nil)
	write(t, db, notify.Outbox{Emails: []notify.Email{email("rf-4/0001/received", "zhao@example.com")}})
	clk := newClock(t, db)
	d := &outbox.Dispatcher{DB: db, Mailer: mailer(t, srv), Now: clk.Now, Options: outbox.Options{Lease: time.Minute}}
	if claimed, err := db.ClaimEmails(context.Background(), clk.Now(), clk.Now().Add(time.Minute), 10); err != nil || len(claimed) != 1 {
		t.Fatalf("claimed %v: %v", claimed, err)
	}
	// The worker that claimed it dies here.

	if n := deliver(t, d); n != 0 {
		t.Fatalf("delivered a leased message: %d", n)
	}
	clk.advance(time.Minute)
	if n := deliver(t, d); n != 1 || len(srv.Received()) != 1 {
		t.Fatalf("after the lease: tried %d, %d arrived", n, len(srv.Received()))
	}
}

// Several workers deliver the outbox together: each message once.
func TestWorkersShareTheOutboxAndDeliverEachMessageOnce(t *testing.T) {
	db := pgtest.Open(t)
	var mu sync.Mutex
	got := map[string]int{}
	platform := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got[r.Header.Get(notify.EventIDHeader)]++
		mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	defer platform.Close()
	var events []notify.Event
	for i := range 60 {
		events = append(events, notify.Event{ID: fmt.Sprintf("evt_%02d", i), Type: notify.EventRefundSubmitted, CreatedAt: time.Now(), Data: map[string]int{"n": i}})
	}
	write(t, db, notify.Outbox{Events: events})

	var wg sync.WaitGroup
	for range 3 {
		d := &outbox.Dispatcher{DB: db, Webhooks: &notify.WebhookSender{URL: platform.URL, Secret: "whsec_test"}, Options: outbox.Options{Batch: 7}}
		wg.Go(func() { deliver(t, d) })
	}
	wg.Wait()
	if len(got) != 60 {
		t.Fatalf("%d events arrived", len(got))
	}
	for id, n := range got {
		if n != 1 {
			t.Errorf("%s arrived %d times", id, n)
		}
	}
}

// Each try at an event is kept: when, what the receiver answered, how
// long it took.
func TestEveryDeliveryTryOfAnEventIsRecorded(t *testing.T) {
	db := pgtest.Open(t)
	var calls atomic.Int32
	platform := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		if calls.Add(1) == 1 {
			w.WriteHeader(http.StatusBadGateway)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	defer platform.Close()
	write(t, db, notify.Outbox{Events: []notify.Event{{ID: "evt_tries", Type: notify.EventRefundSubmitted, CreatedAt: time.Now(), Data: map[string]int{"n": 1}}}})
	clk := newClock(t, db)
	d := &outbox.Dispatcher{DB: db, Now: clk.Now, Webhooks: &notify.WebhookSender{URL: platform.URL, Secret: "whsec_test"}}

	deliver(t, d)
	clk.advance(time.Minute)
	deliver(t, d)
	rows, err := db.Pool.Query(context.Background(), "SELECT attempt, http_status, error FROM webhook_attempts WHERE delivery_id = 'evt_tries' ORDER BY attempt")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var tries []string
	for rows.Next() {
		var attempt, status int
		var msg string
		if err := rows.Scan(&attempt, &status, &msg); err != nil {
			t.Fatal(err)
		}
		tries = append(tries, fmt.Sprintf("%d:%d:%v", attempt, status, msg != ""))
	}
	if strings.Join(tries, " ") != "1:502:true 2:204:false" {
		t.Fatalf("tries %v", tries)
	}
}

// A commit wakes the workers at once (LISTEN/NOTIFY): a worker that would
// poll only hourly delivers a new message right away.
func TestCommittedMessageWakesTheWorkers(t *testing.T) {
	db := pgtest.Open(t)
	delivered := make(chan string, 1)
	platform := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		delivered <- r.Header.Get(notify.EventIDHeader)
		w.WriteHeader(http.StatusNoContent)
	}))
	defer platform.Close()
	d := &outbox.Dispatcher{DB: db, Webhooks: &notify.WebhookSender{URL: platform.URL, Secret: "whsec_test"}, Options: outbox.Options{Poll: time.Hour}}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _ = d.Run(ctx) }()
	time.Sleep(200 * time.Millisecond) // the worker has made its first round and listens

	write(t, db, notify.Outbox{Events: []notify.Event{{ID: "evt_wake", Type: notify.EventRefundSubmitted, CreatedAt: time.Now(), Data: map[string]int{"n": 1}}}})
	select {
	case id := <-delivered:
		if id != "evt_wake" {
			t.Fatalf("delivered %s", id)
		}
	case <-time.After(time.Minute):
		t.Fatal("the new message was not delivered: the worker was not woken")
	}
}

// The outbox's state is exported for the alerts: how many messages wait
// and are dead, and how old the oldest waiting one is.
func TestCollectorExportsWhatWaitsAndWhatIsDead(t *testing.T) {
	db := pgtest.Open(t)
	write(t, db, notify.Outbox{Emails: []notify.Email{email("m/1", "a@example.com"), email("m/2", "b@example.com")}})
	if err := db.EmailFailed(context.Background(), "m/2", time.Now(), "550", true); err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(outbox.Collector{DB: db})
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, f := range families {
		for _, m := range f.GetMetric() {
			key := f.GetName()
			for _, l := range m.GetLabel() {
				key += "," + l.GetValue()
			}
			got[key] = m.GetGauge().GetValue()
		}
	}
	if got["refundflow_outbox_messages,email,pending"] != 1 || got["refundflow_outbox_messages,email,dead"] != 1 ||
		got["refundflow_outbox_messages,webhook,pending"] != 0 || got["refundflow_outbox_oldest_pending_seconds,email"] < 0 {
		t.Fatalf("metrics %v", got)
	}
}
