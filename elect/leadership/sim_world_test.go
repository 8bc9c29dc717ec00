package leadership

import (
	"container/heap"
	"fmt"
	"math/rand"
	"strconv"
	"strings"
	"time"
)

// The simulated world: an API server holding one Lease, a network between
// it and N replicas, and each replica's driver (files, child, timer), all on
// one event queue in true time. Everything random comes from one seeded
// source, so a seed replays exactly.

// event is something that happens at a true time. An event of a replica
// (rep >= 0) waits while that replica is paused and is dropped if the
// incarnation it was meant for has died.
type event struct {
	at  time.Duration
	seq uint64
	rep int
	inc int
	fn  func()
}

type eventQueue []*event

func (q eventQueue) Len() int { return len(q) }
func (q eventQueue) Less(i, j int) bool {
	if q[i].at != q[j].at {
		return q[i].at < q[j].at
	}
	return q[i].seq < q[j].seq
}
func (q eventQueue) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *eventQueue) Push(x any)   { *q = append(*q, x.(*event)) }
func (q *eventQueue) Pop() any {
	old := *q
	e := old[len(old)-1]
	*q = old[:len(old)-1]
	return e
}

// simServer is the API server's one Lease, with optimistic concurrency.
type simServer struct {
	exists bool
	rv     uint64
	rec    Record
	rev    uint64
	// writer is the replica incarnation whose write made the current
	// record, for the zombie check (-1: a foreign write).
	writer, writerInc int
	// labels are the Pods carrying the leader label (sim_label_test.go).
	labels map[string]labelTag
}

func (s *simServer) lease() Lease {
	return Lease{Exists: s.exists, RV: strconv.FormatUint(s.rv, 10), Record: s.rec}
}

// write applies w as the API server would and returns the outcome.
func (s *simServer) write(w Write) (Outcome, Lease) {
	if w.Create {
		if s.exists {
			return AlreadyExists, Lease{}
		}
	} else {
		if !s.exists {
			return NotFound, Lease{}
		}
		if w.BaseRV != strconv.FormatUint(s.rv, 10) {
			return Conflict, Lease{}
		}
	}
	s.rev++
	s.exists, s.rv, s.rec = true, s.rev, w.Record
	return OK, s.lease()
}

// simReplica is one sidecar process and what its driver shows.
type simReplica struct {
	idx, inc int
	id       string
	m        *Machine
	cfg      Config
	alive    bool
	exited   bool // Exit seen; waiting to be restarted

	rate   float64       // its clock's rate against true time
	offset time.Duration // its monotonic clock's origin

	// The driver's world: the status file, the child, /leader.
	fileVisible  bool
	hidden       map[uint64]bool
	until        map[uint64]time.Duration
	childRunning bool
	childTerm    uint64
	stopAsked    map[uint64]bool
	published    bool
	lbl          simLabel
	timerGen     uint64

	pausedUntil  time.Duration
	partitioned  time.Duration // until
	slowUntil    time.Duration
	watchBroken  bool
	watchLast    time.Duration // FIFO delivery of watch events
	shuttingDown bool
	hadUnknown   bool // a write had no answer: it may land any time later

	// For the checks.
	actingSince time.Duration
	acting      bool
	deposedAt   time.Duration // acting when a foreign write deposed it (0: not)
	firstIdle   time.Duration // first answered write naming it since it last acted
}

func (r *simReplica) mono(t time.Duration) time.Duration {
	return r.offset + time.Duration(float64(t)*r.rate)
}

// trueAt is the true time at which r's clock reads mono.
func (r *simReplica) trueAt(mono time.Duration) time.Duration {
	return time.Duration(float64(mono-r.offset)/r.rate) + 1
}

func (r *simReplica) actingNow() bool { return r.fileVisible || r.childRunning || r.published }

// simParams shape one run.
type simParams struct {
	seed     int64
	replicas int
	duration time.Duration
	base     Config
	execEach int // every execEach-th replica runs in exec mode (0: none)
	drift    float64
	maxPause time.Duration
	timeout  time.Duration // the driver's request timeout
	chaos    time.Duration // length of a chaos phase
	foreign  bool          // foreign writes (clear, delete, bump)
	// releaseDelay overrides the default (the margin) for replicas
	// without a child.
	releaseDelay *time.Duration
	// noGate drops the driver's last check before the status file becomes
	// visible (the old core's defect 5), to show the simulation needs it.
	noGate bool
	// labelBreak breaks the simulated driver's label, for
	// TestSimulationCatches: "no-clear" labels without removing the label
	// from other Pods first.
	labelBreak string
}

type world struct {
	p      simParams
	rng    *rand.Rand
	now    time.Duration
	q      eventQueue
	seq    uint64
	srv    simServer
	reps   []*simReplica
	nextID int

	quiet       bool
	overlapping bool // an excused overlap is under way
	quietEnd    time.Duration
	lastEnds    []actEnd
	trace       []string
	traceAt     int
	violations  []string
	steps       int
	stats       simStats
	// deposedUpTo: the terms of each incarnation a foreign write deposed.
	deposedUpTo map[incarnation]uint64
}

// actEnd is the moment a replica stopped acting, for the margin check.
type actEnd struct {
	rep, inc int
	at       time.Duration
	exempt   bool // its app is known stopped (exec mode, crash) or it was deposed
}

type simStats struct {
	terms, overlapsExcused, conflicts, crashes, shutdowns, pauses, partitions, foreign int
	maxGap                                                                             time.Duration
}

const traceKeep = 400

func (w *world) tracef(format string, args ...any) {
	line := fmt.Sprintf("%9.4fs ", w.now.Seconds()) + fmt.Sprintf(format, args...)
	if len(w.trace) < traceKeep {
		w.trace = append(w.trace, line)
		return
	}
	w.trace[w.traceAt] = line
	w.traceAt = (w.traceAt + 1) % traceKeep
}

func (w *world) traceText() string {
	var b strings.Builder
	for i := range w.trace {
		b.WriteString(w.trace[(w.traceAt+i)%len(w.trace)])
		b.WriteByte('\n')
	}
	return b.String()
}

func (w *world) violatef(format string, args ...any) {
	msg := fmt.Sprintf("%.4fs: ", w.now.Seconds()) + fmt.Sprintf(format, args...)
	w.tracef("VIOLATION %s", msg)
	w.violations = append(w.violations, msg)
}

func (w *world) at(t time.Duration, rep, inc int, fn func()) {
	t = max(t, w.now)
	w.seq++
	heap.Push(&w.q, &event{at: t, seq: w.seq, rep: rep, inc: inc, fn: fn})
}

// on schedules fn for replica r's current incarnation.
func (w *world) on(r *simReplica, t time.Duration, fn func()) { w.at(t, r.idx, r.inc, fn) }

func (w *world) dur(lo, hi time.Duration) time.Duration {
	if hi <= lo {
		return lo
	}
	return lo + time.Duration(w.rng.Int63n(int64(hi-lo)))
}

func (w *world) chance(p float64) bool { return w.rng.Float64() < p }
