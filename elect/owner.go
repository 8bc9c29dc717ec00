package elect

import (
	"context"
	"log/slog"
	"sync"
	"time"

	rl "k8s.io/client-go/tools/leaderelection/resourcelock"
	"k8s.io/utils/clock"
)

// actor is what acts while leading besides the status file: the child
// process in exec mode.
type actor interface {
	// Start begins acting. done is closed if it ends on its own.
	Start() (done <-chan struct{}, err error)
	// Stop ends it and returns once it is gone (at most the grace later).
	Stop()
	// ExitCode is its exit code once done is closed.
	ExitCode() int
}

// ownerHooks are how the owner tells the election loop what happened.
type ownerHooks struct {
	// stopElector asks the loop to stop run's elector (which then releases
	// the Lease if it still holds it) because the term ended on our side.
	stopElector func(run uint64, reason string)
	// childExited reports the child's exit code when it ended on its own.
	childExited func(code int)
	// failed reports a runtime failure (the status file could not be written).
	failed func(err error)
	// leading reports each start and end of a term.
	leading func(bool)
	// observed reports each Lease record seen or written, in order.
	observed func(rl.LeaderElectionRecord)
}

// termOwner owns the status file, the leader file and the child. Every
// write and removal goes through it under one mutex, and a write carries the
// elector run (term) it belongs to: a write for a run that has ended, or
// whose renewal deadline has passed, is dropped. So a late OnStartedLeading
// can never land after the removal that ended its term, and nothing but the
// end of our own term removes the status file (a late "someone else leads"
// cannot, unlike the original).
type termOwner struct {
	clock      clock.WithDelayedExecution
	log        *slog.Logger
	identity   string
	statusFile string
	leaderFile string
	// window is how long after the start of a successful renewal we may keep
	// acting: RenewDeadline - Grace (the child's SIGKILL lands at
	// RenewDeadline). Grace is 0 without a child.
	window   time.Duration
	newActor func() actor // nil without a child
	hooks    ownerHooks

	mu        sync.Mutex
	run       uint64    // the current elector run; 0 before the first
	leading   bool      // a term of run is active: the status file exists
	lastRenew time.Time // start of the last successful renewal in run (monotonic)
	timer     clock.Timer
	child     actor
	stopped   chan struct{} // closed once the last term's child is gone
	closed    bool          // shutting down: no new term may start
	leader    string        // the leader file's content ("" = no file)
}

func newTermOwner(clk clock.WithDelayedExecution, log *slog.Logger, cfg Config, newActor func() actor, hooks ownerHooks) *termOwner {
	window := cfg.RenewDeadline
	if newActor != nil {
		window -= cfg.Grace
	}
	done := make(chan struct{})
	close(done)
	return &termOwner{
		clock: clk, log: log, identity: cfg.Identity,
		statusFile: cfg.StatusFile, leaderFile: cfg.LeaderFile,
		window: window, newActor: newActor, hooks: hooks, stopped: done,
	}
}

// newRun starts a new elector run and returns its number. The previous
// run's term must have ended (endTerm) before.
func (o *termOwner) newRun() uint64 {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.run++
	o.lastRenew = time.Time{}
	return o.run
}

// renewed records that a renewal (or the acquiring write) that started at
// start succeeded; the term may act until start + window.
func (o *termOwner) renewed(start time.Time) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if !start.After(o.lastRenew) {
		return
	}
	o.lastRenew = start
	if o.leading {
		o.armLocked()
	}
}

// deadline is when the current term must stop acting.
func (o *termOwner) deadlineLocked() time.Time { return o.lastRenew.Add(o.window) }

// armLocked (re)starts the deadline timer for the current run.
func (o *termOwner) armLocked() {
	if o.timer != nil {
		o.timer.Stop()
	}
	run := o.run
	// Its own goroutine: a fake clock runs AfterFunc callbacks under its lock.
	o.timer = o.clock.AfterFunc(o.deadlineLocked().Sub(o.clock.Now()), func() { go o.deadlineFired(run) })
}

// startTerm begins acting for run: the status file is written and the child
// started, unless the run has ended (runCtx done: client-go cancels it when
// it stops leading), we are shutting down, or the last renewal is already
// too old to act on.
func (o *termOwner) startTerm(runCtx context.Context, run uint64) {
	o.mu.Lock()
	if o.closed || run != o.run || runCtx.Err() != nil || o.leading {
		o.mu.Unlock()
		o.log.Debug("dropping a late start of leadership", "run", run)
		return
	}
	if o.lastRenew.IsZero() || !o.clock.Now().Before(o.deadlineLocked()) {
		o.mu.Unlock()
		o.log.Warn("became leader too late to act: the renewal deadline already passed; stepping down")
		o.hooks.stopElector(run, "renewal deadline passed before leadership could start")
		return
	}
	if err := writeAtomic(o.statusFile, []byte(o.identity)); err != nil {
		o.mu.Unlock()
		removeFile(o.statusFile)
		o.hooks.failed(err)
		return
	}
	o.leading = true
	o.stopped = make(chan struct{})
	o.armLocked()
	if o.newActor != nil {
		a := o.newActor()
		done, err := a.Start()
		if err != nil {
			o.mu.Unlock()
			o.endTerm("the command could not start")
			o.hooks.failed(err)
			return
		}
		o.child = a
		go o.watchChild(run, a, done)
	}
	o.mu.Unlock()
	o.log.Info("leading: status file written", "file", o.statusFile, "identity", o.identity)
	if o.hooks.leading != nil {
		o.hooks.leading(true)
	}
}

// endTerm stops acting: the status file is removed at once, then the child
// is stopped. It returns once the child is gone, whoever ended the term, so
// a caller may release the Lease right after.
func (o *termOwner) endTerm(reason string) {
	o.mu.Lock()
	if !o.leading {
		stopped := o.stopped
		o.mu.Unlock()
		<-stopped
		return
	}
	o.leading = false
	if o.timer != nil {
		o.timer.Stop()
		o.timer = nil
	}
	err := removeFile(o.statusFile)
	child, stopped := o.child, o.stopped
	o.child = nil
	o.mu.Unlock()

	if err != nil {
		o.log.Error("could not remove the status file", "file", o.statusFile, "err", err)
	}
	o.log.Info("not leading: status file removed", "file", o.statusFile, "reason", reason)
	if o.hooks.leading != nil {
		o.hooks.leading(false)
	}
	if child != nil {
		child.Stop()
	}
	close(stopped)
}

// deadlineFired ends the term of run if no renewal moved its deadline.
func (o *termOwner) deadlineFired(run uint64) {
	o.mu.Lock()
	late := run == o.run && o.leading && !o.clock.Now().Before(o.deadlineLocked())
	o.mu.Unlock()
	if !late {
		return
	}
	o.log.Warn("no successful renewal within the renew deadline; stepping down before the Lease can expire", "lastRenewStarted", o.lastRenewSnapshot())
	o.endTerm("renew deadline passed")
	o.hooks.stopElector(run, "renew deadline passed")
}

func (o *termOwner) lastRenewSnapshot() time.Time {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.lastRenew
}

// watchChild ends the term when the child exits on its own while leading.
func (o *termOwner) watchChild(run uint64, a actor, done <-chan struct{}) {
	<-done
	o.mu.Lock()
	ours := run == o.run && o.child == a
	o.mu.Unlock()
	if !ours {
		return // we stopped it ourselves
	}
	code := a.ExitCode()
	o.log.Info("the command exited while leading", "code", code)
	o.endTerm("the command exited")
	o.hooks.childExited(code)
}

// shutdown ends the term for good: no new term starts afterwards.
func (o *termOwner) shutdown() {
	o.mu.Lock()
	o.closed = true
	o.mu.Unlock()
	o.endTerm("shutting down")
}

// isLeading says whether a term is active (the status file exists).
func (o *termOwner) isLeading() bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.leading
}

// observe records the Lease as last seen or written, in the order the
// elector saw it (the lock calls come from its one goroutine), and keeps the
// leader file in step. Write failures are logged: the leader file is a
// convenience, never a promise of leadership.
func (o *termOwner) observe(rec rl.LeaderElectionRecord) {
	if o.hooks.observed != nil {
		defer o.hooks.observed(rec)
	}
	holder := rec.HolderIdentity
	o.mu.Lock()
	if holder == o.leader {
		o.mu.Unlock()
		return
	}
	o.leader = holder
	var err error
	if o.leaderFile != "" {
		if holder == "" {
			err = removeFile(o.leaderFile)
		} else {
			err = writeAtomic(o.leaderFile, []byte(holder))
		}
	}
	o.mu.Unlock()
	if err != nil {
		o.log.Error("could not update the leader file", "file", o.leaderFile, "err", err)
	}
}

// removeLeaderFile removes the leader file on exit: once this replica is
// gone nobody keeps it current.
func (o *termOwner) removeLeaderFile() {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.leaderFile != "" {
		removeFile(o.leaderFile)
	}
	o.leader = ""
}
