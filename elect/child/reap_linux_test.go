package child

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/leader-elector/leader-elector/internal/procstat"
	"golang.org/x/sys/unix"
	"k8s.io/utils/clock"
)

// reaperHelper runs in a re-executed test binary made a child subreaper, so
// orphans are reparented to it as they would be to PID 1. It prints one line
// per check and exits 1 if any failed.
func reaperHelper() int {
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		fmt.Println("FAIL prctl:", err)
		return 1
	}
	var c helperChecks
	// Without a delay, only the registry of our Processes keeps the reaper
	// off their zombies.
	ctx, cancel := context.WithCancel(context.Background())
	go reap(ctx, clock.RealClock{}, 0)
	c.check("our child keeps its exit status", ourStatusKept())
	c.check("orphans are reaped at once", orphansReaped())
	cancel()
	// With the sidecar's own delay, other code's os/exec children keep
	// theirs too: their Wait comes 50 ms after the exit, well within it
	// even on a loaded machine (a shorter delay here failed under load).
	ctx, cancel = context.WithCancel(context.Background())
	defer cancel()
	go reap(ctx, clock.RealClock{}, reapDelay)
	c.check("other os/exec children keep their exit status", otherStatusKept())
	c.check("orphans are reaped after the delay", orphansReaped())
	return c.exitCode()
}

// helperChecks prints one line per check of a helper process, which the
// test counts, and gives the helper's exit code.
type helperChecks struct{ failed bool }

func (c *helperChecks) check(name string, err error) {
	if err != nil {
		c.failed = true
		fmt.Printf("FAIL %s: %v\n", name, err)
		return
	}
	fmt.Printf("ok %s\n", name)
}

func (c *helperChecks) exitCode() int {
	if c.failed {
		return 1
	}
	return 0
}

// orphansReaped makes orphans (a shell that exits leaving background
// sleeps) and checks they do not stay zombies.
func orphansReaped() error {
	out, err := exec.Command("sh", "-c", "for i in 1 2 3 4 5; do sleep 0.1 & echo $!; done").Output()
	if err != nil {
		return err
	}
	pids := strings.Fields(string(out))
	if len(pids) != 5 {
		return fmt.Errorf("expected 5 orphan pids, got %q", out)
	}
	for _, s := range pids {
		pid, _ := strconv.Atoi(s)
		end := time.Now().Add(10 * time.Second)
		for {
			st, err := procstat.Read(pid)
			if err != nil {
				break // gone: reaped
			}
			if st.PPid != os.Getpid() {
				return fmt.Errorf("orphan %d reparented to %d, not to this subreaper", pid, st.PPid)
			}
			if time.Now().After(end) {
				return fmt.Errorf("orphan %d still present (state %c) after 10s", pid, st.State)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	return nil
}

// ourStatusKept runs short children through Start while the reaper runs,
// each reaped only 50ms after it started, so it lies a zombie in plain
// sight of the reaper: each must still report its own exit code.
func ourStatusKept() error {
	beforeWait = func() { time.Sleep(50 * time.Millisecond) }
	defer func() { beforeWait = func() {} }()
	for i := range 10 {
		want := 1 + i%50
		p, err := Start([]string{"sh", "-c", "exit " + strconv.Itoa(want)}, Options{})
		if err != nil {
			return err
		}
		<-p.Done()
		if got := p.ExitCode(); got != want {
			return fmt.Errorf("run %d: exit code %d, want %d", i, got, want)
		}
	}
	return nil
}

// otherStatusKept runs children through plain os/exec, as client-go's exec
// credential plugins do, calling Wait a little after the child exited: the
// reaper must leave the zombie to that Wait.
func otherStatusKept() error {
	for i := range 10 {
		cmd := exec.Command("sh", "-c", "exit 5")
		if err := cmd.Start(); err != nil {
			return err
		}
		time.Sleep(50 * time.Millisecond)
		err := cmd.Wait()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 5 {
			return fmt.Errorf("run %d: %v, want exit status 5", i, err)
		}
	}
	return nil
}

func TestReaperReapsOrphansButNotOurChildren(t *testing.T) {
	cmd := helper(t, "reaper")
	out, err := cmd.Output()
	t.Logf("helper:\n%s", out)
	if err != nil {
		t.Fatalf("reaper helper: %v", err)
	}
	if n := strings.Count(string(out), "ok "); n != 4 {
		t.Fatalf("%d of 4 checks passed", n)
	}
}

func TestReapZombiesIsANoOpUnlessPID1(t *testing.T) {
	if os.Getpid() == 1 {
		t.Fatal("test binary runs as PID 1; this test checks the other case")
	}
	done := make(chan struct{})
	go func() { ReapZombies(context.Background()); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("ReapZombies kept running in a process that is not PID 1")
	}
}

// pid1Helper runs as PID 1 of a fresh pid namespace, with its own /proc, as
// the sidecar does as a container's entrypoint, and checks the exported
// ReapZombies end to end.
func pid1Helper() int {
	if os.Getpid() != 1 {
		fmt.Println("FAIL not PID 1 but", os.Getpid())
		return 1
	}
	// Private mounts, so the /proc mounted for this namespace stays here.
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		fmt.Println("FAIL making mounts private:", err)
		return 1
	}
	if err := unix.Mount("proc", "/proc", "proc", 0, ""); err != nil {
		fmt.Println("FAIL mounting /proc:", err)
		return 1
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go ReapZombies(ctx)
	var c helperChecks
	c.check("orphans are reaped by PID 1", orphansReaped())
	c.check("our child keeps its exit status", ourStatusKept())
	c.check("other os/exec children keep their exit status", otherStatusKept())
	c.check("StopAll stops every other process", everythingStopped()) // last: it kills everything
	return c.exitCode()
}

// everythingStopped leaves processes that are nobody's child but PID 1's,
// one of them ignoring SIGTERM, and checks StopAll ends them all.
func everythingStopped() error {
	// Output returns at EOF, once the first shell has set its trap and let
	// go of stdout, so SIGTERM cannot come before the trap.
	script := `setsid sh -c 'trap "" TERM; echo ready; exec >/dev/null; while :; do sleep 0.05; done' & setsid sleep 1000 >/dev/null & exit 0`
	cmd := exec.Command("sh", "-c", script)
	cmd.Stderr = os.Stderr // not a pipe Output would wait on
	if out, err := cmd.Output(); err != nil || string(out) != "ready\n" {
		return fmt.Errorf("starting the processes: %v %q", err, out)
	}
	if n := othersAlive(); n < 2 {
		return fmt.Errorf("%d other processes before StopAll, want at least 2: the case tests nothing", n)
	}
	const grace = 300 * time.Millisecond
	began := time.Now()
	if err := StopAll(context.Background(), grace, 0); err != nil {
		return err
	}
	if took := time.Since(began); took < grace {
		return fmt.Errorf("StopAll returned after %v, before the grace of the process ignoring SIGTERM ended", took)
	}
	if n := othersAlive(); n != 0 {
		return fmt.Errorf("%d processes left after StopAll", n)
	}
	return nil
}

func TestReapZombiesAsPID1(t *testing.T) {
	cmd := helper(t, "pid1")
	cmd.SysProcAttr = &unix.SysProcAttr{Cloneflags: unix.CLONE_NEWPID | unix.CLONE_NEWNS}
	out, err := cmd.Output()
	t.Logf("helper:\n%s", out)
	if err != nil {
		t.Fatalf("PID 1 helper (needs root for a pid namespace): %v", err)
	}
	if n := strings.Count(string(out), "ok "); n != 4 {
		t.Fatalf("%d of 4 checks passed", n)
	}
}
