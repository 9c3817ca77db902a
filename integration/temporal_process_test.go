package integration

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/refundflow/refundflow/internal/devstack"
	"github.com/refundflow/refundflow/internal/pgcluster"
	"github.com/refundflow/refundflow/internal/proc"
)

// temporalProcessEnv, set to a SQLite file, makes this test binary the
// Temporal server of one test (runTemporalProcess): a process of its own
// that the test can SIGKILL and start again on the same data.
const (
	temporalProcessEnv     = "REFUNDFLOW_IT_TEMPORAL_DB"
	temporalProcessAddrEnv = "REFUNDFLOW_IT_TEMPORAL_ADDRESS"
)

func runTemporalProcess(db string) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	startCtx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	srv, err := devstack.StartTemporal(startCtx, devstack.TemporalOptions{DBFile: db, Address: os.Getenv(temporalProcessAddrEnv), Logger: quiet()})
	cancel()
	if err != nil {
		fmt.Fprintln(os.Stderr, "temporal:", err)
		os.Exit(1)
	}
	fmt.Println("temporal ready", srv.Address)
	<-ctx.Done()
	srv.Stop()
}

// temporalProcess is a Temporal server in a process of its own, on a
// fixed address and SQLite file across restarts.
type temporalProcess struct {
	t    *testing.T
	addr string
	p    *proc.Process
}

func startTemporalProcess(t *testing.T) *temporalProcess {
	t.Helper()
	port, err := pgcluster.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	addr := "127.0.0.1:" + strconv.Itoa(port)
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	tp := &temporalProcess{t: t, addr: addr, p: &proc.Process{
		Name: "temporal", Path: self, LogPath: filepath.Join(dir, "temporal.log"),
		Env: append(os.Environ(), temporalProcessEnv+"="+filepath.Join(dir, "temporal.db"), temporalProcessAddrEnv+"="+addr),
	}}
	t.Cleanup(func() {
		tp.p.Stop(10 * time.Second)
		if t.Failed() {
			log, _ := os.ReadFile(tp.p.LogPath)
			t.Logf("the Temporal process's log:\n%s", log)
		}
	})
	tp.start()
	return tp
}

// start starts the server and waits until it answers.
func (tp *temporalProcess) start() {
	tp.t.Helper()
	if err := tp.p.Start(); err != nil {
		tp.t.Fatal(err)
	}
	deadline := time.Now().Add(2 * time.Minute)
	for {
		c, err := client.Dial(client.Options{HostPort: tp.addr, Logger: nopLogger{}})
		if err == nil {
			_, err = c.CheckHealth(context.Background(), &client.CheckHealthRequest{})
			c.Close()
			if err == nil {
				return
			}
		}
		if !tp.p.Running() || time.Now().After(deadline) {
			log, _ := os.ReadFile(tp.p.LogPath)
			tp.t.Fatalf("temporal did not start: %v\n%s", err, log)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// kill ends the server with SIGKILL.
func (tp *temporalProcess) kill() {
	tp.t.Helper()
	if err := tp.p.Kill(); err != nil {
		tp.t.Fatal(err)
	}
}

// nopLogger keeps the SDK quiet while the server comes up.
type nopLogger struct{}

func (nopLogger) Debug(string, ...any) {}
func (nopLogger) Info(string, ...any)  {}
func (nopLogger) Warn(string, ...any)  {}
func (nopLogger) Error(string, ...any) {}
