package notify

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/refundflow/refundflow"
	"github.com/refundflow/refundflow/money"
)

// EventType names a platform webhook event (SPEC 5). Platforms must ignore
// types they do not know: more will be added.
type EventType string

const (
	EventRefundSubmitted EventType = "refund.submitted"
	EventRefundOffered   EventType = "refund.offered"
	EventRefundApproved  EventType = "refund.approved"
	EventRefundRejected  EventType = "refund.rejected"
	// EventRefundSucceeded is sent only after the money has moved; its data
	// says revoke_access: true (see RefundSucceeded).
	EventRefundSucceeded EventType = "refund.succeeded"
	EventRefundFailed    EventType = "refund.failed"
	EventOfferAccepted   EventType = "offer.accepted"
	EventTicketEscalated EventType = "ticket.escalated"
	EventSLABreached     EventType = "sla.breached"
	// EventRenewalReminderSent: refundflow reminded the learner that a
	// membership renews (SPEC 4.9); see RenewalReminderData.
	EventRenewalReminderSent EventType = "renewal.reminder_sent"
)

// EventTypes lists every event type refundflow sends.
var EventTypes = []EventType{
	EventRefundSubmitted, EventRefundOffered, EventRefundApproved, EventRefundRejected, EventRefundSucceeded,
	EventRefundFailed, EventOfferAccepted, EventTicketEscalated, EventSLABreached, EventRenewalReminderSent,
}

// Event is one webhook delivery's content. The envelope on the wire is
//
//	{"id": "evt_…", "type": "refund.succeeded", "created_at": "2026-03-05T10:00:00Z", "data": {…}}
//
// ID is set by the caller and stays the same on every retry, so the
// platform deduplicates by it (it is also in the Refundflow-Event-Id
// header). CreatedAt is when the event happened, not when it was sent.
type Event struct {
	ID        string
	Type      EventType
	CreatedAt time.Time
	// Data is any JSON-encodable value: one of the *Data types below, or
	// json.RawMessage read back from the outbox.
	Data any
}

// MarshalJSON writes the envelope; the same Event always gives the same
// bytes.
func (e Event) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		ID        string    `json:"id"`
		Type      EventType `json:"type"`
		CreatedAt string    `json:"created_at"`
		Data      any       `json:"data"`
	}{e.ID, e.Type, e.CreatedAt.UTC().Format(time.RFC3339), e.Data})
}

// RefundData is the data of the refund.* events.
type RefundData struct {
	RefundID  string                  `json:"refund_id"`
	OrderID   string                  `json:"order_id"`
	LearnerID string                  `json:"learner_id"`
	ProductID string                  `json:"product_id"`
	Status    refundflow.RefundStatus `json:"status"`
	Reason    string                  `json:"reason,omitempty"` // the refund reason code
	// Amount (minor units of Currency) is the refund decided or made.
	Amount           int64              `json:"amount"`
	Currency         money.Currency     `json:"currency"`
	Rule             string             `json:"rule,omitempty"`
	ProviderRefundID string             `json:"provider_refund_id,omitempty"`
	Offers           []refundflow.Offer `json:"offers,omitempty"` // refund.offered
	// RevokeAccess tells the platform to end the learner's access to the
	// product. It is true only on refund.succeeded: access goes only after
	// the money has actually been returned.
	RevokeAccess bool `json:"revoke_access"`
}

// RefundSucceeded is the refund.succeeded event, which always carries
// revoke_access: true.
func RefundSucceeded(id string, createdAt time.Time, d RefundData) Event {
	d.Status = refundflow.StatusRefunded
	d.RevokeAccess = true
	return Event{ID: id, Type: EventRefundSucceeded, CreatedAt: createdAt, Data: d}
}

// OfferAcceptedData is the data of offer.accepted: what the platform must
// provision instead of the refund.
type OfferAcceptedData struct {
	RefundID  string           `json:"refund_id"`
	OrderID   string           `json:"order_id"`
	LearnerID string           `json:"learner_id"`
	ProductID string           `json:"product_id"` // the product the refund was asked for
	Offer     refundflow.Offer `json:"offer"`
	Provision Provision        `json:"provision"`
}

// Provision is an accepted offer in machine terms.
type Provision struct {
	Kind refundflow.OfferKind `json:"kind"`
	// ProductID is the course to switch to (switch_course).
	ProductID string `json:"product_id,omitempty"`
	// Days of extra access (extend_access).
	Days int `json:"days,omitempty"`
	// PercentOff the next course (coupon).
	PercentOff int `json:"percent_off,omitempty"`
}

// TicketEscalatedData is the data of ticket.escalated.
type TicketEscalatedData struct {
	TicketID string `json:"ticket_id"`
	Tier     string `json:"tier"`
	// Level is the new escalation level: 2 team lead, 3 manager / complaints desk.
	Level    int    `json:"level"`
	OrderID  string `json:"order_id,omitempty"`
	RefundID string `json:"refund_id,omitempty"`
	Reason   string `json:"reason"`
}

// SLABreachedData is the data of sla.breached.
type SLABreachedData struct {
	// Subject is "ticket" or "refund_approval"; ID is the ticket or refund id.
	Subject string `json:"subject"`
	ID      string `json:"id"`
	// Target is "first_response", "resolution" or "approval".
	Target string    `json:"target"`
	DueAt  time.Time `json:"due_at"`
	Level  int       `json:"level"`
}

// RenewalReminderData is the data of renewal.reminder_sent.
type RenewalReminderData struct {
	OrderID   string    `json:"order_id"` // the order that announced the renewal
	LearnerID string    `json:"learner_id"`
	ProductID string    `json:"product_id"`
	RenewsAt  time.Time `json:"renews_at"`
	// Amount (minor units of Currency) is the charge the reminder announced.
	Amount   int64          `json:"amount"`
	Currency money.Currency `json:"currency"`
	SentAt   time.Time      `json:"sent_at"`
}

// Webhook headers.
const (
	SignatureHeader = "Refundflow-Signature"
	EventIDHeader   = "Refundflow-Event-Id"
	EventTypeHeader = "Refundflow-Event-Type"
)

// DefaultTolerance is how far a signature's timestamp may be from the
// receiver's clock; Verify uses it when given a tolerance ≤ 0.
const DefaultTolerance = 5 * time.Minute

// Verification failures. Verify wraps them; test with errors.Is.
var (
	ErrInvalidSignatureHeader = errors.New("webhook signature header is missing or malformed")
	ErrSignatureMismatch      = errors.New("no webhook signature matches the body")
	ErrStaleTimestamp         = errors.New("webhook timestamp is outside the tolerance")
)

// Sign returns the Refundflow-Signature header value for body sent at t:
//
//	Refundflow-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>
//
// To verify a delivery, a platform:
//
//  1. reads the raw request body, before any JSON parsing;
//  2. splits the header on "," into key=value pairs: one t, one or more v1
//     (there are two while we roll over to a new secret), and ignores other
//     keys (future schemes);
//  3. computes HMAC-SHA256 with the shared secret over the bytes of t, a
//     ".", and the raw body, hex-encodes it, and compares it with each v1 in
//     constant time; one match is enough;
//  4. rejects a t more than a few minutes from its own clock, so that a
//     captured delivery cannot be replayed later;
//  5. deduplicates by the Refundflow-Event-Id header (the envelope's id):
//     a retry carries the same id and body with a new t and signature.
//
// Verify does 2–4; it is the reference implementation.
func Sign(secret string, t time.Time, body []byte) string {
	return signatureHeader(t, body, secret)
}

func signatureHeader(t time.Time, body []byte, secrets ...string) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	var b strings.Builder
	b.WriteString("t=" + ts)
	for _, s := range secrets {
		b.WriteString(",v1=" + hex.EncodeToString(mac(s, ts, body)))
	}
	return b.String()
}

func mac(secret, ts string, body []byte) []byte {
	h := hmac.New(sha256.New, []byte(secret))
	h.Write([]byte(ts))
	h.Write([]byte{'.'})
	h.Write(body)
	return h.Sum(nil)
}

// Verify checks a Refundflow-Signature header against the raw body: some v1
// must be the HMAC of "<t>.<body>" under secret, and t must be within
// tolerance of now (either side).
func Verify(secret, header string, body []byte, now time.Time, tolerance time.Duration) error {
	if secret == "" {
		// An HMAC under an empty key is something anyone can compute.
		return errors.New("webhook: no secret to verify with")
	}
	var ts string
	var sigs [][]byte
	for part := range strings.SplitSeq(header, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		k, v, ok := strings.Cut(part, "=")
		if !ok {
			return fmt.Errorf("%w: %q is not key=value", ErrInvalidSignatureHeader, part)
		}
		switch k {
		case "t":
			ts = v
		case "v1":
			if sig, err := hex.DecodeString(v); err == nil && len(sig) == sha256.Size {
				sigs = append(sigs, sig)
			}
		}
	}
	if ts == "" || len(sigs) == 0 {
		return fmt.Errorf("%w: want t=<unix seconds>,v1=<hex>", ErrInvalidSignatureHeader)
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return fmt.Errorf("%w: t=%q", ErrInvalidSignatureHeader, ts)
	}
	want := mac(secret, ts, body)
	matched := false
	for _, sig := range sigs {
		matched = hmac.Equal(sig, want) || matched // look at every one: no early exit to time
	}
	if !matched {
		return ErrSignatureMismatch
	}
	if tolerance <= 0 {
		tolerance = DefaultTolerance
	}
	if age := now.Sub(time.Unix(sec, 0)); age > tolerance || age < -tolerance {
		return fmt.Errorf("%w: signed at %s, now %s", ErrStaleTimestamp,
			time.Unix(sec, 0).UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339))
	}
	return nil
}

// DefaultWebhookTimeout bounds one delivery when WebhookSender.Client is nil.
const DefaultWebhookTimeout = 10 * time.Second

// responseSnippet is how much of a failed delivery's response body goes
// into the error: enough to read the platform's message, not a web page.
const responseSnippet = 512

// WebhookSender delivers events to the platform's endpoint
// (PLATFORM_WEBHOOK_URL), signed with its secret (PLATFORM_WEBHOOK_SECRET).
type WebhookSender struct {
	URL    string
	Secret string
	// PreviousSecrets are also signed with, one more v1 each, while the
	// platform moves to Secret, so that no delivery fails verification
	// during a rotation.
	PreviousSecrets []string
	// Client makes the request; nil means one with DefaultWebhookTimeout.
	// Redirects are never followed: a redirected POST arrives as a GET.
	Client *http.Client
	// Now is the signing clock; nil means time.Now.
	Now func() time.Time
}

// Send makes one delivery attempt and returns the receiver's HTTP status
// (0 when none came); the caller (the outbox) owns retries and backoff, and
// may call Send again with the same event as often as it likes: the body
// is identical each time and the platform deduplicates by event id. Each
// attempt is signed at its own time.
//
// A 2xx response means delivered. Other responses and failures return a
// *DeliveryError: permanent for 3xx and for 4xx except 408, 409, 425 and
// 429 (the endpoint refuses this event and will keep refusing it; 410 Gone
// says it is gone for good), temporary for those four, 5xx, network errors
// and timeouts.
func (s *WebhookSender) Send(ctx context.Context, ev Event) (int, error) {
	op := "webhook " + string(ev.Type) + " " + ev.ID
	switch {
	case s.URL == "" || s.Secret == "":
		return 0, permanent(op, errors.New("no webhook URL or secret configured"))
	case ev.ID == "" || ev.Type == "" || ev.Data == nil:
		return 0, permanent(op, errors.New("event needs an id, a type and data"))
	}
	body, err := json.Marshal(ev)
	if err != nil {
		return 0, permanent(op, err)
	}
	now := time.Now
	if s.Now != nil {
		now = s.Now
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.URL, bytes.NewReader(body))
	if err != nil {
		return 0, permanent(op, err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "refundflow-webhooks/1")
	req.Header.Set(EventIDHeader, ev.ID)
	req.Header.Set(EventTypeHeader, string(ev.Type))
	req.Header.Set(SignatureHeader, signatureHeader(now(), body, append([]string{s.Secret}, s.PreviousSecrets...)...))

	resp, err := s.client().Do(req)
	if err != nil {
		return 0, &DeliveryError{Op: op, Err: err}
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		// Drain a little so the connection can be reused.
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10))
		return resp.StatusCode, nil
	}
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, responseSnippet+1))
	return resp.StatusCode, &DeliveryError{
		Op:         op,
		Code:       resp.StatusCode,
		Permanent:  permanentStatus(resp.StatusCode),
		RetryAfter: retryAfter(resp.Header.Get("Retry-After"), now()),
		Err:        fmt.Errorf("%s: %s", resp.Status, quoteSnippet(snippet)),
	}
}

func (s *WebhookSender) client() *http.Client {
	c := http.Client{Timeout: DefaultWebhookTimeout}
	if s.Client != nil {
		c = *s.Client
	}
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &c
}

func permanentStatus(code int) bool {
	switch code {
	case http.StatusRequestTimeout, http.StatusConflict, http.StatusTooEarly, http.StatusTooManyRequests:
		return false
	}
	return code < 500
}

// retryAfter reads a Retry-After header: delay-seconds or an HTTP date.
func retryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	if secs, err := strconv.Atoi(v); err == nil && secs > 0 {
		return time.Duration(secs) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

func quoteSnippet(b []byte) string {
	truncated := len(b) > responseSnippet
	if truncated {
		b = b[:responseSnippet]
		// Do not cut a character in half: drop at most the bytes of one.
		for i := 1; i < utf8.UTFMax && len(b) > 0 && !utf8.Valid(b); i++ {
			b = b[:len(b)-1]
		}
	}
	q := strconv.Quote(string(b))
	if truncated {
		q += " (truncated)"
	}
	return q
}
