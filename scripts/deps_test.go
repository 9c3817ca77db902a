// Package scripts_test checks the scripts the Makefile runs before it
// compiles anything.
package scripts_test

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// deps runs scripts/deps with a PATH that holds only the few commands the
// script itself uses — no Chromium, no apt-get — as a user
// who is not root (nobody, when the test runs as root).
func deps(t *testing.T, target string) (exitCode int, stderr string) {
	t.Helper()
	bin := t.TempDir()
	// nobody must reach it: the test's temporary directories are private.
	for _, dir := range []string{filepath.Dir(bin), bin} {
		if err := os.Chmod(dir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, name := range []string{"bash", "id", "grep"} {
		path, err := exec.LookPath(name)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if err := os.Symlink(path, filepath.Join(bin, name)); err != nil {
			t.Fatal(err)
		}
	}
	script, err := filepath.Abs("deps")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(filepath.Join(bin, "bash"), script, target)
	cmd.Env = []string{"PATH=" + bin, "LANG=C"}
	cmd.Dir = bin
	if os.Geteuid() == 0 {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	}
	var errOut bytes.Buffer
	cmd.Stderr = &errOut
	err = cmd.Run()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return 0, errOut.String()
	case errors.As(err, &exit):
		return exit.ExitCode(), errOut.String()
	}
	t.Fatalf("run scripts/deps %s: %v", target, err)
	return 0, ""
}

func TestDepsRefusesAtOnceWithTheInstallCommandWhenNotRoot(t *testing.T) {
	code, stderr := deps(t, "test")
	if code != 1 {
		t.Fatalf("exit %d, want 1; stderr:\n%s", code, stderr)
	}
	for _, want := range []string{"apt-get update && apt-get install -y --no-install-recommends", "chromium", "nodejs npm"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("the message does not name %q:\n%s", want, stderr)
		}
	}
}

func TestDepsForTheDevStackNeedsNoBrowser(t *testing.T) {
	code, stderr := deps(t, "dev")
	if code != 0 {
		t.Fatalf("exit %d, want 0 (the PostgreSQL binaries are here, Chromium is not needed); stderr:\n%s", code, stderr)
	}
}

func TestDepsRefusesAnUnknownTarget(t *testing.T) {
	if code, _ := deps(t, "bench"); code != 2 {
		t.Fatalf("exit %d, want 2", code)
	}
}
