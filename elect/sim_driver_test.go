package elect

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	goruntime "runtime"
	"strconv"
	"strings"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"

	"github.com/leader-elector/leader-elector/elect/leadership"
)

// The simulated driver is the real one (driver.go): its gates, its tasks,
// the order they do things in, the Lease requests (leaseio.go) and the
// leader label (podlabel.go). The world gives it a host and ports that run
// on the world's clock: every task is a goroutine, but only one runs at a
// time, handed the baton by the world's event loop, and every call that
// would block (a request, an fsync, a child's stop, a sleep) parks it until
// its simulated answer is due. So a seed replays exactly, and the I/O can
// fail and stall as the world decides.

var simWallEpoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// simTask is one of a replica's driver tasks.
type simTask struct {
	r    *simReplica
	inc  int
	wake chan bool // true: run on; false: the process is gone, exit
	done bool
}

// spawnTask starts task on a goroutine that waits for the baton; it first
// runs after a goroutine's start latency.
func (w *world) spawnTask(r *simReplica, inc int, task func()) {
	if r.inc != inc {
		return
	}
	t := &simTask{r: r, inc: inc, wake: make(chan bool)}
	r.tasks[t] = struct{}{}
	go func() {
		defer func() {
			t.done = true
			delete(t.r.tasks, t)
			w.baton <- struct{}{}
		}()
		if !<-t.wake {
			return
		}
		task()
	}()
	d := w.dur(0, 200*time.Microsecond)
	if w.now < r.tasksSlowUntil {
		d += w.dur(0, w.p.maxTaskDelay) // starved goroutines
	}
	w.resumeAt(t, w.now+d)
}

// resumeAt wakes t at at, unless its process is gone by then.
func (w *world) resumeAt(t *simTask, at time.Duration) {
	w.at(at, t.r.idx, t.inc, func() { w.resume(t, true) })
}

// resume hands t the baton and waits until it parks again or ends.
func (w *world) resume(t *simTask, run bool) {
	if t.done {
		return
	}
	prev := w.cur
	w.cur = t
	t.wake <- run
	<-w.baton
	w.cur = prev
}

// park makes the running task wait until at.
func (w *world) park(at time.Duration) {
	t := w.cur
	if t == nil {
		panic("simulation: a blocking call outside a task (the loop would block)")
	}
	w.resumeAt(t, at)
	w.baton <- struct{}{}
	if !<-t.wake {
		goruntime.Goexit()
	}
}

// killTasks ends every task of r's incarnation: the process is gone.
func (w *world) killTasks(r *simReplica) {
	for len(r.tasks) > 0 {
		for t := range r.tasks {
			w.resume(t, false)
			break
		}
	}
}

// simHost is a replica's host on the world's clock.
type simHost struct {
	w   *world
	r   *simReplica
	inc int
}

func (h simHost) mono() time.Duration { return h.r.Mono(h.w.now) }
func (h simHost) wall() time.Time     { return simWallEpoch.Add(h.mono()) }
func (h simHost) spawn(task func())   { h.w.spawnTask(h.r, h.inc, task) }

func (h simHost) gone() bool { return h.r.inc != h.inc || !h.r.alive || h.r.exited }

func (h simHost) report(in leadership.Input) {
	if h.gone() {
		return
	}
	h.w.onLoop(h.r, h.w.now, func() { h.w.deliver(h.r, in) })
}

// simDeadline is a request's deadline in true time, carried by its
// context: the world's clock, not the process's, bounds the request.
type simDeadline struct{}

func (h simHost) withTimeout(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	at := h.w.now + h.r.TrueDur(d)
	if prev, ok := ctx.Value(simDeadline{}).(time.Duration); ok && prev < at {
		at = prev
	}
	return context.WithValue(ctx, simDeadline{}, at), func() {}
}

func (h simHost) setTimer(at time.Duration) {
	r := h.r
	r.timerGen++
	if at == 0 {
		return
	}
	gen := r.timerGen
	h.w.onLoop(r, max(h.w.now, r.TrueAt(at)), func() {
		if r.timerGen == gen {
			h.w.deliver(r, leadership.Tick{})
		}
	})
}

// deliver steps r's driver with one input at the current true time.
func (w *world) deliver(r *simReplica, in leadership.Input) {
	if !r.alive || r.exited {
		return
	}
	w.steps++
	w.tracef("r%d.%d <- %s", r.idx, r.inc, leadership.Describe(in))
	switch v := in.(type) {
	case leadership.FileHidden:
		r.removeFailed = r.removeFailed || v.Err != ""
	case leadership.ChildStopped:
		if !v.Gone {
			r.childStuck = true
		}
	}
	if l, ok := observedLease(in); ok && r.deposeRV != 0 {
		if rv, err := strconv.ParseUint(l.RV, 10, 64); err == nil && rv >= r.deposeRV {
			r.knowsDeposed = true
		}
	}
	r.d.step(in)
	w.check()
	if res, ok := in.(leadership.WriteResult); ok && res.Outcome == leadership.OK && res.Lease.Record.Holder == r.id {
		w.answered(r)
	}
}

// observedLease is the state of the Lease an input shows, if any.
func observedLease(in leadership.Input) (leadership.Lease, bool) {
	switch v := in.(type) {
	case leadership.Observed:
		return v.Lease, true
	case leadership.ReadResult:
		return v.Lease, v.Err == ""
	case leadership.WriteResult:
		return v.Lease, v.Outcome == leadership.OK
	}
	return leadership.Lease{}, false
}

// traceEffect keeps the checker's books on what the machine asked for.
func (w *world) traceEffect(r *simReplica) func(leadership.Effect) {
	return func(e leadership.Effect) {
		switch e := e.(type) {
		case leadership.Write:
			w.tracef("r%d.%d -> %s", r.idx, r.inc, leadership.Describe(e))
			if e.Record.Holder == r.id {
				r.sentAt[e.Record.RenewTime.UnixMicro()] = r.Mono(w.now)
			}
			if e.Record.Holder == "" {
				w.checkRelease(r)
			}
		case leadership.UnlabelPod:
			if e.Term != r.unlabelTerm { // the first ask, not a retry: the machine's bound runs from it
				r.unlabelTerm, r.unlabelAt = e.Term, r.Mono(w.now)
			}
		case leadership.LabelPod:
			if r.deposedAt != 0 && !r.knowsDeposed {
				// A term started by a write sent before the foreign one.
				w.excuse(r, e.Term)
			}
		case leadership.Log:
			w.tracef("r%d.%d    %s", r.idx, r.inc, leadership.Describe(e))
			if strings.HasPrefix(e.Msg, "asked twice for the Lease by priority") {
				r.stoppedAsking = true
			}
		case leadership.Event:
			if e.Reason == "PlannedHandover" {
				r.handingOverSince = w.now
			}
		case leadership.RequestHandover:
			w.stats.asks++
			w.tracef("r%d.%d -> %s", r.idx, r.inc, leadership.Describe(e))
		case leadership.WithdrawHandover:
			w.tracef("r%d.%d -> %s", r.idx, r.inc, leadership.Describe(e))
		case leadership.Exit:
			w.exited(r, e)
		case leadership.ShowFile:
			w.tracef("r%d.%d -> %s", r.idx, r.inc, leadership.Describe(e))
			w.checkToken(r, e.Term, e.Token)
		case leadership.HideFile:
			w.tracef("r%d.%d -> %s", r.idx, r.inc, leadership.Describe(e))
			w.termEnded(r, e.Term)
		case leadership.Read, leadership.StartChild, leadership.StopChild:
			w.tracef("r%d.%d -> %s", r.idx, r.inc, leadership.Describe(e))
		}
	}
}

// exited checks a replica's exit and schedules its restart.
func (w *world) exited(r *simReplica, e leadership.Exit) {
	w.tracef("r%d.%d exit %d %s", r.idx, r.inc, e.Code, e.Reason)
	r.exited = true
	w.checkExitLabel(r)
	if r.actingNow() && !(e.Code != 0 && w.stuckExcused(r)) {
		w.violatef("r%d exited %d while still acting (file %v, child %v, /leader %v)", r.idx, e.Code, r.fileVisible, r.childRunning, r.published)
	}
	// A write that had no answer may land after the read that followed it:
	// then a dead replica is named until its lease runs out (a delay, not a
	// lie). Any other way the Lease still names it is a lie.
	if e.Code == 0 && w.srv.exists && w.srv.rec.Holder == r.id && w.srv.writer == r.idx && w.srv.writerInc == r.inc {
		lateLanding := r.unknownAt != 0 && r.readServedAt > r.unknownAt && w.srv.landedAt > r.readServedAt
		if !lateLanding {
			w.violatef("r%d exited 0 (%s) but the Lease still names it", r.idx, e.Reason)
		}
	}
	w.scheduleRestart(r, true)
}

// stuckExcused says r's file or child outlives its term because the world
// would not let it go (a removal that keeps failing, a child in D-state):
// the sidecar must then neither release nor exit 0, but the overlap is the
// environment's.
func (w *world) stuckExcused(r *simReplica) bool {
	return (r.fileVisible && r.removeFailed) || (r.childRunning && r.childStuck)
}

// checkRelease: the Lease is released only once nothing of ours acts.
func (w *world) checkRelease(r *simReplica) {
	if r.fileVisible || r.childRunning || r.published {
		w.violatef("r%d released the Lease while still acting (file %v, child %v, /leader %v)", r.idx, r.fileVisible, r.childRunning, r.published)
	}
	w.checkReleaseLabel(r)
}

// answered checks that a replica whose writes naming it succeed acts on
// them: one that keeps the Lease alive without acting (its writes landing
// less than a lease duration apart, so nobody else may take it) for longer
// than two lease durations is a zombie that blocks everyone.
func (w *world) answered(r *simReplica) {
	if r.acting || r.shuttingDown || r.exited || r.removeFailed || r.childStuck {
		return
	}
	ld := r.cfg.LeaseDuration
	if r.idleSince == 0 || w.now-r.lastIdle >= ld {
		r.idleSince = w.now
	}
	r.lastIdle = w.now
	if w.now-r.idleSince > 2*ld {
		w.violatef("zombie: r%d keeps the Lease alive without acting since %.3fs", r.idx, r.idleSince.Seconds())
	}
}

func (w *world) latency(r *simReplica) time.Duration {
	d := w.dur(time.Millisecond, 15*time.Millisecond)
	if w.now < r.slowUntil {
		d += w.dur(300*time.Millisecond, 1500*time.Millisecond)
	}
	return d
}

// errSimTimeout is a request that got no answer in time.
var errSimTimeout = fmt.Errorf("simulated request: %w", context.DeadlineExceeded)

// call sends one API request from the running task and parks it until the
// answer or the client's deadline (ctx's, as the real code set it through
// the host's withTimeout). serve
// runs on the server when the request arrives, if it does; a request that
// arrives after its client gave up is applied only when lateApplies (a
// write the server had begun); one from a process that died meanwhile too.
func (w *world) call(r *simReplica, ctx context.Context, lateApplies bool, serve func() error) error {
	sent := w.now
	giveUp := sent + w.p.timeout
	if at, ok := ctx.Value(simDeadline{}).(time.Duration); ok {
		giveUp = at
	}
	d1, d2 := w.latency(r), w.latency(r)
	arrive, inc := sent+d1, r.inc
	lost := sent < r.partitioned || arrive < r.partitioned || (!lateApplies && arrive >= giveUp)
	answerAt := arrive + d2
	answered := !lost && answerAt < giveUp && answerAt >= r.partitioned
	var err error
	if !lost {
		w.at(arrive, -1, 0, func() {
			if lateApplies || (r.inc == inc && r.alive) {
				err = serve()
			}
		})
	}
	if !answered {
		w.park(giveUp)
		return errSimTimeout
	}
	w.park(answerAt)
	return err
}

var leaseResource = schema.GroupResource{Group: "coordination.k8s.io", Resource: "leases"}

// simLeases is the Lease client of one replica's driver: the requests of
// leaseio.go reach the world's API server through it.
type simLeases struct {
	w *world
	r *simReplica
}

func (c simLeases) Get(ctx context.Context, name string, _ metav1.GetOptions) (*coordinationv1.Lease, error) {
	w, r := c.w, c.r
	var l leadership.Lease
	// A GET without a resourceVersion is a quorum read: never behind a
	// write that was answered. (The watch cache may be: see relist.)
	err := w.call(r, ctx, false, func() error {
		l = w.srv.lease()
		r.readServedAt = w.now
		return nil
	})
	if err != nil {
		return nil, err
	}
	if !l.Exists {
		return nil, apierrors.NewNotFound(leaseResource, name)
	}
	return leaseObject(l), nil
}

func (c simLeases) Create(ctx context.Context, obj *coordinationv1.Lease, _ metav1.CreateOptions) (*coordinationv1.Lease, error) {
	return c.write(ctx, obj, true)
}

func (c simLeases) Update(ctx context.Context, obj *coordinationv1.Lease, _ metav1.UpdateOptions) (*coordinationv1.Lease, error) {
	return c.write(ctx, obj, false)
}

func (c simLeases) write(ctx context.Context, obj *coordinationv1.Lease, create bool) (*coordinationv1.Lease, error) {
	w, r := c.w, c.r
	rec := toLease(obj).Record
	inc := r.inc // the write may land after this incarnation died
	var out leadership.Outcome
	var stored leadership.Lease
	err := w.call(r, ctx, true, func() error {
		prev, existed := w.srv.rec, w.srv.exists
		out, stored = w.srv.write(create, obj.ResourceVersion, rec, obj.Annotations)
		switch {
		case out == leadership.OK && existed && prev.Same(rec):
			// Only the annotations changed: a hand-over request asked or
			// withdrawn. The record, and who wrote it, stay.
			w.srv.remember(w.now)
			w.tracef("server: r%d.%d's hand-over request landed: %s", r.idx, inc, w.srv.lease())
			w.broadcast()
		case out == leadership.OK:
			w.landed(r, inc, rec)
			w.moved(prev.Holder, rec.Holder)
		case out == leadership.Conflict:
			w.stats.conflicts++
		}
		return nil
	})
	if err != nil {
		if rec.Holder == r.id && r.inc == inc {
			r.unknownAt = w.now
		}
		return nil, err
	}
	switch out {
	case leadership.AlreadyExists:
		return nil, apierrors.NewAlreadyExists(leaseResource, obj.Name)
	case leadership.NotFound:
		return nil, apierrors.NewNotFound(leaseResource, obj.Name)
	case leadership.Conflict:
		return nil, apierrors.NewConflict(leaseResource, obj.Name, errors.New("the object has been modified"))
	}
	return leaseObject(stored), nil
}

func (simLeases) List(context.Context, metav1.ListOptions) (*coordinationv1.LeaseList, error) {
	return nil, errors.New("simulation: the world delivers the watch itself")
}

func (simLeases) Watch(context.Context, metav1.ListOptions) (watch.Interface, error) {
	return nil, errors.New("simulation: the world delivers the watch itself")
}

// leaseObject is the API object of a state of the Lease.
func leaseObject(l leadership.Lease) *coordinationv1.Lease {
	if obj, ok := l.Obj.(*coordinationv1.Lease); ok {
		return obj.DeepCopy()
	}
	obj := &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Name: "sim", Namespace: "sim", ResourceVersion: l.RV}}
	toSpec(l.Record, &obj.Spec)
	return obj
}

// landed records a write that reached the store, for the zombie and the
// deadline checks.
func (w *world) landed(r *simReplica, inc int, rec leadership.Record) {
	w.srv.writer, w.srv.writerInc, w.srv.landedAt = r.idx, inc, w.now
	w.srv.remember(w.now)
	if rec.Holder == r.id && inc == r.inc {
		r.deposedAt, r.knowsDeposed = 0, false // the Lease names it again: no longer deposed
		if at, ok := r.sentAt[rec.RenewTime.UnixMicro()]; ok {
			r.actUntil = max(r.actUntil, at+r.actWindow())
		}
	}
	w.tracef("server: r%d.%d's write landed: %s", r.idx, inc, w.srv.lease())
	w.broadcast()
}

// broadcast sends the Lease's new state to every watch.
func (w *world) broadcast() {
	l := w.srv.lease()
	for _, r := range w.reps {
		if !r.alive || r.watchBroken || w.now < r.partitioned {
			continue
		}
		at := max(w.now+w.dur(time.Millisecond, 30*time.Millisecond), r.watchLast)
		if w.now < r.slowUntil {
			at += w.dur(100*time.Millisecond, time.Second)
		}
		r.watchLast = at
		w.observe(r, at, l)
	}
}

// observe delivers a state of the Lease to r's loop at at, as the watch does.
func (w *world) observe(r *simReplica, at time.Duration, l leadership.Lease) {
	if l.Exists {
		l.Obj = leaseObject(l)
	}
	w.onLoop(r, at, func() { w.deliver(r, leadership.Observed{Lease: l}) })
}

// relist heals r's watch: the current state, then events again.
func (w *world) relist(r *simReplica) {
	if !r.alive {
		return
	}
	if w.now < r.partitioned {
		w.on(r, r.partitioned+w.dur(0, 500*time.Millisecond), func() { w.relist(r) })
		return
	}
	r.watchBroken = false
	at := max(w.now+w.dur(time.Millisecond, 50*time.Millisecond), r.watchLast)
	if w.now < w.chaosEnd && w.chance(w.p.laggingReads) {
		// Served from a watch cache behind the writes: an older state
		// first, the current one once the cache catches up.
		w.stats.laggingReads++
		old := w.srv.past(w.now - w.dur(0, 500*time.Millisecond))
		w.tracef("server: r%d.%d's relist served from behind: %s", r.idx, r.inc, old)
		w.observe(r, at, old)
		at += w.dur(time.Millisecond, 300*time.Millisecond)
	}
	r.watchLast = at
	w.observe(r, at, w.srv.lease())
}

// ioFault says whether one file or process operation fails now: only
// during chaos, never in a quiet period.
func (w *world) ioFault(r *simReplica) bool {
	if w.now < w.chaosEnd && w.now < r.ioFaultsUntil && w.chance(w.p.ioFailure) {
		w.stats.failedIO++
		return true
	}
	return false
}

// stall is how long a disk operation takes: quick, or now and then a
// stalled disk, for up to longest.
func (w *world) stall(quick, longest time.Duration) time.Duration {
	d := w.dur(quick/10, quick)
	if w.chance(0.05) {
		d = w.dur(quick, longest)
	}
	return d
}

// simFiles is a replica's disk: the status and leader files.
type simFiles struct {
	w *world
	r *simReplica
}

type simStaged struct {
	f    simFiles
	path string
}

func (f simFiles) stage(path string, _ []byte) (stagedFile, error) {
	f.w.park(f.w.now + f.w.stall(3*time.Millisecond, 3*time.Second)) // write and fsync
	if f.w.ioFault(f.r) {
		return nil, errors.New("simulated: no space left on device")
	}
	return simStaged{f: f, path: path}, nil
}

func (s simStaged) commit() error {
	w, r := s.f.w, s.f.r
	switch s.path {
	case r.ecfg.TokenFile:
		if w.ioFault(r) {
			return errors.New("simulated: rename: input/output error")
		}
		r.tokenVisible = true
		return nil
	case r.ecfg.StatusFile:
	default:
		return nil
	}
	if w.ioFault(r) {
		return errors.New("simulated: rename: input/output error")
	}
	if !r.tokenVisible {
		w.violatef("r%d made its status file visible without its token file beside it", r.idx)
	}
	if m := r.Mono(w.now); m >= r.actUntil {
		w.violatef("r%d made its status file visible at %v, past its deadline %v (last landed renewal + acting window)", r.idx, m, r.actUntil)
	}
	r.fileVisible, r.removeFailed = true, false
	w.tracef("r%d.%d status file visible", r.idx, r.inc)
	w.check()
	return nil
}

func (simStaged) discard() {}

func (s simStaged) syncDir() {
	s.f.w.park(s.f.w.now + s.f.w.dur(10*time.Microsecond, time.Millisecond))
}

func (f simFiles) remove(path string) error {
	w, r := f.w, f.r
	// A removal that stalls past the margin keeps the file past the
	// deadline, whatever the sidecar does: within it, the margin covers it.
	w.park(w.now + w.stall(time.Millisecond, w.p.maxRemoveStall))
	if path == r.ecfg.TokenFile {
		if w.ioFault(r) {
			return errors.New("simulated: remove: input/output error")
		}
		if r.fileVisible {
			w.violatef("r%d removed its token file while its status file was visible", r.idx)
		}
		r.tokenVisible = false
		return nil
	}
	if path != r.ecfg.StatusFile {
		return nil
	}
	if w.ioFault(r) {
		w.tracef("r%d.%d removing the status file fails", r.idx, r.inc)
		return errors.New("simulated: remove: input/output error")
	}
	if r.fileVisible {
		r.fileVisible = false
		w.tracef("r%d.%d status file removed", r.idx, r.inc)
		w.check()
	}
	return nil
}

// simProcs starts a replica's child.
type simProcs struct {
	w *world
	r *simReplica
}

// simChild is a running child and how it behaves.
type simChild struct {
	w      *world
	r      *simReplica
	inc    int
	exited bool
	gaveUp bool // a stop gave up on it: wait returns
	code   int
	exitAt time.Duration // when it exits by itself (0: never)
	// stubborn ignores SIGTERM; dState cannot be killed until dStateEnd.
	stubborn  bool
	dStateEnd time.Duration
	waiters   []*simTask
}

func (p simProcs) start(_, env []string, _ *slog.Logger) (process, error) {
	w, r := p.w, p.r
	// The sim's resourceVersions are numbers, so every term has a token.
	if len(env) != 1 || !strings.HasPrefix(env[0], TokenEnv+"=") || strings.TrimPrefix(env[0], TokenEnv+"=") == "0" {
		w.violatef("r%d started its command with the environment %q, want only %s=<the term's token>", r.idx, env, TokenEnv)
	}
	if w.ioFault(r) {
		return nil, errors.New("simulated: fork/exec: resource temporarily unavailable")
	}
	if m := r.Mono(w.now); m >= r.actUntil {
		w.violatef("r%d started its command at %v, past its deadline %v (last landed renewal + acting window)", r.idx, m, r.actUntil)
	}
	c := &simChild{w: w, r: r, inc: r.inc}
	if w.now < w.chaosEnd {
		c.stubborn = w.chance(0.1)
		if w.now < r.ioFaultsUntil && w.chance(w.p.ioFailure) {
			c.dStateEnd = w.now + w.dur(time.Second, 5*time.Second)
		}
		if w.chance(0.1) {
			// A child dying is a fault: none in a quiet period.
			c.exitAt = w.now + w.dur(10*time.Millisecond, 5*time.Second)
			w.on(r, c.exitAt, func() {
				if w.now < w.chaosEnd {
					c.exit(3)
				}
			})
		}
	}
	r.childRunning = true
	w.tracef("r%d.%d command started", r.idx, r.inc)
	w.check()
	return c, nil
}

func (c *simChild) exit(code int) {
	if c.exited {
		return
	}
	c.exited, c.code = true, code
	if c.r.inc == c.inc {
		c.r.childRunning = false
		c.w.tracef("r%d.%d command exited %d", c.r.idx, c.r.inc, code)
		c.w.check()
	}
	for _, t := range c.waiters {
		c.w.resumeAt(t, c.w.now)
	}
	c.waiters = nil
}

func (c *simChild) wait() (int, bool) {
	for !c.exited && !c.gaveUp {
		t := c.w.cur
		c.waiters = append(c.waiters, t)
		c.w.baton <- struct{}{}
		if !<-t.wake {
			goruntime.Goexit()
		}
	}
	return c.code, c.exited
}

// stop sends SIGTERM and, after grace, SIGKILL, then waits for the tree
// as child.Stop does: an error if it is not gone within a bound.
func (c *simChild) stop(grace time.Duration) error {
	w := c.w
	if c.exited {
		return nil
	}
	if !c.stubborn {
		c.at(w.now + w.dur(time.Millisecond, c.r.TrueDur(grace)))
	}
	w.park(w.now + c.r.TrueDur(grace))
	if c.exited {
		return nil
	}
	// SIGKILL: it dies at once, unless it sits in D-state: then no one can
	// stop it, and an overlap it causes is the world's (the sidecar must
	// still neither release nor exit 0 while it runs).
	if c.dStateEnd > w.now && c.r.inc == c.inc {
		c.r.childStuck = true
	}
	c.at(max(w.now+w.dur(100*time.Microsecond, 2*time.Millisecond), c.dStateEnd))
	w.park(w.now + c.r.TrueDur(time.Second))
	if !c.exited {
		// Nobody waits for it any more (process.wait).
		c.gaveUp = true
		for _, t := range c.waiters {
			w.resumeAt(t, w.now)
		}
		c.waiters = nil
		return errors.New("simulated: a process would not die")
	}
	return nil
}

// at makes the child exit (killed) at t.
func (c *simChild) at(t time.Duration) {
	c.w.at(t, -1, 0, func() { c.exit(-1) })
}
