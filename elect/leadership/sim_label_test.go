package leadership

import (
	"fmt"
	"sort"
	"strings"
	"time"
)

// The leader label in the simulated world: each replica's Pod (named by its
// identity) may carry it on the API server, and the simulated driver does
// what elect's does: LabelPod lists the labelled Pods, removes the label
// from every other one, then labels its own, each step only while the term
// is open and every patch bounded by its deadline; UnlabelPod removes it
// from its own Pod, retried every retry period; one replica's own patches
// are done one at a time, in order (the driver's podMu).
//
// Checked: never two Pods labelled, outside the overlap a foreign write
// forces (a label put on by a term that a foreign write deposed); a release
// and an exit only once the label is off, unless the machine's bound for
// the removal passed; at the end of every quiet period, exactly the acting
// replica's Pod carries it.

// labelTag says which replica's term put a label on.
type labelTag struct {
	rep, inc int
	term     uint64
}

// simLabel is one replica's label state, on its side.
type simLabel struct {
	ended     map[uint64]bool // terms UnlabelPod closed
	begun     uint64          // the latest term that asked for the label
	unlabelAt time.Duration   // its clock when the last UnlabelPod came
	ops       []func(done func())
	busy      bool
}

// incarnation names one run of a replica.
type incarnation struct{ rep, inc int }

func (w *world) labels() map[string]labelTag {
	if w.srv.labels == nil {
		w.srv.labels = map[string]labelTag{}
	}
	return w.srv.labels
}

// bootLabel resets r's driver side; a new Pod replaces the old one, whose
// label goes with it.
func (w *world) bootLabel(r *simReplica, oldID string) {
	if oldID != "" && oldID != r.id {
		delete(w.labels(), oldID)
	}
	r.lbl = simLabel{ended: map[uint64]bool{}}
}

func (w *world) applyLabel(r *simReplica, e Effect) {
	switch e := e.(type) {
	case LabelPod:
		r.until[e.Term] = max(r.until[e.Term], e.Until)
		r.lbl.begun = e.Term
		if r.deposedAt != 0 {
			// A term started by a write sent before the foreign one.
			w.excuse(r, e.Term)
		}
		w.podOp(r, func(done func()) { w.labelOp(r, e.Term, done) })
	case UnlabelPod:
		r.lbl.ended[e.Term] = true
		r.lbl.unlabelAt = r.mono(w.now)
		w.podOp(r, func(done func()) { w.unlabelOp(r, e.Term, done) })
	}
}

// podOp queues op behind r's other patches of Pods.
func (w *world) podOp(r *simReplica, op func(done func())) {
	r.lbl.ops = append(r.lbl.ops, op)
	if !r.lbl.busy {
		w.nextPodOp(r)
	}
}

func (w *world) nextPodOp(r *simReplica) {
	if len(r.lbl.ops) == 0 {
		r.lbl.busy = false
		return
	}
	op := r.lbl.ops[0]
	r.lbl.ops = r.lbl.ops[1:]
	r.lbl.busy = true
	inc := r.inc
	op(func() {
		if r.inc == inc {
			w.nextPodOp(r)
		}
	})
}

// podRequest sends one Pods request: serve runs on the server if the request
// arrives before the client gives up (its timeout, or giveUp when earlier:
// the term's deadline). The API server serves a request within its
// client's context, so one that arrives after its client gave up is not
// applied (nor one whose client died); one that arrived before is, even
// if its answer is lost. answer
// gets whether an answer came in time.
func (w *world) podRequest(r *simReplica, giveUp time.Duration, serve func(), answer func(ok bool)) {
	sent := w.now
	deadline := sent + w.p.timeout
	if giveUp > 0 {
		deadline = min(deadline, giveUp)
	}
	d1, d2 := w.latency(r), w.latency(r)
	arrive := sent + d1
	lost := sent < r.partitioned || arrive < r.partitioned || arrive >= deadline
	answerAt := arrive + d2
	if lost || answerAt >= deadline || answerAt < r.partitioned {
		w.on(r, deadline, func() { answer(false) })
	} else {
		w.on(r, answerAt, func() { answer(true) })
	}
	if !lost {
		// A client that died took its connection, and with it the
		// request's context, along: a restarted container's first label
		// is not undone by its predecessor's last unlabel.
		inc := r.inc
		w.at(arrive, -1, 0, func() {
			if r.inc == inc && r.alive {
				serve()
			}
		})
	}
}

// labelOpen is the driver's gate: whether term may still label, and until
// when in true time.
func (w *world) labelOpen(r *simReplica, term uint64) (time.Duration, bool) {
	left := r.until[term] - r.mono(w.now)
	if r.lbl.ended[term] || left <= 0 {
		return 0, false
	}
	return w.now + time.Duration(float64(left)/r.rate), true
}

func (w *world) labelOp(r *simReplica, term uint64, done func()) {
	finish := func(in Input) {
		w.step(r, in)
		done()
	}
	until, ok := w.labelOpen(r, term)
	if !ok {
		finish(PodLabeled{Term: term, Aborted: true})
		return
	}
	var listed []string
	w.podRequest(r, until, func() {
		for id := range w.labels() {
			if id != r.id && w.p.labelBreak != "no-clear" {
				listed = append(listed, id)
			}
		}
		sort.Strings(listed)
	}, func(ok bool) {
		if !ok {
			finish(PodLabeled{Term: term, Err: "listing Pods: timeout"})
			return
		}
		w.clearNext(r, term, listed, finish)
	})
}

// clearNext removes the label from the listed Pods one by one, then labels
// r's own.
func (w *world) clearNext(r *simReplica, term uint64, listed []string, finish func(Input)) {
	until, ok := w.labelOpen(r, term)
	if !ok {
		finish(PodLabeled{Term: term, Aborted: true})
		return
	}
	if len(listed) == 0 {
		w.podRequest(r, until, func() {
			w.labels()[r.id] = labelTag{rep: r.idx, inc: r.inc, term: term}
			w.tracef("server: r%d.%d's Pod %s labelled (term %d)", r.idx, r.inc, r.id, term)
			w.checkLabels()
		}, func(ok bool) {
			if !ok {
				finish(PodLabeled{Term: term, Err: "labelling: timeout"})
				return
			}
			finish(PodLabeled{Term: term, OK: true})
		})
		return
	}
	id := listed[0]
	w.podRequest(r, until, func() {
		if _, ok := w.labels()[id]; ok {
			delete(w.labels(), id)
			w.tracef("server: r%d.%d removed the label from Pod %s", r.idx, r.inc, id)
		}
	}, func(ok bool) {
		if !ok {
			finish(PodLabeled{Term: term, Err: "unlabelling another Pod: timeout"})
			return
		}
		w.clearNext(r, term, listed[1:], finish)
	})
}

func (w *world) unlabelOp(r *simReplica, term uint64, done func()) {
	if r.exited {
		done() // the driver has stopped
		return
	}
	if r.lbl.begun > term {
		w.step(r, PodUnlabeled{Term: term}) // a later term owns the label
		done()
		return
	}
	w.podRequest(r, 0, func() {
		if t, ok := w.labels()[r.id]; ok {
			delete(w.labels(), r.id)
			w.tracef("server: r%d.%d's Pod %s unlabelled (it was term %d's of r%d.%d)", r.idx, r.inc, r.id, t.term, t.rep, t.inc)
		}
	}, func(ok bool) {
		if ok {
			w.step(r, PodUnlabeled{Term: term})
			done()
			return
		}
		w.step(r, PodUnlabeled{Term: term, Err: "timeout"})
		done()
		retry := time.Duration(float64(r.cfg.RetryPeriod) / r.rate)
		w.on(r, w.now+retry, func() {
			w.podOp(r, func(done func()) { w.unlabelOp(r, term, done) })
		})
	})
}

// deposeLabel marks r's current term as deposed by a foreign write: a label
// it put on (or is still putting on) may overlap the next leader's.
func (w *world) deposeLabel(r *simReplica) {
	w.excuse(r, r.m.Term())
}

func (w *world) excuse(r *simReplica, term uint64) {
	if w.deposedUpTo == nil {
		w.deposedUpTo = map[incarnation]uint64{}
	}
	k := incarnation{r.idx, r.inc}
	w.deposedUpTo[k] = max(w.deposedUpTo[k], term)
}

// excusedLabel says a label was put on by a term a foreign write deposed,
// unless that term goes on, re-established (its holder wrote the Lease
// again after the foreign write).
func (w *world) excusedLabel(t labelTag) bool {
	if t.term > w.deposedUpTo[incarnation{t.rep, t.inc}] {
		return false
	}
	r := w.reps[t.rep]
	goesOn := r.alive && r.inc == t.inc && r.m.Acting() && r.m.Term() == t.term && r.deposedAt == 0
	return !goesOn
}

// checkLabels: never two Pods labelled, outside the excused overlap.
func (w *world) checkLabels() {
	if !w.p.base.Label {
		return
	}
	ls := w.labels()
	if len(ls) < 2 {
		return
	}
	excused := 0
	var msg []string
	for id, t := range ls {
		if w.excusedLabel(t) {
			excused++
		}
		msg = append(msg, fmt.Sprintf("%s(r%d.%d term %d)", id, t.rep, t.inc, t.term))
	}
	if excused < len(ls)-1 {
		sort.Strings(msg)
		w.violatef("two Pods carry the leader label: %s", strings.Join(msg, " "))
	}
}

// ownLabel says r's Pod carries a label this incarnation put on, and the
// machine's bound for removing it has not passed.
func (w *world) ownLabel(r *simReplica) bool {
	t, ok := w.labels()[r.id]
	return ok && t.rep == r.idx && t.inc == r.inc && r.mono(w.now) < r.lbl.unlabelAt+r.cfg.RenewDeadline
}

// checkReleaseLabel: a release is sent only once the label is off.
func (w *world) checkReleaseLabel(r *simReplica) {
	if r.cfg.Label && w.ownLabel(r) {
		w.violatef("r%d released the Lease while its Pod still carries the leader label", r.idx)
	}
}

func (w *world) checkExitLabel(r *simReplica) {
	if r.cfg.Label && w.ownLabel(r) {
		w.violatef("r%d exited while its Pod still carries the leader label", r.idx)
	}
}

// checkLabelLive: at the end of a quiet period the acting replica's Pod,
// and no other, carries the label (a deposed term's leftover aside).
func (w *world) checkLabelLive(leader *simReplica) {
	if !w.p.base.Label {
		return
	}
	var got []string
	for id, t := range w.labels() {
		if !w.excusedLabel(t) {
			got = append(got, id)
		}
	}
	sort.Strings(got)
	if len(got) != 1 || got[0] != leader.id {
		w.violatef("liveness: at the end of a quiet period %s leads but the labelled Pods are %v", leader.id, got)
	}
}
