package leadership

import (
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
	at := m.acquireAt()
	if at < m.nextAttempt {
		at = m.nextAttempt
	}
	if m.now.Mono >= at {
		m.acquire()
		return
	}
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
	base := m.baseRV
	if m.mine() {
		base = m.view.RV
	}
	wall := micro(m.now.Wall)
	m.releaseSent = true
	// client-go's release: no holder, a one-second lease, the count kept.
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
	if !m.publishSet || p.Term != m.published.Term || p.Leading != m.published.Leading || p.Token != m.published.Token || !p.Record.same(m.published.Record) {
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
