package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/refundflow/refundflow"
)

// servedOpenAPI is /openapi.yaml as a running API serves it, written to a
// file for the tools that read it.
func servedOpenAPI(t *testing.T, server string) string {
	t.Helper()
	resp, err := http.Get(server + "/openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /openapi.yaml: %d %v", resp.StatusCode, err)
	}
	path := filepath.Join(t.TempDir(), "openapi.yaml")
	if err := os.WriteFile(path, body, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// The document is served in the order people and generators read it.
func TestOpenAPIIsServedInTheConventionalOrder(t *testing.T) {
	e := newEnv(t)
	r := e.do("", "GET", "/openapi.yaml", nil)
	var doc yaml.Node
	if err := yaml.Unmarshal(r.Body, &doc); err != nil {
		t.Fatal(err)
	}
	var keys []string
	for i, n := range doc.Content[0].Content {
		if i%2 == 0 {
			keys = append(keys, n.Value)
		}
	}
	want := []string{"openapi", "info", "servers", "security", "tags", "paths", "components"}
	if len(keys) != len(want) {
		t.Fatalf("top-level keys %v, want %v", keys, want)
	}
	for i := range want {
		if keys[i] != want[i] {
			t.Fatalf("top-level keys %v, want %v", keys, want)
		}
	}
}

// The document as served passes Redocly CLI's recommended rules with no
// error and no warning. The CLI is pinned in tools/redocly, which make
// test installs with npm ci.
func TestOpenAPIPassesRedoclysRecommendedRules(t *testing.T) {
	dir, err := filepath.Abs("../tools/redocly")
	if err != nil {
		t.Fatal(err)
	}
	redocly := filepath.Join(dir, "node_modules", ".bin", "redocly")
	if _, err := os.Stat(redocly); err != nil {
		t.Fatalf("Redocly CLI is not installed (%v): make test installs it, or run `make tools/redocly/node_modules/.package-lock.json`", err)
	}
	srv := httptest.NewServer(newEnv(t).http)
	defer srv.Close()
	doc := servedOpenAPI(t, srv.URL)

	cmd := exec.Command(redocly, "lint", "--config", filepath.Join(dir, "redocly.yaml"), "--format", "json", doc)
	// Nothing leaves the machine: no usage report, no look for a newer version.
	cmd.Env = append(os.Environ(), "REDOCLY_TELEMETRY=off", "REDOCLY_SUPPRESS_UPDATE_NOTICE=true")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output() // exit 1 when there are errors: the report says which
	var report struct {
		Totals struct {
			Errors   int `json:"errors"`
			Warnings int `json:"warnings"`
		} `json:"totals"`
		Problems []struct {
			RuleID   string `json:"ruleId"`
			Severity string `json:"severity"`
			Message  string `json:"message"`
			Location []struct {
				Pointer string `json:"pointer"`
			} `json:"location"`
		} `json:"problems"`
	}
	if jerr := json.Unmarshal(out, &report); jerr != nil {
		t.Fatalf("redocly lint: %v, %v\n%s\n%s", err, jerr, out, stderr.String())
	}
	for _, p := range report.Problems {
		where := ""
		if len(p.Location) > 0 {
			where = p.Location[0].Pointer
		}
		t.Errorf("%s %s at %s: %s", p.Severity, p.RuleID, where, p.Message)
	}
	if report.Totals.Errors+report.Totals.Warnings != 0 || err != nil {
		t.Fatalf("redocly lint: %d errors, %d warnings (%v)", report.Totals.Errors, report.Totals.Warnings, err)
	}
}

// An integrator generates a Go client from the served document with
// oapi-codegen (pinned in tools/go.mod) and calls the API with it: the
// client compiles in a module of its own (testdata/genclient: a program
// and its pinned dependencies) and its one call lands.
func TestGeneratedGoClientCallsTheAPI(t *testing.T) {
	e := newEnv(t)
	srv := httptest.NewServer(e.http)
	defer srv.Close()
	doc := servedOpenAPI(t, srv.URL)

	mod := t.TempDir()
	for _, f := range []string{"go.mod", "go.sum", "main.go"} {
		b, err := os.ReadFile(filepath.Join("testdata", "genclient", f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(mod, f), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	gen := exec.Command("go", "tool", "-modfile=../tools/go.mod", "oapi-codegen",
		"-generate", "types,client", "-package", "main", "-o", filepath.Join(mod, "client.gen.go"), doc)
	if out, err := gen.CombinedOutput(); err != nil {
		t.Fatalf("oapi-codegen: %v\n%s", err, out)
	}

	run := exec.Command("go", "run", ".", srv.URL)
	run.Dir = mod
	// The module's own go.mod and go.sum, as committed; no workspace.
	run.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=readonly", "REFUNDFLOW_KEY="+e.keys[refundflow.RolePlatform])
	var stderr bytes.Buffer
	run.Stderr = &stderr
	out, err := run.Output()
	if err != nil {
		t.Fatalf("the generated client's program: %v\n%s", err, stderr.String())
	}
	var got struct {
		Status       int    `json:"status"`
		ID           string `json:"id"`
		Type         string `json:"type"`
		Title        string `json:"title"`
		LessonsTotal int    `json:"lessons_total"`
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if got.Status != http.StatusCreated || got.ID != "generated-client-course" || got.Type != "recorded_course" ||
		got.Title != "Made by a generated client" || got.LessonsTotal != 12 {
		t.Fatalf("the client read %+v", got)
	}
	stored, err := e.db.GetProduct(context.Background(), "generated-client-course")
	if err != nil || stored.Title != got.Title || stored.LessonsTotal != 12 {
		t.Fatalf("the product is not stored as the client sent it: %+v %v", stored, err)
	}
}
