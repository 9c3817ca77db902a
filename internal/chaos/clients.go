package chaos

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/refundflow/refundflow/internal/stripefake"
)

// httpJSON sends JSON and decodes JSON, the way every client of the run
// talks: requests time out (a call may hang while a process is down), and
// the caller decides what a status means.
type httpJSON struct {
	base   string
	client *http.Client
}

func newHTTPJSON(base string) *httpJSON {
	return &httpJSON{base: base, client: &http.Client{Timeout: 30 * time.Second}}
}

// do sends body (when not nil) and decodes a 2xx answer into out (when
// not nil). It returns the status; err is set for a failed exchange and
// for a non-2xx answer (with its body).
func (h *httpJSON) do(ctx context.Context, method, path string, body, out any, headers ...string) (int, error) {
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, err
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, h.base+path, r)
	if err != nil {
		return 0, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := h.client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return resp.StatusCode, err
	}
	if resp.StatusCode/100 != 2 {
		return resp.StatusCode, &httpError{what: method + " " + path, status: resp.StatusCode, body: bytes.TrimSpace(raw)}
	}
	if out != nil && len(raw) > 0 {
		if err := json.Unmarshal(raw, out); err != nil {
			return resp.StatusCode, fmt.Errorf("%s %s: %w", method, path, err)
		}
	}
	return resp.StatusCode, nil
}

// httpError is a non-2xx answer.
type httpError struct {
	what   string
	status int
	body   []byte
}

func (e *httpError) Error() string { return fmt.Sprintf("%s: %d %s", e.what, e.status, e.body) }

// namedCase is the case a refusal of POST /v1/refunds names in its
// details: a 409 refund_in_progress names the order's open case (SPEC 5),
// which is the answer to a retried request, and a 503
// workflow_unavailable the case it recorded but could not start yet (the
// request is retried). It is "" for any other answer.
func namedCase(err error) (id string, open bool) {
	var he *httpError
	if !errors.As(err, &he) {
		return "", false
	}
	var body struct {
		Error struct {
			Code    string `json:"code"`
			Details []struct {
				Code    string `json:"code"`
				Field   string `json:"field"`
				Message string `json:"message"`
			} `json:"details"`
		} `json:"error"`
	}
	if json.Unmarshal(he.body, &body) != nil {
		return "", false
	}
	var want string
	switch {
	case he.status == http.StatusConflict && body.Error.Code == "refund_in_progress":
		want, open = "open_refund_id", true
	case he.status == http.StatusServiceUnavailable && body.Error.Code == "workflow_unavailable":
		want = "refund_id"
	default:
		return "", false
	}
	for _, d := range body.Error.Details {
		if d.Code == want {
			// The message is the id, prefixed with its field the way every
			// field error's message is.
			return strings.TrimPrefix(d.Message, d.Field+": "), open
		}
	}
	return "", false
}

// api is refundflow's HTTP API, called with one of the run's keys.
type api struct {
	*httpJSON
	keys map[string]string // by holder: platform, approver, approver2, admin
}

func (a *api) call(ctx context.Context, holder, method, path string, body, out any, headers ...string) (int, error) {
	return a.do(ctx, method, path, body, out, append([]string{"Authorization", "Bearer " + a.keys[holder]}, headers...)...)
}

// caseJSON is the part of GET /v1/refunds/{id} the run reads.
type caseJSON struct {
	ID      string `json:"id"`
	OrderID string `json:"order_id"`
	Status  string `json:"status"`
	Payment *struct {
		ProviderRefundID string `json:"provider_refund_id"`
	} `json:"payment"`
	Appeal struct {
		Appealed bool `json:"appealed"`
	} `json:"appeal"`
	Timeline []struct {
		Seq    int             `json:"seq"`
		At     time.Time       `json:"at"`
		Event  string          `json:"event"`
		Status string          `json:"status"`
		Detail json.RawMessage `json:"detail"`
	} `json:"timeline"`
}

// caseSummary is one row of GET /v1/refunds.
type caseSummary struct {
	ID     string `json:"id"`
	Status string `json:"status"`
}

// listCases reads every case, page by page (bounded: a page is 200).
func (a *api) listCases(ctx context.Context, maxPages int) ([]caseSummary, error) {
	var all []caseSummary
	cursor := ""
	for range maxPages {
		var page struct {
			Data       []caseSummary `json:"data"`
			NextCursor *string       `json:"next_cursor"`
		}
		path := "/v1/refunds?limit=200"
		if cursor != "" {
			path += "&cursor=" + cursor
		}
		if _, err := a.call(ctx, "admin", "GET", path, nil, &page); err != nil {
			return nil, err
		}
		all = append(all, page.Data...)
		if page.NextCursor == nil || *page.NextCursor == "" {
			return all, nil
		}
		cursor = *page.NextCursor
	}
	return all, fmt.Errorf("more than %d pages of cases", maxPages)
}

// fake is the Stripe fake's admin API (cmd/stripefake).
type fake struct{ *httpJSON }

func (f *fake) createPayment(ctx context.Context, spec stripefake.PaymentSpec) error {
	_, err := f.do(ctx, "POST", "/_fake/payment_intents", spec, nil)
	return err
}

func (f *fake) setBehaviour(ctx context.Context, paymentIntent string, b stripefake.Behaviour) error {
	_, err := f.do(ctx, "PUT", "/_fake/payment_intents/"+paymentIntent+"/behaviour", b, nil)
	return err
}

func (f *fake) settle(ctx context.Context, refundID, status, reason string) error {
	_, err := f.do(ctx, "POST", "/_fake/refunds/"+refundID+"/settle", map[string]string{"status": status, "failure_reason": reason}, nil)
	return err
}

func (f *fake) inject(ctx context.Context, fault stripefake.Fault) error {
	_, err := f.do(ctx, "POST", "/_fake/faults", fault, nil)
	return err
}

func (f *fake) faults(ctx context.Context) ([]stripefake.Fault, error) {
	var out []stripefake.Fault
	_, err := f.do(ctx, "GET", "/_fake/faults", nil, &out)
	return out, err
}

func (f *fake) clearFaults(ctx context.Context) error {
	_, err := f.do(ctx, "DELETE", "/_fake/faults", nil, nil)
	return err
}

func (f *fake) setRateLimit(ctx context.Context, perSecond float64, burst int) error {
	_, err := f.do(ctx, "PUT", "/_fake/rate_limit", map[string]any{"per_second": perSecond, "burst": burst}, nil)
	return err
}

func (f *fake) setWebhookMode(ctx context.Context, m stripefake.WebhookMode) error {
	_, err := f.do(ctx, "PUT", "/_fake/webhooks/mode", m, nil)
	return err
}

func (f *fake) events(ctx context.Context) ([]stripefake.Event, error) {
	var out []stripefake.Event
	_, err := f.do(ctx, "GET", "/_fake/events", nil, &out)
	return out, err
}

func (f *fake) resend(ctx context.Context, eventID string) error {
	_, err := f.do(ctx, "POST", "/_fake/events/"+eventID+"/resend", nil, nil)
	return err
}

func (f *fake) state(ctx context.Context) (stripefake.Snapshot, error) {
	var out stripefake.Snapshot
	_, err := f.do(ctx, "GET", "/_fake/state", nil, &out)
	return out, err
}
