// Package proc starts and stops the child processes of our harnesses (the
// control plane's servers, elect replicas, the watch) in one way: output to
// writers or a log file, the exit status kept, a stop that escalates to
// SIGKILL, and children that die with the harness (Pdeathsig on Linux), so
// a harness killed mid-run leaves nothing behind holding ports or Leases.
//
// Its primitives are every child's, the sidecar's too: exec mode
// (elect/child) starts its application with StartCmd, signals its group with
// SignalGroup and reads its exit with ExitStatus, and builds its stricter
// stop (the whole tree, confirmed gone) on top.
//
// It imports only the standard library: controlplane uses it too.
package proc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"strings"
	"syscall"
	"time"
)

// Options say what to start and where its output goes.
type Options struct {
	Path string
	Args []string
	// Env changes the harness's environment for the child: KEY=VALUE sets
	// KEY, a bare KEY removes it (set but empty is not unset to the sidecar:
	// an empty POD_NAME is an error). Nil inherits it unchanged.
	Env   []string
	Stdin io.Reader
	// Stdout and Stderr receive the child's output; nil discards it.
	Stdout, Stderr io.Writer
	// LogPath, if set, receives stdout and stderr, appended so that a
	// restarted replica's log follows its predecessor's. Stdout and Stderr
	// must then be nil.
	LogPath string
	// OwnGroup puts the child in a process group of its own, out of reach
	// of a ctrl+c at the terminal: the harness stops it itself, in order.
	// Linux only; elsewhere the child stays in the harness's group.
	OwnGroup bool
}

// Process is one started child.
type Process struct {
	cmd  *exec.Cmd
	done chan struct{}
	err  error // cmd.Wait's, once done is closed
}

// Start starts the child described by o.
func Start(o Options) (*Process, error) {
	if o.LogPath != "" && (o.Stdout != nil || o.Stderr != nil) {
		return nil, errors.New("starting " + o.Path + ": LogPath and Stdout/Stderr are exclusive")
	}
	cmd := exec.Command(o.Path, o.Args...)
	if o.Env != nil {
		cmd.Env = environ(o.Env)
	}
	cmd.Stdin, cmd.Stdout, cmd.Stderr = o.Stdin, o.Stdout, o.Stderr
	var logFile *os.File
	if o.LogPath != "" {
		f, err := os.OpenFile(o.LogPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			return nil, fmt.Errorf("opening the log %s: %w", o.LogPath, err)
		}
		logFile, cmd.Stdout, cmd.Stderr = f, f, f
	}
	if err := StartCmd(cmd, o.OwnGroup); err != nil {
		if logFile != nil {
			logFile.Close()
		}
		return nil, fmt.Errorf("starting %s: %w", o.Path, err)
	}
	p := &Process{cmd: cmd, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		if logFile != nil {
			logFile.Close()
		}
		close(p.done)
	}()
	return p, nil
}

// environ is the harness's environment with env applied as Options.Env
// describes.
func environ(env []string) []string {
	out := os.Environ()
	for _, e := range env {
		if !strings.Contains(e, "=") {
			out = slices.DeleteFunc(out, func(kv string) bool { return strings.HasPrefix(kv, e+"=") })
			continue
		}
		out = append(out, e) // exec keeps the last of duplicate keys
	}
	return out
}

// Pid returns the process id.
func (p *Process) Pid() int { return p.cmd.Process.Pid }

// Signal sends sig. It fails once the process has been reaped; a caller
// that may race the exit checks Exited.
func (p *Process) Signal(sig syscall.Signal) error {
	if err := p.cmd.Process.Signal(sig); err != nil {
		return fmt.Errorf("sending %v to %s (pid %d): %w", sig, p.cmd.Path, p.Pid(), err)
	}
	return nil
}

// Done is closed when the process has exited and its output is written.
func (p *Process) Done() <-chan struct{} { return p.done }

// Exited reports whether the process has exited.
func (p *Process) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Wait waits for the process to exit and returns how it ended (Err), or
// ctx's error if ctx ends first; the process then keeps running.
func (p *Process) Wait(ctx context.Context) error {
	select {
	case <-p.done:
		return p.err
	case <-ctx.Done():
		return fmt.Errorf("waiting for %s (pid %d): %w", p.cmd.Path, p.Pid(), ctx.Err())
	}
}

// Err is how the process ended, as exec.Cmd.Wait says it ("exit status
// 1", "signal: killed"); nil for exit code 0 or while it runs.
func (p *Process) Err() error {
	if !p.Exited() {
		return nil
	}
	return p.err
}

// ExitCode returns the exit code, -1 if a signal ended the process, and
// the signal (0 if none). Valid once Done is closed.
func (p *Process) ExitCode() (code int, sig syscall.Signal) {
	if !p.Exited() {
		return -1, 0
	}
	return ExitStatus(p.cmd.ProcessState)
}

// ExitStatus is how a waited-for process ended: its exit code and 0, or -1
// and the signal that ended it; -1 and 0 if ps is nil (it was not waited
// for, or its status was lost).
func ExitStatus(ps *os.ProcessState) (code int, sig syscall.Signal) {
	if ps == nil {
		return -1, 0
	}
	// syscall.WaitStatus on Unix and Windows; Plan 9 has no signals.
	if ws, ok := ps.Sys().(interface {
		Signaled() bool
		Signal() syscall.Signal
	}); ok && ws.Signaled() {
		return -1, ws.Signal()
	}
	return ps.ExitCode(), 0
}

// Stop sends sig and waits up to grace for the process to exit, then kills
// it, so a wedged child cannot hold the harness open. It returns once the
// process has exited; at once if it already had.
func (p *Process) Stop(sig syscall.Signal, grace time.Duration) {
	if p.Exited() {
		return
	}
	_ = p.cmd.Process.Signal(sig) // an error means it has just exited
	select {
	case <-p.done:
	case <-time.After(grace):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}
