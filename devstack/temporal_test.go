package devstack

import (
	"context"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/refundflow/refundflow/pgcluster"
	"github.com/refundflow/refundflow/workflows"
)

func quietLogger() *slog.Logger {
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

func echo(ctx workflow.Context, s string) (string, error) { return "echo " + s, nil }

func TestEmbeddedTemporalRunsWorkflowsAndKnowsTheSearchAttributes(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	uiPort, _ := pgcluster.FreePort()
	uiAddr := "127.0.0.1:" + itoa(uiPort)
	dbFile := filepath.Join(t.TempDir(), "temporal.db")
	srv, err := StartTemporal(ctx, TemporalOptions{DBFile: dbFile, UIAddress: uiAddr, Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Stop()

	c, err := client.DialContext(ctx, client.Options{HostPort: srv.Address, Namespace: "default"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()

	sa, err := c.OperatorService().ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: "default"})
	if err != nil {
		t.Fatal(err)
	}
	for name, typ := range workflows.SearchAttributes() {
		if got := sa.GetCustomAttributes()[name]; got != typ {
			t.Errorf("search attribute %s: %v, want %v", name, got, typ)
		}
	}
	if sa.GetCustomAttributes()["RefundStatus"] != enumspb.INDEXED_VALUE_TYPE_KEYWORD {
		t.Error("RefundStatus is not a keyword")
	}

	w := worker.New(c, "devstack-test", worker.Options{})
	w.RegisterWorkflow(echo)
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{TaskQueue: "devstack-test"}, echo, "hi")
	if err != nil {
		t.Fatal(err)
	}
	var out string
	if err := run.Get(ctx, &out); err != nil || out != "echo hi" {
		t.Fatalf("workflow result %q, %v", out, err)
	}

	resp, err := http.Get("http://" + uiAddr + "/")
	if err != nil {
		t.Fatalf("temporal UI: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("temporal UI answered %d", resp.StatusCode)
	}
	if st, err := os.Stat(dbFile + "-wal"); err != nil || st.Size() == 0 {
		t.Errorf("SQLite is not in WAL mode: %v", err)
	}
}

func itoa(i int) string { return strconv.Itoa(i) }
