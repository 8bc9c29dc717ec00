//go:build !linux

package child

import (
	"context"
	"os"
	"syscall"
	"time"
)

// Outside Linux there is no Pdeathsig and no portable process group, so the
// child is a plain process: Stop signals only it, and it outlives a killed
// sidecar. Exec mode is documented as Linux-only for that reason.
func sysProcAttr() *syscall.SysProcAttr { return nil }

func start(p *Process) error { return p.cmd.Start() }

func forget(*Process) {}

// family is empty: without /proc nothing is known of the descendants.
type family struct{}

// member is the child itself, the only process Stop knows of here.
type member struct{}

func (member) String() string { return "child" }

func (p *Process) noteStarted() {}

// remaining lists the child while it runs: its descendants cannot be seen.
func (p *Process) remaining() []member {
	if p.exited() {
		return nil
	}
	return []member{{}}
}

func (p *Process) signalTree(_ []member, sig syscall.Signal) { p.signalGroup(sig) }

// BecomeSubreaper does nothing outside Linux, which has no subreapers.
func BecomeSubreaper() error { return nil }

// signalGroup signals only the child. Windows cannot deliver SIGTERM, so
// there the child is killed outright.
func (p *Process) signalGroup(sig syscall.Signal) {
	if p.exited() {
		return
	}
	if sig == syscall.SIGKILL {
		_ = p.cmd.Process.Kill()
		return
	}
	if err := p.cmd.Process.Signal(sig); err != nil {
		_ = p.cmd.Process.Kill()
	}
}

// groupAlive has no group to look at: once the child is gone, so is "it".
func groupAlive(int) bool { return false }

// exitCodeOf reports a signal death as 128+signal where the system has
// signals, as shells do.
func exitCodeOf(ps *os.ProcessState) int {
	if ps == nil {
		return -1
	}
	if ws, ok := ps.Sys().(interface {
		Signaled() bool
		Signal() syscall.Signal
	}); ok && ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return ps.ExitCode()
}

// ReapZombies does nothing outside Linux: the sidecar is not an init there.
func ReapZombies(context.Context) {}

// StopAll does nothing outside Linux: the sidecar is not an init there.
func StopAll(context.Context, time.Duration, time.Duration) error { return nil }
