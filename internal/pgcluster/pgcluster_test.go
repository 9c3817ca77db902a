package pgcluster

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// The dev stack's second start finds the cluster and the database of the
// first one and keeps what is in them.
func TestUpAgainKeepsTheDatabaseOfAnEarlierStart(t *testing.T) {
	if _, err := FindBinDir(); errors.Is(err, ErrNoBinaries) {
		t.Fatal("the PostgreSQL server binaries are needed: apt-get install postgresql")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	// Not t.TempDir: when we are root the server runs as another user, who
	// must reach the directory (t.TempDir's parent is private).
	dir, err := os.MkdirTemp("", "refundflow-pgcluster-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	port, err := FreePort()
	if err != nil {
		t.Fatal(err)
	}
	start := func() (*Cluster, string) {
		c, err := New(filepath.Join(dir, "pg"), port)
		if err != nil {
			t.Fatal(err)
		}
		c.Ephemeral = true
		url, err := c.Up(ctx, "refund-flow")
		if err != nil {
			t.Fatal(err)
		}
		return c, url
	}
	exec := func(url, sql string) {
		t.Helper()
		conn, err := pgx.Connect(ctx, url)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, sql); err != nil {
			t.Fatal(err)
		}
	}

	c, url := start()
	exec(url, "CREATE TABLE kept (n int); INSERT INTO kept VALUES (7)")
	if err := c.Stop(ctx, "fast"); err != nil {
		t.Fatal(err)
	}

	c, again := start()
	t.Cleanup(func() { c.Stop(context.Background(), "immediate") }) //nolint:errcheck
	if again != url {
		t.Fatalf("second start gave %s, first %s", again, url)
	}
	exec(again, "DO $$ BEGIN IF (SELECT n FROM kept) <> 7 THEN RAISE 'lost'; END IF; END $$")
	// A server still running (a dev stack killed without stopping it) is
	// adopted, not started twice.
	if _, err := c.Up(ctx, "refund-flow"); err != nil {
		t.Fatal(err)
	}
}
