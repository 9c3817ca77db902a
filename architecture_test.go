package refundflow_test

import (
	"os/exec"
	"path"
	"slices"
	"strings"
	"testing"
)

// The import rules of ARCHITECTURE.md, by layer. A package may import the
// module's packages of its own layer and of the layers it lists; nothing
// outside a layer's list. Tests are not held to the rules (they build
// fixtures from any layer).
const module = "github.com/refundflow/refundflow"

type layer struct {
	name     string
	packages []string // relative to the module; "x/..." is x and below
	mayUse   []string // other layers
}

var layers = []layer{
	{"domain", []string{".", "money", "calendar", "policy", "refund", "ticket", "sla", "ledger", "notify", "offers", "internal/jsonwalk", "activities/contract"}, nil},
	{"workflows", []string{"workflows"}, []string{"domain"}},
	{"storage", []string{"postgres", "postgres/sqlgen"}, []string{"domain"}},
	{"stripe", []string{"payments"}, []string{"domain"}},
	{"activities", []string{"activities", "outbox"}, []string{"domain", "storage", "stripe"}},
	{"http", []string{"api"}, []string{"domain", "workflows", "storage", "stripe", "activities", "config"}},
	{"console", []string{"console"}, []string{"domain", "workflows", "storage"}},
	{"config", []string{"config", "temporalclient"}, []string{"workflows"}},
	{"wiring", []string{"app", "worker", "cmd/refundflow"}, []string{"domain", "workflows", "storage", "stripe", "activities", "http", "console", "config"}},
	// Tooling for development, tests and measurements; the product never
	// imports it.
	{"tooling", []string{"internal/...", "postgres/pgtest", "cmd/...", "scripts", "deploy/...", "integration"},
		[]string{"domain", "workflows", "storage", "stripe", "activities", "http", "console", "config", "wiring"}},
}

// exceptions are imports the rules forbid that are still there, each with
// the reason; the list only shrinks.
var exceptions = map[[2]string]string{
	// The console calls the API's commands and reports until both serve
	// one application layer (issue 16).
	{"console", "api"}: "the console's commands and reports are still *api.Server's",
}

func TestPackagesImportOnlyWhatTheirLayerMay(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", "{{.ImportPath}} {{join .Imports \" \"}}", module+"/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	imports := map[string][]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		imports[f[0]] = f[1:]
	}
	for _, v := range violations(imports) {
		t.Error(v)
	}
	if len(imports) < 30 {
		t.Fatalf("go list found %d packages; the rules were checked against too few", len(imports))
	}
}

// A forbidden import is found, whichever layer it crosses.
func TestTheRulesRefuseForbiddenImports(t *testing.T) {
	for _, c := range []struct{ from, to string }{
		{"workflows", "postgres"},
		{"workflows", "activities"},
		{"activities/contract", "payments"},
		{"policy", "postgres"},
		{"postgres", "api"},
		{"console", "activities"},
		{"api", "console"},
		{"app", "internal/pgcluster"},
		{"money", "internal/proc"},
	} {
		got := violations(map[string][]string{rel(c.from): {rel(c.to), "context"}})
		if len(got) != 1 {
			t.Errorf("%s importing %s: %d violations %q, want 1", c.from, c.to, len(got), got)
		}
	}
	if got := violations(map[string][]string{rel("api"): {rel("workflows"), rel("postgres"), "github.com/gin-gonic/gin"}}); len(got) != 0 {
		t.Errorf("api importing workflows and postgres: %q, want none", got)
	}
}

func rel(p string) string {
	if p == "." {
		return module
	}
	return module + "/" + p
}

// violations lists every import of the module's packages that its
// importer's layer may not use.
func violations(imports map[string][]string) []string {
	var out []string
	for pkg, deps := range imports {
		from, ok := layerOf(pkg)
		if !ok {
			out = append(out, pkg+" belongs to no layer: add it to ARCHITECTURE.md and to layers")
			continue
		}
		for _, dep := range deps {
			if dep != module && !strings.HasPrefix(dep, module+"/") {
				continue
			}
			to, ok := layerOf(dep)
			if !ok || to.name == from.name || slices.Contains(from.mayUse, to.name) {
				continue
			}
			if _, excused := exceptions[[2]string{short(pkg), short(dep)}]; excused {
				continue
			}
			out = append(out, short(pkg)+" ("+from.name+") imports "+short(dep)+" ("+to.name+")")
		}
	}
	slices.Sort(out)
	return out
}

func layerOf(pkg string) (layer, bool) {
	p := short(pkg)
	for _, l := range layers {
		for _, q := range l.packages {
			if p == q || strings.HasSuffix(q, "/...") && (p == path.Dir(q) || strings.HasPrefix(p, strings.TrimSuffix(q, "..."))) {
				return l, true
			}
		}
	}
	return layer{}, false
}

func short(pkg string) string {
	if pkg == module {
		return "."
	}
	return strings.TrimPrefix(pkg, module+"/")
}
