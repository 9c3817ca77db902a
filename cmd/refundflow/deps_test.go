package main

import (
	"os/exec"
	"strings"
	"testing"
)

// The production binary never links the Temporal server: that is the
// embedded dev stack's business (devstack, cmd/refundflow-dev).
func TestProductionBinaryDoesNotLinkTheTemporalServer(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is needed to list the binary's packages: %v", err)
	}
	out, err := exec.Command(goTool, "list", "-deps", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps: %v\n%s", err, out)
	}
	deps := strings.Fields(string(out))
	if len(deps) < 100 {
		t.Fatalf("go list -deps listed only %d packages: %s", len(deps), out)
	}
	for _, p := range deps {
		if p == "go.temporal.io/server" || strings.HasPrefix(p, "go.temporal.io/server/") ||
			strings.HasPrefix(p, "github.com/temporalio/ui-server") || strings.HasSuffix(p, "/devstack") {
			t.Errorf("cmd/refundflow links %s", p)
		}
	}
}
