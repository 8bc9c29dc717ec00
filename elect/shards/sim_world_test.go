package shards_test

import (
	"fmt"
	"log/slog"
	"math/rand"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/leader-elector/leader-elector/elect/leadership"
	"github.com/leader-elector/leader-elector/elect/shards"
	"github.com/leader-elector/leader-elector/internal/shardgroup"
	"github.com/leader-elector/leader-elector/internal/simq"
)

// The simulated world of a shard group (issue 22): an API server holding M
// shard Leases and one member Lease per replica, a network between it and
// the replicas, and each replica's group protocol (member Lease, watch,
// shards.View) around M leadership machines, whose effects a small driver
// of our own carries out. Everything happens on one event queue in true
// time, and everything random comes from one seeded source, so a seed
// replays exactly. Unlike package elect's simulation this one does not run
// the real driver: it models it (the term gate of elect/gate.go, the task
// per request and per file operation of elect/driver.go) at the machines'
// level, which is what the group protocol adds to.

const simGroup = "sim"

var simEpoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// simEvent is something that happens at a true time. An event of a replica
// (rep >= 0) is dropped once that replica's process is gone and waits while
// it is paused; an event of its loop (loop: a step of its machines or of
// its group protocol) also waits while the loop is stalled, when its tasks
// (file operations) go on. The world's own events (rep -1: the API server,
// the operator) wait for nobody.
type simEvent struct {
	rep  int
	loop bool
	fn   func()
}

// simLease is one Lease on the API server.
type simLease struct {
	exists bool
	rv     uint64
	rec    leadership.Record
}

// simServer is the API server: every Lease of the group, each with its
// resourceVersion from one revision counter, as etcd keeps them. Writes of
// shard Leases are compare-and-swap on the resourceVersion they are based
// on; member Leases are written unconditionally (create or update), as the
// group protocol does.
type simServer struct {
	rev    uint64
	leases map[string]*simLease
	names  []string // sorted: a relist lists them in this order
}

func (s *simServer) get(name string) *simLease {
	l := s.leases[name]
	if l == nil {
		l = &simLease{}
		s.leases[name] = l
		s.names = append(s.names, name)
		slices.Sort(s.names)
	}
	return l
}

// state is the Lease as a read or the watch shows it: absent (with the
// resourceVersion of its deletion, if it was deleted) or its record.
func (s *simServer) state(name string) leadership.Lease {
	l := s.leases[name]
	if l == nil || l.rv == 0 {
		return leadership.Lease{}
	}
	return leadership.Lease{Exists: l.exists, RV: strconv.FormatUint(l.rv, 10), Record: l.rec}
}

// write applies a shard machine's write as the API server would.
func (s *simServer) write(name string, e leadership.Write) (leadership.Outcome, leadership.Lease) {
	l := s.get(name)
	if e.Create {
		if l.exists {
			return leadership.AlreadyExists, leadership.Lease{}
		}
	} else {
		if !l.exists {
			return leadership.NotFound, leadership.Lease{}
		}
		// An update without a resourceVersion is unconditional, as on a
		// real API server: only the precondition keeps a stale write out.
		if e.BaseRV != "" && e.BaseRV != strconv.FormatUint(l.rv, 10) {
			return leadership.Conflict, leadership.Lease{}
		}
	}
	s.rev++
	l.exists, l.rv, l.rec = true, s.rev, e.Record
	return leadership.OK, s.state(name)
}

// put creates or updates a member Lease.
func (s *simServer) put(name string, rec leadership.Record) {
	l := s.get(name)
	s.rev++
	l.exists, l.rv, l.rec = true, s.rev, rec
}

// remove deletes a Lease; false when there is none.
func (s *simServer) remove(name string) bool {
	l := s.get(name)
	if !l.exists {
		return false
	}
	s.rev++
	l.exists, l.rv, l.rec = false, s.rev, leadership.Record{}
	return true
}

// simWindow is an open term of one shard's status file and its deadline
// (elect/gate.go's window): nil when no term is open.
type simWindow struct {
	term  uint64
	until time.Duration
}

// simShard is one shard's machine in one replica, and what its driver
// shows: the shard's status file.
type simShard struct {
	r        *simReplica
	i        int
	m        *leadership.Machine
	timerGen uint64
	timerAt  time.Duration // the machine's timer as last set (0: none)
	pending  int           // requests and file operations whose answer is still to come
	gate     *simWindow
	done     bool // Exit seen

	visible      bool
	removeFailed bool // a removal failed while the file was visible: it outlives its term by the world's doing
	// For the deadline check: its clock when each write naming it was
	// sent (by renew time), and how long the landed ones let it act.
	sentAt   map[int64]time.Duration
	actUntil time.Duration
	// unanswered are the writes naming it that had no answer (by renew
	// time): they may land late, after the machine last learnt the Lease.
	unanswered map[int64]bool
}

// simReplica is one replica (one Pod, one identity; a crashed or departed
// replica never comes back, a join is a new one).
type simReplica struct {
	idx         int
	id          string
	memberLease string // its member Lease's name
	cfg         leadership.Config
	simq.Clock  // its monotonic clock, its own rate against true time

	alive   bool // the process runs
	leaving bool // SIGTERM received: shutting down

	view     *shards.View
	sm       []*simShard
	expiryAt uint64 // generation of the View's expiry timer

	// The watch: FIFO delivery, broken until a relist, and the Leases it
	// has shown present (a relist shows the deletions it missed, as an
	// informer's replace does).
	watchLast   time.Duration
	watchBroken bool
	seen        map[string]bool

	// The member Lease: one write at a time, the renewal timer's
	// generation, and whether the deletion on shutdown is done.
	memberBusy    bool
	memberOK      bool // a write of it has landed
	memberGen     uint64
	memberDeleted bool
	memberAgain   bool         // renew again once the write under way answers
	leading       map[int]bool // the shards whose machines last published Leading

	pausedUntil      time.Duration
	loopStalledUntil time.Duration
	partitioned      time.Duration // until
	slowUntil        time.Duration
	ioFaultsUntil    time.Duration
}

// member says r counts as a member of the group: running, not leaving.
func (r *simReplica) member() bool { return r.alive && !r.leaving }

func (r *simReplica) String() string { return fmt.Sprintf("r%d", r.idx) }

type world struct {
	p   simParams
	rng *rand.Rand
	now time.Duration
	q   simq.Queue[*simEvent]
	srv simServer

	reps []*simReplica

	chaosEnd time.Duration // faults strike only before it

	// The checker's books, per shard: when a replica's file for it
	// disappeared since it was last shown (for the margin), and the
	// replica whose file showed last.
	ends  [][]simEnd
	owner []*simReplica

	// The quiet period's round under way (nil: chaos or calm), and the
	// owners it settled on (nil until it settled): from then on nothing
	// may move.
	round    *simRound
	settled  []*simReplica
	phase    string
	rounds   int // rounds left in this quiet period
	trace    simq.Trace
	stats    simStats
	steps    int
	violated []string
}

// simEnd is the moment a replica's file for a shard disappeared.
type simEnd struct {
	rep    *simReplica
	at     time.Duration
	exempt bool // the replica crashed (its app is gone with it), or the removal had failed
}

// simRound is one quiet period's membership change and what followed.
type simRound struct {
	kind      string // join, leave, crash
	who       *simReplica
	at        time.Duration
	minMoves  int
	handovers int
	ordered   map[[2]int]bool // replicas and shards whose term ended because the plan moved the shard
	settledAt time.Duration   // when every shard first had one owner, balanced (0: not yet)
}

func (w *world) tracef(format string, args ...any) {
	w.trace.Add(fmt.Sprintf("%9.4fs ", w.now.Seconds()) + fmt.Sprintf(format, args...))
}

func (w *world) violatef(format string, args ...any) {
	msg := fmt.Sprintf("%.4fs [%s]: ", w.now.Seconds(), w.phase) + fmt.Sprintf(format, args...)
	w.tracef("VIOLATION %s", msg)
	w.violated = append(w.violated, msg)
}

// at schedules fn at t for replica rep (-1: the world's).
func (w *world) at(t time.Duration, rep int, loop bool, fn func()) {
	w.q.Push(max(t, w.now), &simEvent{rep: rep, loop: loop, fn: fn})
}

// onLoop schedules fn on r's loop.
func (w *world) onLoop(r *simReplica, t time.Duration, fn func()) { w.at(t, r.idx, true, fn) }

// onTask schedules fn on one of r's tasks: it waits while r is paused, not
// while its loop is stalled.
func (w *world) onTask(r *simReplica, t time.Duration, fn func()) { w.at(t, r.idx, false, fn) }

func (w *world) dur(lo, hi time.Duration) time.Duration {
	if hi <= lo {
		return lo
	}
	return lo + time.Duration(w.rng.Int63n(int64(hi-lo)))
}

func (w *world) chance(p float64) bool { return w.rng.Float64() < p }

func (w *world) chaos() bool { return w.now < w.chaosEnd }

// run plays the world for p.duration and returns the violations.
func (w *world) run() []string {
	for w.q.Len() > 0 && len(w.violated) == 0 {
		it := w.q.Pop()
		if it.At > w.p.duration {
			break
		}
		w.now = it.At
		e := it.V
		if e.rep >= 0 {
			r := w.reps[e.rep]
			if !r.alive {
				continue
			}
			if w.q.Defer(it, r.pausedUntil) || e.loop && w.q.Defer(it, r.loopStalledUntil) {
				continue
			}
		}
		e.fn()
	}
	return w.violated
}

// ---- One replica: its process, its group protocol, its machines. ----

// join starts a new replica with a new identity: its machines, its watch
// (a list, then events) and its member Lease.
func (w *world) join() *simReplica {
	idx := len(w.reps)
	id := fmt.Sprintf("pod-%d", idx)
	cfg := w.p.base
	cfg.Identity, cfg.Sharded = id, true
	r := &simReplica{
		idx:         idx,
		id:          id,
		memberLease: shardgroup.MemberLease(simGroup, id),
		cfg:         cfg,
		Clock:       simq.Clock{Rate: 1 + (w.rng.Float64()*2-1)*w.p.drift, Offset: time.Duration(w.rng.Int63n(int64(time.Hour)))},
		alive:       true,
		view:        shards.NewView(w.p.shards, id, cfg.RetryPeriod),
		seen:        map[string]bool{},
		leading:     map[int]bool{},
	}
	r.watchLast = w.now
	for i := 0; i < w.p.shards; i++ {
		r.sm = append(r.sm, &simShard{r: r, i: i, m: leadership.New(cfg), sentAt: map[int64]time.Duration{}, unanswered: map[int64]bool{}})
	}
	w.reps = append(w.reps, r)
	w.stats.joins++
	w.tracef("%s JOINS as %s (clock rate %.4f)", r, r.id, r.Rate)
	w.onLoop(r, w.now, func() {
		for _, s := range r.sm {
			w.step(s, leadership.Start{})
		}
		w.relist(r)
		w.writeMember(r)
	})
	return r
}

func (w *world) nowOf(r *simReplica) leadership.Now {
	mono := r.Mono(w.now)
	return leadership.Now{Mono: mono, Wall: simEpoch.Add(mono)}
}

// leave is a graceful stop (SIGTERM): every shard machine shuts down and
// the member Lease is deleted, concurrently; the process exits when both
// are done.
func (w *world) leave(r *simReplica) {
	w.stats.leaves++
	w.tracef("%s SIGTERM", r)
	w.onLoop(r, w.now, func() {
		if r.leaving {
			return
		}
		r.leaving = true
		r.memberGen++ // no more renewals
		for _, s := range r.sm {
			w.step(s, leadership.Shutdown{})
		}
		w.deleteMember(r)
		w.check()
	})
}

// crash kills r's Pod at once (SIGKILL, a node lost): nothing of it runs
// any more, and its status files go with it (they live in the Pod: an
// emptyDir its app shares). Requests it had sent may still land.
func (w *world) crash(r *simReplica) {
	w.stats.crashes++
	w.tracef("%s CRASH", r)
	r.alive = false
	for _, s := range r.sm {
		if s.visible {
			w.conceal(s, true)
		}
	}
	w.check()
}

// exitIfDone ends a leaving replica's process once every machine exited
// and the member Lease's deletion is done.
func (w *world) exitIfDone(r *simReplica) {
	if !r.alive || !r.leaving || !r.memberDeleted {
		return
	}
	for _, s := range r.sm {
		if !s.done {
			return
		}
	}
	for _, s := range r.sm {
		if s.visible && !s.removeFailed {
			w.violatef("%s exited with its file for shard %d visible", r, s.i)
		}
	}
	w.tracef("%s exits", r)
	r.alive = false
	w.check()
}

// step steps one shard machine with one input and carries out its effects.
func (w *world) step(s *simShard, in leadership.Input) {
	r := s.r
	if !r.alive || s.done {
		return
	}
	w.steps++
	switch in.(type) {
	case leadership.Tick, leadership.Observed:
	default:
		w.tracef("%s/%d <- %s", r, s.i, leadership.Describe(in))
	}
	mono := r.Mono(w.now)
	for _, e := range s.m.Step(leadership.Now{Mono: mono, Wall: simEpoch.Add(mono)}, in) {
		w.do(s, e)
	}
}

// report hands a task's answer to the loop.
func (w *world) report(s *simShard, in leadership.Input) {
	w.onLoop(s.r, w.now, func() {
		s.pending--
		w.step(s, in)
	})
}

// do carries out one effect, as elect's driver does: requests and file
// operations on tasks that report back, the gate at once.
func (w *world) do(s *simShard, e leadership.Effect) {
	r := s.r
	switch e := e.(type) {
	case leadership.Write:
		w.tracef("%s/%d -> %s", r, s.i, leadership.Describe(e))
		s.pending++
		w.writeShard(s, e)
	case leadership.Read:
		w.tracef("%s/%d -> %s", r, s.i, leadership.Describe(e))
		s.pending++
		w.readShard(s, e)
	case leadership.ShowFile:
		w.tracef("%s/%d -> %s", r, s.i, leadership.Describe(e))
		s.pending++
		w.showFile(s, e)
	case leadership.ExtendTerm:
		if g := s.gate; g != nil && g.term == e.Term && e.Until > g.until {
			s.gate = &simWindow{term: e.Term, until: e.Until}
		}
	case leadership.HideFile:
		w.tracef("%s/%d -> %s", r, s.i, leadership.Describe(e))
		s.pending++
		w.hideFile(s, e)
	case leadership.SetTimer:
		s.timerGen++
		s.timerAt = e.At
		if e.At == 0 {
			return
		}
		gen := s.timerGen
		w.onLoop(r, r.TrueAt(e.At), func() {
			if s.timerGen == gen {
				w.step(s, leadership.Tick{})
			}
		})
	case leadership.Log:
		if e.Level >= slog.LevelInfo {
			w.tracef("%s/%d    %s", r, s.i, leadership.Describe(e))
		}
		if w.round != nil && r.member() && strings.HasPrefix(e.Msg, "the shard moves to another replica") {
			// A member's term ends for a move the plan ordered. Counted
			// once per replica and shard: a renewal that lands after the
			// step-down starts a term the same step ends again (writeLanded
			// in HandingOver), which is the same move.
			w.round.ordered[[2]int{r.idx, s.i}] = true
		}
	case leadership.Exit:
		w.tracef("%s/%d exit %d %s", r, s.i, e.Code, e.Reason)
		s.done = true
		if s.visible && !s.removeFailed {
			w.violatef("%s's machine of shard %d exited while its file is visible", r, s.i)
		}
		if e.Code == 0 {
			// A write whose answer was lost may land after the read that
			// followed it: then a dead replica is named until its lease
			// runs out (a delay, not a lie). Any other way is a lie.
			if l := w.srv.state(shardgroup.ShardLease(simGroup, s.i)); l.Exists && l.Record.Holder == r.id && !s.unanswered[l.Record.RenewTime.UnixMicro()] {
				w.violatef("%s's machine of shard %d exited 0 (%s) but the Lease still names it", r, s.i, e.Reason)
			}
		}
		if !r.leaving {
			// A machine ends the run by itself only on a failure (its
			// status file could not be written): as in elect, the process
			// then stops as on SIGTERM and exits 1, and its Pod's container
			// is restarted. A restart under the same identity is not
			// modelled: a new replica joins in its place.
			w.stats.failExits++
			w.tracef("%s stops: its machine of shard %d failed", r, s.i)
			w.leave(r)
			w.stats.leaves--
			w.at(w.now+w.dur(time.Second, 3*time.Second), -1, false, func() {
				if w.round == nil && len(w.members()) < w.p.maxReplicas {
					w.join()
				}
			})
		}
		w.exitIfDone(r)
	case leadership.Publish:
		// As elect's group state: the member Lease is renewed only while
		// the replica acts for no shard, at once when it stops acting
		// for its last one.
		was := len(r.leading) == 0
		if e.Leading {
			r.leading[s.i] = true
		} else {
			delete(r.leading, s.i)
		}
		if idle := len(r.leading) == 0; idle != was {
			r.memberGen++ // a renewal scheduled before no longer applies
			if idle {
				if r.memberBusy {
					r.memberAgain = true
				} else {
					w.writeMember(r)
				}
			}
		}
	case leadership.Event, leadership.Metric, leadership.LeaderFile:
		// What the endpoints, Events and metrics would show: not modelled.
	default:
		w.violatef("%s/%d: unexpected effect %s", r, s.i, leadership.Describe(e))
	}
}

// ---- The network and the API server. ----

func (w *world) latency(r *simReplica) time.Duration {
	d := w.dur(time.Millisecond, 15*time.Millisecond)
	if w.now < r.slowUntil {
		d += w.dur(300*time.Millisecond, 1500*time.Millisecond)
	}
	return d
}

// call sends one request from r: serve runs on the server when it
// arrives, if it does; reply runs on r's loop with the answer, or with
// none (answered false) when the client gives up. A request that arrives
// after its client gave up is served only when lateApplies (a write the
// server had begun), also after r died. During chaos a request may be lost
// on the way or its answer on the way back.
func (w *world) call(r *simReplica, lateApplies bool, serve func(), reply func(answered bool)) {
	sent := w.now
	giveUp := sent + r.TrueDur(w.p.timeout)
	arrive := sent + w.latency(r)
	answerAt := arrive + w.latency(r)
	lost := sent < r.partitioned || arrive < r.partitioned || (!lateApplies && arrive >= giveUp)
	answered := answerAt < giveUp && answerAt >= r.partitioned
	if w.chaos() {
		switch k := w.rng.Intn(100); {
		case k < 2:
			lost = true
			w.stats.lostRequests++
		case k < 5:
			answered = false
			w.stats.lostAnswers++
		}
	}
	answered = answered && !lost
	if !lost {
		w.at(arrive, -1, false, func() {
			if lateApplies || r.alive {
				serve()
			}
		})
	}
	if !answered {
		w.onLoop(r, giveUp, func() { reply(false) })
		return
	}
	w.onLoop(r, answerAt, func() { reply(true) })
}

func (w *world) writeShard(s *simShard, e leadership.Write) {
	r := s.r
	name := shardgroup.ShardLease(simGroup, s.i)
	if e.Record.Holder == r.id {
		s.sentAt[e.Record.RenewTime.UnixMicro()] = r.Mono(w.now)
	}
	if e.Record.Holder == "" && s.visible {
		w.violatef("%s released shard %d while its file is visible", r, s.i)
	}
	// The API server refuses now and then (429, 5xx with an answer).
	refused := w.chaos() && w.chance(0.03)
	var out leadership.Outcome
	var stored leadership.Lease
	w.call(r, true, func() {
		if refused {
			return
		}
		out, stored = w.srv.write(name, e)
		switch out {
		case leadership.OK:
			w.landed(s, e.Record)
			w.tracef("server: %s's write of shard %d landed: %s", r, s.i, stored)
			w.broadcast(name)
		case leadership.Conflict:
			w.stats.conflicts++
		}
	}, func(answered bool) {
		res := leadership.WriteResult{Seq: e.Seq}
		switch {
		case !answered:
			res.Outcome, res.Err = leadership.Unknown, "simulated: no answer"
			s.unanswered[e.Record.RenewTime.UnixMicro()] = true
			w.stats.unknownWrites++
		case refused:
			res.Outcome, res.Err = leadership.Refused, "simulated: too many requests"
		default:
			res.Outcome, res.Lease = out, stored
		}
		s.pending--
		w.step(s, res)
	})
}

// landed keeps the deadline check's books: a write naming its sender lets
// it act until its send + the renew deadline, on the sender's clock.
func (w *world) landed(s *simShard, rec leadership.Record) {
	if rec.Holder != s.r.id {
		return
	}
	if at, ok := s.sentAt[rec.RenewTime.UnixMicro()]; ok {
		s.actUntil = max(s.actUntil, at+s.r.cfg.RenewDeadline)
	}
}

func (w *world) readShard(s *simShard, e leadership.Read) {
	name := shardgroup.ShardLease(simGroup, s.i)
	var l leadership.Lease
	w.call(s.r, false, func() {
		// A GET without a resourceVersion is a quorum read.
		l = w.srv.state(name)
	}, func(answered bool) {
		res := leadership.ReadResult{Seq: e.Seq, Lease: l}
		if !answered {
			res = leadership.ReadResult{Seq: e.Seq, Err: "simulated: no answer"}
		}
		s.pending--
		w.step(s, res)
	})
}

// broadcast sends a Lease's new state to every watch, in order per
// replica.
func (w *world) broadcast(name string) {
	l := w.srv.state(name)
	for _, r := range w.reps {
		if !r.alive || r.watchBroken || w.now < r.partitioned {
			continue
		}
		d := w.dur(time.Millisecond, 30*time.Millisecond)
		if w.now < r.slowUntil {
			d += w.dur(100*time.Millisecond, time.Second)
		}
		at := max(w.now+d, r.watchLast)
		r.watchLast = at
		w.onLoop(r, at, func() { w.observe(r, name, l) })
	}
}

// relist heals r's watch: every Lease of the group as it is now (and the
// deletion of those it showed that are gone), then events again.
func (w *world) relist(r *simReplica) {
	if !r.alive {
		return
	}
	if w.now < r.partitioned {
		w.at(r.partitioned+w.dur(0, 500*time.Millisecond), r.idx, false, func() { w.relist(r) })
		return
	}
	r.watchBroken = false
	w.tracef("%s relists", r)
	at := max(w.now+w.dur(time.Millisecond, 50*time.Millisecond), r.watchLast)
	r.watchLast = at
	for _, name := range w.srv.names {
		l := w.srv.state(name)
		if l.Exists || r.seen[name] {
			w.onLoop(r, at, func() { w.observe(r, name, l) })
		}
	}
}

// observe is one state of a Lease seen on r's watch: it goes to the View
// and, for a shard, to that shard's machine; then the plan's changes go to
// the machines.
func (w *world) observe(r *simReplica, name string, l leadership.Lease) {
	if r.seen[name] == l.Exists && !l.Exists {
		return
	}
	r.seen[name] = l.Exists
	mono := r.Mono(w.now)
	holder, version := "", ""
	ld := time.Duration(l.Record.LeaseDurationSeconds) * time.Second
	if l.Exists {
		holder = l.Record.Holder
		version = holder + "@" + strconv.FormatInt(l.Record.RenewTime.UnixMicro(), 10)
	}
	if i, ok := shardgroup.ShardOfName(simGroup, name); ok && i < len(r.sm) {
		r.view.Shard(mono, i, holder, version, ld)
		w.step(r.sm[i], leadership.Observed{Lease: l})
	} else {
		r.view.Member(mono, name, holder, version, ld, 0) // ages are not modelled: 0 is "unknown"
	}
	w.replan(r)
}

// replan tells each shard machine the owner the plan now wants, where it
// changed, and arms the View's expiry timer.
func (w *world) replan(r *simReplica) {
	if !r.alive {
		return
	}
	mono := r.Mono(w.now)
	for _, c := range r.view.Changes(mono) {
		w.step(r.sm[c.Shard], leadership.Owner{Identity: c.Owner})
	}
	r.expiryAt++
	if next := r.view.NextExpiry(mono); next != 0 {
		gen := r.expiryAt
		w.onLoop(r, r.TrueAt(next), func() {
			if r.expiryAt == gen {
				w.replan(r)
			}
		})
	}
}

// writeMember creates or renews r's member Lease: every LD/3 once it
// landed, a retry period after a failure.
func (w *world) writeMember(r *simReplica) {
	if !r.alive || r.leaving || r.memberBusy {
		return
	}
	r.memberBusy = true
	wall := simEpoch.Add(r.Mono(w.now)).Round(time.Microsecond)
	rec := leadership.Record{Holder: r.id, LeaseDurationSeconds: int32(r.cfg.LeaseDuration / time.Second), AcquireTime: wall, RenewTime: wall}
	refused := w.chaos() && w.chance(0.03)
	w.call(r, true, func() {
		if refused {
			return
		}
		w.srv.put(r.memberLease, rec)
		w.tracef("server: %s's member Lease written: %s", r, w.srv.state(r.memberLease))
		w.broadcast(r.memberLease)
	}, func(answered bool) {
		r.memberBusy = false
		if r.leaving {
			w.deleteMember(r) // waited for this write: it cannot land after the deletion
			return
		}
		next := r.cfg.LeaseDuration / 3
		if !answered || refused {
			next = r.cfg.RetryPeriod
		} else {
			r.memberOK = true
		}
		again := r.memberAgain
		r.memberAgain = false
		if len(r.leading) > 0 {
			return // acting for a shard: its renewals show it alive
		}
		if again {
			next = 0
		}
		r.memberGen++
		gen := r.memberGen
		w.onLoop(r, w.now+r.TrueDur(next), func() {
			if r.memberGen == gen {
				w.writeMember(r)
			}
		})
	})
}

// deleteMember deletes r's member Lease on shutdown, once: should it fail,
// the Lease expires.
func (w *world) deleteMember(r *simReplica) {
	if r.memberBusy || r.memberDeleted {
		return
	}
	r.memberBusy = true
	w.call(r, true, func() {
		if w.srv.remove(r.memberLease) {
			w.tracef("server: %s's member Lease deleted", r)
			w.broadcast(r.memberLease)
		}
	}, func(bool) {
		r.memberBusy, r.memberDeleted = false, true
		w.exitIfDone(r)
	})
}

// ---- The status files. ----

// ioFault says one file operation fails now: only during chaos, while the
// replica's disk faults last.
func (w *world) ioFault(r *simReplica) bool {
	if w.chaos() && w.now < r.ioFaultsUntil && w.chance(0.2) {
		w.stats.failedIO++
		return true
	}
	return false
}

// showFile is elect's driver's showFile: the slow part (write, fsync)
// first, which may stall for long; then the rename inside the gate, which
// happens only if the term is still open and before its deadline on the
// replica's own clock. A term closed meanwhile (HideFile) or a deadline
// passed means the file never becomes visible: Aborted.
func (w *world) showFile(s *simShard, e leadership.ShowFile) {
	r := s.r
	s.gate = &simWindow{term: e.Term, until: e.Until}
	d := w.dur(300*time.Microsecond, 3*time.Millisecond)
	if w.chaos() && w.chance(0.05) {
		d = w.dur(3*time.Millisecond, 3*time.Second) // a stalled disk
	}
	fail := w.ioFault(r)
	w.onTask(r, w.now+d, func() {
		res := leadership.FileShown{Term: e.Term}
		g := s.gate
		switch {
		case fail:
			res.Err = "simulated: no space left on device"
		case g == nil || g.term != e.Term || r.Mono(w.now) >= g.until:
			res.Aborted = true
			w.tracef("%s/%d file of term %d not shown: its term closed or its deadline passed", r, s.i, e.Term)
		default:
			w.reveal(s)
			res.OK = true
		}
		w.report(s, res)
	})
}

// hideFile is elect's driver's hideFile: the gate closes at once (so a
// show still under way never reveals), then the removal, which may stall
// (within the lateness the margin allows) or fail.
func (w *world) hideFile(s *simShard, e leadership.HideFile) {
	r := s.r
	if g := s.gate; g != nil && g.term == e.Term {
		s.gate = nil
	}
	d := w.dur(100*time.Microsecond, time.Millisecond)
	if w.chaos() && w.chance(0.05) {
		d = w.dur(time.Millisecond, w.p.maxRemoveStall)
	}
	fail := w.ioFault(r)
	w.onTask(r, w.now+d, func() {
		if fail {
			if s.visible {
				s.removeFailed = true
			}
			w.tracef("%s/%d removing the file fails", r, s.i)
			w.report(s, leadership.FileHidden{Term: e.Term, Err: "simulated: remove: input/output error"})
			return
		}
		if s.visible {
			w.conceal(s, s.removeFailed)
		}
		w.report(s, leadership.FileHidden{Term: e.Term})
	})
}
