package main

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/refundflow/refundflow/config"
	"github.com/refundflow/refundflow/internal/pgcluster"
)

// make dev, run the way a developer runs it — in a terminal — exits 0
// when Ctrl-C stops the stack, and non-zero when the stack could not run.
func TestMakeDevExitsZeroOnCtrlCAndNonZeroWhenTheStackFails(t *testing.T) {
	code, out := makeDev(t, freeAddr(t), true)
	if code != 0 || !strings.Contains(out, "dev stack stopping") || strings.Contains(out, "Error") {
		t.Fatalf("make dev, then Ctrl-C: exit %d, want 0\n%s", code, out)
	}

	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	code, out = makeDev(t, taken.Addr().String(), false)
	if code == 0 || !strings.Contains(out, "HTTP_ADDR") {
		t.Fatalf("make dev with HTTP_ADDR taken: exit %d, want non-zero naming HTTP_ADDR\n%s", code, out)
	}
}

// makeDev runs make dev on a terminal of its own (a pseudo-terminal), on
// free ports and a fresh data directory, with none of the product's
// variables from this process's environment. With ctrlC it types Ctrl-C
// once the banner says the stack is up; otherwise it waits for make to end
// by itself. It returns make's exit status and what the terminal showed.
func makeDev(t *testing.T, httpAddr string, ctrlC bool) (int, string) {
	t.Helper()
	master, tty := openTerminal(t)
	defer master.Close()
	pgPort, err := pgcluster.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	// PostgreSQL runs as an unprivileged user, who must reach its data.
	for _, d := range []string{filepath.Dir(dir), dir} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command("make", "--no-print-directory", "dev", fmt.Sprintf("DEVFLAGS=-data %s -postgres-port %d -temporal-address %s",
		filepath.Join(dir, "data"), pgPort, freeAddr(t)))
	cmd.Dir = filepath.Join("..", "..")
	// Nothing of the outer make (this test may run under make test) either.
	env := slices.DeleteFunc(config.WithoutOwn(os.Environ()), func(kv string) bool {
		name, _, _ := strings.Cut(kv, "=")
		return name == "MAKEFLAGS" || name == "MFLAGS" || name == "MAKELEVEL"
	})
	cmd.Env = append(env, "HTTP_ADDR="+httpAddr, "TEMPORAL_UI_URL=http://"+freeAddr(t))
	cmd.Stdin, cmd.Stdout, cmd.Stderr = tty, tty, tty
	// A session of its own with the terminal as its controlling one: what
	// a shell gives the commands it runs.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	tty.Close()
	screen := &terminalOutput{}
	go screen.read(master)
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer func() {
		if cmd.ProcessState == nil {
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-exited
		}
	}()

	// The first build of bin/refundflow-dev links the Temporal server.
	deadline := time.After(5 * time.Minute)
	for ctrlC && !strings.Contains(screen.String(), "dev stack is up") {
		select {
		case err := <-exited:
			t.Fatalf("make dev ended before the stack was up: %v\n%s", err, screen.String())
		case <-deadline:
			t.Fatalf("the stack was not up after 5 minutes\n%s", screen.String())
		case <-time.After(200 * time.Millisecond):
		}
	}
	if ctrlC {
		if _, err := master.Write([]byte{0x03}); err != nil { // what the Ctrl-C key sends
			t.Fatal(err)
		}
	}
	select {
	case err := <-exited:
		var exit *exec.ExitError
		if err != nil && !errors.As(err, &exit) {
			t.Fatal(err)
		}
		return cmd.ProcessState.ExitCode(), screen.String()
	case <-time.After(5 * time.Minute):
		t.Fatalf("make dev did not end\n%s", screen.String())
	}
	return 0, ""
}

// openTerminal opens a pseudo-terminal: the master side the test reads
// and types on, the terminal the command gets.
func openTerminal(t *testing.T) (master, tty *os.File) {
	t.Helper()
	master, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	fd := int(master.Fd())
	if err := unix.IoctlSetPointerInt(fd, unix.TIOCSPTLCK, 0); err != nil {
		t.Fatalf("unlock the terminal: %v", err)
	}
	n, err := unix.IoctlGetInt(fd, unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	tty, err = os.OpenFile("/dev/pts/"+strconv.Itoa(n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	return master, tty
}

// terminalOutput collects what the terminal showed.
type terminalOutput struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (o *terminalOutput) read(master *os.File) {
	b := make([]byte, 4096)
	for {
		n, err := master.Read(b)
		o.mu.Lock()
		o.buf.Write(b[:n])
		o.mu.Unlock()
		if err != nil {
			return // EIO once every process has closed the terminal
		}
	}
}

func (o *terminalOutput) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.buf.String()
}

func freeAddr(t *testing.T) string {
	t.Helper()
	port, err := pgcluster.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	return "127.0.0.1:" + strconv.Itoa(port)
}
