// Package child runs exec mode's application: one process, and everything it
// starts, run while this replica leads and stopped, SIGTERM then SIGKILL
// after a grace, when it stops leading.
//
// On Linux, Stop reaches the child's whole tree, not just its process group:
// descendants that called setsid (Python's start_new_session, Node's
// detached) and orphans whose parent already exited are found in /proc and
// signalled too (see Process.remaining in tree_linux.go). With
// BecomeSubreaper, orphans are reparented to the sidecar, which keeps them in
// reach and reaps them (ReapZombies). The child gets SIGKILL if the sidecar
// dies (Pdeathsig); its descendants do not, which is why the sidecar stops
// the tree itself at exit. Stop's wait is bounded: a process that even
// SIGKILL does not remove (stuck in uninterruptible I/O) makes Stop return
// ErrNotGone rather than block for ever.
//
// On other systems the child is a plain process: Stop signals only that
// process (on Windows it can only be killed) and nothing kills it if the
// sidecar dies, which is why exec mode is documented as Linux-only.
package child

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/leader-elector/leader-elector/internal/exitcode"
	"github.com/leader-elector/leader-elector/internal/proc"
	"k8s.io/utils/clock"
)

// Options configures a child process. Every field is optional.
type Options struct {
	// Stdout and Stderr receive the child's output; nil means the sidecar's
	// own stdout and stderr (the container's log, with no copying goroutine).
	// Any other writer is fed through a pipe, and then Done may close up to
	// pipeDrain after the child exited if something it started still holds
	// the pipe: exec mode's deadline arithmetic assumes nil or *os.File.
	Stdout, Stderr io.Writer
	// Env is the child's environment; nil means the sidecar's environment.
	Env []string
	// Logger gets a line when the child starts, is signalled and exits.
	Logger *slog.Logger
	// Clock times Stop's grace; nil means the real clock.
	Clock clock.WithTicker
	// KillWait bounds how long Stop waits, after SIGKILL, for the child to
	// be reaped and its descendants to be gone; 0 means DefaultKillWait.
	KillWait time.Duration
}

// DefaultKillWait is how long Stop waits after SIGKILL before it reports
// ErrNotGone. SIGKILL cannot be caught, so a process that is still there
// after this long is stuck in the kernel (uninterruptible I/O, a hung NFS
// mount) and may stay so for ever.
const DefaultKillWait = 2 * time.Second

// MarkerEnv names the environment variable Start adds to the child's
// environment, with a value unique to that child. Descendants inherit it,
// so Stop recognises an orphaned descendant by it even after it left the
// child's process group and its parent died.
const MarkerEnv = "LEADER_ELECTOR_CHILD_ID"

// ErrNotGone means Stop gave up: after SIGKILL and the kill wait, the child
// was not reaped or a descendant was still alive. The process may still act,
// so the caller must not behave as if the application had stopped (elect
// then lets its Lease expire instead of releasing it early).
var ErrNotGone = errors.New("child process tree not confirmed gone")

// pipeDrain is how long Wait keeps copying output after the child exited
// when Stdout/Stderr are not files and a grandchild still holds the pipe:
// without a bound, a daemonised grandchild would keep the child "running".
const pipeDrain = 2 * time.Second

// Process is a started child. Its methods are safe for concurrent use.
type Process struct {
	cmd      *exec.Cmd
	log      *slog.Logger
	clock    clock.WithTicker
	killWait time.Duration
	marker   string // MarkerEnv=value, as found in the child's environment
	pid      int
	done     chan struct{}
	code     int // valid once done is closed
	fam      family

	// groupGone is set once the child is reaped and its process group was
	// seen empty. An empty group cannot be joined again, so after that a
	// group with this id can only be a stranger's (the pid reused by a new
	// group leader) and must never be signalled.
	groupGone atomic.Bool
}

// Validate checks that argv names a command that can be found, so a typo
// fails at start (exit 2) rather than when this replica first leads.
func Validate(argv []string) error {
	if len(argv) == 0 {
		return exitcode.Configf("no command given after --; pass the application to run while leading, e.g. -- /app/server")
	}
	if _, err := exec.LookPath(argv[0]); err != nil {
		return exitcode.Configf("cannot run %q: %w; pass an absolute path or a command on PATH after --", argv[0], unwrapExec(err))
	}
	return nil
}

func unwrapExec(err error) error {
	var ee *exec.Error
	if errors.As(err, &ee) {
		return ee.Err
	}
	return err
}

// Start starts argv[0] with the arguments argv[1:]. The child inherits no
// stdin. See the package comment for what differs outside Linux.
func Start(argv []string, opts Options) (*Process, error) {
	if len(argv) == 0 {
		return nil, errors.New("starting child: empty command")
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Clock == nil {
		opts.Clock = clock.RealClock{}
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdout, cmd.Stderr = opts.Stdout, opts.Stderr
	if cmd.Stdout == nil {
		cmd.Stdout = os.Stdout
	}
	if cmd.Stderr == nil {
		cmd.Stderr = os.Stderr
	}
	if opts.KillWait <= 0 {
		opts.KillWait = DefaultKillWait
	}
	marker, err := newMarker()
	if err != nil {
		return nil, fmt.Errorf("starting %s: %w", argv[0], err)
	}
	cmd.Env = opts.Env
	if cmd.Env == nil {
		cmd.Env = os.Environ()
	}
	cmd.Env = append(cmd.Env[:len(cmd.Env):len(cmd.Env)], marker) // never write into the caller's slice
	cmd.WaitDelay = pipeDrain

	p := &Process{cmd: cmd, log: opts.Logger, clock: opts.Clock, killWait: opts.KillWait, marker: marker, done: make(chan struct{}), code: -1}
	if err := start(p); err != nil {
		return nil, fmt.Errorf("starting %s: %w", argv[0], err)
	}
	p.pid = cmd.Process.Pid
	p.noteStarted()
	p.log = p.log.With("pid", p.pid)
	p.log.Info("child started", "argv", argv)
	go p.wait()
	return p, nil
}

// beforeWait lets tests delay the reap of a child, widening the window in
// which a careless reaper could steal its status.
var beforeWait = func() {}

// newMarker returns a MarkerEnv entry no other child shares.
func newMarker() (string, error) {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("making the child's marker: %w", err)
	}
	return MarkerEnv + "=" + hex.EncodeToString(b[:]), nil
}

// exitCodeOf reports a signal death as 128+signal, as shells do.
func exitCodeOf(ps *os.ProcessState) int {
	code, sig := proc.ExitStatus(ps)
	if sig != 0 {
		return 128 + int(sig)
	}
	return code
}

func (p *Process) wait() {
	beforeWait()
	err := p.cmd.Wait()
	p.code = exitCodeOf(p.cmd.ProcessState)
	if p.cmd.ProcessState == nil {
		p.log.Error("waiting for child", "err", err)
	} else {
		p.log.Info("child exited", "code", p.code, "status", p.cmd.ProcessState.String())
	}
	forget(p)
	p.groupRemains()
	close(p.done)
}

// groupRemains reports whether any member of the child's process group may
// still run, remembering when the answer became no. Only meaningful once
// the child is reaped: until then the child itself is a member.
func (p *Process) groupRemains() bool {
	if p.groupGone.Load() {
		return false
	}
	if groupAlive(p.pid) {
		return true
	}
	p.groupGone.Store(true)
	return false
}

// Pid is the child's process id (and, on Linux, its process group id).
func (p *Process) Pid() int { return p.pid }

// Done is closed once the child has exited and been reaped.
func (p *Process) Done() <-chan struct{} { return p.done }

// ExitCode is the child's exit status once Done is closed: its exit code,
// or 128+N when signal N killed it, as shells report it (SIGKILL: 137).
// It is -1 while the child runs, or if its status was lost.
func (p *Process) ExitCode() int {
	select {
	case <-p.done:
		return p.code
	default:
		return -1
	}
}

func (p *Process) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// groupPoll is how often Stop looks for what is left of the child's tree.
const groupPoll = 50 * time.Millisecond

// Stop sends SIGTERM to the child's whole tree (see the package comment),
// waits up to grace for all of it to exit, then sends SIGKILL to what is left
// and waits at most Options.KillWait for the child to be reaped and every
// descendant to be gone. If ctx ends first it goes to SIGKILL at once.
//
// So Stop returns within grace + KillWait (plus the time to scan /proc),
// whatever the processes do. It returns nil once everything is gone; ctx's
// error if ctx ended first; and an error wrapping ErrNotGone, naming the
// pids, if something survived SIGKILL for KillWait. Then the application may
// still be running and the caller must not treat it as stopped: elect does
// not release its Lease early then but lets it expire, so no other replica
// leads sooner than if this one had crashed. Stopping a child that already
// exited only cleans up what is left of its tree; Stop may be called again.
func (p *Process) Stop(ctx context.Context, grace time.Duration) error {
	if left := p.remaining(); !p.exited() || len(left) > 0 {
		p.log.Info("stopping child", "signal", "SIGTERM", "grace", grace, "processes", len(left))
		p.signalTree(left, syscall.SIGTERM)
	}
	deadline := p.clock.NewTimer(grace)
	defer deadline.Stop()
	poll := p.clock.NewTicker(groupPoll)
	defer poll.Stop()
	done := p.done // set to nil once closed, so the loop then waits on the poll, not spins
	for {
		// Waiting for the whole tree, not just the child, gives an app run
		// by a shell wrapper its grace too: the shell exits on SIGTERM at
		// once while the app it started is still shutting down.
		if p.exited() && len(p.remaining()) == 0 {
			return nil
		}
		select {
		case <-done:
			done = nil
		case <-poll.C():
		case <-deadline.C():
			p.log.Warn("child did not exit within grace", "signal", "SIGKILL", "grace", grace)
			return p.kill(nil)
		case <-ctx.Done():
			p.log.Warn("stop interrupted before grace ended", "signal", "SIGKILL", "err", ctx.Err())
			return p.kill(ctx.Err())
		}
	}
}

// kill SIGKILLs the tree, again on each poll (a process may fork between a
// scan and the signal), until it is gone or KillWait has passed.
func (p *Process) kill(cause error) error {
	bound := p.clock.NewTimer(p.killWait)
	defer bound.Stop()
	poll := p.clock.NewTicker(groupPoll)
	defer poll.Stop()
	done := p.done
	for {
		left := p.remaining()
		if p.exited() && len(left) == 0 {
			if cause != nil {
				return fmt.Errorf("stopping child %d: %w", p.pid, cause)
			}
			return nil
		}
		p.signalTree(left, syscall.SIGKILL)
		select {
		case <-done:
			done = nil
		case <-poll.C():
		case <-bound.C():
			err := fmt.Errorf("stopping child %d: reaped %v, %d processes still alive %v, %v after SIGKILL: %w", p.pid, p.exited(), len(left), left, p.killWait, ErrNotGone)
			p.log.Error("child tree survived SIGKILL", "err", err)
			return errors.Join(err, cause)
		}
	}
}
