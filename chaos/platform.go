package chaos

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/refundflow/refundflow/notify"
)

// platform plays the course platform's webhook endpoint: it verifies each
// delivery's signature and remembers every event by id (retries carry the
// same id), so the run can check that access was revoked exactly for the
// cases whose money moved.
type platform struct {
	secret string
	srv    *http.Server
	url    string

	mu     sync.Mutex
	events map[string]platformEvent // by event id
	forged int                      // deliveries whose signature did not verify
}

type platformEvent struct {
	RefundID     string
	RevokeAccess bool
}

func startPlatform(secret string) (*platform, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &platform{secret: secret, url: "http://" + l.Addr().String() + "/webhooks", events: map[string]platformEvent{}}
	p.srv = &http.Server{Handler: p, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = p.srv.Serve(l) }()
	return p, nil
}

func (p *platform) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if notify.Verify(p.secret, r.Header.Get(notify.SignatureHeader), body, time.Now(), notify.DefaultTolerance) != nil {
		p.forged++
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	var ev struct {
		ID   string `json:"id"`
		Data struct {
			RefundID     string `json:"refund_id"`
			RevokeAccess bool   `json:"revoke_access"`
		} `json:"data"`
	}
	if json.Unmarshal(body, &ev) != nil || ev.ID == "" {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	p.events[ev.ID] = platformEvent{RefundID: ev.Data.RefundID, RevokeAccess: ev.Data.RevokeAccess}
	w.WriteHeader(http.StatusNoContent)
}

// revocations counts, per case, the distinct events that told the platform
// to revoke access; forged is how many deliveries failed verification.
func (p *platform) revocations() (perCase map[string]int, forged int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	perCase = map[string]int{}
	for _, ev := range p.events {
		if ev.RevokeAccess {
			perCase[ev.RefundID]++
		}
	}
	return perCase, p.forged
}

func (p *platform) close() { _ = p.srv.Close() }
