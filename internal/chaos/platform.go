package chaos

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/refundflow/refundflow/notify"
)

// platform plays the course platform's webhook endpoint: it verifies each
// delivery's signature and keeps every event by id, deduplicating the
// retries (which carry the same id and body), so the run can check that
// each event the outbox holds arrived, said what it says there, and that
// access was revoked exactly for the cases whose money moved.
//
// It misbehaves on the mayhem's orders: it goes down and comes back on the
// same port, answers 5xx to some deliveries (some before it has taken the
// event, some after, so that a retry brings a duplicate), and holds its
// answers while the run kills the workers that wait for them.
type platform struct {
	secret string
	addr   string
	url    string

	mu     sync.Mutex
	srv    *http.Server // nil while down
	events map[string]*received
	tally  receiverTally
	flaky  bool
	seen   int // verified deliveries, for the flaky turn
	hold   holder
	// problems are deliveries that were wrong in themselves: a header that
	// disagrees with the body, a second copy of an event with other bytes.
	problems []string
}

// received is one event as the platform took it, and how often it came.
type received struct {
	Type   string
	Body   []byte // the first copy, as sent
	Copies int
}

// receiverTally counts what a receiver (the platform or the mail sink)
// met.
type receiverTally struct {
	Deliveries int // accepted copies, duplicates included
	Refused    int // answered 5xx on purpose (the platform only)
	Forged     int // signatures that did not verify (the platform only)
}

func startPlatform(secret string) (*platform, error) {
	p := &platform{secret: secret, addr: "127.0.0.1:0", events: map[string]*received{}}
	if err := p.up(); err != nil {
		return nil, err
	}
	p.url = "http://" + p.addr + "/webhooks"
	return p, nil
}

// up listens (again) on the platform's address.
func (p *platform) up() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.srv != nil {
		return nil
	}
	l, err := net.Listen("tcp", p.addr)
	if err != nil {
		return err
	}
	p.addr = l.Addr().String()
	p.srv = &http.Server{Handler: p, ReadHeaderTimeout: 10 * time.Second}
	go func(srv *http.Server) { _ = srv.Serve(l) }(p.srv)
	return nil
}

// down closes the listener and every open connection: deliveries are
// refused until up.
func (p *platform) down() {
	p.mu.Lock()
	srv := p.srv
	p.srv = nil
	p.mu.Unlock()
	if srv != nil {
		_ = srv.Close()
	}
}

// setFlaky makes every third delivery fail with a 503 before the event is
// taken and every third with a 500 after it was (the platform stored it
// but its answer says otherwise), or stops that.
func (p *platform) setFlaky(on bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.flaky = on
}

func (p *platform) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	if notify.Verify(p.secret, r.Header.Get(notify.SignatureHeader), body, time.Now(), notify.DefaultTolerance) != nil {
		p.mu.Lock()
		p.tally.Forged++
		p.mu.Unlock()
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	var ev struct {
		ID   string `json:"id"`
		Type string `json:"type"`
	}
	if json.Unmarshal(body, &ev) != nil || ev.ID == "" {
		p.problem("a delivery whose body is not an event: %.200q", body)
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	if id, typ := r.Header.Get(notify.EventIDHeader), r.Header.Get(notify.EventTypeHeader); id != ev.ID || typ != ev.Type {
		p.problem("event %s (%s) came with headers %s=%q, %s=%q", ev.ID, ev.Type, notify.EventIDHeader, id, notify.EventTypeHeader, typ)
		w.WriteHeader(http.StatusBadRequest)
		return
	}

	p.mu.Lock()
	p.seen++
	turn := p.seen % 3
	if p.flaky && turn == 0 {
		p.tally.Refused++
		p.mu.Unlock()
		http.Error(w, "platform busy", http.StatusServiceUnavailable)
		return
	}
	p.tally.Deliveries++
	if prev, ok := p.events[ev.ID]; ok {
		prev.Copies++
		if !bytes.Equal(prev.Body, body) {
			p.problems = append(p.problems, fmt.Sprintf("event %s came twice with different bodies:\n  %s\n  %s", ev.ID, prev.Body, body))
		}
	} else {
		p.events[ev.ID] = &received{Type: ev.Type, Body: body, Copies: 1}
	}
	lost := p.flaky && turn == 1
	if lost {
		p.tally.Refused++
	}
	p.mu.Unlock()

	p.hold.wait()
	if lost {
		// Taken, but the answer says otherwise: the outbox sends it again.
		http.Error(w, "platform error after commit", http.StatusInternalServerError)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (p *platform) problem(format string, args ...any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.problems = append(p.problems, fmt.Sprintf(format, args...))
}

// receivedEvents copies what the platform took, by event id.
func (p *platform) receivedEvents() (map[string]received, receiverTally, []string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make(map[string]received, len(p.events))
	for id, ev := range p.events {
		out[id] = *ev
	}
	return out, p.tally, append([]string(nil), p.problems...)
}

func (p *platform) close() { p.down() }
