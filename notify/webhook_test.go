package notify

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/refundflow/refundflow"
)

const testSecret = "whsec_test_3f9a"

var t0 = time.Date(2026, 3, 5, 10, 0, 0, 0, time.UTC)

func succeededEvent() Event {
	return RefundSucceeded("evt_01", t0, RefundData{
		RefundID: "rf_8Kd2", OrderID: "ord_1001", LearnerID: "lrn_7", ProductID: "prd_py",
		Reason: "not_as_expected", Amount: 19900, Currency: "CNY", Rule: "not_as_expected",
		ProviderRefundID: "re_3PqA9x",
	})
}

// delivery is what a receiver saw.
type delivery struct {
	header http.Header
	body   []byte
}

// receiver is a platform endpoint that verifies every delivery with the
// shared secret and answers with the statuses it is told to, in turn.
type receiver struct {
	t        *testing.T
	now      func() time.Time
	statuses []int

	mu         sync.Mutex
	deliveries []delivery
	seen       map[string]int // event id → deliveries accepted
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	if err := Verify(testSecret, req.Header.Get(SignatureHeader), body, r.now(), DefaultTolerance); err != nil {
		r.t.Errorf("delivery does not verify: %v", err)
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.deliveries = append(r.deliveries, delivery{req.Header.Clone(), body})
	status := http.StatusNoContent
	if n := len(r.deliveries); n <= len(r.statuses) {
		status = r.statuses[n-1]
	}
	if status < 300 {
		r.seen[req.Header.Get(EventIDHeader)]++
	}
	w.WriteHeader(status)
}

func newReceiver(t *testing.T, statuses ...int) (*receiver, *httptest.Server) {
	r := &receiver{t: t, now: func() time.Time { return t0 }, statuses: statuses, seen: map[string]int{}}
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	return r, srv
}

func TestWebhookIsSignedSoThePlatformCanVerifyIt(t *testing.T) {
	r, srv := newReceiver(t)
	s := &WebhookSender{URL: srv.URL, Secret: testSecret, Now: func() time.Time { return t0 }}
	if _, err := s.Send(context.Background(), succeededEvent()); err != nil {
		t.Fatal(err)
	}
	d := r.deliveries[0]
	if got := d.header.Get(EventIDHeader); got != "evt_01" {
		t.Errorf("%s = %q", EventIDHeader, got)
	}
	if got := d.header.Get(EventTypeHeader); got != "refund.succeeded" {
		t.Errorf("%s = %q", EventTypeHeader, got)
	}
	if got := d.header.Get("Content-Type"); got != "application/json" {
		t.Errorf("Content-Type = %q", got)
	}
	if got, want := d.header.Get(SignatureHeader), Sign(testSecret, t0, d.body); got != want {
		t.Errorf("signature = %q, want %q", got, want)
	}
	if !strings.HasPrefix(d.header.Get(SignatureHeader), "t=1772704800,v1=") {
		t.Errorf("signature header shape: %q", d.header.Get(SignatureHeader))
	}
}

func TestEnvelopeCarriesIDTypeCreationTimeAndData(t *testing.T) {
	body, err := json.Marshal(succeededEvent())
	if err != nil {
		t.Fatal(err)
	}
	var env struct {
		ID        string         `json:"id"`
		Type      string         `json:"type"`
		CreatedAt string         `json:"created_at"`
		Data      map[string]any `json:"data"`
	}
	if err := json.Unmarshal(body, &env); err != nil {
		t.Fatal(err)
	}
	if env.ID != "evt_01" || env.Type != "refund.succeeded" || env.CreatedAt != "2026-03-05T10:00:00Z" {
		t.Errorf("envelope = %s", body)
	}
	if env.Data["revoke_access"] != true || env.Data["status"] != "refunded" || env.Data["amount"] != float64(19900) {
		t.Errorf("refund.succeeded data = %v", env.Data)
	}
}

func TestOnlyRefundSucceededRevokesAccess(t *testing.T) {
	body, _ := json.Marshal(Event{ID: "evt_02", Type: EventRefundApproved, CreatedAt: t0, Data: RefundData{RefundID: "rf_1"}})
	if !strings.Contains(string(body), `"revoke_access":false`) {
		t.Errorf("refund.approved must say revoke_access false explicitly: %s", body)
	}
}

func TestOfferAcceptedSaysWhatToProvision(t *testing.T) {
	ev := Event{ID: "evt_03", Type: EventOfferAccepted, CreatedAt: t0, Data: OfferAcceptedData{
		RefundID: "rf_1", OrderID: "ord_1", LearnerID: "lrn_1", ProductID: "prd_py",
		Offer:     refundflow.Offer{ID: "offer-1", Kind: refundflow.OfferSwitchCourse, Title: "Switch to Go", ProductID: "prd_go", ExpiresAt: t0},
		Provision: Provision{Kind: refundflow.OfferSwitchCourse, ProductID: "prd_go"},
	}}
	body, _ := json.Marshal(ev)
	if !strings.Contains(string(body), `"provision":{"kind":"switch_course","product_id":"prd_go"}`) {
		t.Errorf("offer.accepted = %s", body)
	}
}

func TestVerifyRejectsTamperingStaleTimestampsAndGarbage(t *testing.T) {
	body := []byte(`{"id":"evt_01","type":"refund.succeeded"}`)
	header := Sign(testSecret, t0, body)
	cases := []struct {
		name   string
		secret string
		header string
		body   []byte
		now    time.Time
		want   error
	}{
		{"tampered body", testSecret, header, []byte(`{"id":"evt_01","type":"refund.failed"}`), t0, ErrSignatureMismatch},
		{"other secret", "whsec_other", header, body, t0, ErrSignatureMismatch},
		{"replayed later", testSecret, header, body, t0.Add(6 * time.Minute), ErrStaleTimestamp},
		{"from the future", testSecret, header, body, t0.Add(-6 * time.Minute), ErrStaleTimestamp},
		{"timestamp changed", testSecret, strings.Replace(header, "t=1772704800", "t=1772705100", 1), body, t0.Add(5 * time.Minute), ErrSignatureMismatch},
		{"no header", testSecret, "", body, t0, ErrInvalidSignatureHeader},
		{"no v1", testSecret, "t=1772704800", body, t0, ErrInvalidSignatureHeader},
		{"not hex", testSecret, "t=1772704800,v1=zz", body, t0, ErrInvalidSignatureHeader},
		{"bad t", testSecret, "t=yesterday," + header[len("t=1772704800,"):], body, t0, ErrInvalidSignatureHeader},
	}
	for _, c := range cases {
		if err := Verify(c.secret, c.header, c.body, c.now, 5*time.Minute); !errors.Is(err, c.want) {
			t.Errorf("%s: err = %v, want %v", c.name, err, c.want)
		}
	}
	if err := Verify(testSecret, header, body, t0.Add(4*time.Minute), 0); err != nil {
		t.Errorf("within the default tolerance: %v", err)
	}
	if err := Verify("", header, body, t0, 0); err == nil {
		t.Error("an empty secret verified a signature")
	}
}

func TestVerifyAcceptsUnknownSchemesAndAnyMatchingV1(t *testing.T) {
	body := []byte(`{}`)
	good := Sign(testSecret, t0, body)
	sig := good[strings.Index(good, "v1="):]
	header := "t=1772704800,v0=abc,v1=" + strings.Repeat("0", 64) + "," + sig + ",v2=future"
	if err := Verify(testSecret, header, body, t0, 0); err != nil {
		t.Errorf("%s: %v", header, err)
	}
}

func TestSecretRotationSignsWithOldAndNewSecrets(t *testing.T) {
	r, srv := newReceiver(t)
	s := &WebhookSender{URL: srv.URL, Secret: "whsec_new", PreviousSecrets: []string{testSecret}, Now: func() time.Time { return t0 }}
	if _, err := s.Send(context.Background(), succeededEvent()); err != nil {
		t.Fatal(err) // the receiver still has the old secret and verified
	}
	d := r.deliveries[0]
	h := d.header.Get(SignatureHeader)
	if strings.Count(h, "v1=") != 2 {
		t.Errorf("want one v1 per secret: %q", h)
	}
	if err := Verify("whsec_new", h, d.body, t0, 0); err != nil {
		t.Errorf("a platform already on the new secret: %v", err)
	}
}

func TestWebhookResponsesDecideWhetherToRetry(t *testing.T) {
	cases := []struct {
		status    int
		delivered bool
		permanent bool
	}{
		{200, true, false}, {202, true, false}, {204, true, false},
		{301, false, true}, {302, false, true},
		{400, false, true}, {401, false, true}, {403, false, true}, {404, false, true}, {410, false, true}, {422, false, true},
		{408, false, false}, {409, false, false}, {425, false, false}, {429, false, false},
		{500, false, false}, {502, false, false}, {503, false, false}, {504, false, false},
	}
	for _, c := range cases {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if c.status/100 == 3 {
				w.Header().Set("Location", "/elsewhere")
			}
			w.WriteHeader(c.status)
		}))
		s := &WebhookSender{URL: srv.URL, Secret: testSecret}
		_, err := s.Send(context.Background(), succeededEvent())
		srv.Close()
		if delivered := err == nil; delivered != c.delivered {
			t.Errorf("%d: err = %v", c.status, err)
			continue
		}
		if err == nil {
			continue
		}
		var d *DeliveryError
		if !errors.As(err, &d) || d.Code != c.status || IsPermanent(err) != c.permanent {
			t.Errorf("%d: err = %v, want permanent=%v", c.status, err, c.permanent)
		}
	}
}

func TestRedirectIsNotFollowed(t *testing.T) {
	var gets int
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/moved" {
			gets++
			return
		}
		http.Redirect(w, r, "/moved", http.StatusFound)
	}))
	defer srv.Close()
	client := &http.Client{Timeout: time.Second}
	_, err := (&WebhookSender{URL: srv.URL, Secret: testSecret, Client: client}).Send(context.Background(), succeededEvent())
	if !IsPermanent(err) || gets != 0 {
		t.Errorf("err = %v, requests to the redirect target = %d", err, gets)
	}
	if client.CheckRedirect != nil {
		t.Error("Send changed the caller's client")
	}
}

func TestFailedDeliveryQuotesTheResponseTruncated(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "30")
		w.WriteHeader(http.StatusServiceUnavailable)
		io.WriteString(w, "maintenance until 11:00\n"+strings.Repeat("x", 4000))
	}))
	defer srv.Close()
	_, err := (&WebhookSender{URL: srv.URL, Secret: testSecret}).Send(context.Background(), succeededEvent())
	msg := err.Error()
	if !strings.Contains(msg, "503 Service Unavailable") || !strings.Contains(msg, `maintenance until 11:00\n`) || !strings.Contains(msg, "(truncated)") {
		t.Errorf("error = %s", msg)
	}
	if len(msg) > 800 {
		t.Errorf("error is %d bytes long", len(msg))
	}
	var d *DeliveryError
	if !errors.As(err, &d) || d.RetryAfter != 30*time.Second {
		t.Errorf("RetryAfter = %v", d.RetryAfter)
	}
}

func TestUnreachableOrSlowPlatformIsTemporary(t *testing.T) {
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	closed := "http://" + ln.Addr().String()
	ln.Close()
	if _, err := (&WebhookSender{URL: closed, Secret: testSecret}).Send(context.Background(), succeededEvent()); err == nil || IsPermanent(err) {
		t.Errorf("connection refused: err = %v, want temporary", err)
	}

	release := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer slow.Close()
	defer close(release)
	s := &WebhookSender{URL: slow.URL, Secret: testSecret, Client: &http.Client{Timeout: 100 * time.Millisecond}}
	if _, err := s.Send(context.Background(), succeededEvent()); err == nil || IsPermanent(err) {
		t.Errorf("client timeout: err = %v, want temporary", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if _, err := (&WebhookSender{URL: slow.URL, Secret: testSecret}).Send(ctx, succeededEvent()); !errors.Is(err, context.DeadlineExceeded) || IsPermanent(err) {
		t.Errorf("activity deadline: err = %v, want temporary DeadlineExceeded", err)
	}
}

func TestUnsendableEventIsPermanent(t *testing.T) {
	_, srv := newReceiver(t)
	cases := map[string]struct {
		s  WebhookSender
		ev Event
	}{
		"no secret":     {WebhookSender{URL: srv.URL}, succeededEvent()},
		"no URL":        {WebhookSender{Secret: testSecret}, succeededEvent()},
		"bad URL":       {WebhookSender{URL: "://nope", Secret: testSecret}, succeededEvent()},
		"no event id":   {WebhookSender{URL: srv.URL, Secret: testSecret}, Event{Type: EventRefundFailed, Data: RefundData{}}},
		"no data":       {WebhookSender{URL: srv.URL, Secret: testSecret}, Event{ID: "evt", Type: EventRefundFailed}},
		"not JSON-able": {WebhookSender{URL: srv.URL, Secret: testSecret}, Event{ID: "evt", Type: EventRefundFailed, Data: func() {}}},
	}
	for name, c := range cases {
		if _, err := c.s.Send(context.Background(), c.ev); !IsPermanent(err) {
			t.Errorf("%s: err = %v, want permanent", name, err)
		}
	}
}

// The caller (a Temporal activity) retries; every attempt carries the same
// event id and body, signed afresh, so the platform can deduplicate.
func TestRetryingAFailedDeliveryResendsTheSameEvent(t *testing.T) {
	r, srv := newReceiver(t, http.StatusServiceUnavailable, http.StatusInternalServerError)
	clock := t0
	r.now = func() time.Time { return clock }
	s := &WebhookSender{URL: srv.URL, Secret: testSecret, Now: func() time.Time { return clock }}
	ev := succeededEvent()

	var attempts int
	for backoff := time.Second; ; backoff *= 2 {
		attempts++
		_, err := s.Send(context.Background(), ev)
		if err == nil {
			break
		}
		if IsPermanent(err) || attempts == 5 {
			t.Fatalf("attempt %d: %v", attempts, err)
		}
		clock = clock.Add(backoff)
	}
	// An attempt whose response got lost is retried after success too.
	if _, err := s.Send(context.Background(), ev); err != nil {
		t.Fatal(err)
	}

	if attempts != 3 || len(r.deliveries) != 4 {
		t.Fatalf("attempts = %d, deliveries = %d", attempts, len(r.deliveries))
	}
	first := r.deliveries[0]
	for i, d := range r.deliveries[1:] {
		if string(d.body) != string(first.body) || d.header.Get(EventIDHeader) != "evt_01" {
			t.Errorf("delivery %d differs from the first: %s", i+2, d.body)
		}
	}
	if r.deliveries[1].header.Get(SignatureHeader) == first.header.Get(SignatureHeader) {
		t.Error("a retry reused the first attempt's timestamp")
	}
	if r.seen["evt_01"] != 2 {
		t.Errorf("accepted deliveries of evt_01 = %d; the platform deduplicates them by id", r.seen["evt_01"])
	}
}
