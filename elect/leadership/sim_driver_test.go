package leadership

import (
	"time"
)

// The simulated driver: it carries out a replica's effects in the simulated
// world, with the delays and failures the real one meets, and feeds the
// results back as inputs.

var simWallEpoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// step hands r one input at the current true time and carries out the
// effects.
func (w *world) step(r *simReplica, in Input) {
	if !r.alive || r.exited {
		return
	}
	w.steps++
	mono := r.mono(w.now)
	now := Now{Mono: mono, Wall: simWallEpoch.Add(mono)}
	w.tracef("r%d.%d <- %s", r.idx, r.inc, Describe(in))
	for _, e := range r.m.Step(now, in) {
		w.apply(r, e)
	}
	w.check()
	if res, ok := in.(WriteResult); ok {
		switch {
		case res.Outcome == OK && res.Lease.Record.Holder == r.id:
			w.answered(r)
		case res.Outcome == Unknown:
			r.hadUnknown = true
		}
	}
}

// answered checks that a replica told its write naming it succeeded acts:
// one that keeps renewing without acting is a zombie that blocks everyone.
func (w *world) answered(r *simReplica) {
	if r.acting || r.shuttingDown || r.exited {
		return
	}
	switch {
	case r.firstIdle == 0:
		r.firstIdle = w.now
	case w.now-r.firstIdle > r.cfg.RenewDeadline:
		w.violatef("zombie: r%d keeps renewing the Lease while not acting since %.3fs", r.idx, r.firstIdle.Seconds())
	}
}

func (w *world) latency(r *simReplica) time.Duration {
	d := w.dur(time.Millisecond, 15*time.Millisecond)
	if w.now < r.slowUntil {
		d += w.dur(300*time.Millisecond, 1500*time.Millisecond)
	}
	return d
}

// request sends one API request: serve runs on the server when it arrives
// (if it does) and returns the answer; answer delivers it to r, or
// unknown does when no answer comes within the timeout.
func (w *world) request(r *simReplica, serve func() Input, unknown Input) {
	sent := w.now
	d1, d2 := w.latency(r), w.latency(r)
	lost := sent < r.partitioned
	arrive := sent + d1
	if !lost && arrive < r.partitioned {
		lost = true
	}
	answerAt := arrive + d2
	late := d1+d2 > w.p.timeout || answerAt < r.partitioned
	if lost || late {
		w.on(r, sent+w.p.timeout, func() { w.step(r, unknown) })
	}
	if lost {
		return
	}
	w.at(arrive, -1, 0, func() {
		ans := serve()
		if !late {
			w.on(r, answerAt, func() { w.step(r, ans) })
		}
	})
}

func (w *world) apply(r *simReplica, e Effect) {
	switch e := e.(type) {
	case Write:
		w.tracef("r%d.%d -> %s", r.idx, r.inc, Describe(e))
		if e.Record.Holder == "" {
			w.checkReleaseLabel(r)
		}
		inc := r.inc // the write may land after this incarnation died
		w.request(r, func() Input {
			out, l := w.srv.write(e)
			if out == OK {
				w.landed(r, inc, e)
			} else if out == Conflict {
				w.stats.conflicts++
			}
			return WriteResult{Seq: e.Seq, Outcome: out, Lease: l}
		}, WriteResult{Seq: e.Seq, Outcome: Unknown, Err: "timeout"})
	case Read:
		w.request(r, func() Input { return ReadResult{Seq: e.Seq, Lease: w.srv.lease()} },
			ReadResult{Seq: e.Seq, Err: "timeout"})
	case ShowFile:
		r.until[e.Term] = e.Until
		d := w.dur(100*time.Microsecond, 3*time.Millisecond)
		if w.chance(0.05) {
			d = w.dur(200*time.Millisecond, 3*time.Second) // a stalled disk
		}
		w.on(r, w.now+d, func() {
			// The gate, right before the rename.
			if !w.p.noGate && (r.hidden[e.Term] || r.mono(w.now) >= r.until[e.Term]) {
				w.step(r, FileShown{Term: e.Term, Aborted: true})
				return
			}
			r.fileVisible = true
			w.check()
			w.step(r, FileShown{Term: e.Term, OK: true})
		})
	case ExtendTerm:
		r.until[e.Term] = e.Until
	case HideFile:
		r.hidden[e.Term] = true
		w.on(r, w.now+w.dur(20*time.Microsecond, time.Millisecond), func() {
			r.fileVisible = false
			w.check()
			w.step(r, FileHidden{Term: e.Term})
		})
	case StartChild:
		r.until[e.Term] = max(r.until[e.Term], e.Until)
		d := w.dur(time.Millisecond, 10*time.Millisecond)
		if w.chance(0.05) {
			d = w.dur(200*time.Millisecond, 3*time.Second) // a slow exec
		}
		w.on(r, w.now+d, func() {
			if r.stopAsked[e.Term] || r.mono(w.now) >= r.until[e.Term] {
				w.step(r, ChildStarted{Term: e.Term, Aborted: true})
				return
			}
			r.childRunning, r.childTerm = true, e.Term
			w.check()
			if w.chance(0.1) {
				w.on(r, w.now+w.dur(10*time.Millisecond, 5*time.Second), func() {
					// A child dying is a fault: none in a quiet period.
					if !w.quiet && r.childRunning && r.childTerm == e.Term && !r.stopAsked[e.Term] {
						r.childRunning = false
						w.check()
						w.step(r, ChildExited{Term: e.Term, Code: 3})
					}
				})
			}
			w.step(r, ChildStarted{Term: e.Term})
		})
	case StopChild:
		r.stopAsked[e.Term] = true
		w.on(r, w.now+w.dur(time.Millisecond, r.cfg.Grace), func() {
			if r.childTerm == e.Term {
				r.childRunning = false
				w.check()
			}
			w.step(r, ChildStopped{Term: e.Term, Gone: true})
		})
	case LabelPod, UnlabelPod:
		w.applyLabel(r, e)
	case Publish:
		r.published = e.Leading
	case SetTimer:
		r.timerGen++
		if e.At == 0 {
			return
		}
		gen := r.timerGen
		w.on(r, max(w.now, r.trueAt(e.At)), func() {
			if r.timerGen == gen {
				w.step(r, Tick{})
			}
		})
	case Log:
		w.tracef("r%d.%d    %s", r.idx, r.inc, Describe(e))
	case Exit:
		w.tracef("r%d.%d exit %d %s", r.idx, r.inc, e.Code, e.Reason)
		r.exited = true
		w.checkExitLabel(r)
		if r.actingNow() {
			w.violatef("r%d exited while still acting (file %v, child %v, /leader %v)", r.idx, r.fileVisible, r.childRunning, r.published)
		}
		// A write that had no answer may land after any read: then a dead
		// replica is named until its lease runs out (a delay, not a lie).
		if e.Code == 0 && !r.hadUnknown && w.srv.exists && w.srv.rec.Holder == r.id && w.srv.writer == r.idx && w.srv.writerInc == r.inc {
			w.violatef("r%d exited 0 (%s) but the Lease still names it", r.idx, e.Reason)
		}
		w.scheduleRestart(r, true)
	case LeaderFile, Event, Metric:
	}
}

// landed records a write that reached the store, for the zombie check.
func (w *world) landed(r *simReplica, inc int, e Write) {
	w.srv.writer, w.srv.writerInc = r.idx, inc
	if e.Record.Holder == r.id && inc == r.inc {
		r.deposedAt = 0 // the Lease names it again: no longer deposed
	}
	w.tracef("server: r%d.%d's write#%d landed: %s", r.idx, inc, e.Seq, w.srv.lease())
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
		w.on(r, at, func() { w.step(r, Observed{Lease: l}) })
	}
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
	l := w.srv.lease()
	at := max(w.now+w.dur(time.Millisecond, 50*time.Millisecond), r.watchLast)
	r.watchLast = at
	w.on(r, at, func() { w.step(r, Observed{Lease: l}) })
}
