package devstack

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/refundflow/refundflow/internal/pgcluster"
	"github.com/refundflow/refundflow/postgres/pgtest"
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

	// The UI reads and queries, but changes nothing: a terminate (or an
	// update with a made-up approver) is refused before it reaches Temporal.
	terminate := "http://" + uiAddr + "/api/v1/namespaces/default/workflows/" + run.GetID() + "/terminate"
	req, err := http.NewRequest(http.MethodPost, terminate, strings.NewReader(`{"reason":"from the UI"}`))
	if err != nil {
		t.Fatal(err)
	}
	// A bearer token is how a script skips the UI's CSRF check; the
	// write check still applies.
	req.Header.Set("Authorization", "Bearer script")
	req.Header.Set("Content-Type", "application/json")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Fatalf("POST %s: %d, want 405", terminate, resp.StatusCode)
	}
	resp, err = http.Get("http://" + uiAddr + "/api/v1/settings")
	if err != nil {
		t.Fatal(err)
	}
	var settings struct{ DisableWriteActions bool }
	err = json.NewDecoder(resp.Body).Decode(&settings)
	resp.Body.Close()
	if err != nil || !settings.DisableWriteActions {
		t.Fatalf("UI settings: %+v, %v", settings, err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("temporal UI answered %d", resp.StatusCode)
	}
	if st, err := os.Stat(dbFile + "-wal"); err != nil || st.Size() == 0 {
		t.Errorf("SQLite is not in WAL mode: %v", err)
	}
}

func itoa(i int) string { return strconv.Itoa(i) }

func TestEmbeddedTemporalOnPostgresSetsUpItsSchemaOnceAndRunsWorkflows(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cluster, dir, err := pgtest.StartCluster(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	defer cluster.Stop(context.Background(), "immediate")

	// The second start finds the schema and the namespace in place.
	for run := range 2 {
		srv, err := StartTemporal(ctx, TemporalOptions{
			Postgres: &TemporalPostgres{Addr: cluster.Addr(), User: "postgres"}, Logger: quietLogger(),
		})
		if err != nil {
			t.Fatalf("start %d: %v", run+1, err)
		}
		c, err := client.DialContext(ctx, client.Options{HostPort: srv.Address, Namespace: "default"})
		if err != nil {
			t.Fatal(err)
		}
		sa, err := c.OperatorService().ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: "default"})
		if err != nil {
			t.Fatal(err)
		}
		if got := sa.GetCustomAttributes()["RefundStatus"]; got != enumspb.INDEXED_VALUE_TYPE_KEYWORD {
			t.Errorf("start %d: RefundStatus is %v, want a keyword", run+1, got)
		}
		queue := "devstack-pg-" + itoa(run)
		w := worker.New(c, queue, worker.Options{})
		w.RegisterWorkflow(echo)
		if err := w.Start(); err != nil {
			t.Fatal(err)
		}
		var out string
		wr, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{TaskQueue: queue}, echo, "pg")
		if err == nil {
			err = wr.Get(ctx, &out)
		}
		w.Stop()
		c.Close()
		srv.Stop()
		if err != nil || out != "echo pg" {
			t.Fatalf("start %d: workflow result %q, %v", run+1, out, err)
		}
	}
}
