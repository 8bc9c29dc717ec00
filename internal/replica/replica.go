// Package replica starts and stops leader-elector replicas as processes,
// as the demo, the failover bench and the e2e tests run them: a replica
// has an identity and a status file, and restarts under both, as
// Kubernetes restarts a container. It also builds the binary (Build) and
// writes the command line of `leader-elector elect` (Elect).
package replica

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/leader-elector/leader-elector/internal/proc"
)

// Spec is one replica: what Start runs each time.
type Spec struct {
	// ID is the replica's name in messages, normally its --identity.
	ID string
	// StatusFile is its --status-file: the sidecar's promise is that the
	// file exists exactly while it leads.
	StatusFile string
	// Command is the process: the binary, its arguments (see Elect), its
	// environment and where its output goes. A LogPath keeps the log of
	// every incarnation in one file.
	Command proc.Options
	// OnUnexpectedExit, if set, receives an *UnexpectedExit when a process
	// ends without Stop: elect exits only when told to (or on bad
	// configuration), so that is a failure the harness reports.
	OnUnexpectedExit func(error)
}

// Replica is one replica and its current process, if any.
type Replica struct {
	spec Spec

	mu       sync.Mutex
	p        *proc.Process
	stopping bool // Stop was called: the exit is no failure
}

// New returns a replica that is not started yet.
func New(spec Spec) *Replica { return &Replica{spec: spec} }

// ID returns the replica's name.
func (r *Replica) ID() string { return r.spec.ID }

// StatusFile returns the path of its status file.
func (r *Replica) StatusFile() string { return r.spec.StatusFile }

// Start starts a process for the replica, the first or a restart; the
// previous one must have ended.
func (r *Replica) Start() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.p != nil && !r.p.Exited() {
		return fmt.Errorf("starting %s: its process %d still runs", r.spec.ID, r.p.Pid())
	}
	p, err := proc.Start(r.spec.Command)
	if err != nil {
		return fmt.Errorf("starting %s: %w", r.spec.ID, err)
	}
	r.p, r.stopping = p, false
	if r.spec.OnUnexpectedExit != nil {
		go r.watchExit(p)
	}
	return nil
}

func (r *Replica) watchExit(p *proc.Process) {
	<-p.Done()
	r.mu.Lock()
	asked := r.stopping || r.p != p
	r.mu.Unlock()
	if asked {
		return
	}
	e := &UnexpectedExit{ID: r.spec.ID, Err: p.Err()}
	if r.spec.Command.LogPath != "" {
		e.Log = logTail(r.spec.Command.LogPath, 8)
	}
	r.spec.OnUnexpectedExit(e)
}

// UnexpectedExit is a replica's process that ended without Stop.
type UnexpectedExit struct {
	ID  string
	Err error  // how it ended, as exec says it; nil for exit code 0
	Log string // the last lines of its log, indented, if it has one
}

func (e *UnexpectedExit) Error() string {
	how := "exit code 0"
	if e.Err != nil {
		how = e.Err.Error()
	}
	msg := fmt.Sprintf("%s exited on its own (%s)", e.ID, how)
	if e.Log != "" {
		msg += "; last lines of its log:\n" + e.Log
	}
	return msg
}

func (e *UnexpectedExit) Unwrap() error { return e.Err }

// logTail is the end of a log for a person reading an error: indented,
// and "(empty)" rather than nothing.
func logTail(path string, n int) string {
	t := proc.TailFile(path, n)
	if strings.TrimSpace(t) == "" {
		return "  (empty)"
	}
	return "  " + strings.ReplaceAll(t, "\n", "\n  ")
}

// Process returns the current process, nil before the first Start.
func (r *Replica) Process() *proc.Process {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.p
}

// Running reports whether the replica's process is up.
func (r *Replica) Running() bool {
	p := r.Process()
	return p != nil && !p.Exited()
}

// HasStatusFile reports whether the status file exists. A killed leader's
// file outlives it (nobody is left to remove it) until a restarted replica
// removes it at start; Leads also asks whether the process runs.
func (r *Replica) HasStatusFile() bool {
	_, err := os.Lstat(r.spec.StatusFile)
	return err == nil
}

// Leads reports whether the replica runs and its status file exists.
func (r *Replica) Leads() bool { return r.Running() && r.HasStatusFile() }

// Status reads the status file: the identity it holds, or an error
// satisfying errors.Is(err, fs.ErrNotExist) while the replica follows.
func (r *Replica) Status() (string, error) {
	b, err := os.ReadFile(r.spec.StatusFile)
	if err != nil {
		return "", fmt.Errorf("reading the status file of %s: %w", r.spec.ID, err)
	}
	return string(b), nil
}

// Signal sends sig to the current process without marking it stopped: a
// SIGSTOP or SIGCONT, or a signal whose outcome the caller judges itself.
func (r *Replica) Signal(sig syscall.Signal) error {
	p := r.Process()
	if p == nil {
		return errors.New("signalling " + r.spec.ID + ": not started")
	}
	return p.Signal(sig)
}

// Stop sends sig, waits up to grace for the process to end, then kills it,
// and returns once it has ended; its exit is then no failure.
func (r *Replica) Stop(sig syscall.Signal, grace time.Duration) {
	r.mu.Lock()
	p := r.p
	r.stopping = true
	r.mu.Unlock()
	if p != nil {
		p.Stop(sig, grace)
	}
}

// Wait waits for the current process to end and returns how it ended, or
// ctx's error if ctx ends first.
func (r *Replica) Wait(ctx context.Context) error {
	p := r.Process()
	if p == nil {
		return errors.New("waiting for " + r.spec.ID + ": not started")
	}
	return p.Wait(ctx)
}
