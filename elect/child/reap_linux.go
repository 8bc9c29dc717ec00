package child

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
	"k8s.io/utils/clock"
)

// ours maps the pid of every running child started by this package to its
// Process. start holds mu across fork and registration, and the reaper holds
// it while it decides and reaps, so a zombie the reaper sees is either known
// to be ours or was never ours: there is no window in between.
var ours = struct {
	mu    sync.Mutex
	procs map[int]*Process
}{procs: make(map[int]*Process)}

// forget unregisters p once its waiter has reaped it.
func forget(p *Process) {
	ours.mu.Lock()
	defer ours.mu.Unlock()
	if ours.procs[p.pid] == p {
		delete(ours.procs, p.pid)
	}
}

// reapDelay is how long a zombie that is not a Process of ours stays
// untouched before the reaper takes it. Orphans reparented to PID 1 wait that
// long to be reaped, which costs nothing; a child some other code started
// with os/exec (client-go's exec credential plugins, say) is reaped by its
// own Wait within microseconds of exiting, so the delay keeps the reaper from
// stealing its exit status (its Wait would fail with ECHILD).
const reapDelay = time.Second

// BecomeSubreaper makes this process a child subreaper (prctl
// PR_SET_CHILD_SUBREAPER): a descendant whose parent exits is reparented to
// us rather than to PID 1, so Stop still finds it by its parent chain and
// ReapZombies reaps it when it dies. elect calls it once at start-up in exec
// mode, before the first Start and before ReapZombies. As PID 1 it is not
// needed (orphans come to PID 1 anyway) and harmless.
func BecomeSubreaper() error {
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		return fmt.Errorf("becoming a child subreaper: %w", err)
	}
	return nil
}

// isSubreaper asks the kernel whether BecomeSubreaper took effect.
func isSubreaper() bool {
	var v int32
	err := unix.Prctl(unix.PR_GET_CHILD_SUBREAPER, uintptr(unsafe.Pointer(&v)), 0, 0, 0)
	return err == nil && v != 0
}

// ReapZombies reaps orphaned zombies until ctx ends, when this process is
// PID 1 (a container without an init) or a subreaper (BecomeSubreaper):
// orphans are reparented to it then, and nobody else will wait for them.
// Otherwise it returns at once, since then the real init does it.
//
// A PID 1 that never waits fills the pid table with the zombies of every
// process orphaned in the container. The naive fix, wait4(-1) in a loop,
// steals the exit status of our own child: its Process would see ECHILD and
// exec mode could not exit with the child's code. So the reaper never waits
// for "any child": it lists zombie children in /proc, leaves a child started
// by Start to that Process (which reaps it with its real status), and reaps
// any other zombie by pid, reapDelay after it first saw it.
func ReapZombies(ctx context.Context) {
	if os.Getpid() != 1 && !isSubreaper() {
		return
	}
	reap(ctx, clock.RealClock{}, reapDelay)
}

// reap is ReapZombies without the PID 1 check, so tests can run it in a
// subreaper (prctl PR_SET_CHILD_SUBREAPER), which orphans reach like PID 1.
func reap(ctx context.Context, clk clock.Clock, delay time.Duration) {
	sigc := make(chan os.Signal, 1)
	signal.Notify(sigc, syscall.SIGCHLD)
	defer signal.Stop(sigc)
	seen := make(map[int]time.Time) // zombie pid -> when the reaper first saw it
	for {
		var recheck clock.Timer
		var due <-chan time.Time
		if sweep(seen, clk.Now(), delay) {
			recheck = clk.NewTimer(delay / 4)
			due = recheck.C()
		}
		select {
		case <-ctx.Done():
		case <-sigc: // SIGCHLDs coalesce, so each wake-up sweeps every zombie
		case <-due:
		}
		if recheck != nil {
			recheck.Stop()
		}
		if ctx.Err() != nil {
			return
		}
	}
}

// sweep reaps the zombies due and reports whether any are still waiting.
func sweep(seen map[int]time.Time, now time.Time, delay time.Duration) (pending bool) {
	zombies := zombieChildren(os.Getpid())
	still := make(map[int]bool, len(zombies))
	ours.mu.Lock()
	defer ours.mu.Unlock()
	for _, pid := range zombies {
		if _, mine := ours.procs[pid]; mine {
			continue // its Process's Wait reaps it, with the real exit status
		}
		first, ok := seen[pid]
		if !ok {
			first, seen[pid] = now, now
		}
		if now.Sub(first) < delay {
			still[pid], pending = true, true
			continue
		}
		var ws syscall.WaitStatus
		syscall.Wait4(pid, &ws, syscall.WNOHANG, nil) // ECHILD: its own waiter won after all
	}
	for pid := range seen {
		if !still[pid] {
			delete(seen, pid)
		}
	}
	return pending
}
