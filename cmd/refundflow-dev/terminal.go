package main

import (
	"os"
	"os/signal"
	"syscall"

	"golang.org/x/sys/unix"
)

// takeTerminal makes the stack's own process group the terminal's
// foreground one, so that Ctrl-C interrupts the stack alone. Run by make,
// the stack would otherwise share the interrupt with make, and GNU make
// kills itself with it once its recipe has ended — exiting non-zero after
// a clean stop. The returned function hands the terminal back. Without a
// terminal, or started in the background, it changes nothing.
func takeTerminal() (restore func()) {
	tty := int(os.Stdin.Fd())
	foreground, err := unix.IoctlGetInt(tty, unix.TIOCGPGRP)
	if err != nil || foreground != syscall.Getpgrp() {
		return func() {}
	}
	// A process group that is not in the foreground is stopped (SIGTTOU)
	// when it sets the terminal's foreground group, unless it ignores it.
	signal.Ignore(syscall.SIGTTOU)
	defer signal.Reset(syscall.SIGTTOU)
	if err := syscall.Setpgid(0, 0); err != nil {
		return func() {}
	}
	if err := unix.IoctlSetPointerInt(tty, unix.TIOCSPGRP, syscall.Getpgrp()); err != nil {
		_ = syscall.Setpgid(0, foreground)
		return func() {}
	}
	return func() {
		signal.Ignore(syscall.SIGTTOU)
		defer signal.Reset(syscall.SIGTTOU)
		_ = unix.IoctlSetPointerInt(tty, unix.TIOCSPGRP, foreground)
	}
}
