package proc

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/leader-elector/leader-elector/internal/procstat"
)

// The tests start this test binary again as the child: with helperEnv set,
// TestMain runs the helper named by its first argument instead of tests.
const helperEnv = "PROC_TEST_HELPER"

func TestMain(m *testing.M) {
	if os.Getenv(helperEnv) != "" {
		helper(os.Args[1:])
		return
	}
	os.Exit(m.Run())
}

// helper is the child's side:
//
//	exit N        print "out" on stdout, "err" on stderr, exit N
//	env K...      print K=value (or K unset) for each K
//	term          print "ready", exit 0 on SIGTERM
//	ignore-term   print "ready", ignore SIGTERM
//	parent        start a "sleep" child, print its pid, sleep
//	sleep         sleep
func helper(args []string) {
	switch args[0] {
	case "exit":
		fmt.Println("out")
		fmt.Fprintln(os.Stderr, "err")
		code, _ := strconv.Atoi(args[1])
		os.Exit(code)
	case "env":
		for _, k := range args[1:] {
			if v, ok := os.LookupEnv(k); ok {
				fmt.Printf("%s=%s\n", k, v)
			} else {
				fmt.Printf("%s unset\n", k)
			}
		}
	case "term", "ignore-term":
		c := make(chan os.Signal, 1)
		signal.Notify(c, syscall.SIGTERM)
		fmt.Println("ready")
		for range c {
			if args[0] == "term" {
				os.Exit(0)
			}
		}
	case "parent":
		p, err := Start(helperOptions("sleep"))
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		fmt.Println(p.Pid())
		time.Sleep(time.Hour)
	case "sleep":
		time.Sleep(time.Hour)
	}
}

// helperOptions starts the helper with args.
func helperOptions(args ...string) Options {
	return Options{Path: os.Args[0], Args: args, Env: []string{helperEnv + "=1"}}
}

// start starts the helper and kills it when the test ends.
func start(t *testing.T, o Options) *Process {
	t.Helper()
	p, err := Start(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Stop(syscall.SIGKILL, 0) })
	return p
}

func wait(t *testing.T, p *Process) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := p.Wait(ctx); errors.Is(err, context.DeadlineExceeded) {
		t.Fatal(err)
	}
}

// waitOutput waits until b holds want.
func waitOutput(t *testing.T, b *Buffer, want string) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !strings.Contains(b.String(), want); {
		if time.Now().After(deadline) {
			t.Fatalf("no %q in the child's output %q", want, b.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestExitStatus(t *testing.T) {
	for _, tc := range []struct {
		name    string
		args    []string
		code    int
		sig     syscall.Signal // sent to the process, and how it ends
		wantErr string
	}{
		{name: "exit 0", args: []string{"exit", "0"}, code: 0},
		{name: "exit 3", args: []string{"exit", "3"}, code: 3, wantErr: "exit status 3"},
		{name: "killed", args: []string{"sleep"}, code: -1, sig: syscall.SIGKILL, wantErr: "signal: killed"},
		{name: "terminated", args: []string{"sleep"}, code: -1, sig: syscall.SIGTERM, wantErr: "signal: terminated"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := start(t, helperOptions(tc.args...))
			if tc.sig != 0 {
				if err := p.Signal(tc.sig); err != nil {
					t.Fatal(err)
				}
			}
			wait(t, p)
			if !p.Exited() {
				t.Errorf("Exited() = false after Wait")
			}
			if code, sig := p.ExitCode(); code != tc.code || sig != tc.sig {
				t.Errorf("ExitCode() = %d, %v; want %d, %v", code, sig, tc.code, tc.sig)
			}
			if got := fmt.Sprint(p.Err()); (tc.wantErr == "" && p.Err() != nil) || (tc.wantErr != "" && got != tc.wantErr) {
				t.Errorf("Err() = %v, want %q", p.Err(), tc.wantErr)
			}
			if err := p.Signal(syscall.SIGTERM); err == nil {
				t.Errorf("signalling an ended process: no error")
			}
		})
	}
	if code, sig := ExitStatus(nil); code != -1 || sig != 0 {
		t.Errorf("ExitStatus(nil) = %d, %v; want -1, 0", code, sig)
	}
}

func TestOutputToWriters(t *testing.T) {
	var stdout, stderr Buffer
	o := helperOptions("exit", "0")
	o.Stdout, o.Stderr = &stdout, &stderr
	wait(t, start(t, o))
	if stdout.String() != "out\n" || stderr.String() != "err\n" {
		t.Errorf("stdout %q, stderr %q; want \"out\\n\", \"err\\n\"", stdout.String(), stderr.String())
	}
}

// A restarted replica appends to its predecessor's log.
func TestOutputToLogFile(t *testing.T) {
	o := helperOptions("exit", "0")
	o.LogPath = filepath.Join(t.TempDir(), "log")
	for range 2 {
		wait(t, start(t, o))
	}
	b, err := os.ReadFile(o.LogPath)
	if err != nil {
		t.Fatal(err)
	}
	// Both streams, twice; their order within one run is the child's.
	if n := strings.Count(string(b), "out\n"); n != 2 {
		t.Errorf("log holds %d stdout lines, want 2:\n%s", n, b)
	}
	if n := strings.Count(string(b), "err\n"); n != 2 {
		t.Errorf("log holds %d stderr lines, want 2:\n%s", n, b)
	}
	if got := TailFile(o.LogPath, 1); got != "err" && got != "out" {
		t.Errorf("TailFile(log, 1) = %q, want its last line", got)
	}
}

func TestLogPathExcludesWriters(t *testing.T) {
	o := helperOptions("exit", "0")
	o.LogPath, o.Stdout = filepath.Join(t.TempDir(), "log"), &Buffer{}
	if p, err := Start(o); err == nil {
		p.Stop(syscall.SIGKILL, 0)
		t.Fatal("Start took both LogPath and Stdout")
	}
}

func TestEnv(t *testing.T) {
	t.Setenv("PROC_TEST_KEPT", "k")
	t.Setenv("PROC_TEST_REMOVED", "r")
	var out Buffer
	o := helperOptions("env", "PROC_TEST_KEPT", "PROC_TEST_REMOVED", "PROC_TEST_SET")
	o.Env = append(o.Env, "PROC_TEST_REMOVED", "PROC_TEST_SET=s")
	o.Stdout = &out
	wait(t, start(t, o))
	want := "PROC_TEST_KEPT=k\nPROC_TEST_REMOVED unset\nPROC_TEST_SET=s\n"
	if out.String() != want {
		t.Errorf("child's environment:\n%s\nwant:\n%s", out.String(), want)
	}
}

func TestStop(t *testing.T) {
	for _, tc := range []struct {
		helper   string
		grace    time.Duration
		code     int
		sig      syscall.Signal
		minTaken time.Duration // a kill comes only after the grace
	}{
		{helper: "term", grace: 10 * time.Second, code: 0},
		{helper: "ignore-term", grace: 300 * time.Millisecond, code: -1, sig: syscall.SIGKILL, minTaken: 300 * time.Millisecond},
	} {
		t.Run(tc.helper, func(t *testing.T) {
			var out Buffer
			o := helperOptions(tc.helper)
			o.Stdout = &out
			p := start(t, o)
			waitOutput(t, &out, "ready") // its handler is set up
			began := time.Now()
			p.Stop(syscall.SIGTERM, tc.grace)
			took := time.Since(began)
			if !p.Exited() {
				t.Fatal("Stop returned before the process exited")
			}
			if code, sig := p.ExitCode(); code != tc.code || sig != tc.sig {
				t.Errorf("ExitCode() = %d, %v; want %d, %v", code, sig, tc.code, tc.sig)
			}
			if took < tc.minTaken {
				t.Errorf("Stop took %v, less than the grace %v", took, tc.minTaken)
			}
			p.Stop(syscall.SIGTERM, tc.grace) // a second Stop returns at once
		})
	}
}

func TestWaitEndsWithContext(t *testing.T) {
	p := start(t, helperOptions("sleep"))
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := p.Wait(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Wait = %v, want the context's deadline", err)
	}
	if p.Exited() {
		t.Errorf("the process ended with the wait; it should keep running")
	}
}

func TestOwnGroup(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("process groups are set on Linux only")
	}
	for _, own := range []bool{false, true} {
		t.Run(fmt.Sprintf("OwnGroup=%v", own), func(t *testing.T) {
			o := helperOptions("sleep")
			o.OwnGroup = own
			p := start(t, o)
			pgid, err := syscall.Getpgid(p.Pid())
			if err != nil {
				t.Fatal(err)
			}
			if want := map[bool]int{false: syscall.Getpgrp(), true: p.Pid()}[own]; pgid != want {
				t.Errorf("child's process group %d, want %d", pgid, want)
			}
		})
	}
}

// SignalGroup reaches every member of a group, the leader's own children
// too, and an ended group is no error.
func TestSignalGroup(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("process groups are set on Linux only")
	}
	for _, tc := range []struct {
		name    string
		members bool // the group runs: the helper "parent" and its child
	}{
		{name: "running group", members: true},
		{name: "ended group"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out Buffer
			o := helperOptions("parent")
			o.Stdout, o.OwnGroup = &out, true
			leader := start(t, o)
			waitOutput(t, &out, "\n")
			child, err := strconv.Atoi(strings.TrimSpace(out.String()))
			if err != nil {
				t.Fatalf("the parent printed %q, want its child's pid", out.String())
			}
			t.Cleanup(func() { syscall.Kill(child, syscall.SIGKILL) })
			if !tc.members {
				syscall.Kill(child, syscall.SIGKILL)
				leader.Stop(syscall.SIGKILL, 0)
				waitGone(t, child)
			}
			if err := SignalGroup(leader.Pid(), syscall.SIGKILL); err != nil {
				t.Errorf("SignalGroup(%d, SIGKILL) = %v, want nil", leader.Pid(), err)
			}
			wait(t, leader)
			if _, sig := leader.ExitCode(); sig != syscall.SIGKILL {
				t.Errorf("the group's leader ended by signal %v, want SIGKILL", sig)
			}
			waitGone(t, child)
		})
	}
}

// Pdeathsig fires when the forking *thread* exits. A goroutine that locks
// its thread and exits makes the runtime end that thread; a child forked
// there by a plain cmd.Start would be SIGKILLed at that moment. (The runtime
// never ends the main thread, so the test starts from several goroutines:
// at most one of them can be on the main thread.)
func TestChildOutlivesTheThreadThatStartedIt(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("Pdeathsig is Linux only")
	}
	const n = 4
	started := make(chan *Process, n)
	for range n {
		go func() {
			runtime.LockOSThread() // never unlocked: the runtime ends this thread when we return
			p, err := Start(helperOptions("sleep"))
			if err != nil {
				t.Error(err)
			}
			started <- p
		}()
	}
	var ps []*Process
	for range n {
		if p := <-started; p != nil {
			ps = append(ps, p)
			t.Cleanup(func() { p.Stop(syscall.SIGKILL, 0) })
		}
	}
	if len(ps) != n {
		t.FailNow()
	}
	// The threads exit right after their goroutines return; a Pdeathsig
	// tied to one would have been delivered within this time.
	time.Sleep(300 * time.Millisecond)
	for _, p := range ps {
		if p.Exited() {
			t.Errorf("child %d ended (%v) when the thread that started it exited", p.Pid(), p.Err())
		}
	}
}

// A harness killed with SIGKILL runs no clean-up; its children must die
// anyway. The helper "parent" plays the harness.
func TestChildDiesWithHarness(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("Pdeathsig is Linux only")
	}
	var out Buffer
	o := helperOptions("parent")
	o.Stdout = &out
	parent := start(t, o)
	waitOutput(t, &out, "\n")
	child, err := strconv.Atoi(strings.TrimSpace(out.String()))
	if err != nil {
		t.Fatalf("the parent printed %q, want its child's pid", out.String())
	}
	if !procstat.Alive(child) {
		t.Fatalf("the child %d is not running before the parent dies", child)
	}
	parent.Stop(syscall.SIGKILL, 0)
	for deadline := time.Now().Add(10 * time.Second); procstat.Alive(child); {
		if time.Now().After(deadline) {
			syscall.Kill(child, syscall.SIGKILL)
			t.Fatalf("the child %d still runs 10s after its parent was killed", child)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// waitGone waits until pid no longer runs.
func waitGone(t *testing.T, pid int) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); procstat.Alive(pid); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("process %d still runs after 10s", pid)
		}
	}
}

func TestTail(t *testing.T) {
	for _, tc := range []struct {
		text string
		n    int
		want string
	}{
		{"a\nb\nc\n", 2, "b\nc"},
		{"a\nb", 5, "a\nb"},
		{"", 3, ""},
	} {
		if got := Tail(tc.text, tc.n); got != tc.want {
			t.Errorf("Tail(%q, %d) = %q, want %q", tc.text, tc.n, got, tc.want)
		}
	}
}
