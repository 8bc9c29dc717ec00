package e2e

import (
	"fmt"
	"time"
)

// chaosRules are the bounds the chaos checker holds a run to, each derived
// from the timings the replicas run with; a zero bound is not judged.
type chaosRules struct {
	RenewDeadline time.Duration
	// WakeGrace: after SIGCONT, how long a woken replica's claims are not
	// judged (the kernel schedules it, the Go runtime runs its overdue timer).
	WakeGrace time.Duration
	// Margin is LeaseDuration - RenewDeadline - RetryPeriod: after an acting
	// replica's status file disappears, no other replica's file may appear
	// within it, unless the replica runs in exec mode (there the app is
	// known stopped when the file goes, and the release is at once).
	Margin time.Duration
	// MaxSweepGap is the checker's own stated resolution.
	MaxSweepGap time.Duration
	// GapBound: the longest time with no acting replica, outside spans the
	// harness excused (an API server restart and LeaseDuration after it).
	GapBound time.Duration
	// StartupGrace: how long a new process may take to open its endpoint.
	StartupGrace time.Duration
	// CrossSlack: how far apart in time the status file and /leader may
	// change for one state change.
	CrossSlack time.Duration
	// OwnDeadline: a replica acts (file or child) only until its last
	// renewal's start + RenewDeadline + OwnDeadline (the slack); 0 does not
	// judge it.
	OwnDeadline time.Duration
}

// Slacks, each for a reason written down:
const (
	// zombieSlack: a renewal is judged by its renewTime (the writer's clock,
	// this host's), the replica's last sign of acting by the sweeps; a sweep
	// can be up to MaxSweepGap late, so the bound allows that much more.
	zombieSlack = 250 * time.Millisecond
	// marginSlack: the release delay's timer may start as the removal is
	// issued rather than when its unlink and directory fsync are done.
	marginSlack = 50 * time.Millisecond
	// crossSlack: the file and /leader are two effects of one change made
	// one after the other by one driver; 1s covers a CPU stall on a loaded
	// 2-core machine. A /leader stuck at a past term (issue 11, defect 6)
	// stays wrong until the next change, far longer.
	crossSlack = time.Second
	// startupGrace: a Go binary starting on a loaded 2-core machine opens
	// its endpoint well within this.
	startupGrace = 5 * time.Second
)

// ownDeadlineSlack (elect_partition_test.go) is also the chaos checker's
// slack for the own-deadline rule: the deadline timer firing late on a
// loaded machine, the removal's unlink and fsync, and a Lease read that
// missed a renewal by less than its 100ms period.

// chaosRulesFor derives the rules from the replicas' timings.
func chaosRulesFor(leaseDuration, renewDeadline, retryPeriod, wakeGrace, settle time.Duration) chaosRules {
	return chaosRules{
		RenewDeadline: renewDeadline,
		WakeGrace:     wakeGrace,
		Margin:        leaseDuration - renewDeadline - retryPeriod,
		// Sweeps run every ~2ms; the bound is on the worst stall of the test
		// process. 500ms is a third of the margin (1.5s in the chaos
		// timings), so a hand-over that breaks the margin is still seen; a
		// run on a 2-core machine at load 12 stalled 209ms at worst.
		MaxSweepGap: 500 * time.Millisecond,
		// A replica that can reach the API leads within LeaseDuration of the
		// last leader's last renewal plus its retry jitter (1.2 x
		// RetryPeriod) and a request or two on a busy machine: settle.
		GapBound:     leaseDuration + settle,
		StartupGrace: startupGrace,
		CrossSlack:   crossSlack,
		OwnDeadline:  ownDeadlineSlack,
	}
}

// presSeg is a run of consecutive sweeps that found a candidate's status
// file in one state: from the start of the first read to the end of the last.
type presSeg struct {
	present     bool
	first, last time.Time
}

// answerObs is one answer of /leader.
type answerObs struct {
	s, e     time.Time
	isLeader bool
	judged   bool // the replica was acting throughout the request
}

// vanish is an acting replica's status file seen gone.
type vanish struct {
	cand int
	at   time.Time // the start of the last read that found it: it went after
}

// interval is a span of time.
type interval struct{ from, to time.Time }

// trackLocked records one read for the zombie, margin and cross-check rules.
func (k *chaosChecker) trackLocked(i int, r fileRead) {
	c := k.cands[i]
	if r.signal() {
		k.lastSignal[i] = r.t1
		k.zombieOpen[i] = false
	}
	if n := len(k.segs[i]); n > 0 && k.segs[i][n-1].present == r.present {
		k.segs[i][n-1].last = r.t1
	} else {
		k.segs[i] = append(k.segs[i], presSeg{present: r.present, first: r.t0, last: r.t1})
	}
	prev := k.prevRead[i]
	k.prevRead[i] = r
	if prev.t0.IsZero() || k.rules.Margin <= 0 {
		return
	}
	if prev.present && prev.acting && !r.present && c.childPidFile == "" {
		k.vanished = append(k.vanished, vanish{cand: i, at: prev.t0})
	}
	if !prev.present && r.present && r.acting {
		// It appeared by the end of this read at the latest; the other went
		// after the start of its last read at the earliest: r.t1 - v.at
		// bounds the time between them from above.
		for _, v := range k.vanished {
			if v.cand != i && r.t1.After(v.at) && r.t1.Sub(v.at) < k.rules.Margin-marginSlack {
				k.marginViol = append(k.marginViol, fmt.Sprintf("%s%s's status file appeared at most %v after %s's disappeared, within the margin %v",
					k.stamp(r.t1), c.id, r.t1.Sub(v.at).Round(time.Millisecond), k.cands[v.cand].id, k.rules.Margin))
			}
		}
	}
	// Forget disappearances older than the margin.
	keep := k.vanished[:0]
	for _, v := range k.vanished {
		if r.t1.Sub(v.at) < k.rules.Margin {
			keep = append(keep, v)
		}
	}
	k.vanished = keep
}

// endpointExcuse says why c may not answer on its endpoint at now, or "".
// A replica must answer unless the harness stopped it (SIGSTOP, and
// wakeGrace after SIGCONT), is ending or restarting it (SIGTERM or SIGKILL
// sent, exited), or started it less than startupGrace ago and it has not
// answered yet.
func (c *chaosCandidate) endpointExcuse(now time.Time, r chaosRules) (string, uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case c.p == nil:
		return "not started", c.epoch
	case c.stopped:
		return "stopped", c.epoch
	case !c.contAt.IsZero() && now.Sub(c.contAt) < r.WakeGrace:
		return "waking", c.epoch
	case !c.termAt.IsZero() || !c.killAt.IsZero() || c.exited:
		return "ending", c.epoch
	case !c.answered && now.Sub(c.startedAt) < r.StartupGrace:
		return "starting", c.epoch
	}
	return "", c.epoch
}

// judgeAnswer records one /leader request sent at s and done at e.
func (k *chaosChecker) judgeAnswer(i int, s, e time.Time, a leaderAnswer, err error) {
	c := k.cands[i]
	whyS, epS := c.endpointExcuse(s, k.rules)
	whyE, epE := c.endpointExcuse(e, k.rules)
	okS, _, aS := c.acting(s, k.rules.WakeGrace)
	okE, _, aE := c.acting(e, k.rules.WakeGrace)
	if err != nil {
		k.mu.Lock()
		defer k.mu.Unlock()
		k.closeHTTPLocked(i)
		switch {
		case whyS != "":
			k.unanswered[whyS]++
		case whyE != "":
			k.unanswered[whyE]++
		case epS != epE:
			k.unanswered["changed during the request"]++
		default:
			k.violateLocked(s, "%s's /leader did not answer while it ran: %v", c.id, err)
		}
		return
	}
	// It answered, so its start-up clean-up is done (the endpoint opens
	// after it): a file seen from now on is this process's own.
	c.change(func() {
		if s.After(c.startedAt) {
			c.staleStart, c.answered = false, true
		}
	})
	k.mu.Lock()
	defer k.mu.Unlock()
	k.httpSamples++
	judged := okS && okE && aS == aE
	k.answers[i] = append(k.answers[i], answerObs{s: s, e: e, isLeader: a.IsLeader, judged: judged})
	if a.IsLeader {
		k.lastSignal[i] = e
		k.zombieOpen[i] = false
	}
	switch {
	case a.Identity != c.id && (a.Identity != "" || a.IsLeader || a.Leader != ""):
		// Before its first observation the endpoint may answer an
		// all-empty state; anything else must carry its identity.
		k.violateLocked(s, "%s's /leader names itself %q", c.id, a.Identity)
	case !a.IsLeader || !judged:
		k.closeHTTPLocked(i)
	default:
		term := fmt.Sprint(a.AcquireTime, "/", a.LeaseTransitions)
		run := k.httpOpen[i]
		if run != nil && run.term != term {
			k.closeHTTPLocked(i)
			run = nil
		}
		if run == nil {
			k.httpOpen[i] = &httpRun{term: term, first: [2]time.Time{s, e}, last: [2]time.Time{s, e}, n: 1}
		} else {
			run.last = [2]time.Time{s, e}
			run.n++
		}
	}
}

// crossCheckLocked compares every judged /leader answer with the same
// replica's status file: isLeader=true needs the file seen present within
// CrossSlack of the answer; isLeader=false while the file was present
// throughout that span is a lie too.
func (k *chaosChecker) crossCheckLocked() []string {
	var out []string
	x := k.rules.CrossSlack
	if x <= 0 {
		return nil
	}
	for i, as := range k.answers {
		for _, a := range as {
			if !a.judged {
				continue
			}
			from, to := a.s.Add(-x), a.e.Add(x)
			if to.After(k.lastSweep) {
				continue // the file's state past the last sweep is unknown
			}
			switch {
			case a.isLeader && !k.presentSome(i, from, to):
				out = append(out, fmt.Sprintf("%s%s's /leader said isLeader:true, but its status file was absent from %v before to %v after",
					k.stamp(a.s), k.cands[i].id, x, x))
			case !a.isLeader && k.presentThroughout(i, from, to):
				out = append(out, fmt.Sprintf("%s%s's /leader said isLeader:false, but its status file was present from %v before to %v after",
					k.stamp(a.s), k.cands[i].id, x, x))
			}
		}
	}
	return out
}

func (k *chaosChecker) presentSome(i int, from, to time.Time) bool {
	for _, s := range k.segs[i] {
		if s.present && !s.first.After(to) && !s.last.Before(from) {
			return true
		}
	}
	return false
}

func (k *chaosChecker) presentThroughout(i int, from, to time.Time) bool {
	for _, s := range k.segs[i] {
		if s.present && !s.first.After(from) && !s.last.Before(to) {
			return true
		}
	}
	return false
}

// shuttingDown tells the checker the harness is about to stop every
// replica: from then on nobody acting is the plan, not a gap.
func (k *chaosChecker) shuttingDown() {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.shutdownAt = time.Now()
}

// leaderHit records a fault aimed at the leader (or whoever the Lease
// names): a new leader killed or frozen moments after it took over starts
// the wait for the next one afresh, so the gap bound counts from here.
func (k *chaosChecker) leaderHit(at time.Time) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.leaderHits = append(k.leaderHits, at)
}

// judgeGapLocked judges a span with no acting replica: from the later of
// its start and the last fault aimed at the leader within it, it may last
// GapBound (issue 11, invariant 3: a replica that can reach the API leads
// and acts within about a lease duration). Excused spans are not judged.
func (k *chaosChecker) judgeGapLocked(from, to time.Time) string {
	b := k.rules.GapBound
	if b <= 0 || k.excusedLocked(from, to) {
		return ""
	}
	start := from
	for _, h := range k.leaderHits {
		if h.After(start) && h.Before(to) {
			start = h
		}
	}
	if to.Sub(start) <= b {
		return ""
	}
	since := ""
	if start != from {
		since = fmt.Sprintf(", %v of it after the last fault aimed at the leader", to.Sub(start).Round(time.Millisecond))
	}
	return fmt.Sprintf("%sno replica acted for %v%s, over the bound %v", k.stamp(from), to.Sub(from).Round(time.Millisecond), since, b)
}

// excuse exempts [from, to] from the leaderless-gap bound.
func (k *chaosChecker) excuse(from, to time.Time) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.excused = append(k.excused, interval{from, to})
}

func (k *chaosChecker) excusedLocked(from, to time.Time) bool {
	for _, e := range k.excused {
		if e.from.Before(to) && e.to.After(from) {
			return true
		}
	}
	return false
}
