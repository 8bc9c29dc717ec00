package child

import (
	"context"
	"fmt"
	"os"
	"syscall"
	"time"

	"github.com/leader-elector/leader-elector/internal/procstat"
)

// StopAll, when this process is PID 1 of its pid namespace (a container's
// entrypoint without an init), stops every other process in the namespace:
// SIGTERM, then SIGKILL after grace (at once if ctx ends), then waits at most
// killWait (0: DefaultKillWait) for them to be gone. Otherwise it returns nil
// at once: outside PID 1 the other processes are not ours.
//
// elect calls it last on exit in exec mode, after the child's Stop. The
// kernel SIGKILLs the namespace anyway when PID 1 exits; StopAll gives those
// processes their SIGTERM and grace first, and the caller learns (ErrNotGone)
// whether anything outlived SIGKILL. Nothing here can hit a stranger: as PID
// 1, kill(-1) reaches exactly the processes of our namespace.
func StopAll(ctx context.Context, grace, killWait time.Duration) error {
	if os.Getpid() != 1 {
		return nil
	}
	if killWait <= 0 {
		killWait = DefaultKillWait
	}
	if othersAlive() == 0 {
		return nil
	}
	syscall.Kill(-1, syscall.SIGTERM) // ESRCH: nobody left, which is fine
	if waitOthers(ctx, time.Now().Add(grace)) {
		return nil
	}
	for end := time.Now().Add(killWait); ; {
		syscall.Kill(-1, syscall.SIGKILL) // again each round: a process may fork meanwhile
		if waitOthers(context.Background(), time.Now().Add(groupPoll)) {
			return nil
		}
		if time.Now().After(end) {
			return fmt.Errorf("stopping every process as PID 1: %d still alive %v after SIGKILL: %w", othersAlive(), killWait, ErrNotGone)
		}
	}
}

// waitOthers polls until no other live process is left (true), until the
// deadline or until ctx ends (false).
func waitOthers(ctx context.Context, deadline time.Time) bool {
	t := time.NewTicker(groupPoll / 5)
	defer t.Stop()
	for othersAlive() > 0 {
		if time.Now().After(deadline) || ctx.Err() != nil {
			return false
		}
		select {
		case <-t.C:
		case <-ctx.Done():
		}
	}
	return true
}

// othersAlive counts live processes other than this one; zombies are dead
// (ReapZombies takes them).
func othersAlive() int {
	n, self := 0, os.Getpid()
	procstat.Each(func(pid int, st procstat.Stat) bool {
		if pid != self && !st.Dead() {
			n++
		}
		return true
	})
	return n
}
