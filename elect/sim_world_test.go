package elect

import (
	"io"
	coordinationv1 "k8s.io/api/coordination/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"log/slog"
	"maps"

	"github.com/leader-elector/leader-elector/elect/leadership"
	"github.com/leader-elector/leader-elector/internal/logging"
	"github.com/leader-elector/leader-elector/internal/simq"

	"fmt"
	"math/rand"
	"strconv"
	"time"
)

// The simulated world: an API server holding one Lease, a network between
// it and N replicas, and each replica's driver (files, child, timer), all on
// one event queue in true time. Everything random comes from one seeded
// source, so a seed replays exactly.

// event is something that happens at a true time. An event of a replica
// (rep >= 0) waits while that replica is paused and is dropped if the
// incarnation it was meant for has died; an event of its loop (loop) also
// waits while the loop is stalled, when its tasks go on.
type event struct {
	rep  int
	inc  int
	loop bool
	fn   func()
}

// simServer is the API server's one Lease, with optimistic concurrency.
type simServer struct {
	exists bool
	rv     uint64
	rec    leadership.Record
	ann    map[string]string // the Lease's annotations: hand-over requests, the holder's priority
	rev    uint64
	// writer is the replica incarnation whose write made the current
	// record, for the zombie check (-1: a foreign write), and landedAt
	// when it landed.
	writer, writerInc int
	landedAt          time.Duration
	// history keeps recent states, for reads served from behind.
	history []pastLease
	// labels are the Pods carrying the leader label (sim_label_test.go).
	labels map[string]labelTag
}

type pastLease struct {
	from  time.Duration
	lease leadership.Lease
}

func (s *simServer) lease() leadership.Lease {
	if !s.exists {
		return leadership.Lease{RV: strconv.FormatUint(s.rv, 10), Record: s.rec}
	}
	return toLease(s.object())
}

// object is the Lease as the API server would send it.
func (s *simServer) object() *coordinationv1.Lease {
	obj := &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Name: "sim", Namespace: "sim", ResourceVersion: strconv.FormatUint(s.rv, 10), Annotations: maps.Clone(s.ann)}}
	toSpec(s.rec, &obj.Spec)
	return obj
}

// remember keeps the state that begins now, for reads from behind.
func (s *simServer) remember(now time.Duration) {
	s.history = append(s.history, pastLease{from: now, lease: s.lease()})
	if len(s.history) > 64 {
		s.history = s.history[len(s.history)-64:]
	}
}

// past is the state the Lease had at t (as far back as kept).
func (s *simServer) past(t time.Duration) leadership.Lease {
	for i := len(s.history) - 1; i >= 0; i-- {
		if s.history[i].from <= t {
			return s.history[i].lease
		}
	}
	if len(s.history) > 0 {
		return s.history[0].lease
	}
	return s.lease()
}

// write applies a write as the API server would and returns the outcome.
func (s *simServer) write(create bool, base string, rec leadership.Record, ann map[string]string) (leadership.Outcome, leadership.Lease) {
	if create {
		if s.exists {
			return leadership.AlreadyExists, leadership.Lease{}
		}
	} else {
		if !s.exists {
			return leadership.NotFound, leadership.Lease{}
		}
		// An update without a resourceVersion is unconditional, as on a
		// real API server: only the precondition keeps a stale write out.
		if base != "" && base != strconv.FormatUint(s.rv, 10) {
			return leadership.Conflict, leadership.Lease{}
		}
	}
	s.rev++
	s.exists, s.rv, s.rec, s.ann = true, s.rev, rec, maps.Clone(ann)
	return leadership.OK, s.lease()
}

// simReplica is one sidecar process: the real driver and what it shows.
type simReplica struct {
	idx, inc int
	id       string
	d        *driver
	cfg      leadership.Config // the machine's, from ecfg
	ecfg     Config
	alive    bool
	exited   bool // Exit seen; waiting to be restarted
	tasks    map[*simTask]struct{}
	timerGen uint64

	simq.Clock // its monotonic clock, its own rate against true time

	// What its driver shows: the status file, the child, /leader.
	fileVisible  bool
	tokenVisible bool // its token file, which must be there whenever the status file is
	childRunning bool
	published    bool
	unlabelAt    time.Duration // its clock when its last term's label was first asked off
	unlabelTerm  uint64

	// Planned hand-overs: when it last began honouring one (its
	// PlannedHandover Event), and whether it gave up asking by priority.
	handingOverSince time.Duration
	stoppedAsking    bool

	pausedUntil      time.Duration
	loopStalledUntil time.Duration
	tasksSlowUntil   time.Duration
	ioFaultsUntil    time.Duration
	partitioned      time.Duration // until
	slowUntil        time.Duration
	watchBroken      bool
	watchLast        time.Duration // FIFO delivery of watch events
	shuttingDown     bool

	// For the checks.
	sentAt       map[int64]time.Duration // its clock when each write naming it was sent, by renew time
	actUntil     time.Duration           // the last landed renewal's send + the acting window, on its clock
	unknownAt    time.Duration           // when a write naming it last had no answer
	readServedAt time.Duration           // when the server last served its read
	removeFailed bool                    // a removal of its status file failed since it was last shown
	childStuck   bool                    // its child could not be confirmed gone
	actingSince  time.Duration
	acting       bool
	deposedAt    time.Duration // acting when a foreign write deposed it (0: not)
	deposeRV     uint64        // the foreign write's resourceVersion
	knowsDeposed bool          // it has seen that write (or a later state)
	idleSince    time.Duration // its writes naming it have kept the Lease alive without it acting since
	lastIdle     time.Duration // the last such write's answer
}

// actWindow is how long after the send of its last landed renewal r may
// act (leadership.Config's rule, restated for the checker).
func (r *simReplica) actWindow() time.Duration {
	if r.cfg.Exec {
		return r.cfg.RenewDeadline - r.cfg.Grace
	}
	return r.cfg.RenewDeadline
}

func (r *simReplica) actingNow() bool { return r.fileVisible || r.childRunning || r.published }

// simParams shape one run.
type simParams struct {
	seed     int64
	replicas int
	duration time.Duration
	base     leadership.Config
	execEach int // every execEach-th replica runs in exec mode (0: none)
	drift    float64
	maxPause time.Duration
	timeout  time.Duration // the driver's request timeout
	chaos    time.Duration // length of a chaos phase
	foreign  bool          // foreign writes (clear, delete, bump)
	// releaseDelay overrides the default (the margin) for replicas
	// without a child.
	releaseDelay *time.Duration
	// randomTimings draws each run's timings (base gives the label and
	// the upper bounds are the validation's).
	randomTimings bool
	// ioFailure is the chance that one file or process operation fails
	// while a replica's I/O faults last (children in D-state too).
	ioFailure float64
	// laggingReads is the chance a relist is served from a watch cache
	// behind the writes.
	laggingReads float64
	// maxLoopStall bounds how long the loop may fall behind its tasks,
	// maxTaskDelay how late a task may start, maxRemoveStall how long a
	// removal may stall. With maxPause they add up to less than the retry
	// period, the lateness the margin is made for (newWorld sets them).
	maxLoopStall, maxTaskDelay, maxRemoveStall time.Duration
	// handovers: an operator asks for planned hand-overs (in chaos, some
	// to dead replicas or abandoned; in each quiet period one that must
	// complete within the release delay and a retry period).
	handovers bool
	// priorities: each incarnation draws a --priority of 0-2; at the end
	// of each quiet period the highest that has not given up asking leads.
	priorities bool
}

type world struct {
	p      simParams
	rng    *rand.Rand
	now    time.Duration
	q      simq.Queue[*event]
	srv    simServer
	reps   []*simReplica
	nextID int

	// The scheduler: one goroutine runs at a time, holding the baton.
	baton chan struct{}
	cur   *simTask
	// The replicas log at debug level to the process's real log queue,
	// whose reader never reads (a log pipe nobody drains): a log line
	// that could block would stop the world.
	log      *slog.Logger
	logQueue *logging.Queue
	stalled  stalledWriter

	quiet       bool
	overlapping bool // an excused overlap is under way
	quietEnd    time.Duration
	chaosEnd    time.Duration // faults strike and I/O fails only before it
	lastEnds    []actEnd
	trace       simq.Trace
	violations  []string
	steps       int
	stats       simStats
	// deposedUpTo: the terms of each incarnation a foreign write deposed.
	deposedUpTo map[incarnation]uint64

	// Fencing tokens: each started term's, and the greatest of a term
	// that has ended.
	tokens        map[termOf]uint64
	maxEndedToken uint64
	// The operator's planned hand-over to be completed in this quiet
	// period (nil: none), and how often leadership moved in it.
	request    *opRequest
	requests   int
	quietMoves int
}

// termOf names one term of one incarnation.
type termOf struct {
	rep, inc int
	term     uint64
}

// opRequest is a planned hand-over an operator asked for.
type opRequest struct {
	id, to, from string
	at           time.Duration
	bound        time.Duration // it must complete within this
	second       bool          // asked right after the first completed
}

// actEnd is the moment a replica stopped acting, for the margin check.
type actEnd struct {
	rep, inc int
	at       time.Duration
	exempt   bool // its app is known stopped (exec mode, crash) or it was deposed
}

type simStats struct {
	terms, overlapsExcused, conflicts, crashes, shutdowns, pauses, partitions, foreign int
	loopStalls, ioFaults, failedIO, laggingReads, logDropped                           int
	handovers, handoversDone, asks                                                     int
	maxGap, maxHandover                                                                time.Duration
}

func (s *simStats) add(o simStats) {
	s.terms += o.terms
	s.overlapsExcused += o.overlapsExcused
	s.conflicts += o.conflicts
	s.crashes += o.crashes
	s.shutdowns += o.shutdowns
	s.pauses += o.pauses
	s.partitions += o.partitions
	s.foreign += o.foreign
	s.loopStalls += o.loopStalls
	s.ioFaults += o.ioFaults
	s.failedIO += o.failedIO
	s.laggingReads += o.laggingReads
	s.logDropped += o.logDropped
	s.handovers += o.handovers
	s.handoversDone += o.handoversDone
	s.asks += o.asks
	s.maxGap = max(s.maxGap, o.maxGap)
	s.maxHandover = max(s.maxHandover, o.maxHandover)
}

func (s simStats) String() string {
	return fmt.Sprintf("%d terms, %d conflicts, %d crashes, %d shutdowns, %d pauses, %d loop stalls, %d partitions, %d foreign writes (%d excused overlaps), %d spells of disk and process faults (%d operations failed), %d relists served from behind, %d log lines dropped by a log nobody reads, %d planned hand-overs asked (%d checked complete, slowest %v), %d asks by priority; longest gap between terms %v",
		s.terms, s.conflicts, s.crashes, s.shutdowns, s.pauses, s.loopStalls, s.partitions, s.foreign, s.overlapsExcused, s.ioFaults, s.failedIO, s.laggingReads, s.logDropped, s.handovers, s.handoversDone, s.maxHandover, s.asks, s.maxGap)
}

const traceKeep = 400

func (w *world) tracef(format string, args ...any) {
	w.trace.Add(fmt.Sprintf("%9.4fs ", w.now.Seconds()) + fmt.Sprintf(format, args...))
}

func (w *world) violatef(format string, args ...any) {
	msg := fmt.Sprintf("%.4fs: ", w.now.Seconds()) + fmt.Sprintf(format, args...)
	w.tracef("VIOLATION %s", msg)
	w.violations = append(w.violations, msg)
}

func (w *world) at(t time.Duration, rep, inc int, fn func()) {
	w.q.Push(max(t, w.now), &event{rep: rep, inc: inc, fn: fn})
}

// on schedules fn for replica r's current incarnation.
func (w *world) on(r *simReplica, t time.Duration, fn func()) { w.at(t, r.idx, r.inc, fn) }

// onLoop schedules fn on replica r's loop.
func (w *world) onLoop(r *simReplica, t time.Duration, fn func()) {
	w.q.Push(max(t, w.now), &event{rep: r.idx, inc: r.inc, loop: true, fn: fn})
}

func (w *world) dur(lo, hi time.Duration) time.Duration {
	if hi <= lo {
		return lo
	}
	return lo + time.Duration(w.rng.Int63n(int64(hi-lo)))
}

func (w *world) chance(p float64) bool { return w.rng.Float64() < p }

// stalledWriter blocks every write until it is released: a pipe nobody
// reads.
type stalledWriter chan struct{}

func (s stalledWriter) Write(p []byte) (int, error) {
	<-s
	return 0, io.ErrClosedPipe
}
