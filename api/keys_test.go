package api_test

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/refundflow/refundflow"
)

// syncBuffer collects log output from concurrent handlers.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// Secrets never reach the logs: not on success, not on refusal, not when a
// handler fails, not at the most talkative log level.
func TestAPIKeysNeverReachTheLogs(t *testing.T) {
	e := newEnv(t)
	var logs syncBuffer
	e.srv.Logger = slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	e.srv.Registry = prometheus.NewRegistry()
	e.http = e.srv.Handler()
	_, revoked, err := e.db.CreateAPIKey(context.Background(), "to-revoke", refundflow.RoleAdmin, nil)
	if err != nil {
		t.Fatal(err)
	}
	keys, _ := e.db.ListAPIKeys(context.Background())
	for _, k := range keys {
		if k.Name == "to-revoke" {
			if err := e.db.RevokeAPIKey(context.Background(), k.ID); err != nil {
				t.Fatal(err)
			}
		}
	}
	e.do(platform, "PUT", "/v1/products/p1", recorded())
	e.do(agent, "PUT", "/v1/products/p1", recorded())        // wrong role
	e.doAuth("Bearer "+revoked, "GET", "/v1/orders/o1", nil) // revoked key
	e.doAuth("Bearer rfk_"+strings.Repeat("z", 32), "GET", "/v1/orders/o1", nil)
	e.doAuth("Basic "+e.keys[admin], "GET", "/v1/outages/x", nil) // malformed header
	if r := e.do(approver, "POST", "/v1/refunds/nope/approve", map[string]any{}); r.Status != http.StatusNotFound {
		t.Fatalf("approve unknown case: %d", r.Status)
	}
	out := logs.String()
	if out == "" {
		t.Fatal("nothing was logged; the test would prove nothing")
	}
	for role, secret := range e.keys {
		if strings.Contains(out, secret) || strings.Contains(out, secret[len(secret)-12:]) {
			t.Fatalf("the %s key's secret is in the logs", role)
		}
	}
	if strings.Contains(out, revoked) {
		t.Fatal("a revoked key's secret is in the logs")
	}
}

// Keys are stored as hashes: the database holds no secret.
func TestKeysAreStoredHashed(t *testing.T) {
	e := newEnv(t)
	var stored [][]byte
	rows, err := e.db.Pool.Query(context.Background(), "SELECT key_hash FROM api_keys")
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var h []byte
		if err := rows.Scan(&h); err != nil {
			t.Fatal(err)
		}
		stored = append(stored, h)
	}
	if len(stored) != len(e.keys) {
		t.Fatalf("%d keys stored for %d roles", len(stored), len(e.keys))
	}
	for _, secret := range e.keys {
		for _, h := range stored {
			if bytes.Contains(h, []byte(secret)) || len(h) != 32 {
				t.Fatal("a key is stored as itself, not as its SHA-256")
			}
		}
		if !slicesContainsHash(stored, refundflow.HashSecret(secret)) {
			t.Fatal("a key's hash is not what authentication looks up")
		}
	}
}

func slicesContainsHash(hs [][]byte, h []byte) bool {
	for _, x := range hs {
		if bytes.Equal(x, h) {
			return true
		}
	}
	return false
}
