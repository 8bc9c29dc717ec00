package elect

import (
	"context"

	"fmt"
	"github.com/leader-elector/leader-elector/internal/logging"
	"log/slog"
	"math/rand"
	"time"

	"github.com/leader-elector/leader-elector/elect/leadership"

	"github.com/leader-elector/leader-elector/internal/simq"
)

// newWorld builds a world of p.replicas replicas, all started at time 0.
func newWorld(p simParams) *world {
	w := &world{p: p, rng: rand.New(rand.NewSource(p.seed)), baton: make(chan struct{}), stalled: make(stalledWriter), trace: simq.Trace{Keep: traceKeep}}
	w.logQueue = logging.NewQueue(w.stalled, func(n uint64) []byte { return fmt.Appendf(nil, "%d log lines dropped\n", n) }, 8<<10)
	w.log = slog.New(slog.NewTextHandler(w.logQueue, &slog.HandlerOptions{Level: slog.LevelDebug}))
	if p.randomTimings {
		w.p.base = w.drawTimings(p.base)
	}
	// A leader late for its deadline (paused, its loop or a task behind, a
	// removal stalled) keeps its file for that long: the file is gone
	// lease-duration - renew-deadline - lateness before a takeover, and the
	// margin promised (docs/safety.md) leaves a retry period for it. So the
	// lateness injected stays within it, unless a test says otherwise.
	late := min(w.p.base.RetryPeriod*4/5, w.margin()*7/10)
	for _, f := range []struct {
		d    *time.Duration
		part time.Duration
	}{{&w.p.maxPause, late / 2}, {&w.p.maxLoopStall, late / 5}, {&w.p.maxTaskDelay, late * 3 / 20}, {&w.p.maxRemoveStall, late * 3 / 20}} {
		if *f.d == 0 {
			*f.d = f.part
		}
	}
	w.srv.remember(0)
	for i := 0; i < p.replicas; i++ {
		r := &simReplica{idx: i}
		w.reps = append(w.reps, r)
		w.boot(r, true)
	}
	return w
}

// drawTimings picks timings a user could configure (validateTimings
// accepts them), from fast to slow, keeping base's other settings.
func (w *world) drawTimings(base leadership.Config) leadership.Config {
	for {
		c := base
		c.LeaseDuration = time.Duration(2+w.rng.Intn(4)) * time.Second
		c.RetryPeriod = w.dur(150*time.Millisecond, 700*time.Millisecond).Truncate(time.Millisecond)
		c.RenewDeadline = w.dur(time.Duration(1.25*float64(c.RetryPeriod)), c.LeaseDuration-c.RetryPeriod).Truncate(time.Millisecond)
		c.Grace = w.dur(50*time.Millisecond, c.RenewDeadline-2*c.RetryPeriod).Truncate(time.Millisecond)
		cfg := Config{LeaseDuration: c.LeaseDuration, RenewDeadline: c.RenewDeadline, RetryPeriod: c.RetryPeriod, Grace: c.Grace, Command: []string{"/app"}}
		margin := cfg.Margin()
		// The faults stay within what the promise is made for: pauses and
		// loop stalls shorter than the margin.
		if cfg.validateTimings() == nil && margin >= 300*time.Millisecond {
			return c
		}
	}
}

// margin is the runs' lease-duration - renew-deadline - retry-period.
func (w *world) margin() time.Duration {
	b := w.p.base
	return b.LeaseDuration - b.RenewDeadline - b.RetryPeriod
}

// boot starts a new incarnation of r; newIdentity gives it a new name (a
// new pod), else it keeps its name (a restarted container).
func (w *world) boot(r *simReplica, newIdentity bool) {
	w.killTasks(r) // the old process is gone
	r.inc++
	oldID := r.id
	if newIdentity || r.id == "" {
		w.nextID++
		r.id = fmt.Sprintf("pod-%d", w.nextID)
	}
	b := w.p.base
	cfg := Config{
		LeaseName:     "sim",
		Namespace:     "sim",
		Identity:      r.id,
		StatusFile:    "/run/leader/status",
		LeaderFile:    "/run/leader/leader",
		TokenFile:     "/run/leader/token",
		LeaseDuration: b.LeaseDuration,
		RenewDeadline: b.RenewDeadline,
		RetryPeriod:   b.RetryPeriod,
		Grace:         b.Grace,
	}
	if w.p.execEach > 0 && r.idx%w.p.execEach == 0 {
		cfg.Command = []string{"/app"}
	} else if w.p.releaseDelay != nil {
		cfg.ReleaseDelay = w.p.releaseDelay
	}
	if b.Label {
		cfg.LeaderLabel, cfg.PodName = simLabelKey+"="+simLabelValue, r.id
	}
	if w.p.priorities {
		cfg.Priority = int32(w.rng.Intn(3))
	}
	r.handingOverSince, r.stoppedAsking = 0, false
	r.ecfg, r.cfg = cfg, cfg.machine()
	r.alive, r.exited, r.shuttingDown = true, false, false
	r.tasks, r.sentAt = map[*simTask]struct{}{}, map[int64]time.Duration{}
	r.Rate = 1 + (w.rng.Float64()*2-1)*w.p.drift
	r.Offset = time.Duration(w.rng.Int63n(int64(time.Hour)))
	r.fileVisible, r.tokenVisible, r.childRunning, r.published = false, false, false, false
	r.watchBroken, r.watchLast = false, w.now
	r.acting, r.deposedAt, r.knowsDeposed, r.idleSince = false, 0, false, 0
	r.actUntil, r.unknownAt, r.readServedAt, r.removeFailed, r.childStuck = 0, 0, 0, false, false
	r.unlabelTerm, r.unlabelAt = 0, 0
	h := simHost{w: w, r: r, inc: r.inc}
	api := API{Leases: simLeases{w: w, r: r}, Pods: simPods{w: w, r: r}}
	r.d = newDriver(cfg, w.log, h, api, ports{
		files: simFiles{w: w, r: r},
		procs: simProcs{w: w, r: r},
		out:   simSink{w: w, r: r, inc: r.inc},
	})
	r.d.trace = w.traceEffect(r)
	w.bootLabel(r, oldID)
	w.tracef("r%d.%d boots as %s (exec %v, priority %d, clock rate %.4f)", r.idx, r.inc, r.id, r.cfg.Exec, r.cfg.Priority, r.Rate)
	w.onLoop(r, w.now, func() {
		w.deliver(r, leadership.Start{})
		w.relist(r)
	})
}

// crash kills r's pod: its file, child and endpoint go with it.
func (w *world) crash(r *simReplica) {
	w.stats.crashes++
	w.tracef("r%d.%d CRASH", r.idx, r.inc)
	r.alive = false
	r.fileVisible, r.tokenVisible, r.childRunning, r.published = false, false, false, false
	w.killTasks(r)
	w.check()
	w.scheduleRestart(r, false)
}

func (w *world) scheduleRestart(r *simReplica, newIdentity bool) {
	inc := r.inc
	w.at(w.now+w.dur(200*time.Millisecond, 3*time.Second), -1, 0, func() {
		if r.inc == inc && (!r.alive || r.exited) {
			r.alive = false
			w.boot(r, newIdentity)
		}
	})
}

// check runs the invariants after every change.
func (w *world) check() {
	var acting []*simReplica
	for _, r := range w.reps {
		if r.deposedAt != 0 && !r.acting && w.now-r.deposedAt > w.deposeBound() {
			r.deposedAt = 0 // deposed before it acted, and it never did
		}
		now := r.alive && r.actingNow()
		if now && !r.acting {
			w.startedActing(r)
		}
		if !now && r.acting {
			w.stoppedActing(r)
		}
		r.acting = now
		if now {
			acting = append(acting, r)
		}
	}
	if len(acting) > 1 {
		excused := 0
		for _, r := range acting {
			if r.deposedAt != 0 || w.stuckExcused(r) {
				excused++
			}
		}
		if excused < len(acting)-1 {
			msg := ""
			for _, r := range acting {
				msg += fmt.Sprintf(" r%d(file %v child %v leader %v)", r.idx, r.fileVisible, r.childRunning, r.published)
			}
			w.violatef("two replicas act at once:%s", msg)
		} else if !w.overlapping {
			w.stats.overlapsExcused++ // counted once per overlap, not per step
		}
	}
	w.overlapping = len(acting) > 1
	w.checkLabels()
}

func (w *world) startedActing(r *simReplica) {
	w.stats.terms++
	r.actingSince, r.idleSince = w.now, 0
	if r.deposedAt != 0 && r.knowsDeposed {
		// It saw the foreign write before it began to act: acting now is
		// its own doing, not the foreign write's.
		r.deposedAt = 0
	}
	if r.deposedAt != 0 {
		// A write of its own that a foreign write overwrote, seen or
		// answered late: it acts on what it can know, and the foreign write
		// is why another may have acted meanwhile (seed 2920 judged this a
		// margin violation). It must stop within the bound (stoppedActing).
		w.lastEnds = w.lastEnds[:0]
		return
	}
	margin := w.p.base.LeaseDuration - w.p.base.RenewDeadline - w.p.base.RetryPeriod
	// The margin is measured on the stopped replica's clock: allow its drift.
	need := time.Duration(float64(margin) * (1 - 2*w.p.drift))
	for _, e := range w.lastEnds {
		if e.rep == r.idx || e.exempt {
			continue
		}
		if gap := w.now - e.at; gap < need {
			w.violatef("r%d started acting %.3fs after r%d stopped, within the margin %v", r.idx, gap.Seconds(), e.rep, margin)
		}
	}
	if len(w.lastEnds) > 0 {
		last := w.lastEnds[len(w.lastEnds)-1]
		w.stats.maxGap = max(w.stats.maxGap, w.now-last.at)
	}
	w.lastEnds = w.lastEnds[:0]
}

func (w *world) stoppedActing(r *simReplica) {
	// A file whose removal failed, or a child that would not die, outlive
	// their term by the world's doing: the sidecar neither releases nor
	// exits 0 meanwhile (checkRelease, exited), but no margin holds.
	stuck := r.removeFailed || r.childStuck
	exempt := !r.alive || r.cfg.Exec || r.deposedAt != 0 || stuck
	if r.deposedAt != 0 && !stuck {
		// Deposed by a foreign write: it must notice within its deadline.
		if d := w.now - r.deposedAt; d > w.deposeBound() {
			w.violatef("r%d kept acting %.3fs after a foreign write took its Lease", r.idx, d.Seconds())
		}
		// It stays deposed until the bound: an answer or a view of a write
		// it sent before the foreign one may still start a term.
	}
	w.lastEnds = append(w.lastEnds, actEnd{rep: r.idx, inc: r.inc, at: w.now, exempt: exempt})
}

func (w *world) deposeBound() time.Duration {
	return time.Duration(float64(w.p.base.RenewDeadline)*(1+w.p.drift)) + w.p.maxPause + w.p.maxLoopStall + 50*time.Millisecond
}

// run plays the world for p.duration and returns the violations.
func (w *world) run() []string {
	w.at(0, -1, 0, w.phase)
	var e *event
	for w.q.Len() > 0 && len(w.violations) == 0 {
		it := w.q.Pop()
		if it.At > w.p.duration {
			break
		}
		w.now, e = it.At, it.V
		if e.rep >= 0 {
			r := w.reps[e.rep]
			if r.inc != e.inc || !r.alive {
				continue
			}
			if w.q.Defer(it, r.pausedUntil) || e.loop && w.q.Defer(it, r.loopStalledUntil) {
				continue
			}
		}
		e.fn()
	}
	for _, r := range w.reps {
		w.killTasks(r)
	}
	w.stats.logDropped += int(w.logQueue.Dropped())
	close(w.stalled)
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	w.logQueue.Close(ctx)
	return w.violations
}

// phase alternates chaos, where faults strike, with quiet, where every
// replica reaches the API and one must come to lead.
func (w *world) phase() {
	if w.quiet {
		w.endQuiet()
		w.quiet = false
		w.tracef("--- chaos")
		w.chaosEnd = w.now + w.p.chaos
		w.at(w.now+w.p.chaos, -1, 0, w.phase)
		w.at(w.now, -1, 0, w.fault)
		return
	}
	w.quiet = true
	b := w.p.base
	settle := b.LeaseDuration + 2*b.RetryPeriod + w.p.maxPause + w.p.maxLoopStall + time.Second
	// A fault just before the quiet may still be playing out: a
	// shutdown's release delay, a partition's end.
	q := settle + b.LeaseDuration
	if w.p.priorities || w.p.handovers {
		// An ask made in the chaos may be pending for two lease
		// durations before the next one goes out; an operator's hand-over
		// needs time to complete, or to fail and be stood back from.
		q += 2 * b.LeaseDuration
	}
	if w.p.handovers {
		w.at(w.now+settle, -1, 0, w.operatorHandover)
	}
	// Moves are counted once the chaos has played out.
	w.at(w.now+settle, -1, 0, func() { w.quietMoves = 0 })
	w.quietEnd = w.now + q
	w.tracef("--- quiet until %.3fs", w.quietEnd.Seconds())
	w.at(w.quietEnd-time.Millisecond, -1, 0, w.checkLive)
	w.at(w.quietEnd, -1, 0, w.phase)
}

func (w *world) checkLive() {
	for _, r := range w.reps {
		if r.alive && r.actingNow() {
			w.checkLabelLive(r)
			w.checkPriorities(r)
			return
		}
	}
	w.violatef("liveness: nobody acts at the end of a quiet period")
}

// fault strikes one random fault, then schedules the next.
func (w *world) fault() {
	if w.quiet {
		return
	}
	defer w.at(w.now+w.dur(50*time.Millisecond, 800*time.Millisecond), -1, 0, w.fault)
	r := w.reps[w.rng.Intn(len(w.reps))]
	if !r.alive || r.exited {
		return
	}
	end := w.chaosEnd // faults heal before the quiet period
	switch k := w.rng.Intn(100); {
	case k < 20:
		d := min(w.dur(300*time.Millisecond, 6*time.Second), end-w.now)
		w.stats.partitions++
		w.tracef("r%d.%d partitioned for %v", r.idx, r.inc, d)
		r.partitioned = max(r.partitioned, w.now+d)
		r.watchBroken = true
		w.on(r, r.partitioned, func() { w.relist(r) })
	case k < 35:
		d := min(w.dur(200*time.Millisecond, 3*time.Second), end-w.now)
		w.tracef("r%d.%d slow network for %v", r.idx, r.inc, d)
		r.slowUntil = max(r.slowUntil, w.now+d)
	case k < 50:
		w.tracef("r%d.%d watch breaks", r.idx, r.inc)
		r.watchBroken = true
		w.on(r, w.now+w.dur(100*time.Millisecond, 4*time.Second), func() { w.relist(r) })
	case k < 58:
		w.freeze(r, "paused", &r.pausedUntil, w.p.maxPause, &w.stats.pauses)
	case k < 62:
		// The loop falls behind its own tasks (a long GC, a busy core):
		// their answers wait, its deadlines too.
		w.freeze(r, "loop stalls", &r.loopStalledUntil, w.p.maxLoopStall, &w.stats.loopStalls)
	case k < 66:
		if w.p.ioFailure == 0 {
			return
		}
		w.stats.ioFaults++
		d := min(w.dur(time.Second, 8*time.Second), end-w.now)
		w.tracef("r%d.%d disk and process faults for %v", r.idx, r.inc, d)
		r.ioFaultsUntil = max(r.ioFaultsUntil, w.now+d)
		if w.p.maxTaskDelay > 0 {
			r.tasksSlowUntil = max(r.tasksSlowUntil, w.now+d/4)
		}
	case k < 77:
		if r.shuttingDown {
			return
		}
		w.stats.shutdowns++
		r.shuttingDown = true
		w.onLoop(r, w.now, func() { w.deliver(r, leadership.Shutdown{}) })
	case k < 86:
		w.crash(r)
	case k < 92 && w.p.handovers:
		w.chaosHandover()
	default:
		if w.p.foreign {
			w.foreignWrite()
		}
	}
}

// freeze stops r (all of it, or its loop: until says which) for up to
// longest from now, unless it is stopped already.
func (w *world) freeze(r *simReplica, what string, until *time.Duration, longest time.Duration, count *int) {
	if longest == 0 || w.now < *until {
		return
	}
	*count++
	d := w.dur(time.Millisecond, longest)
	w.tracef("r%d.%d %s for %v", r.idx, r.inc, what, d)
	*until = w.now + d
}

// foreignWrite is someone else writing the Lease: kubectl, an operator.
func (w *world) foreignWrite() {
	if !w.srv.exists {
		return
	}
	w.stats.foreign++
	// Others may take a cleared or deleted Lease at once: the margin after
	// a file disappeared before it cannot hold.
	for i := range w.lastEnds {
		w.lastEnds[i].exempt = true
	}
	switch w.rng.Intn(3) {
	case 0: // a label or annotation: a new resourceVersion, the same record
		w.tracef("server: FOREIGN metadata change")
	case 1:
		w.tracef("server: FOREIGN clears the holder")
		w.depose()
		w.srv.rec.Holder, w.srv.writer = "", -1
	case 2:
		w.tracef("server: FOREIGN deletes the Lease")
		w.depose()
		w.srv.exists, w.srv.writer = false, -1
	}
	w.srv.rev++
	w.srv.rv = w.srv.rev
	w.srv.remember(w.now)
	for _, r := range w.reps {
		if r.deposedAt == w.now {
			r.deposeRV, r.knowsDeposed = w.srv.rv, false
		}
	}
	w.broadcast()
}

// depose marks the replicas acting now: a foreign write took their Lease,
// so others may act before they notice. That overlap is excused (no
// protocol can prevent it), but it must end within the deadline.
func (w *world) depose() {
	for _, r := range w.reps {
		// The holder's write may have landed with its answer still on the
		// way: it will act on it, so it is deposed too.
		holder := w.srv.writer == r.idx && w.srv.writerInc == r.inc
		if r.alive && r.actingNow() {
			w.deposeLabel(r)
		}
		if r.alive && (r.actingNow() || holder) && r.deposedAt == 0 {
			r.deposedAt = w.now
		}
	}
}
