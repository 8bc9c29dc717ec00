package leadership

import (
	"fmt"
	"log/slog"
	"time"
)

// advance makes the decisions that depend on time and on what is in flight,
// after every input, and arms the timer for the next one.
func (m *Machine) advance() {
	wake := wakeTimes{}
	m.advanceInto(&wake)
	if m.phase == Done {
		return
	}
	if wake.at != m.timerAt {
		m.timerAt = wake.at
		m.emit(SetTimer{At: wake.at})
	}
}

// wakeTimes collects the earliest future moment a decision is due.
type wakeTimes struct{ at time.Duration }

func (w *wakeTimes) add(t time.Duration) {
	if t > 0 && (w.at == 0 || t < w.at) {
		w.at = t
	}
}

// advanceInto runs the phase's step function. A term that ends in
// stepActing goes on to the next phase's at once; an ended term's
// leftovers are retried whatever the phase after it.
func (m *Machine) advanceInto(wake *wakeTimes) {
	if m.phase == Acting {
		if m.stepActing(wake) {
			return
		}
	}
	m.retryCleanup(wake)
	switch m.phase {
	case Releasing:
		m.stepReleasing(wake)
	case SteppingDown:
		m.stepSteppingDown(wake)
	case HandingOver:
		m.stepHandingOver(wake)
		if m.phase == Following {
			// The hand-over ended here: follow at once, so the end of
			// the stand-back is on the timer (a shard the plan gives
			// back is taken then, not never).
			m.stepFollowing(wake)
		}
	case Following:
		m.stepFollowing(wake)
	}
}

// stepActing keeps the term within its deadline, the label on and the
// Lease renewed; it reports whether the term still acts.
func (m *Machine) stepActing(wake *wakeTimes) bool {
	now := m.now.Mono
	if now >= m.deadline() {
		m.logf(slog.LevelWarn, "no successful renewal within the renew deadline; stepping down before the Lease can expire", "lastRenewSent", m.lastRenew)
		m.endTerm("renew deadline passed")
		return false
	}
	wake.add(m.deadline())
	if m.honourHandover() || m.shardMoves() {
		return false
	}
	if m.due(&m.labelCheck, wake) {
		m.emit(LabelPod{Term: m.term, Until: m.deadline()})
	}
	if m.due(&m.labelRetry, wake) {
		m.emit(LabelPod{Term: m.term, Until: m.deadline()})
	}
	if m.write != nil {
		return true // one write at a time
	}
	if !m.view.Exists {
		m.sendWrite(m.renewal(), true, "")
		return true
	}
	if now >= m.nextAttempt {
		m.sendWrite(m.renewal(), false, m.baseRV)
		return true
	}
	wake.add(m.nextAttempt)
	return true
}

// retryCleanup asks again for what an ended term showed to go, when a
// failed attempt's retry is due.
func (m *Machine) retryCleanup(wake *wakeTimes) {
	if m.fileTerm != 0 && m.due(&m.hideRetry, wake) {
		m.emit(HideFile{Term: m.fileTerm})
	}
	if m.labelTerm != 0 && m.due(&m.unlabelRetry, wake) {
		m.emit(UnlabelPod{Term: m.labelTerm})
	}
}

// stepSteppingDown waits for the ended term's file, child and label to be
// gone (the label only within its bound: labelWait), then follows.
func (m *Machine) stepSteppingDown(wake *wakeTimes) {
	if until, waiting := m.labelWait(); waiting {
		wake.add(until)
	}
	if m.cleanupPending() {
		return
	}
	if m.handingOver {
		m.phase = HandingOver
		m.stepHandingOver(wake)
		return
	}
	m.phase = Following
	m.stepFollowing(wake)
}

// stepFollowing takes the Lease when it is free, expired or ours, one
// write at a time and one per retry period, after learning what became of
// a write that may have landed.
func (m *Machine) stepFollowing(wake *wakeTimes) {
	if !m.known {
		m.readWhenDue(wake)
		return
	}
	if m.write != nil {
		return // one write at a time
	}
	if m.unsure || (m.staleRV != "" && m.view.RV == m.staleRV) {
		// A write naming us may have landed: learn that before writing
		// again, so unanswered writes cannot keep the Lease alive. Or a
		// write failed against what we know: wait for something newer.
		m.readWhenDue(wake)
		return
	}
	if m.cfg.Sharded && m.wanted != m.cfg.Identity {
		return // another replica is to own this shard, or there is no plan yet
	}
	at := max(m.acquireAt(), m.nextAttempt)
	if h := m.view.Handover; !(h.To == m.cfg.Identity && m.view.Record.Holder == "") {
		// Standing back after handing the Lease over ends early when a
		// hand-over names this replica.
		at = max(at, m.standBack)
	}
	if m.now.Mono >= at {
		m.acquire()
		return
	}
	m.askForLease(wake)
	wake.add(at)
}

// due says the moment w has come, and forgets it; until then it arms the
// timer for it.
func (m *Machine) due(w *when, wake *wakeTimes) bool {
	switch {
	case !w.set:
		return false
	case m.now.Mono >= w.at:
		*w = when{}
		return true
	}
	wake.add(w.at)
	return false
}

// acquireAt is when this follower may try to take the Lease.
func (m *Machine) acquireAt() time.Duration {
	now := m.now.Mono
	if !m.view.Exists {
		// Deleted (or never created). A holder seen before the deletion
		// still believes it leads until its lease runs out by our clock.
		if m.last.Holder != "" && !(m.last.Holder == m.cfg.Identity && m.wrote(m.last)) {
			return max(now, m.lastAt+leaseDuration(m.last))
		}
		return now
	}
	rec := m.view.Record
	switch {
	case rec.Holder == "" && m.view.Handover.To != "" && m.view.Handover.To != m.cfg.Identity:
		// Released for a planned hand-over to another replica: stand back
		// a lease duration, so that it takes the Lease; then anyone may.
		return max(now, m.changedAt+m.cfg.LeaseDuration)
	case rec.Holder == "":
		return now // released: the graceful hand-over
	case rec.Holder == m.cfg.Identity && m.wrote(rec):
		return max(now, m.resumeAt) // ours: resume, unless it keeps coming too late
	}
	return max(now, m.changedAt+leaseDuration(rec))
}

func leaseDuration(r Record) time.Duration {
	return time.Duration(r.LeaseDurationSeconds) * time.Second
}

// acquire writes a record naming us over the Lease as known.
func (m *Machine) acquire() {
	wall := micro(m.now.Wall)
	rec := Record{Holder: m.cfg.Identity, LeaseDurationSeconds: int32(m.cfg.LeaseDuration / time.Second), AcquireTime: wall, RenewTime: wall}
	if !m.view.Exists {
		if m.last.Holder != "" {
			// Keep the count going across a re-creation where we can.
			rec.Transitions = m.last.Transitions + 1
		}
		m.sendWrite(rec, true, "")
		return
	}
	old := m.view.Record
	if old.Holder == m.cfg.Identity && m.wrote(old) {
		rec.AcquireTime, rec.Transitions = old.AcquireTime, old.Transitions
	} else {
		rec.Transitions = old.Transitions + 1
	}
	m.sendWrite(rec, false, m.view.RV)
}

// renewal is the record a renewal writes: our holding, renewed now.
func (m *Machine) renewal() Record {
	r := m.held
	r.RenewTime = micro(m.now.Wall)
	return r
}

func (m *Machine) sendWrite(rec Record, create bool, base string) {
	m.seq++
	m.write = &pendingWrite{seq: m.seq, record: rec, sentAt: m.now.Mono, basis: m.view.RV}
	m.written[m.nextWritten] = sent{record: rec, at: m.now.Mono}
	m.nextWritten = (m.nextWritten + 1) % writtenMemory
	m.nextAttempt = m.now.Mono + m.cfg.RetryPeriod
	w := Write{Seq: m.seq, Create: create, BaseRV: base, Record: rec}
	if !create && m.view.Exists && m.view.RV == base {
		w.Base = m.view.Obj
	}
	if rec.Holder == m.cfg.Identity {
		w.Priority = m.cfg.Priority
		// Taking the Lease fulfils a pending hand-over request, whoever it
		// named; a holder drops a request that names itself, or one it
		// honoured already (it took the Lease back when nobody else did),
		// which would otherwise block every later request.
		if h := m.view.Handover; h.ID != "" && (m.view.Record.Holder != m.cfg.Identity || h.To == m.cfg.Identity || h.ID == m.honoured) {
			w.ClearHandover = h.ID
		}
	}
	m.emit(w)
}

// shutdownBound is how long after the shutdown began the machine gives up
// releasing: by then the Lease has expired on its own.
func (m *Machine) shutdownBound() time.Duration {
	return m.shutdownAt + m.cfg.LeaseDuration + m.cfg.Grace + m.cfg.ReleaseDelay
}

// stepReleasing: the term has ended; once the file is gone and the child
// stopped, wait the release delay, release the Lease if it is ours, exit.
func (m *Machine) stepReleasing(wake *wakeTimes) {
	now := m.now.Mono
	if m.write != nil || m.fileOrChildPending() || m.read != 0 {
		if now >= m.shutdownBound() {
			if m.hideErr != "" {
				m.finish(1, "the status file could not be removed: "+m.hideErr+"; the Lease was not released and expires by itself")
				return
			}
			m.finish(1, "could not release the Lease in time; it expires by itself")
			return
		}
		wake.add(m.shutdownBound())
		return
	}
	if !m.waitForLabel(wake) {
		return
	}
	if m.stuck != "" {
		m.finish(1, "the Lease was not released and expires by itself") // fail recorded the cause
		return
	}
	if m.unsure {
		m.readWhenDue(wake)
		return
	}
	if !m.holding && !m.mine() {
		m.finish(0, "not holding the Lease")
		return
	}
	releaseAt := now
	if m.everShown {
		releaseAt = max(now, m.hiddenAt+m.cfg.ReleaseDelay)
	}
	if now < releaseAt {
		wake.add(releaseAt)
		return
	}
	if now >= m.shutdownBound() {
		m.finish(1, "could not release the Lease in time; it expires by itself")
		return
	}
	if now < m.nextAttempt && m.releaseSent {
		wake.add(m.nextAttempt)
		return
	}
	if !m.view.Exists {
		m.finish(0, "the Lease no longer exists: nothing to release")
		return
	}
	m.sendRelease()
}

// sendRelease writes client-go's release over our record: no holder, a
// one-second lease, the count kept.
func (m *Machine) sendRelease() {
	base := m.baseRV
	if m.mine() {
		base = m.view.RV
	}
	wall := micro(m.now.Wall)
	m.releaseSent = true
	m.sendWrite(Record{LeaseDurationSeconds: 1, AcquireTime: wall, RenewTime: wall, Transitions: m.view.Record.Transitions}, false, base)
}

// publish emits what the endpoints show when it changed.
func (m *Machine) publish() {
	p := Publish{Term: m.term, Leading: m.phase == Acting}
	if p.Leading {
		p.Token = m.token
	}
	if m.view.Exists {
		p.Record = m.view.Record
	}
	if !m.publishSet || p.Term != m.published.Term || p.Leading != m.published.Leading || p.Token != m.published.Token || !p.Record.Same(m.published.Record) {
		m.published, m.publishSet = p, true
		m.emit(p)
	}
	if m.phase != Done && m.known && p.Record.Holder != m.leaderFile {
		m.leaderFile = p.Record.Holder
		m.emit(LeaderFile{Holder: p.Record.Holder})
	}
}

// waitForLabel holds the release (and the exit) until the ended term's label
// is off this replica's Pod, so the next leader does not find it there; but
// only for the renew deadline after the removal was asked for. Past that it
// gives up, reports it in the exit (code 1), and lets the release go ahead:
// holding the Lease would not get the label off either, while a released
// Lease lets the next leader take over at once, and a new leader removes
// the label from every other Pod before labelling its own, so the label
// still never marks two Pods.
func (m *Machine) waitForLabel(wake *wakeTimes) bool {
	if m.labelTerm == 0 {
		return true
	}
	if until, waiting := m.labelWait(); waiting {
		wake.add(until)
		return false
	}
	if !m.labelGaveUp {
		m.labelGaveUp = true
		why := "the leader label could not be removed from this Pod within the renew deadline"
		if m.unlabelErr != "" {
			why += ": " + m.unlabelErr
		}
		m.logf(slog.LevelError, why+"; releasing the Lease anyway: the next leader removes the label before it labels its own Pod")
		m.setExit(1, why+" (the next leader removes it)")
	}
	return true
}

// readWhenDue reads the Lease unless a read is in flight, no sooner than a
// retry period after a failed one.
func (m *Machine) readWhenDue(wake *wakeTimes) {
	switch {
	case m.read != 0:
	case m.now.Mono >= m.readAgainAt:
		m.sendRead()
	default:
		wake.add(m.readAgainAt)
	}
}

// honourHandover ends the term for a planned hand-over asked on the Lease,
// once per request: the term steps down as at any end (file or child
// first), then HandingOver releases the Lease after the release delay. A
// request that names this replica is already fulfilled.
func (m *Machine) honourHandover() bool {
	h := m.view.Handover
	if h.ID == "" || h.ID == m.honoured || !m.mine() {
		return false
	}
	m.honoured = h.ID
	if h.To == m.cfg.Identity {
		return false
	}
	to := h.To
	if to == "" {
		to = "any replica"
	}
	m.logf(slog.LevelInfo, "planned hand-over asked: stepping down, then releasing the Lease", "to", to, "request", h.ID)
	m.emit(Event{Reason: "PlannedHandover", Message: fmt.Sprintf("%s hands the Lease over to %s", m.cfg.Identity, to)})
	m.handingOver = true
	m.endTerm("planned hand-over")
	return true
}

// stepHandingOver releases the Lease after a planned hand-over's term has
// stepped down: after the release delay, as on shutdown, but the replica
// goes on following. It gives up when the Lease is no longer ours, or once
// it would have expired anyway.
func (m *Machine) stepHandingOver(wake *wakeTimes) {
	now := m.now.Mono
	if m.write != nil || m.read != 0 {
		return
	}
	if m.unsure {
		m.readWhenDue(wake)
		return
	}
	if !m.view.Exists || (!m.holding && !m.mine()) {
		m.handedOver("the Lease is no longer ours")
		return
	}
	if releaseAt := m.hiddenAt + m.cfg.ReleaseDelay; now < releaseAt {
		wake.add(releaseAt)
		return
	}
	if giveUp := m.hiddenAt + m.cfg.LeaseDuration; now >= giveUp {
		m.handedOver("could not release the Lease in time; it expires by itself")
		return
	}
	if m.releaseSent && now < m.nextAttempt {
		wake.add(m.nextAttempt)
		return
	}
	m.sendRelease()
}

// handedOver ends a planned hand-over: the replica follows again, and
// stands back a lease duration so that another takes the Lease.
func (m *Machine) handedOver(how string) {
	m.handingOver, m.releaseSent = false, false
	m.phase = Following
	m.standBack = m.now.Mono + m.cfg.LeaseDuration
	m.logf(slog.LevelInfo, "planned hand-over done: "+how+"; standing back", "for", m.cfg.LeaseDuration)
}

// askForLease: a follower whose priority is strictly higher than the
// holder's asks it for a planned hand-over to itself, never over another
// live request. An ask stays pending for two lease durations (so asks
// are at least that far apart); one that has not brought the Lease here by
// then is withdrawn, and after two of those this replica stops asking (it
// may be unable to take the Lease, or the holder may not understand
// requests).
func (m *Machine) askForLease(wake *wakeTimes) {
	rec := m.view.Record
	if m.stopAsking || !m.view.Exists || rec.Holder == "" || rec.Holder == m.cfg.Identity || m.cfg.Priority <= m.view.Priority {
		return
	}
	now, ld := m.now.Mono, m.cfg.LeaseDuration
	if m.asked.ID != "" {
		if until := m.askedAt + 2*ld; now < until {
			wake.add(until)
			return
		}
		if m.view.Handover.ID == m.asked.ID {
			m.emit(WithdrawHandover{ID: m.asked.ID, BaseRV: m.view.RV, Base: m.view.Obj})
		}
		m.asked = Handover{}
		m.failedAsks++
		if m.failedAsks >= 2 {
			m.stopAsking = true
			m.logf(slog.LevelWarn, "asked twice for the Lease by priority and did not get it; not asking again", "holder", rec.Holder)
			return
		}
	}
	if h := m.view.Handover; h.ID != "" {
		// Another request is pending. One that has brought no hand-over
		// within two lease durations of when this replica first saw it
		// (its asker gone, its holder deaf to it) no longer blocks: this
		// ask replaces it.
		if h.ID != m.otherRequest {
			m.otherRequest, m.otherRequestAt = h.ID, now
		}
		if until := m.otherRequestAt + 2*ld; now < until {
			wake.add(until)
			return
		}
	}
	if now < m.askAgainAt {
		wake.add(m.askAgainAt)
		return
	}
	// Unique across restarts of this identity: a holder honours each ID once.
	m.asked = Handover{ID: m.cfg.Identity + "@" + m.now.Wall.UTC().Format("20060102T150405.000000000Z"), To: m.cfg.Identity}
	m.askedAt = now
	m.logf(slog.LevelInfo, "asking the holder for a planned hand-over: this replica's priority is higher", "holder", rec.Holder, "holderPriority", m.view.Priority, "priority", m.cfg.Priority)
	m.emit(RequestHandover{Request: m.asked, BaseRV: m.view.RV, Base: m.view.Obj})
	wake.add(m.askedAt + 2*ld)
}

// handoverAsked: a request that did not land (most often it lost a race
// with the holder's renewal) is not an ask the holder ignored: it is sent
// again a retry period later, based on what the watch shows then.
func (m *Machine) handoverAsked(r HandoverAsked) {
	if r.ID != m.asked.ID || r.OK {
		return
	}
	m.logf(slog.LevelInfo, "the hand-over request did not land; asking again", "err", r.Err, "in", m.cfg.RetryPeriod)
	m.asked = Handover{}
	m.askAgainAt = m.now.Mono + m.cfg.RetryPeriod
}

// shardMoves ends the term when the shard planner wants another replica
// to own this shard: the same steps as a planned hand-over, so the new
// owner takes it after the release delay, and only once the file or child
// of this term is gone. The others are not wanted, so nobody stands back.
func (m *Machine) shardMoves() bool {
	if !m.cfg.Sharded || m.wanted == "" || m.wanted == m.cfg.Identity {
		return false
	}
	m.logf(slog.LevelInfo, "the shard moves to another replica: stepping down, then releasing the Lease", "to", m.wanted)
	m.handingOver = true
	m.endTerm("the shard moves to " + m.wanted)
	return true
}
