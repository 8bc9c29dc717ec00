package child

import (
	"errors"
	"syscall"

	"github.com/leader-elector/leader-elector/internal/proc"
)

// start forks the child (in a process group of its own, with Pdeathsig:
// see proc.StartCmd) and registers it with the reaper in one step; see
// reap_linux.go.
func start(p *Process) error {
	ours.mu.Lock()
	defer ours.mu.Unlock()
	if err := proc.StartCmd(p.cmd, true); err != nil {
		return err
	}
	ours.procs[p.cmd.Process.Pid] = p
	return nil
}

// signalGroup signals the child's whole process group. ESRCH (nobody left)
// is not an error worth reporting.
func (p *Process) signalGroup(sig syscall.Signal) {
	if p.groupGone.Load() {
		return
	}
	if err := proc.SignalGroup(p.pid, sig); err != nil {
		p.log.Warn("signalling child process group", "signal", sig.String(), "err", err)
	}
}

// groupAlive reports whether any member of process group pgid is still
// running. A zombie does not count: it is dead, and whether it is ever
// reaped depends on PID 1, not on us.
func groupAlive(pgid int) bool {
	if err := syscall.Kill(-pgid, 0); errors.Is(err, syscall.ESRCH) {
		return false
	}
	// kill(2) also succeeds for zombies, so look at the members' states.
	return groupHasLiveMember(pgid)
}
