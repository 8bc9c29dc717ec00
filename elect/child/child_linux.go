package child

import (
	"errors"
	"os"
	"runtime"
	"sync"
	"syscall"
)

// sysProcAttr puts the child in a process group of its own (pgid = its pid),
// so Stop can signal everything it forked, and asks the kernel to SIGKILL it
// when its parent dies, so a killed sidecar never leaves a "leader" running
// without the Lease.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

// start forks the child on the spawner thread and registers it with the
// reaper in one step; see spawn and reap_linux.go.
func start(p *Process) error {
	ours.mu.Lock()
	defer ours.mu.Unlock()
	var err error
	spawn(func() { err = p.cmd.Start() })
	if err != nil {
		return err
	}
	ours.procs[p.cmd.Process.Pid] = p
	return nil
}

// Pdeathsig is tied to the parent *thread*, not the process: the kernel
// sends it when the thread that forked the child exits. The Go runtime ends a
// thread when a goroutine locked to it (runtime.LockOSThread) exits without
// unlocking, and any goroutine's fork can land on such a thread, so a plain
// cmd.Start could have its child SIGKILLed at a random later moment
// (golang/go#27505). All forks therefore happen on one goroutine that locks
// its thread and never exits, so the thread lives as long as the process.
var spawner struct {
	once sync.Once
	reqs chan func()
}

func spawn(f func()) {
	spawner.once.Do(func() {
		spawner.reqs = make(chan func())
		go func() {
			runtime.LockOSThread() // never unlocked: see spawner
			for req := range spawner.reqs {
				req()
			}
		}()
	})
	done := make(chan struct{})
	spawner.reqs <- func() { f(); close(done) }
	<-done
}

// signalGroup signals the child's whole process group. ESRCH (nobody left)
// is not an error worth reporting.
func (p *Process) signalGroup(sig syscall.Signal) {
	if p.groupGone.Load() {
		return
	}
	if err := syscall.Kill(-p.pid, sig); err != nil && !errors.Is(err, syscall.ESRCH) {
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

// exitCodeOf reports a signal death as 128+signal, as shells do.
func exitCodeOf(ps *os.ProcessState) int {
	if ps == nil {
		return -1
	}
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return ps.ExitCode()
}
