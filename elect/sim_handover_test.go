package elect

import (
	"fmt"
	"time"
)

// The simulation's model of issue 23: fencing tokens, planned hand-overs
// an operator asks for, and preferred replicas.

// checkToken: a term's fencing token is greater than the token of every
// term that ended before it began, whoever led it. That is what a resource
// that records the highest token seen relies on to refuse a late leader.
func (w *world) checkToken(r *simReplica, term, token uint64) {
	if token == 0 {
		w.violatef("r%d's term %d has no fencing token", r.idx, term)
		return
	}
	// A term started by a write that a foreign write then deposed, before
	// the replica heard of it, is the excused overlap: another term may
	// have begun and ended meanwhile. Its token is still greater than
	// every term's that started before it; a resource that has seen the
	// later term's refuses it, which is the fence doing its job.
	excused := r.deposedAt != 0 && !r.knowsDeposed
	if token <= w.maxEndedToken && !excused {
		w.violatef("r%d's term %d has token %d, not greater than %d, a term's that ended before it began", r.idx, term, token, w.maxEndedToken)
	}
	if w.tokens == nil {
		w.tokens = map[termOf]uint64{}
	}
	w.tokens[termOf{r.idx, r.inc, term}] = token
}

// termEnded takes in the end of a term (its HideFile; a retried removal
// changes nothing).
func (w *world) termEnded(r *simReplica, term uint64) {
	w.maxEndedToken = max(w.maxEndedToken, w.tokens[termOf{r.idx, r.inc, term}])
}

// annotate writes the hand-over annotation as an operator would (kubectl
// annotate, the handover command): a new resourceVersion, the same record.
func (w *world) annotate(req *HandoverRequest) {
	if w.srv.ann == nil {
		w.srv.ann = map[string]string{}
	}
	if req == nil {
		delete(w.srv.ann, HandoverAnnotation)
	} else {
		w.srv.ann[HandoverAnnotation] = req.Encode()
	}
	w.srv.rev++
	w.srv.rv = w.srv.rev
	w.srv.remember(w.now)
	w.broadcast()
}

// holderRep is the live replica the Lease names, if any.
func (w *world) holderRep() *simReplica {
	for _, r := range w.reps {
		if w.srv.exists && r.alive && !r.exited && r.id == w.srv.rec.Holder {
			return r
		}
	}
	return nil
}

// candidates are the replicas that could take the Lease over and keep it.
func (w *world) candidates(except *simReplica) []*simReplica {
	var out []*simReplica
	for _, r := range w.reps {
		if r != except && r.alive && !r.exited && !r.shuttingDown {
			out = append(out, r)
		}
	}
	return out
}

// chaosHandover: during the chaos an operator asks for a hand-over to
// anyone, to a live replica or to one that is gone, or withdraws the
// request (abandons it). Only the promise is checked for these.
func (w *world) chaosHandover() {
	if !w.srv.exists {
		return
	}
	w.requests++
	switch k := w.rng.Intn(4); {
	case k == 0:
		w.tracef("server: OPERATOR abandons the hand-over request")
		w.annotate(nil)
	default:
		to := ""
		if c := w.candidates(nil); k == 2 && len(c) > 0 {
			to = c[w.rng.Intn(len(c))].id
		} else if k == 3 {
			to = "pod-gone"
		}
		w.stats.handovers++
		req := HandoverRequest{ID: fmt.Sprintf("op-%d", w.requests), To: to, By: "operator", At: simWallEpoch.Add(w.now)}
		w.tracef("server: OPERATOR asks for a hand-over %s to %q", req.ID, to)
		w.annotate(&req)
	}
}

// operatorHandover: once leadership has settled in a quiet period, an
// operator asks the holder to hand over to another live replica (or to
// anyone). It must complete within the holder's release delay and a retry
// period, plus the requests' round trips; in exec mode the release waits
// for the child's tree instead, which a child that ignores SIGTERM makes
// the grace and the kill's confirmation (a second in the simulation).
func (w *world) operatorHandover() { w.operatorHandoverTo("") }

// operatorHandoverTo asks for a hand-over to back, when it is a live
// replica, or else to one drawn at random (or to anyone).
func (w *world) operatorHandoverTo(back string) {
	if !w.quiet {
		return
	}
	from := w.holderRep()
	if from == nil || !from.actingNow() {
		return
	}
	// The target must be healthy for the bound to apply: not still working
	// through a backlog of watch events the chaos left behind.
	var healthy []*simReplica
	for _, r := range w.candidates(from) {
		if r.watchLast <= w.now && !r.watchBroken {
			healthy = append(healthy, r)
		}
	}
	to := ""
	if len(healthy) > 0 && w.rng.Intn(4) > 0 {
		to = healthy[w.rng.Intn(len(healthy))].id
	}
	for _, r := range healthy {
		if r.id == back {
			to = back
		}
	}
	b := w.p.base
	wait := from.ecfg.EffectiveReleaseDelay()
	if from.cfg.Exec {
		wait += b.Grace + time.Second
	}
	bound := time.Duration(float64(wait+b.RetryPeriod)*(1+w.p.drift)) + 200*time.Millisecond
	if w.now+bound+b.LeaseDuration >= w.quietEnd {
		// Neither it, nor the others' stand-back should it fail, could be
		// judged before the chaos.
		return
	}
	w.requests++
	w.stats.handovers++
	req := HandoverRequest{ID: fmt.Sprintf("op-%d", w.requests), To: to, By: "operator", At: simWallEpoch.Add(w.now)}
	w.request = &opRequest{id: req.ID, to: to, from: from.id, at: w.now, bound: bound}
	w.tracef("server: OPERATOR asks %s for a hand-over %s to %q (must complete within %v)", from.id, req.ID, to, w.request.bound)
	w.annotate(&req)
}

// moved takes in a change of holder: a quiet period's planned hand-over
// completes when the Lease names the replica it asked for (or anyone else
// when it named nobody).
func (w *world) moved(from, to string) {
	if to == "" || to == from {
		return
	}
	if w.quiet {
		w.quietMoves++
	}
	q := w.request
	if q == nil || to == q.from || (q.to != "" && to != q.to) {
		return
	}
	took := w.now - q.at
	w.stats.handoversDone++
	w.stats.maxHandover = max(w.stats.maxHandover, took)
	if took > q.bound {
		w.violatef("the planned hand-over %s from %s to %s took %v, more than the release delay and a retry period (%v)", q.id, q.from, to, took, q.bound)
	}
	w.request = nil
	if w.quiet && !q.second && w.rng.Intn(2) == 0 {
		// At once back to the replica that just handed over, which is
		// still standing back: the request must end its stand-back.
		w.at(w.now+w.dur(time.Millisecond, w.p.base.RetryPeriod), -1, 0, func() {
			w.operatorHandoverTo(q.from)
			if w.request != nil {
				w.request.second = true
			}
		})
	}
}

// endQuiet: a quiet period's planned hand-over must have completed, and
// once the chaos has played out (settle), leadership moved only for a
// reason: a request left from the chaos, the operator's hand-over and the
// one straight back, and with priorities one move per priority level
// climbed (0 to 1 to 2: a follower asks when it outranks the holder, not
// knowing whether another outranks it too).
func (w *world) endQuiet() {
	if q := w.request; q != nil {
		w.violatef("the planned hand-over %s from %s to %q asked %v ago did not complete", q.id, q.from, q.to, w.now-q.at)
		w.request = nil
	}
	limit := 0
	if w.p.handovers || w.p.priorities {
		// A request left from the chaos (its asker perhaps gone) is
		// honoured in the quiet: one move whoever takes the Lease.
		limit++
	}
	if w.p.handovers {
		limit += 2 // the operator's, and one straight back
	}
	if w.p.priorities {
		limit += 2
	}
	if w.quietMoves > limit {
		w.violatef("leadership moved %d times in one quiet period after the chaos played out", w.quietMoves)
	}
}

// checkPriorities: at the end of a quiet period the replica that acts has
// the highest priority of the live replicas that still ask.
func (w *world) checkPriorities(actor *simReplica) {
	if !w.p.priorities {
		return
	}
	for _, r := range w.candidates(actor) {
		if !r.stoppedAsking && r.cfg.Priority > actor.cfg.Priority {
			w.violatef("priorities did not converge: %s (priority %d) acts while %s (priority %d) follows", actor.id, actor.cfg.Priority, r.id, r.cfg.Priority)
			return
		}
	}
}
