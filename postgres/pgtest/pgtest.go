// Package pgtest gives every test its own migrated PostgreSQL database.
//
// The server comes from REFUNDFLOW_TEST_DATABASE_URL (make test starts one
// throwaway cluster for the whole run with cmd/withpg) or, when that is not
// set, from a cluster this test binary starts in a temporary directory. The
// migrations are applied once to a template database named after their
// hash; each test gets a copy (CREATE DATABASE ... TEMPLATE, ~0.1 s).
package pgtest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/refundflow/refundflow"
	"github.com/refundflow/refundflow/internal/pgcluster"
	"github.com/refundflow/refundflow/notify"
	"github.com/refundflow/refundflow/postgres"
	"github.com/refundflow/refundflow/refund"
)

// EnvURL names the variable holding the URL of a server's maintenance
// database (usually .../postgres) that tests may create databases on.
const EnvURL = "REFUNDFLOW_TEST_DATABASE_URL"

var (
	mu       sync.Mutex
	server   string // maintenance database URL
	template string
	own      *pgcluster.Cluster
	ownDir   string
	counter  atomic.Int64
)

// Main runs the package's tests and stops a cluster this binary started.
// Use it from TestMain: func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }.
func Main(m *testing.M) int {
	code := m.Run()
	mu.Lock()
	defer mu.Unlock()
	if own != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = own.Stop(ctx, "immediate")
		_ = os.RemoveAll(ownDir)
		own = nil
	}
	return code
}

// ServerURL returns the maintenance database URL, starting a cluster when
// the environment names none.
func ServerURL(t testing.TB) string {
	t.Helper()
	mu.Lock()
	defer mu.Unlock()
	if server != "" {
		return server
	}
	if u := os.Getenv(EnvURL); u != "" {
		server = u
		return server
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c, dir, err := StartCluster(ctx)
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	own, ownDir, server = c, dir, c.URL("postgres")
	return server
}

// StartCluster initialises and starts a throwaway, non-durable cluster in a
// new temporary directory. The caller stops it and removes the directory.
func StartCluster(ctx context.Context) (*pgcluster.Cluster, string, error) {
	dir, err := os.MkdirTemp("", "refundflow-pg-")
	if err != nil {
		return nil, "", err
	}
	// When we are root the server runs as another user, who must be able
	// to reach its directory inside ours.
	if err := os.Chmod(dir, 0o755); err != nil {
		return nil, "", err
	}
	port, err := pgcluster.FreePort()
	if err != nil {
		return nil, "", err
	}
	c, err := pgcluster.New(filepath.Join(dir, "pg"), port)
	if err != nil {
		return nil, "", err
	}
	c.Ephemeral = true
	if err := c.Init(ctx); err != nil {
		return nil, "", err
	}
	if err := c.Start(ctx); err != nil {
		return nil, "", err
	}
	return c, dir, nil
}

// URL returns the URL of a fresh, migrated database that is dropped when
// the test ends.
func URL(t testing.TB) string {
	t.Helper()
	base := ServerURL(t)
	tmpl, err := ensureTemplate(base)
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	name := fmt.Sprintf("t_%d_%d", os.Getpid(), counter.Add(1))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatalf("pgtest: connect: %v", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()+" TEMPLATE "+pgx.Identifier{tmpl}.Sanitize()); err != nil {
		t.Fatalf("pgtest: create database: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if conn, err := pgx.Connect(ctx, base); err == nil {
			_, _ = conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)")
			conn.Close(ctx)
		}
	})
	return withDatabase(base, name)
}

// Open returns a pool on a fresh, migrated database.
func Open(t testing.TB) *postgres.DB {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	db, err := postgres.Open(ctx, URL(t))
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	t.Cleanup(db.Close)
	return db
}

// ensureTemplate creates and migrates the template database once per
// server; test binaries running in parallel serialise on an advisory lock.
func ensureTemplate(base string) (string, error) {
	mu.Lock()
	defer mu.Unlock()
	if template != "" {
		return template, nil
	}
	name, err := templateName()
	if err != nil {
		return "", err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		return "", fmt.Errorf("connect: %w", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock(7233001)"); err != nil {
		return "", err
	}
	defer conn.Exec(context.Background(), "SELECT pg_advisory_unlock(7233001)") //nolint:errcheck
	var exists bool
	if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", name).Scan(&exists); err != nil {
		return "", err
	}
	if !exists {
		building := name + "_building"
		ident := pgx.Identifier{building}.Sanitize()
		if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+ident); err != nil {
			return "", err
		}
		if _, err := conn.Exec(ctx, "CREATE DATABASE "+ident); err != nil {
			return "", err
		}
		if _, err := postgres.Migrate(ctx, withDatabase(base, building)); err != nil {
			return "", fmt.Errorf("migrate template: %w", err)
		}
		// Renamed only when complete, so a crash never leaves a half-built
		// template that later runs would trust.
		if _, err := conn.Exec(ctx, "ALTER DATABASE "+ident+" RENAME TO "+pgx.Identifier{name}.Sanitize()); err != nil {
			return "", err
		}
	}
	template = name
	return template, nil
}

// templateName is derived from the migrations' content, so a changed
// migration never reuses a stale template on a shared server.
func templateName() (string, error) {
	h := sha256.New()
	err := fs.WalkDir(postgres.MigrationsFS(), ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(postgres.MigrationsFS(), path)
		if err != nil {
			return err
		}
		h.Write([]byte(path))
		h.Write(b)
		return nil
	})
	if err != nil {
		return "", err
	}
	return "tmpl_" + hex.EncodeToString(h.Sum(nil))[:16], nil
}

func withDatabase(base, db string) string {
	u, err := url.Parse(base)
	if err != nil {
		return base
	}
	u.Path = "/" + strings.TrimPrefix(db, "/")
	return u.String()
}

// Pay books attempt s.Attempt of a case for amount as its payment activity
// would: the attempt reserved (step 1), then settled as s says with the
// outcome's step (step 2) — the case ends refunded, failed, or waiting
// with the payment pending. No messages are written.
func Pay(t testing.TB, db *postgres.DB, amount int64, s refund.Settlement) {
	t.Helper()
	ctx := context.Background()
	base := refund.Snapshot{Status: refundflow.StatusRefunding, Amount: &amount, EscalationLevel: 1}
	att, err := db.ReservePayment(ctx, s.RefundID, s.Attempt, amount, func(a refund.Attempt) refund.Step {
		return refund.Step{RefundID: s.RefundID, Seq: 1, At: time.Now(), Actor: refundflow.SystemActor, Event: "payment_requested", Snapshot: base}
	})
	if err != nil {
		t.Fatal(err)
	}
	outcome := refund.PaymentPending
	switch s.Status {
	case "succeeded":
		outcome = refund.PaymentSucceeded
	case "failed", "canceled":
		outcome = refund.PaymentFailed
	}
	att.Status, att.ProviderRefundID = s.Status, s.ProviderRefundID
	step := refund.PaymentStep(base, 2, time.Now(), outcome, *att, "stripe_"+s.Status)
	if _, _, err := db.SettlePayment(ctx, s, step, notify.Outbox{}); err != nil {
		t.Fatal(err)
	}
}

// WaitForEventLog waits until every event written so far can be read from
// the event log (postgres.DB.ListEvents), which shows an event once every
// transaction older than it has ended: another test's, on the same server,
// may hold it back for a moment.
func WaitForEventLog(t testing.TB, db *postgres.DB) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var past bool
		err := db.Pool.QueryRow(context.Background(),
			`SELECT coalesce(max(txid), 0) < pg_snapshot_xmin(pg_current_snapshot())::text::bigint FROM webhook_deliveries`).Scan(&past)
		if err != nil {
			t.Fatal(err)
		}
		if past {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("pgtest: the event log did not show the last event within 10 s")
		}
		time.Sleep(20 * time.Millisecond)
	}
}
