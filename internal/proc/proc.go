// Package proc runs parts of refundflow as OS processes of their own, for
// the chaos run and the benchmark: started, killed and started again, their
// output appended to one log file across restarts.
package proc

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"
)

// Process is one part of the product running as its own OS process.
type Process struct {
	Name    string
	Path    string
	Args    []string
	Env     []string
	LogPath string

	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan struct{}
	starts int
	// since is where the latest start's output begins in the log.
	since int64
}

// Start runs the process. It dies with its parent (SIGKILL when the parent
// goes), so a crashed driver leaves nothing behind.
func (p *Process) Start() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd != nil {
		select {
		case <-p.exited:
		default:
			return fmt.Errorf("%s is running already", p.Name)
		}
	}
	log, err := os.OpenFile(p.LogPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	p.starts++
	fmt.Fprintf(log, "=== %s start %d at %s\n", p.Name, p.starts, time.Now().Format(time.RFC3339Nano))
	since, err := log.Seek(0, io.SeekCurrent)
	if err != nil {
		log.Close()
		return err
	}
	cmd := exec.Command(p.Path, p.Args...)
	cmd.Env = p.Env
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		log.Close()
		return fmt.Errorf("start %s: %w", p.Name, err)
	}
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		log.Close()
		close(exited)
	}()
	p.cmd, p.exited, p.since = cmd, exited, since
	return nil
}

// Starts is how many times the process was started.
func (p *Process) Starts() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.starts
}

// Pid is the process id of the latest start (0 before the first).
func (p *Process) Pid() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil {
		return 0
	}
	return p.cmd.Process.Pid
}

// Running reports whether the process is up.
func (p *Process) Running() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil {
		return false
	}
	select {
	case <-p.exited:
		return false
	default:
		return true
	}
}

// Kill ends the process with SIGKILL — no graceful stop, no cleanup — and
// waits until it is gone.
func (p *Process) Kill() error {
	return p.signal(syscall.SIGKILL, 30*time.Second)
}

// Stop asks the process to stop (SIGTERM) and kills it after grace.
func (p *Process) Stop(grace time.Duration) {
	if err := p.signal(syscall.SIGTERM, grace); err != nil {
		_ = p.Kill()
	}
}

func (p *Process) signal(sig syscall.Signal, wait time.Duration) error {
	p.mu.Lock()
	cmd, exited := p.cmd, p.exited
	p.mu.Unlock()
	if cmd == nil {
		return nil
	}
	select {
	case <-exited:
		return nil
	default:
	}
	if err := cmd.Process.Signal(sig); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("signal %s: %w", p.Name, err)
	}
	select {
	case <-exited:
		return nil
	case <-time.After(wait):
		return fmt.Errorf("%s did not exit within %s of %s", p.Name, wait, sig)
	}
}

// WaitForLine waits until the output of the process's latest start holds
// a line containing want (what an earlier start said does not count),
// failing early if the process exits.
func (p *Process) WaitForLine(ctx context.Context, want string, limit time.Duration) error {
	p.mu.Lock()
	since := p.since
	p.mu.Unlock()
	deadline := time.Now().Add(limit)
	for {
		if b, err := os.ReadFile(p.LogPath); err == nil && int64(len(b)) >= since && bytes.Contains(b[since:], []byte(want)) {
			return nil
		}
		if !p.Running() {
			return fmt.Errorf("%s exited before it said %q; see %s", p.Name, want, p.LogPath)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s did not say %q within %s; see %s", p.Name, want, limit, p.LogPath)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}
