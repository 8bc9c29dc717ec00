package proc

import "syscall"

// attrs makes the child die with the thread that started it (SIGKILL when
// the harness dies, even by SIGKILL itself), and puts it in a process group
// of its own if asked. Go's runtime does not end its threads while the
// program runs (only a goroutine exiting under LockOSThread does, and
// nothing here starts children from one), so "the thread" is the harness.
func attrs(ownGroup bool) *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: ownGroup}
}
