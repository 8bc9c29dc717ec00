// Package e2e runs the real leader-elector binary as processes against the
// real control plane, as users run it. TestMain builds the binary once and
// starts one control plane for every test here.
package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/leader-elector/leader-elector/internal/controlplane"
	"github.com/leader-elector/leader-elector/internal/proc"
	"github.com/leader-elector/leader-elector/internal/replica"
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
	if err := replica.Build(context.Background(), replica.BuildOptions{Package: "./cmd/leader-elector", Out: binPath}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := controlplane.Main(m, &cp)
	os.RemoveAll(dir)
	os.Exit(code)
}

// testProc is a process a test started, with its output kept apart:
// stdout and stderr, read while it runs.
type testProc struct {
	*proc.Process
	t              testing.TB
	stdout, stderr proc.Buffer
}

// startBinary starts the binary with args and extra env (KEY=VALUE, or a
// bare KEY to remove it); it is killed when the test ends if still running.
func startBinary(t testing.TB, env []string, args ...string) *testProc {
	t.Helper()
	return startProgram(t, binPath, env, args...)
}

// startProgram is startBinary for another program (bench/baseline) or for
// the binary under another path (a link named kubectl-leases, as krew
// installs it).
func startProgram(t testing.TB, path string, env []string, args ...string) *testProc {
	t.Helper()
	p := &testProc{t: t}
	var err error
	p.Process, err = proc.Start(proc.Options{Path: path, Args: args, Env: env, Stdout: &p.stdout, Stderr: &p.stderr})
	if err != nil {
		t.Fatalf("starting %v: %v", args, err)
	}
	t.Cleanup(func() {
		if !p.Exited() {
			_ = p.Process.Signal(syscall.SIGCONT) // in case a test left it stopped
			p.Stop(syscall.SIGKILL, 0)
		}
		if t.Failed() {
			t.Logf("%s %s stderr:\n%s", filepath.Base(path), strings.Join(args, " "), p.stderr.String())
		}
	})
	return p
}

// Signal sends sig to the process; it fails the test unless the process
// had already exited.
func (p *testProc) Signal(sig syscall.Signal) {
	p.t.Helper()
	if err := p.Process.Signal(sig); err != nil && !p.Exited() {
		p.t.Fatal(err)
	}
}

func (p *testProc) exited() bool { return p.Exited() }

// code is the exit code once the process has exited; -1 if a signal ended it.
func (p *testProc) code() int {
	c, _ := p.ExitCode()
	return c
}

// Wait waits up to timeout for the process to exit and returns its exit
// code; it fails the test on timeout.
func (p *testProc) Wait(timeout time.Duration) int {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	_ = p.Process.Wait(ctx) // how it ended is in its exit code
	if !p.Exited() {
		p.t.Fatalf("leader-elector (pid %d) still running after %s; stderr:\n%s", p.Pid(), timeout, p.stderr.String())
		return -1
	}
	return p.code()
}

// Stdout and Stderr return what the process printed so far.
func (p *testProc) Stdout() string { return p.stdout.String() }
func (p *testProc) Stderr() string { return p.stderr.String() }

// runBinary runs the binary to completion (or timeout) and returns its
// output and exit code.
func runBinary(t testing.TB, timeout time.Duration, env []string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var o, e proc.Buffer
	p, err := proc.Start(proc.Options{Path: binPath, Args: args, Env: env, Stdout: &o, Stderr: &e})
	if err != nil {
		t.Fatalf("running leader-elector: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	_ = p.Wait(ctx) // how it ended is in its exit code
	if !p.Exited() {
		p.Stop(syscall.SIGKILL, 0)
		t.Fatalf("leader-elector %s did not exit within %s; stderr:\n%s", strings.Join(args, " "), timeout, e.String())
	}
	code, _ = p.ExitCode()
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
