// Package e2e runs the real leader-elector binary as processes against the
// real control plane, as users run it. TestMain builds the binary once and
// starts one control plane for every test here.
package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/leader-elector/leader-elector/controlplane"
)

var (
	cp      *controlplane.ControlPlane
	binPath string // the built leader-elector binary
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "leader-elector-e2e-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binPath = filepath.Join(dir, "leader-elector")
	build := exec.Command("go", "build", "-o", binPath, "../cmd/leader-elector")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintf(os.Stderr, "building leader-elector: %v\n", err)
		os.Exit(1)
	}
	code := controlplane.Main(m, &cp)
	os.RemoveAll(dir)
	os.Exit(code)
}

// proc is a running leader-elector process.
type proc struct {
	t      testing.TB
	cmd    *exec.Cmd
	stdout *syncBuffer
	stderr *syncBuffer
	done   chan struct{}
	code   int // valid after done; -1 if killed by a signal
	signal syscall.Signal
}

// environ is the test's environment with env applied: KEY=VALUE sets KEY, a
// bare KEY removes it (set but empty is not the same as unset to the
// sidecar: an empty POD_NAME is an error).
func environ(env []string) []string {
	out := os.Environ()
	for _, e := range env {
		if !strings.Contains(e, "=") {
			out = slices.DeleteFunc(out, func(kv string) bool { return strings.HasPrefix(kv, e+"=") })
			continue
		}
		out = append(out, e)
	}
	return out
}

// startBinary starts the binary with args and extra env (KEY=VALUE, or a
// bare KEY to remove it); it is
// killed when the test ends if still running.
func startBinary(t testing.TB, env []string, args ...string) *proc {
	t.Helper()
	return startProgram(t, binPath, env, args...)
}

// startProgram is startBinary for another program (bench/baseline) or for
// the binary under another path (a link named kubectl-leases, as krew
// installs it).
func startProgram(t testing.TB, path string, env []string, args ...string) *proc {
	t.Helper()
	cmd := exec.Command(path, args...)
	cmd.Env = environ(env)
	p := &proc{t: t, cmd: cmd, stdout: &syncBuffer{}, stderr: &syncBuffer{}, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = p.stdout, p.stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %v: %v", args, err)
	}
	go func() {
		err := cmd.Wait()
		p.code = 0
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			p.code = ee.ExitCode()
			if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
				p.signal = ws.Signal()
			}
		}
		close(p.done)
	}()
	t.Cleanup(func() {
		if !p.exited() {
			_ = cmd.Process.Signal(syscall.SIGCONT) // in case a test left it stopped
			_ = cmd.Process.Kill()
			<-p.done
		}
		if t.Failed() {
			t.Logf("%s %s stderr:\n%s", filepath.Base(path), strings.Join(args, " "), p.stderr.String())
		}
	})
	return p
}

// Pid returns the process id.
func (p *proc) Pid() int { return p.cmd.Process.Pid }

// Signal sends sig to the process.
func (p *proc) Signal(sig syscall.Signal) {
	p.t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil && !p.exited() {
		p.t.Fatalf("sending %v to %d: %v", sig, p.Pid(), err)
	}
}

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Wait waits up to timeout for the process to exit and returns its exit
// code; it fails the test on timeout.
func (p *proc) Wait(timeout time.Duration) int {
	p.t.Helper()
	select {
	case <-p.done:
		return p.code
	case <-time.After(timeout):
		p.t.Fatalf("leader-elector (pid %d) still running after %s; stderr:\n%s", p.Pid(), timeout, p.stderr.String())
		return -1
	}
}

// Done is closed when the process has exited.
func (p *proc) Done() <-chan struct{} { return p.done }

// Stdout and Stderr return what the process printed so far.
func (p *proc) Stdout() string { return p.stdout.String() }
func (p *proc) Stderr() string { return p.stderr.String() }

// runBinary runs the binary to completion (or timeout) and returns its
// output and exit code.
func runBinary(t testing.TB, timeout time.Duration, env []string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, binPath, args...)
	cmd.Env = environ(env)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("leader-elector %s did not exit within %s; stderr:\n%s", strings.Join(args, " "), timeout, e.String())
	}
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		code = ee.ExitCode()
	case err != nil:
		t.Fatalf("running leader-elector: %v", err)
	}
	return o.String(), e.String(), code
}

// waitFor polls cond every 20ms until it holds or timeout passes.
func waitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// syncBuffer is a bytes.Buffer safe for a process writing while a test reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
