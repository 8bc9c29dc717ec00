//go:build !linux

package child

import (
	"context"
	"syscall"
	"time"

	"github.com/leader-elector/leader-elector/internal/proc"
)

// Outside Linux there is no Pdeathsig and no portable process group, so the
// child is a plain process (proc.StartCmd starts it so): Stop signals only
// it, and it outlives a killed sidecar. Exec mode is documented as
// Linux-only for that reason.
func start(p *Process) error { return proc.StartCmd(p.cmd, true) }

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

// ReapZombies does nothing outside Linux: the sidecar is not an init there.
func ReapZombies(context.Context) {}

// StopAll does nothing outside Linux: the sidecar is not an init there.
func StopAll(context.Context, time.Duration, time.Duration) error { return nil }
