package proc

import (
	"errors"
	"os/exec"
	"runtime"
	"sync"
	"syscall"
)

// StartCmd starts cmd as every child of ours starts: it gets SIGKILL when
// this process dies, even by SIGKILL itself (Pdeathsig), so nothing we start
// outlives us holding ports, Leases or a leader's work, and, if ownGroup, it
// leads a process group of its own (pgid = its pid), out of reach of a
// ctrl+c at the terminal and signalled whole by SignalGroup. It sets
// cmd.SysProcAttr. Outside Linux neither exists: there cmd simply starts.
//
// Pdeathsig is tied to the parent *thread*, not the process: the kernel
// sends it when the thread that forked the child exits. The Go runtime ends
// a thread when a goroutine locked to it (runtime.LockOSThread) exits
// without unlocking, and any goroutine's fork can land on such a thread, so
// a plain cmd.Start could have its child SIGKILLed at a random later moment
// (golang/go#27505). StartCmd therefore forks on one goroutine that locks
// its thread and never exits, so the thread lives as long as the process.
func StartCmd(cmd *exec.Cmd, ownGroup bool) error {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: ownGroup}
	var err error
	spawn(func() { err = cmd.Start() })
	return err
}

// spawner is the goroutine every fork happens on; see StartCmd.
var spawner struct {
	once sync.Once
	reqs chan func()
}

func spawn(f func()) {
	spawner.once.Do(func() {
		spawner.reqs = make(chan func())
		go func() {
			runtime.LockOSThread() // never unlocked: see StartCmd
			for req := range spawner.reqs {
				req()
			}
		}()
	})
	done := make(chan struct{})
	spawner.reqs <- func() { f(); close(done) }
	<-done
}

// SignalGroup sends sig to every process of group pgid. ESRCH, nobody left
// in it, is no error: the group has ended, which is what a stop wants.
func SignalGroup(pgid int, sig syscall.Signal) error {
	if err := syscall.Kill(-pgid, sig); err != nil && !errors.Is(err, syscall.ESRCH) {
		return err
	}
	return nil
}
