package leadership

import (
	"fmt"
	"log/slog"
	"strings"
	"time"
)

// writtenMemory is how many of our own writes the machine remembers. A
// write whose answer was lost may still show up later, so every write sent
// is remembered, not only the successful ones.
const writtenMemory = 16

// alarmEvery rate-limits the collision alarm's log line and Event.
const alarmEvery = time.Minute

// sent is a write we sent and when.
type sent struct {
	record Record
	at     time.Duration
}

// pendingWrite is the one write in flight.
type pendingWrite struct {
	seq    uint64
	record Record
	sentAt time.Duration
	basis  string // the Lease's resourceVersion as known when it was sent
}

// Machine is one replica's leadership state. It is not safe for concurrent
// use: one driver goroutine steps it.
//
// Its phase says what the replica is doing; each phase has its own step
// function (advance.go). The rest of its state is grouped by what it is
// about: what is known of the Lease, the requests in flight, our hold on
// the Lease, the term and what it showed, the leader label, and the exit.
type Machine struct {
	cfg   Config
	now   Now
	out   []Effect
	phase Phase

	leaseView
	requests
	hold
	termBooks
	labelBooks
	handoverBooks
	exitBooks
	reporting
}

// leaseView is the Lease as last known, from the watch, reads and our own
// writes, whichever is newest by resourceVersion.
type leaseView struct {
	known     bool
	view      Lease
	changedAt time.Duration // when view's record last changed: the holder's lease starts then
	// last is the last record with a holder seen, and when: it survives a
	// deletion, which does not end a holder's lease.
	last   Record
	lastAt time.Duration
}

// requests are the reads and writes sent and in flight: one of each at a
// time.
type requests struct {
	seq         uint64
	write       *pendingWrite
	read        uint64 // the read in flight (0: none)
	readRV      string // view.RV when that read was sent
	readAgainAt time.Duration
	unsure      bool   // a write naming us had no answer: it may have landed
	staleRV     string // a write based on this view failed: wait for a newer one
	written     [writtenMemory]sent
	nextWritten int
}

// hold is our hold on the Lease. holding: our last write naming us
// succeeded and nothing newer says otherwise.
type hold struct {
	holding     bool
	baseRV      string // what our next renewal is based on
	held        Record // the record we last wrote as holder (acquire time, transitions)
	lastRenew   time.Duration
	nextAttempt time.Duration // no write before this (one per retry period)
	// Writes naming us that came to light after their deadline, in a row,
	// and when to take our own record again after too many (lateWrite).
	lateWrites int
	resumeAt   time.Duration
}

// termBooks is the current (or last) term and what of it may still be
// there after it ended.
type termBooks struct {
	term      uint64
	token     uint64 // the term's fencing token (0: none)
	fileTerm  uint64 // the term whose status file may be visible (0: none)
	childTerm uint64 // the term whose child may run (0: none)
	hiddenAt  time.Duration
	everShown bool
	// A failed removal of the status file: when to try again, and why it
	// failed.
	hideRetry when
	hideErr   string
	stuck     string // something of ours could not be removed or stopped
}

// labelBooks is the leader label's (Config.Label).
type labelBooks struct {
	labelTerm    uint64        // the term whose label may be on our Pod (0: none)
	unlabelAt    time.Duration // when its UnlabelPod was asked for
	unlabelErr   string        // the last failed attempt's error
	labelRetry   when          // ask for LabelPod again
	labelCheck   when          // check the label once more
	unlabelRetry when          // ask for UnlabelPod again
	labelGaveUp  bool          // shutdown stopped waiting for the removal
}

// handoverBooks is the planned hand-over's: the requests this replica
// honoured as holder and asked for as a follower of higher priority.
type handoverBooks struct {
	honoured    string        // the last request honoured (or found fulfilled)
	handingOver bool          // the term ended for a request: release, do not exit
	standBack   time.Duration // take no Lease before then (after handing it over)
	// The request this replica asked for (ID empty: none), when, how many
	// asks came to nothing, and whether it gave up asking.
	asked      Handover
	askedAt    time.Duration
	askAgainAt time.Duration // after a request that did not land
	failedAsks int
	stopAsking bool
	// Another's request pending on the Lease, and when this replica first
	// saw it.
	otherRequest   string
	otherRequestAt time.Duration
	// wanted is the owner the shard planner wants (Config.Sharded).
	wanted string
}

// exitBooks is the shutdown's and the exit's.
type exitBooks struct {
	shutdownAt  time.Duration // when the Releasing phase began
	releaseSent bool
	exitCode    int
	exitReason  string
}

// reporting is what was last told to people and the driver: the collision
// alarm, /leader, the leader file and the timer.
type reporting struct {
	foreign   Record // the last record under our identity that we did not write
	alarmedAt time.Duration
	alarmed   bool

	timerAt    time.Duration
	published  Publish
	publishSet bool
	leaderFile string
}

// when is a moment that may be unset; no time (0 included) stands for
// "none".
type when struct {
	at  time.Duration
	set bool
}

func at(t time.Duration) when { return when{at: t, set: true} }

// New returns a machine that does nothing until Start.
func New(cfg Config) *Machine { return &Machine{cfg: cfg} }

// Term is the current (or last) term's number; 0 before the first.
func (m *Machine) Term() uint64 { return m.term }

// Phase says what the replica is doing.
func (m *Machine) Phase() Phase { return m.phase }

// Acting reports whether a term is active.
func (m *Machine) Acting() bool { return m.phase == Acting }

// Done reports whether the machine has exited.
func (m *Machine) Done() bool { return m.phase == Done }

// Step takes one input at now and returns the effects to carry out, in
// order.
func (m *Machine) Step(now Now, in Input) []Effect {
	m.now, m.out = now, nil
	if m.phase == Done {
		return nil
	}
	switch in := in.(type) {
	case Start:
		if m.phase == Idle {
			m.phase = Following
		}
	case Observed:
		m.see(in.Lease, "")
	case ReadResult:
		m.readResult(in)
	case WriteResult:
		m.writeResult(in)
	case Tick:
	case Shutdown:
		m.beginShutdown()
	case FileShown:
		m.fileShown(in)
	case FileHidden:
		m.fileHidden(in)
	case ChildStarted:
		m.childStarted(in)
	case ChildExited:
		m.childExited(in)
	case ChildStopped:
		m.childStopped(in)
	case PodLabeled:
		m.podLabeled(in)
	case PodUnlabeled:
		m.podUnlabeled(in)
	case HandoverAsked:
		m.handoverAsked(in)
	case Owner:
		m.wanted = in.Identity
	default:
		panic(fmt.Sprintf("leadership: unknown input %T", in))
	}
	if m.phase != Idle {
		m.advance()
	}
	m.publish()
	return m.out
}

func (m *Machine) emit(e ...Effect) { m.out = append(m.out, e...) }

func (m *Machine) logf(level slog.Level, msg string, args ...any) {
	m.emit(Log{Level: level, Msg: msg, Args: args})
}

// wrote reports whether r is one of our writes naming us.
func (m *Machine) wrote(r Record) bool {
	_, ok := m.sentAt(r)
	return ok
}

// sentAt says when we sent the write of r naming us.
func (m *Machine) sentAt(r Record) (time.Duration, bool) {
	for _, w := range m.written {
		if w.record.Holder != "" && w.record.Same(r) {
			return w.at, true
		}
	}
	return 0, false
}

// mine reports whether the Lease as known names us in a record we wrote.
func (m *Machine) mine() bool {
	return m.view.Exists && m.view.Record.Holder == m.cfg.Identity && m.wrote(m.view.Record)
}

// cleanupPending says an ended term's file or child may still be there, or
// its label is being removed within the wait's bound (labelWait).
func (m *Machine) cleanupPending() bool {
	_, waiting := m.labelWait()
	return m.fileOrChildPending() || waiting
}

// fileOrChildPending says an ended term's file or child may still be there.
func (m *Machine) fileOrChildPending() bool {
	return m.phase != Acting && (m.fileTerm != 0 || m.childTerm != 0)
}

// see takes in a state of the Lease unless a newer one is known.
func (m *Machine) see(l Lease, readRV string) {
	if m.known && !Newer(l.RV, m.view.RV) {
		if l.RV != "" || m.view.RV != readRV {
			return // an echo, an older event, or a NotFound older than what we saw since
		}
		l.RV = m.view.RV // a read's NotFound carries no resourceVersion
	}
	prev := m.view
	m.known, m.view = true, l
	m.staleRV = ""
	if l.Exists && (!prev.Exists || !prev.Record.Same(l.Record)) {
		m.changedAt = m.now.Mono
		if l.Record.Holder != "" {
			m.last, m.lastAt = l.Record, m.now.Mono
		} else {
			m.last = Record{}
		}
	}
	if !l.Exists {
		if m.holding && m.phase == Acting {
			m.logf(slog.LevelWarn, "the Lease was deleted while this replica leads; creating it again")
		}
		return
	}
	rec := l.Record
	if at, ok := m.sentAt(rec); ok && rec.Holder == m.cfg.Identity {
		m.adopt(rec, at, l.RV)
		return
	}
	if rec.Holder == m.cfg.Identity {
		m.otherProcess(rec)
	}
	if m.holding {
		m.holding = false
		if m.phase == Acting {
			holder := rec.Holder
			if holder == "" {
				holder = "nobody (released by someone else)"
			}
			m.logf(slog.LevelWarn, "the Lease is no longer ours; stepping down at once", "holder", holder)
			m.endTerm("another holder took the Lease")
		}
	}
}

// adopt takes in a record of ours seen on the Lease: a write whose answer
// was lost landed after all, or only the Lease's metadata changed. Its send
// time bounds when it landed, so it counts as a renewal from then.
func (m *Machine) adopt(rec Record, at time.Duration, rv string) {
	m.baseRV = rv
	if m.write != nil {
		return // a write in flight: its answer decides
	}
	m.holding, m.held = true, rec
	if at <= m.lastRenew {
		return
	}
	m.lastRenew = at
	switch {
	case m.phase == Acting:
		m.emit(ExtendTerm{Term: m.term, Until: m.deadline()})
	case m.phase != Releasing && !m.cleanupPending() && m.now.Mono < m.deadline():
		m.logf(slog.LevelInfo, "a write of ours whose answer was lost renewed the Lease")
		m.startTerm(rv)
	case m.phase != Releasing && !m.cleanupPending():
		m.lateWrite()
	}
}

// lateWrite counts a write naming us that landed but came to light only
// after its deadline, so no term could act on it. Taking the Lease again at
// once is right after one such hiccup; but a replica whose every write
// comes to light too late (a slow API server, a window shorter than a
// request's round trip) would keep the Lease alive without ever acting, and
// nobody else could lead. So after the second in a row it waits until the
// Lease could expire for the others, who then take it.
func (m *Machine) lateWrite() {
	m.lateWrites++
	if m.lateWrites >= 2 {
		m.resumeAt = m.now.Mono + m.cfg.LeaseDuration + m.cfg.RetryPeriod
		m.logf(slog.LevelWarn, "writes of ours keep coming to light after their deadline; leaving the Lease to expire before trying again",
			"in", m.cfg.LeaseDuration+m.cfg.RetryPeriod)
	}
}

// otherProcess handles a record under our identity that we did not write: a
// restarted container's predecessor, or a live twin with the same identity.
func (m *Machine) otherProcess(rec Record) {
	first := m.foreign.Holder == ""
	changed := !first && !m.foreign.Same(rec)
	m.foreign = rec
	switch {
	case m.holding:
		m.alarm(rec, "while this replica leads")
		if m.phase == Acting {
			m.endTerm("identity collision")
		}
	case changed:
		m.alarm(rec, "it keeps being renewed")
	case first:
		m.logf(slog.LevelInfo, "the Lease is held under this identity by an earlier process (a restarted container?); waiting for it to expire before taking it",
			"leaseDurationSeconds", rec.LeaseDurationSeconds)
	}
}

// alarm reports a live twin: the metric always, the log line and Event at
// most once a minute.
func (m *Machine) alarm(rec Record, how string) {
	m.emit(Metric{Name: Collision})
	if m.alarmed && m.now.Mono-m.alarmedAt < alarmEvery {
		return
	}
	m.alarmed, m.alarmedAt = true, m.now.Mono
	m.logf(slog.LevelError, "identity collision: another live process holds the Lease under this replica's identity ("+how+"); give each replica a unique --identity (POD_NAME from metadata.name; with hostNetwork the hostname is shared)",
		"identity", rec.Holder, "renewTime", rec.RenewTime)
	m.emit(Event{Warning: true, Reason: "IdentityCollision",
		Message: fmt.Sprintf("another live process writes this Lease under the identity %q; give each replica a unique identity", rec.Holder)})
}

func (m *Machine) readResult(r ReadResult) {
	if r.Seq != m.read {
		return
	}
	m.read = 0
	if r.Err != "" {
		m.readAgainAt = m.now.Mono + m.cfg.RetryPeriod
		m.logf(slog.LevelWarn, "reading the Lease failed; retrying", "err", r.Err, "in", m.cfg.RetryPeriod)
		return
	}
	m.unsure = false
	m.see(r.Lease, m.readRV)
	if m.staleRV != "" && m.view.RV == m.staleRV {
		// The read showed nothing newer than the view a write failed
		// against (a read served behind the write): ask again, but a retry
		// period later, not at once and for ever.
		m.readAgainAt = m.now.Mono + m.cfg.RetryPeriod
	}
}

func (m *Machine) sendRead() {
	m.seq++
	m.read, m.readRV = m.seq, m.view.RV
	m.emit(Read{Seq: m.seq})
}

// writeResult takes the answer to the write in flight: it landed, it lost
// to another write, or it failed (with or without an answer).
func (m *Machine) writeResult(r WriteResult) {
	w := m.write
	if w == nil || r.Seq != w.seq {
		return
	}
	m.write = nil
	switch r.Outcome {
	case OK:
		m.writeLanded(w, r.Lease)
	case Conflict, NotFound, AlreadyExists:
		m.writeLost(w, r.Outcome)
	case Refused, Unknown:
		m.writeFailed(w, r)
	}
}

// writeLanded: our write is stored. A release ends the run; a write naming
// us holds the Lease and, per phase, renews the term, starts one, or
// leaves the Lease to a release or to the cleanup of the last term.
func (m *Machine) writeLanded(w *pendingWrite, stored Lease) {
	if w.record.Holder == "" {
		m.see(stored, "")
		m.holding = false
		if m.phase == HandingOver {
			m.handedOver("released the Lease for a planned hand-over")
			return
		}
		m.finish(0, "released the Lease")
		return
	}
	if m.known && Newer(m.view.RV, stored.RV) && !m.mine() {
		// The watch already showed a later write by someone else: ours
		// landed, then was overwritten. Nothing to act on.
		m.logf(slog.LevelInfo, "our write was overwritten before its answer came", "holder", m.view.Record.Holder)
		m.holding = false
		return
	}
	m.holding, m.baseRV, m.held = true, stored.RV, w.record
	m.lastRenew = max(m.lastRenew, w.sentAt)
	m.see(stored, "")
	m.emit(Metric{Name: RenewOK})
	switch {
	case m.phase == Acting:
		m.emit(ExtendTerm{Term: m.term, Until: m.deadline()})
	case m.phase == Releasing || m.phase == HandingOver:
		// A takeover won while shutting down, or a renewal that answered
		// after a hand-over began: no term, the release goes on.
	case m.now.Mono >= m.deadline():
		m.logf(slog.LevelWarn, "the write that took the Lease answered after the renew deadline; not acting on it", "sent", w.sentAt, "answered", m.now.Mono)
		m.lateWrite()
	case m.cleanupPending():
		// A renewal answered after its term ended: that term's file,
		// child or label may still be there, and a new term would take
		// their place in the bookkeeping and never wait for them. The
		// Lease is ours: advance takes it again once they are gone.
		m.logf(slog.LevelInfo, "the renewal answered after the term ended; leading again once its status file, command and label are gone")
	default:
		m.startTerm(stored.RV)
	}
}

// writeLost: the API server refused the write because the Lease moved on
// from what it was based on (409, or 404/already-exists for a create).
func (m *Machine) writeLost(w *pendingWrite, outcome Outcome) {
	switch {
	case w.record.Holder == "":
		// A release based on a stale view: the read says whether the
		// Lease is still ours to release.
		m.holding = false
		m.logf(slog.LevelInfo, "releasing the Lease conflicted; reading it again", "outcome", outcome.String())
	case m.holding:
		m.emit(Metric{Name: RenewFailed})
		m.holding = false
		if m.phase == Acting {
			m.logf(slog.LevelWarn, "renewing the Lease conflicted: someone else wrote it; stepping down at once", "outcome", outcome.String())
			m.endTerm("the Lease changed under us")
		}
	default:
		// Normal when several replicas race for a released Lease.
		m.logf(slog.LevelDebug, "lost the race for the Lease", "outcome", outcome.String())
	}
	// The answer proves the Lease moved on from what the write was based
	// on: what we see next decides, with no retry wait, so a release right
	// after a lost race is taken at once. If the watch has already shown a
	// newer state, that is what moved on, and there is nothing to read.
	m.nextAttempt = 0
	if m.view.RV == w.basis {
		m.staleRV = m.view.RV
		m.sendRead()
	}
}

// writeFailed: refused for another reason (nothing was written), or no
// answer (it may have landed: a read tells). The next attempt waits for
// the retry period.
func (m *Machine) writeFailed(w *pendingWrite, r WriteResult) {
	naming := w.record.Holder != ""
	level := slog.LevelWarn
	if r.Outcome == Refused {
		level = slog.LevelError
	}
	what := "taking the Lease"
	switch {
	case !naming:
		what = "releasing the Lease"
	case m.holding:
		what = "renewing the Lease"
		m.emit(Metric{Name: RenewFailed})
	}
	m.logf(level, what+" failed; retrying", "outcome", r.Outcome.String(), "err", r.Err, "in", m.cfg.RetryPeriod)
	if r.Outcome == Unknown {
		// It may have landed: a read tells. Until then a shutdown must not
		// assume the Lease is not ours.
		m.unsure = naming || m.unsure
		m.sendRead()
	}
}

// deadline is when the current holding stops allowing a term to act.
func (m *Machine) deadline() time.Duration { return m.lastRenew + m.cfg.actWindow() }

// startTerm starts a term on the write stored at rv, whose resourceVersion
// is the term's fencing token (Token).
func (m *Machine) startTerm(rv string) {
	m.lateWrites, m.resumeAt = 0, 0
	m.term++
	m.token = Token(rv)
	m.phase = Acting
	m.asked, m.failedAsks = Handover{}, 0
	m.everShown = true
	m.fileTerm = m.term
	m.logf(slog.LevelInfo, "leading: showing the status file", "term", m.term)
	m.emit(ShowFile{Term: m.term, Until: m.deadline(), Token: m.token})
	if m.cfg.Label {
		m.labelTerm, m.labelRetry, m.unlabelErr, m.unlabelRetry = m.term, when{}, "", when{}
		// A deposed term that has not noticed yet may still take the
		// label off every Pod but its own, ours included, until its
		// deadline, which ends within a renew deadline of our start: so
		// look once more after that, and put it back if it is gone.
		m.labelCheck = at(m.now.Mono + m.cfg.RenewDeadline + m.cfg.RetryPeriod)
		m.emit(LabelPod{Term: m.term, Until: m.deadline()})
	}
	if m.cfg.Exec {
		m.childTerm = m.term
		m.emit(StartChild{Term: m.term, Until: m.deadline(), Token: m.token})
	}
	msg := m.cfg.Identity + " became leader"
	if m.token != 0 {
		msg += fmt.Sprintf(" (fencing token %d)", m.token)
	}
	m.emit(Event{Reason: "LeaderElection", Message: msg})
}

// endTerm stops acting at once: /leader first (the driver publishes in
// order), then the file, then the child. The replica steps down: it waits
// for them to be gone before it may lead again.
func (m *Machine) endTerm(reason string) {
	if m.phase != Acting {
		return
	}
	m.phase = SteppingDown
	m.publish()
	m.logf(slog.LevelInfo, "not leading: hiding the status file", "term", m.term, "reason", reason)
	m.emit(HideFile{Term: m.term})
	if m.labelTerm == m.term {
		// After HideFile, in its own goroutine: never delays the file.
		m.unlabelAt = m.now.Mono
		m.emit(UnlabelPod{Term: m.term})
	}
	if m.childTerm == m.term {
		m.emit(StopChild{Term: m.term})
	}
	m.emit(Event{Reason: "LeaderElection", Message: m.cfg.Identity + " stopped leading"})
}

func (m *Machine) fileShown(r FileShown) {
	if r.Term != m.term || m.phase != Acting {
		return
	}
	switch {
	case r.OK:
		m.logf(slog.LevelInfo, "leading: status file written", "term", r.Term)
	case r.Err != "":
		m.fail("writing the status file: " + r.Err)
		m.endTerm("the status file could not be written")
	default:
		m.endTerm("the renew deadline passed before the status file could be shown")
	}
}

func (m *Machine) fileHidden(r FileHidden) {
	if r.Term != m.fileTerm {
		return
	}
	if r.Err != "" {
		// The file may still be there, saying we lead: it stays the term's
		// (no new term, no release: cleanupPending) and the removal is
		// tried again every retry period. A shutdown gives up at its bound
		// and exits 1 without releasing.
		m.hideErr = r.Err
		m.hideRetry = at(m.now.Mono + m.cfg.RetryPeriod)
		m.logf(slog.LevelError, "could not remove the status file; not releasing the Lease while it may be there, trying again", "err", r.Err, "in", m.cfg.RetryPeriod)
		return
	}
	m.fileTerm, m.hideRetry, m.hideErr = 0, when{}, ""
	m.hiddenAt = m.now.Mono
}

func (m *Machine) podLabeled(r PodLabeled) {
	if r.Term != m.term || m.phase != Acting {
		return
	}
	switch {
	case r.OK:
		m.logf(slog.LevelInfo, "leading: this Pod carries the leader label", "term", r.Term)
		return
	case r.Err != "":
		// The label is a routing hint: the term goes on without it (the
		// status file and /leader say who leads) and the label is retried.
		m.logf(slog.LevelError, "could not put the leader label on this Pod; retrying", "err", r.Err, "in", m.cfg.RetryPeriod)
	default:
		// The driver saw the deadline pass: the term ends here too at once,
		// unless a renewal moved it meanwhile.
		m.logf(slog.LevelDebug, "the leader label was not put on: the term's deadline passed first", "term", r.Term)
	}
	m.labelRetry = at(m.now.Mono + m.cfg.RetryPeriod)
}

func (m *Machine) podUnlabeled(r PodUnlabeled) {
	if r.Term != m.labelTerm || (m.phase == Acting && r.Term == m.term) {
		return // an older term's removal: a later term owns the label now
	}
	if r.Err != "" {
		// Asked for again a retry period later, until it is off or a later
		// term owns the label (startTerm).
		m.unlabelErr = r.Err
		m.unlabelRetry = at(m.now.Mono + m.cfg.RetryPeriod)
		m.logf(slog.LevelWarn, "could not remove the leader label from this Pod; retrying", "err", r.Err, "in", m.cfg.RetryPeriod)
		return
	}
	m.labelTerm, m.unlabelErr, m.unlabelRetry = 0, "", when{}
	m.logf(slog.LevelInfo, "not leading: the leader label is off this Pod", "term", r.Term)
}

// labelWait says whether the machine waits for an ended term's label to be
// removed, and until when. It waits only so long: a removal that keeps
// failing (the API server unreachable from here, or refusing) must not keep
// the Lease from being released on shutdown, nor this replica from leading
// again. Either way the label cannot end up on two Pods: every new leader
// removes it from every other Pod before it labels its own (LabelPod).
func (m *Machine) labelWait() (until time.Duration, waiting bool) {
	if m.labelTerm == 0 || m.phase == Acting {
		return 0, false
	}
	until = m.unlabelAt + m.cfg.RenewDeadline
	return until, m.now.Mono < until
}

func (m *Machine) childStarted(r ChildStarted) {
	if r.Term != m.term || m.phase != Acting {
		return
	}
	switch {
	case r.Err != "":
		m.fail("starting the command: " + r.Err)
		m.endTerm("the command could not start")
	case r.Aborted:
		m.endTerm("the renew deadline passed before the command could start")
	}
}

func (m *Machine) childExited(r ChildExited) {
	if r.Term != m.term || m.phase != Acting {
		return
	}
	m.logf(slog.LevelInfo, "the command exited while leading", "code", r.Code)
	m.endTerm("the command exited")
	if r.Code != 0 {
		m.setExit(r.Code, fmt.Sprintf("the command exited with code %d while leading", r.Code))
	}
	m.beginShutdown()
}

func (m *Machine) childStopped(r ChildStopped) {
	if r.Term != m.childTerm {
		return
	}
	m.childTerm = 0
	if !r.Gone {
		m.stuck = "a process of the command would not die"
		m.logf(slog.LevelError, "a process of the command could not be confirmed gone; not releasing the Lease, which expires by itself")
		m.fail(m.stuck)
	}
}

// fail records a runtime failure: the run ends (after the release) with
// exit code 1.
func (m *Machine) fail(reason string) {
	m.setExit(1, reason)
	m.beginShutdown()
}

// setExit records why the run ends: the first cause sets the code, and a
// later, different cause is added to the reason.
func (m *Machine) setExit(code int, reason string) {
	switch {
	case m.exitCode == 0 && m.exitReason == "":
		m.exitCode, m.exitReason = code, reason
	case !strings.Contains(m.exitReason, reason):
		m.exitReason += "; " + reason
	}
}

// beginShutdown ends the term and enters the Releasing phase, which ends
// in Done.
func (m *Machine) beginShutdown() {
	if m.phase == Releasing {
		return
	}
	m.shutdownAt = m.now.Mono
	m.logf(slog.LevelInfo, "shutting down: hiding the status file and stopping the command before releasing the Lease")
	m.endTerm("shutting down")
	m.phase = Releasing
}

// finish emits Exit once.
func (m *Machine) finish(code int, why string) {
	if m.phase == Done {
		return
	}
	if m.exitReason == "" {
		m.exitCode, m.exitReason = code, why
	} else {
		m.exitReason += "; " + why // the cause first, then what became of the Lease
		if m.exitCode == 0 {
			m.exitCode = code
		}
	}
	m.phase = Done
	m.emit(LeaderFile{Holder: ""})
	m.leaderFile = ""
	m.emit(SetTimer{At: 0})
	m.emit(Exit{Code: m.exitCode, Reason: m.exitReason})
}
