package child

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	clocktesting "k8s.io/utils/clock/testing"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/leader-elector/leader-elector/internal/procstat"
)

// lines is an io.Writer (not a file, so os/exec copies through a pipe) that
// hands each complete line to a channel.
type lines struct {
	mu  sync.Mutex
	buf bytes.Buffer
	ch  chan string
}

func newLines() *lines { return &lines{ch: make(chan string, 100)} }

func (l *lines) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf.Write(p)
	for {
		line, err := l.buf.ReadString('\n')
		if err != nil {
			l.buf.WriteString(line) // incomplete: keep for the next Write
			return len(p), nil
		}
		l.ch <- strings.TrimSuffix(line, "\n")
	}
}

func (l *lines) next(t *testing.T) string {
	t.Helper()
	select {
	case s := <-l.ch:
		return s
	case <-time.After(10 * time.Second):
		t.Fatal("no output line from the child within 10s")
		return ""
	}
}

func waitDead(t *testing.T, pid int, within time.Duration) {
	t.Helper()
	for end := time.Now().Add(within); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
		if !procstat.Alive(pid) {
			return
		}
	}
	t.Fatalf("process %d still alive after %v", pid, within)
}

func startSh(t *testing.T, script string, opts Options) *Process {
	t.Helper()
	p, err := Start([]string{"sh", "-c", script}, opts)
	if err != nil {
		t.Fatalf("starting %q: %v", script, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		p.Stop(ctx, 0)
	})
	return p
}

func waitDone(t *testing.T, p *Process) {
	t.Helper()
	select {
	case <-p.Done():
	case <-time.After(10 * time.Second):
		t.Fatalf("child %d did not exit within 10s", p.Pid())
	}
}

func TestExitCodes(t *testing.T) {
	tests := []struct {
		script string
		want   int
	}{
		{"exit 0", 0},
		{"exit 7", 7},
		{"exit 255", 255},
		{"kill -KILL $$", 137},
		{"kill -TERM $$", 143},
		{"kill -INT $$", 130},
	}
	for _, tt := range tests {
		t.Run(tt.script, func(t *testing.T) {
			p := startSh(t, tt.script, Options{})
			if got := p.ExitCode(); got != -1 && !isDone(p) {
				t.Errorf("ExitCode %d while running, want -1", got)
			}
			waitDone(t, p)
			if got := p.ExitCode(); got != tt.want {
				t.Errorf("sh -c %q: exit code %d, want %d", tt.script, got, tt.want)
			}
		})
	}
}

func isDone(p *Process) bool {
	select {
	case <-p.Done():
		return true
	default:
		return false
	}
}

func TestChildIsGroupLeaderWithEnvAndOutput(t *testing.T) {
	out := newLines()
	p := startSh(t, `echo "$GREETING"; exec sleep 300`, Options{Stdout: out, Env: []string{"GREETING=hello", "PATH=" + os.Getenv("PATH")}})
	if got := out.next(t); got != "hello" {
		t.Errorf("child printed %q, want its Env's GREETING", got)
	}
	st, err := procstat.Read(p.Pid())
	if err != nil {
		t.Fatal(err)
	}
	if st.Pgrp != p.Pid() {
		t.Errorf("child's process group %d, want its own pid %d", st.Pgrp, p.Pid())
	}
	if st.PPid != os.Getpid() {
		t.Errorf("child's parent %d, want this process %d", st.PPid, os.Getpid())
	}
}

func TestStopKillsTheWholeGroup(t *testing.T) {
	out := newLines()
	p := startSh(t, `sleep 300 & echo $!; wait`, Options{Stdout: out})
	grandchild, err := strconv.Atoi(out.next(t))
	if err != nil {
		t.Fatal(err)
	}
	if !procstat.Alive(grandchild) {
		t.Fatalf("grandchild %d not running before Stop", grandchild)
	}
	if err := p.Stop(t.Context(), 10*time.Second); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if !isDone(p) {
		t.Fatal("Stop returned before the child was reaped")
	}
	if procstat.Alive(grandchild) {
		t.Errorf("grandchild sleep %d survived Stop", grandchild)
	}
	if got := p.ExitCode(); got != 143 {
		t.Errorf("exit code %d, want 143 (SIGTERM)", got)
	}
}

func TestStopEscalatesToSIGKILLAfterGrace(t *testing.T) {
	out := newLines()
	// trap "" makes TERM ignored, which sleep inherits too.
	p := startSh(t, `trap "" TERM; echo ready; while :; do sleep 0.05; done`, Options{Stdout: out})
	out.next(t)
	const grace = 300 * time.Millisecond
	began := time.Now()
	if err := p.Stop(t.Context(), grace); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if took := time.Since(began); took < grace {
		t.Errorf("Stop returned after %v, before the %v grace ended", took, grace)
	}
	if got := p.ExitCode(); got != 137 {
		t.Errorf("exit code %d, want 137 (SIGKILL)", got)
	}
}

// A wrapper shell dies on SIGTERM at once; the app it started needs a moment
// to shut down cleanly. Stop must give the app its grace too, not SIGKILL it
// as soon as the wrapper is gone.
func TestStopGivesTheWholeGroupItsGrace(t *testing.T) {
	marker := filepath.Join(t.TempDir(), "clean-exit")
	out := newLines()
	// The app lets go of the output pipe, so the wrapper's exit alone
	// completes the child's Wait while the app still runs.
	app := `trap 'sleep 0.3; echo clean > "$MARKER"; exit 0' TERM; echo ready; exec >/dev/null 2>&1; while :; do sleep 0.05 & wait $!; done`
	p := startSh(t, `sh -c '`+strings.ReplaceAll(app, `'`, `'\''`)+`' & wait`,
		Options{Stdout: out, Env: []string{"MARKER=" + marker, "PATH=" + os.Getenv("PATH")}})
	out.next(t)
	if err := p.Stop(t.Context(), 10*time.Second); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	b, err := os.ReadFile(marker)
	if err != nil || string(b) != "clean\n" {
		t.Fatalf("the app did not finish its TERM handler before Stop returned: %v %q", err, b)
	}
}

// Once the child is gone, Stop looks at the rest of its group on each poll
// tick, rather than spinning on the closed Done channel: with a fake clock
// that never ticks, Stop must not notice that the group emptied.
func TestStopPollsTheGroupOnTicks(t *testing.T) {
	clk := clocktesting.NewFakeClock(time.Now())
	out := newLines()
	app := `trap 'sleep 0.2; exit 0' TERM; echo $$; exec >/dev/null 2>&1; while :; do sleep 0.05 & wait $!; done`
	p := startSh(t, `sh -c '`+strings.ReplaceAll(app, `'`, `'\''`)+`' & exit 0`, Options{Stdout: out, Clock: clk})
	app1, err := strconv.Atoi(out.next(t))
	if err != nil {
		t.Fatal(err)
	}
	waitDone(t, p)
	stopped := make(chan error, 1)
	go func() { stopped <- p.Stop(t.Context(), time.Hour) }()
	waitDead(t, app1, 10*time.Second)
	for end := time.Now().Add(10 * time.Second); groupAlive(p.Pid()); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(end) {
			t.Fatal("the group did not empty after SIGTERM")
		}
	}
	select {
	case err := <-stopped:
		t.Fatalf("Stop returned (%v) without a poll tick: it spins on the exited child", err)
	case <-time.After(200 * time.Millisecond):
	}
	clk.Step(groupPoll)
	select {
	case err := <-stopped:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Stop did not return on the poll tick after the group emptied")
	}
}

func TestStopAfterExitReturnsAtOnce(t *testing.T) {
	p := startSh(t, "exit 3", Options{})
	waitDone(t, p)
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	if err := p.Stop(ctx, time.Hour); err != nil {
		t.Fatalf("Stop of an exited child: %v", err)
	}
	if got := p.ExitCode(); got != 3 {
		t.Errorf("exit code %d, want 3", got)
	}
	if !p.groupGone.Load() {
		t.Error("the empty process group is not marked gone: a later Stop could signal a stranger that reused the pid")
	}
}

func TestStopHonoursContext(t *testing.T) {
	out := newLines()
	p := startSh(t, `trap "" TERM; echo ready; while :; do sleep 0.05; done`, Options{Stdout: out})
	out.next(t)
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	err := p.Stop(ctx, time.Hour)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Stop with a short context: %v, want DeadlineExceeded", err)
	}
	waitDone(t, p)
	if got := p.ExitCode(); got != 137 {
		t.Errorf("exit code %d, want 137: an interrupted Stop must still kill", got)
	}
}

func TestStartAndValidateErrors(t *testing.T) {
	tests := []struct {
		argv     []string
		startErr string // "" = Start succeeds
		validate string // "" = Validate passes
	}{
		{nil, "empty command", "no command given after --"},
		{[]string{"/nonexistent/app"}, "starting /nonexistent/app: ", `cannot run "/nonexistent/app": `},
		{[]string{"no-such-command-on-path"}, "starting no-such-command-on-path: ", `cannot run "no-such-command-on-path": executable file not found in $PATH`},
		{[]string{"sh", "-c", "exit 0"}, "", ""},
	}
	for _, tt := range tests {
		err := Validate(tt.argv)
		switch {
		case tt.validate == "" && err != nil:
			t.Errorf("Validate(%q): %v", tt.argv, err)
		case tt.validate != "":
			var coded interface{ ExitCode() int }
			if err == nil || !strings.Contains(err.Error(), tt.validate) || !errors.As(err, &coded) || coded.ExitCode() != 2 {
				t.Errorf("Validate(%q) = %v, want an exit-2 error containing %q", tt.argv, err, tt.validate)
			}
		}
		p, err := Start(tt.argv, Options{})
		switch {
		case tt.startErr == "" && err != nil:
			t.Errorf("Start(%q): %v", tt.argv, err)
		case tt.startErr == "":
			waitDone(t, p)
		case err == nil || !strings.Contains(err.Error(), tt.startErr):
			t.Errorf("Start(%q) = %v, want an error containing %q", tt.argv, err, tt.startErr)
		}
	}
}

const helperEnv = "CHILD_TEST_HELPER"

// TestMain doubles as the helper processes that tests re-execute: a process
// the test can SIGKILL (Pdeathsig) or turn into a subreaper (ReapZombies).
func TestMain(m *testing.M) {
	switch os.Getenv(helperEnv) {
	case "":
		os.Exit(m.Run())
	case "pdeathsig":
		p, err := Start([]string{"sleep", "300"}, Options{})
		if err != nil {
			os.Stderr.WriteString(err.Error() + "\n")
			os.Exit(1)
		}
		os.Stdout.WriteString(strconv.Itoa(p.Pid()) + "\n")
		select {} // until the test kills us
	case "reaper":
		os.Exit(reaperHelper())
	case "pid1":
		os.Exit(pid1Helper())
	case "subreaper":
		os.Exit(subreaperHelper())
	}
}

func helper(t *testing.T, mode string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), helperEnv+"="+mode)
	cmd.Stderr = os.Stderr
	return cmd
}

func TestChildDiesWithTheSidecar(t *testing.T) {
	cmd := helper(t, "pdeathsig")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		cmd.Process.Kill()
		t.Fatalf("helper printed no child pid: %v", err)
	}
	child, err := strconv.Atoi(strings.TrimSpace(line))
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Kill(child, syscall.SIGKILL) // if Pdeathsig failed, do not leak it
	if !procstat.Alive(child) {
		t.Fatalf("child %d not running while the helper lives", child)
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	waitDead(t, child, 10*time.Second)
}
