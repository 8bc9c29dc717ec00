// Package child runs exec mode's application: one process (and its process
// group) started when this replica becomes leader and stopped, SIGTERM then
// SIGKILL after a grace, when it stops leading.
//
// On Linux the child leads a process group of its own, so Stop reaches
// everything the application forked, and it gets SIGKILL if the sidecar dies
// (Pdeathsig). On other systems it is a plain process: Stop signals only that
// process (on Windows it can only be killed) and nothing kills it if the
// sidecar dies, which is why exec mode is documented as Linux-only.
package child

import (
	"context"
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
}

// pipeDrain is how long Wait keeps copying output after the child exited
// when Stdout/Stderr are not files and a grandchild still holds the pipe:
// without a bound, a daemonised grandchild would keep the child "running".
const pipeDrain = 2 * time.Second

// Process is a started child. Its methods are safe for concurrent use.
type Process struct {
	cmd   *exec.Cmd
	log   *slog.Logger
	clock clock.WithTicker
	pid   int
	done  chan struct{}
	code  int // valid once done is closed

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
		return exitcode.Configf("cannot run %q: %v; pass an absolute path or a command on PATH after --", argv[0], unwrapExec(err))
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
	cmd.Env = opts.Env
	cmd.WaitDelay = pipeDrain
	cmd.SysProcAttr = sysProcAttr()

	p := &Process{cmd: cmd, log: opts.Logger, clock: opts.Clock, done: make(chan struct{}), code: -1}
	if err := start(p); err != nil {
		return nil, fmt.Errorf("starting %s: %w", argv[0], err)
	}
	p.pid = cmd.Process.Pid
	p.log = p.log.With("pid", p.pid)
	p.log.Info("child started", "argv", argv)
	go p.wait()
	return p, nil
}

// beforeWait lets tests delay the reap of a child, widening the window in
// which a careless reaper could steal its status.
var beforeWait = func() {}

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

// groupPoll is how often Stop checks whether the process group is empty.
const groupPoll = 50 * time.Millisecond

// killWait bounds the wait for a SIGKILLed child to be reaped when ctx has
// already ended (a process stuck in uninterruptible I/O ignores even SIGKILL).
const killWait = 2 * time.Second

// Stop sends SIGTERM to the child's process group, waits up to grace for
// every member of the group to exit, then sends SIGKILL to the group and
// returns once the child is reaped. If ctx ends first, it sends SIGKILL at
// once, waits at most killWait and returns ctx's error. Stopping a child that
// already exited only cleans up what is left of its group.
func (p *Process) Stop(ctx context.Context, grace time.Duration) error {
	if !p.exited() || p.groupRemains() {
		p.log.Info("stopping child", "signal", "SIGTERM", "grace", grace)
		p.signalGroup(syscall.SIGTERM)
	}
	deadline := p.clock.NewTimer(grace)
	defer deadline.Stop()
	poll := p.clock.NewTicker(groupPoll)
	defer poll.Stop()
	done := p.done // set to nil once closed, so the loop then waits on the poll, not spins
	for {
		// Waiting for the whole group, not just the child, gives an app run
		// by a shell wrapper its grace too: the shell exits on SIGTERM at
		// once while the app it started is still shutting down.
		if p.exited() && !p.groupRemains() {
			return nil
		}
		select {
		case <-done:
			done = nil
		case <-poll.C():
		case <-deadline.C():
			p.log.Warn("child did not exit within grace", "signal", "SIGKILL", "grace", grace)
			p.signalGroup(syscall.SIGKILL)
			select { // SIGKILL cannot be caught: the reap follows at once
			case <-p.done:
				return nil
			case <-ctx.Done():
				return fmt.Errorf("stopping child %d: SIGKILL sent, not reaped yet: %w", p.pid, ctx.Err())
			}
		case <-ctx.Done():
			p.log.Warn("stop interrupted before grace ended", "signal", "SIGKILL", "err", ctx.Err())
			p.signalGroup(syscall.SIGKILL)
			select {
			case <-p.done:
			case <-p.clock.After(killWait):
			}
			return fmt.Errorf("stopping child %d: %w", p.pid, ctx.Err())
		}
	}
}
