package child

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/leader-elector/leader-elector/internal/procstat"
)

// pidLines reads n pids, one a line, that a child printed.
func pidLines(t *testing.T, out *lines, n int) []int {
	t.Helper()
	var pids []int
	for range n {
		pid, err := strconv.Atoi(strings.TrimSpace(out.next(t)))
		if err != nil {
			t.Fatalf("child printed no pid: %v", err)
		}
		pids = append(pids, pid)
		// If Stop misses it, do not leave it running for 1000s.
		t.Cleanup(func() { syscall.Kill(pid, syscall.SIGKILL) })
	}
	return pids
}

const pySession = `import subprocess, sys
p = subprocess.Popen(["sleep", "1000"], start_new_session=True)
print(p.pid, flush=True)
if sys.argv[1] == "wait":
    p.wait()
`

// Descendants that leave the child's process group (setsid, Python's
// start_new_session, Node's detached) were never signalled: they kept
// running after the sidecar stopped the child. Each case is tried with its
// parent still waiting and with its parent gone, so the descendant is an
// orphan that no parent chain leads to from the child.
func TestStopKillsDescendantsThatLeftTheGroup(t *testing.T) {
	tests := []struct {
		name       string
		script     string
		parentExit bool // the child itself exits before Stop
	}{
		{"setsid, shell waits", `setsid sh -c 'echo $$; exec sleep 1000' & wait`, false},
		{"setsid, shell exits", `setsid sh -c 'echo $$; exec sleep 1000' & sleep 0.1; exit 0`, true},
		{"python new session, python waits", `exec python3 -c '` + pySession + `' wait`, false},
		{"python new session, python exits", `exec python3 -c '` + pySession + `' exit`, true},
		{"setsid grandchild of a setsid child", `setsid sh -c 'setsid sh -c "echo \$\$; exec sleep 1000" & echo $$; wait' & wait`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := newLines()
			p := startSh(t, tt.script, Options{Stdout: out})
			n := 1 + strings.Count(tt.name, "grandchild")
			pids := pidLines(t, out, n)
			for _, pid := range pids {
				if !procstat.Alive(pid) {
					t.Fatalf("descendant %d not running before Stop", pid)
				}
				if st, _ := procstat.Read(pid); st.Pgrp == p.Pid() {
					t.Fatalf("descendant %d is still in the child's process group: the case tests nothing", pid)
				}
			}
			if tt.parentExit {
				waitDone(t, p)
			}
			ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
			defer cancel()
			if err := p.Stop(ctx, 10*time.Second); err != nil {
				t.Fatalf("Stop: %v", err)
			}
			for _, pid := range pids {
				if procstat.Alive(pid) {
					t.Errorf("descendant %d survived Stop", pid)
				}
			}
		})
	}
}

// A descendant that ignores SIGTERM, outside the child's group, gets SIGKILL
// once the grace is over, and Stop waits for it.
func TestStopKillsDescendantsThatIgnoreSIGTERM(t *testing.T) {
	out := newLines()
	p := startSh(t, `setsid sh -c 'trap "" TERM; echo $$; while :; do sleep 0.05; done' & wait`, Options{Stdout: out})
	pid := pidLines(t, out, 1)[0]
	const grace = 300 * time.Millisecond
	began := time.Now()
	if err := p.Stop(t.Context(), grace); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if took := time.Since(began); took < grace {
		t.Errorf("Stop returned after %v, before the %v grace ended", took, grace)
	}
	if procstat.Alive(pid) {
		t.Errorf("descendant %d ignoring SIGTERM survived Stop", pid)
	}
}

// A child that SIGKILL does not remove (in real life: stuck in uninterruptible
// I/O) must not block Stop for ever. The test makes the child unreapable by
// holding its waiter (beforeWait), which is what Stop sees of such a child:
// no reap arrives. It proves Stop's wait is bounded and reported; it cannot
// prove anything about a real D-state process, which this test cannot make.
func TestStopIsBoundedWhenTheChildIsNeverReaped(t *testing.T) {
	hold := make(chan struct{})
	beforeWait = func() { <-hold }
	const grace, killWait = 100 * time.Millisecond, 300 * time.Millisecond
	p, err := Start([]string{"sleep", "1000"}, Options{KillWait: killWait})
	if err != nil {
		beforeWait = func() {}
		t.Fatal(err)
	}
	defer func() {
		close(hold) // let the waiter reap it, now that Stop gave up
		<-p.Done()  // the waiter is past its beforeWait: restoring it cannot race
		beforeWait = func() {}
	}()
	stopped := make(chan error, 1)
	go func() { stopped <- p.Stop(context.Background(), grace) }()
	select {
	case err := <-stopped:
		if !errors.Is(err, ErrNotGone) {
			t.Fatalf("Stop of a child that is never reaped: %v, want ErrNotGone", err)
		}
		if !strings.Contains(err.Error(), strconv.Itoa(p.Pid())) {
			t.Errorf("error %q does not name the child's pid %d", err, p.Pid())
		}
	case <-time.After(grace + killWait + 30*time.Second): // slack for a loaded machine
		t.Fatal("Stop blocked on a child that is never reaped")
	}
}

// subreaperHelper runs as elect runs in exec mode: BecomeSubreaper, then
// ReapZombies, then a child. The child leaves a descendant that cleared its
// environment (so it has no marker), left the session and was orphaned
// before Stop: only the subreaper keeps it in reach.
func subreaperHelper() int {
	var c helperChecks
	if err := BecomeSubreaper(); err != nil {
		c.check("BecomeSubreaper", err)
		return c.exitCode()
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	reaping := make(chan struct{})
	go func() { ReapZombies(ctx); close(reaping) }()
	c.check("stripped orphan is stopped and reaped", strippedOrphanStopped())
	select {
	case <-reaping:
		c.check("ReapZombies runs in a subreaper", errors.New("it returned at once"))
	default:
		c.check("ReapZombies runs in a subreaper", nil)
	}
	return c.exitCode()
}

func strippedOrphanStopped() error {
	r, w, err := os.Pipe()
	if err != nil {
		return err
	}
	defer r.Close()
	p, err := Start([]string{"sh", "-c", `env -i setsid sh -c 'echo $$; exec sleep 1000' & sleep 0.2; exit 0`}, Options{Stdout: w})
	w.Close()
	if err != nil {
		return err
	}
	line, err := bufio.NewReader(r).ReadString('\n')
	if err != nil {
		return fmt.Errorf("reading the descendant's pid: %w", err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(line))
	if err != nil {
		return err
	}
	defer syscall.Kill(pid, syscall.SIGKILL)
	<-p.Done()
	st, err := procstat.Read(pid)
	switch {
	case err != nil:
		return fmt.Errorf("descendant %d gone before Stop: the case tests nothing: %w", pid, err)
	case st.PPid != os.Getpid():
		return fmt.Errorf("orphan %d reparented to %d, not to this subreaper", pid, st.PPid)
	case environHas(pid, p.marker):
		return fmt.Errorf("descendant %d still has the marker: the case tests nothing", pid)
	}
	if err := p.Stop(context.Background(), 5*time.Second); err != nil {
		return fmt.Errorf("Stop: %w", err)
	}
	for end := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if _, err := procstat.Read(pid); err != nil {
			return nil // killed and reaped: not even a zombie is left
		}
		if time.Now().After(end) {
			st, _ := procstat.Read(pid)
			return fmt.Errorf("descendant %d still present (state %c) 10s after Stop", pid, st.State)
		}
	}
}

func TestSubreaperStopsAndReapsOrphansWithoutMarker(t *testing.T) {
	cmd := helper(t, "subreaper")
	out, err := cmd.Output()
	t.Logf("helper:\n%s", out)
	if err != nil {
		t.Fatalf("subreaper helper: %v", err)
	}
	if n := strings.Count(string(out), "ok "); n != 2 {
		t.Fatalf("%d of 2 checks passed", n)
	}
}

func TestStopAllIsANoOpUnlessPID1(t *testing.T) {
	out := newLines()
	p := startSh(t, `echo ready; exec sleep 300`, Options{Stdout: out})
	out.next(t)
	if err := StopAll(t.Context(), 0, 0); err != nil {
		t.Fatal(err)
	}
	if isDone(p) {
		t.Fatal("StopAll outside PID 1 stopped a process")
	}
}

// A pid whose start time differs from the one recorded names another
// process (the pid was reused): signalMember must leave it alone.
func TestSignalMemberSparesAReusedPid(t *testing.T) {
	out := newLines()
	p := startSh(t, `echo $$; exec sleep 300`, Options{Stdout: out})
	out.next(t)
	st, err := procstat.Read(p.Pid())
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		start uint64
		dies  bool
	}{
		{"recorded start time of another process", st.Start + 1, false},
		{"its own start time", st.Start, true},
	}
	for _, tt := range tests {
		if err := signalMember(member{p.Pid(), tt.start}, syscall.SIGKILL); err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		select {
		case <-p.Done():
			if !tt.dies {
				t.Fatalf("%s: the process was killed", tt.name)
			}
		case <-time.After(500 * time.Millisecond): // a slow machine can only hide a wrong kill here, not fake one
			if tt.dies {
				waitDone(t, p)
			}
		}
	}
}
