package shards_test

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/leader-elector/leader-elector/elect/shards"
	"github.com/leader-elector/leader-elector/internal/shardgroup"
)

// The checks, and the phases that decide which of them apply.
//
// At every change of a status file (the only thing a shard's app sees):
//   - per-shard safety: at most one running replica's file for a shard is
//     visible (a file whose removal failed outlives its term by the
//     world's doing, as in package elect's simulation: that overlap is
//     excused, and the machine then neither releases nor exits 0);
//   - the deadline: a file becomes visible only before its term's last
//     landed write + the renew deadline, on the replica's clock;
//   - the margin: a file becomes visible only the margin (lease duration -
//     renew deadline - retry period, the default release delay; less the
//     clocks' drift) after another replica's file for that shard
//     disappeared, unless that replica crashed (its app went with it) or
//     its removal had failed;
//   - once a quiet round settled: every shard's file is visible on exactly
//     the owner it settled on (nothing moves while membership is still).
//
// Crashed replicas: their files are gone with their Pod (an emptyDir the
// app shares), so they are removed at the crash and a crashed replica is
// never counted.

// reveal makes s's file visible and checks what applies at that moment.
func (w *world) reveal(s *simShard) {
	r := s.r
	if m := r.Mono(w.now); m >= s.actUntil {
		w.violatef("%s made its file for shard %d visible at %v, past its deadline %v (last landed write + renew deadline)", r, s.i, m, s.actUntil)
	}
	s.visible, s.removeFailed = true, false
	w.stats.terms++
	w.tracef("%s/%d FILE VISIBLE", r, s.i)
	b := w.p.base
	margin := b.LeaseDuration - b.RenewDeadline - b.RetryPeriod
	// The margin is measured on the stopped replica's clock: allow its drift.
	need := time.Duration(float64(margin) * (1 - 2*w.p.drift))
	for _, e := range w.ends[s.i] {
		if e.rep == r || e.exempt {
			continue
		}
		if gap := w.now - e.at; gap < need {
			w.violatef("%s's file for shard %d became visible %.3fs after %s's disappeared, within the margin %v", r, s.i, gap.Seconds(), e.rep, margin)
		}
	}
	w.ends[s.i] = w.ends[s.i][:0]
	if prev := w.owner[s.i]; prev != nil && prev != r && prev.member() {
		// A hand-over: the shard left a live member for another.
		w.stats.handoversAll++
		if w.round != nil {
			w.round.handovers++
		}
		w.tracef("shard %d HANDED OVER from %s to %s", s.i, prev, r)
	}
	w.owner[s.i] = r
	w.check()
}

// conceal removes s's file; exempt says the margin after it need not hold.
func (w *world) conceal(s *simShard, exempt bool) {
	s.visible = false
	w.tracef("%s/%d file gone", s.r, s.i)
	w.ends[s.i] = append(w.ends[s.i], simEnd{rep: s.r, at: w.now, exempt: exempt})
	w.check()
}

// check runs the invariants that hold at every moment.
func (w *world) check() {
	for i := 0; i < w.p.shards; i++ {
		var vis []*simShard
		for _, r := range w.reps {
			if r.alive && r.sm[i].visible {
				vis = append(vis, r.sm[i])
			}
		}
		if len(vis) > 1 {
			stuck := 0
			for _, s := range vis {
				if s.removeFailed {
					stuck++
				}
			}
			if stuck < len(vis)-1 {
				var who []string
				for _, s := range vis {
					who = append(who, s.r.String())
				}
				w.violatef("shard %d: two replicas' files are visible at once: %s", i, strings.Join(who, ", "))
				return
			}
			w.stats.excusedOverlaps++
		}
		if w.settled != nil && (len(vis) != 1 || vis[0].r != w.settled[i]) {
			var who []string
			for _, s := range vis {
				who = append(who, s.r.String())
			}
			w.violatef("shard %d moved while membership did not change: settled on %s, now visible on [%s]", i, w.settled[i], strings.Join(who, " "))
			return
		}
	}
	if w.round != nil && w.round.settledAt == 0 && w.settledNow() == "" {
		w.round.settledAt = w.now
	}
}

// members are the running replicas that have not been asked to leave.
func (w *world) members() []*simReplica {
	var out []*simReplica
	for _, r := range w.reps {
		if r.member() {
			out = append(out, r)
		}
	}
	return out
}

func ids(rs []*simReplica) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.id
	}
	return out
}

// owners is each shard's current owner, the replica whose file for it is
// visible ("" for none).
func (w *world) owners() []string {
	out := make([]string, w.p.shards)
	for i := range out {
		for _, r := range w.reps {
			if r.alive && r.sm[i].visible {
				out[i] = r.id
			}
		}
	}
	return out
}

// settledNow says what keeps the group from being settled ("" when it is):
// every shard's file visible on exactly one member, every member showing
// ⌊M/N⌋ or ⌈M/N⌉ of them.
func (w *world) settledNow() string {
	ms := w.members()
	n, m := len(ms), w.p.shards
	if n == 0 {
		return "no members"
	}
	count := map[*simReplica]int{}
	for i := 0; i < m; i++ {
		var vis []*simReplica
		for _, r := range w.reps {
			if r.alive && r.sm[i].visible {
				vis = append(vis, r)
			}
		}
		if len(vis) != 1 || !vis[0].member() {
			return fmt.Sprintf("shard %d is visible on %v (liveness); %s", i, vis, w.describe(i))
		}
		count[vis[0]]++
	}
	for _, r := range ms {
		if c := count[r]; c != m/n && c != (m+n-1)/n {
			return fmt.Sprintf("%s shows %d of %d shards among %d members, want %d or %d (balance)", r, c, m, n, m/n, (m+n-1)/n)
		}
	}
	for _, r := range w.reps {
		if r.alive && r.leaving {
			return fmt.Sprintf("%s is still shutting down", r)
		}
	}
	return ""
}

// ---- Phases. ----

// simCalm is how long the group has after the chaos to settle, with no
// faults: a shutdown may take a lease duration + the release delay, a
// replica that handed a shard over stands back a lease duration, a
// crashed replica's Leases take a lease duration to expire, each step
// waits a retry period or two, and the moves they cause wait the release
// delay; twice that is plenty.
func (w *world) simCalm() time.Duration {
	b := w.p.base
	return 5*b.LeaseDuration + 10*b.RetryPeriod + 2*time.Second
}

// roundBound is how long after a membership change in a quiet period the
// group must have settled again. A crash: the others see its member Lease
// and its shard Leases unchanged for a lease duration (its last renewals
// up to a retry period old), then take its shards: 2 x LD + 4 x RP covers
// it with room for drift. A join or a graceful leave needs no expiry: the
// shards that move are handed over with the release delay (< LD) and
// taken at once by their new owner: LD + 2 x RP.
func (w *world) roundBound(kind string) time.Duration {
	b := w.p.base
	if kind == "crash" {
		return 2*b.LeaseDuration + 4*b.RetryPeriod
	}
	return b.LeaseDuration + 2*b.RetryPeriod
}

// startChaos begins a chaos phase: faults and membership changes.
func (w *world) startChaos() {
	w.phase, w.round, w.settled = "chaos", nil, nil
	w.tracef("--- chaos for %v", w.p.chaos)
	w.chaosEnd = w.now + w.p.chaos
	w.at(w.now, -1, false, w.fault)
	w.at(w.chaosEnd, -1, false, w.startCalm)
}

// startCalm lets the group settle after the chaos (or the start), then
// checks it did and begins the quiet rounds.
func (w *world) startCalm() {
	w.phase, w.round, w.settled = "calm", nil, nil
	w.tracef("--- calm for %v", w.simCalm())
	start := w.now
	w.at(w.now+w.simCalm(), -1, false, func() {
		if why := w.settledNow(); why != "" {
			w.violatef("not settled %v after the chaos: %s", w.simCalm(), why)
			return
		}
		w.stats.calms++
		w.rounds = 2 + w.rng.Intn(3)
		w.tracef("--- calm settled (%v)", w.now-start)
		w.settled = w.ownersNow()
		w.at(w.now+w.p.base.LeaseDuration, -1, false, w.quietRound)
	})
}

func (w *world) ownersNow() []*simReplica {
	out := make([]*simReplica, w.p.shards)
	for i := range out {
		for _, r := range w.reps {
			if r.alive && r.sm[i].visible {
				out[i] = r
			}
		}
	}
	return out
}

// quietRound makes one membership change with no faults around it, then
// checks that the group settles within the bound, balanced, with no more
// hand-overs than the fewest any balanced plan needs, and that nothing
// moves after that.
func (w *world) quietRound() {
	if w.rounds == 0 {
		w.startChaos()
		return
	}
	w.rounds--
	ms := w.members()
	var kinds []string
	if len(ms) < w.p.maxReplicas {
		kinds = append(kinds, "join")
	}
	if len(ms) > 1 {
		kinds = append(kinds, "leave", "crash")
	}
	kind := kinds[w.rng.Intn(len(kinds))]
	owners := w.owners()
	w.phase, w.settled = "quiet "+kind, nil
	rd := &simRound{kind: kind, at: w.now, ordered: map[[2]int]bool{}}
	w.round = rd
	var after []string
	switch kind {
	case "join":
		rd.who = w.join()
		after = append(ids(ms), rd.who.id)
	default:
		rd.who = ms[w.rng.Intn(len(ms))]
		after = ids(slices.DeleteFunc(slices.Clone(ms), func(r *simReplica) bool { return r == rd.who }))
	}
	rd.minMoves = shards.MinMoves(after, owners)
	w.tracef("--- quiet: %s %s; %d members after, at least %d hand-overs", kind, rd.who, len(after), rd.minMoves)
	switch kind {
	case "leave":
		w.leave(rd.who)
	case "crash":
		w.crash(rd.who)
	}
	w.at(w.now+w.roundBound(kind), -1, false, w.endRound)
}

// endRound checks a quiet round's outcome, then holds still for a while
// (member renewals, expiry timers) checking that nothing moves.
func (w *world) endRound() {
	rd := w.round
	orders := len(rd.ordered)
	if orders > rd.minMoves {
		w.violatef("a %s of %s made members step down for %d moves (%d hand-overs), the fewest a balanced plan needs is %d", rd.kind, rd.who, orders, rd.handovers, rd.minMoves)
		return
	}
	why := w.settledNow()
	if why != "" {
		w.violatef("not settled %v after a %s of %s: %s", w.roundBound(rd.kind), rd.kind, rd.who, why)
		return
	}
	// Every hand-over costs the shard's app a release delay with nobody
	// acting: the group must make no more of them than the fewest any
	// balanced plan needs from the owners at the change (MinMoves). The
	// plan keeps each member's shards up to its place and gives the
	// ⌈M/N⌉ places to those that own the most, so it needs exactly that
	// many; and since every replica plans from what it has seen, a view
	// that is behind by a watch delay must not make anyone change course
	// (plan.go's "halfway through the moves" property).
	if rd.handovers < rd.minMoves || rd.handovers > max(orders, rd.minMoves) {
		w.violatef("a %s of %s made %d hand-overs (%d ordered), the fewest a balanced plan needs is %d", rd.kind, rd.who, rd.handovers, orders, rd.minMoves)
		return
	}
	took := rd.settledAt - rd.at
	w.stats.rounds[rd.kind]++
	w.stats.handovers += rd.handovers
	w.stats.minMoves += rd.minMoves
	w.stats.maxSettle[rd.kind] = max(w.stats.maxSettle[rd.kind], took)
	w.tracef("--- quiet round settled in %v with %d hand-overs (minimum %d)", took, rd.handovers, rd.minMoves)
	w.round, w.settled = nil, w.ownersNow()
	b := w.p.base
	w.at(w.now+b.LeaseDuration+4*b.RetryPeriod, -1, false, w.quietRound)
}

// ---- Faults (chaos only). ----

// fault strikes one random fault or membership change, then schedules
// the next.
func (w *world) fault() {
	if !w.chaos() {
		return
	}
	defer w.at(w.now+w.dur(50*time.Millisecond, 800*time.Millisecond), -1, false, w.fault)
	ms := w.members()
	k := w.rng.Intn(100)
	switch {
	case k < 4:
		if len(ms) < w.p.maxReplicas {
			w.join()
		}
		return
	case k < 8:
		if len(ms) > 1 {
			w.leave(ms[w.rng.Intn(len(ms))])
		}
		return
	case k < 12:
		var alive []*simReplica
		for _, r := range w.reps {
			if r.alive && (r.leaving || len(ms) > 1) {
				alive = append(alive, r)
			}
		}
		if len(alive) > 0 {
			w.crash(alive[w.rng.Intn(len(alive))])
		}
		return
	}
	if len(ms) == 0 {
		return
	}
	r := ms[w.rng.Intn(len(ms))]
	end := w.chaosEnd // faults heal before the calm
	switch {
	case k < 30:
		d := min(w.dur(300*time.Millisecond, 6*time.Second), end-w.now)
		w.stats.partitions++
		w.tracef("%s partitioned for %v", r, d)
		r.partitioned = max(r.partitioned, w.now+d)
		r.watchBroken = true
		w.at(r.partitioned, r.idx, false, func() { w.relist(r) })
	case k < 42:
		d := min(w.dur(200*time.Millisecond, 3*time.Second), end-w.now)
		w.stats.slow++
		w.tracef("%s slow network for %v", r, d)
		r.slowUntil = max(r.slowUntil, w.now+d)
	case k < 54:
		w.stats.watchBreaks++
		w.tracef("%s watch breaks", r)
		r.watchBroken = true
		w.at(w.now+w.dur(100*time.Millisecond, 4*time.Second), r.idx, false, func() { w.relist(r) })
	case k < 64:
		w.freeze(r, "paused", &r.pausedUntil, w.p.maxPause, &w.stats.pauses)
	case k < 70:
		// The loop falls behind its own tasks (a long GC, a busy core):
		// their answers wait, its deadlines too.
		w.freeze(r, "loop stalls", &r.loopStalledUntil, w.p.maxLoopStall, &w.stats.loopStalls)
	case k < 78:
		d := min(w.dur(time.Second, 8*time.Second), end-w.now)
		w.stats.ioSpells++
		w.tracef("%s disk faults for %v", r, d)
		r.ioFaultsUntil = max(r.ioFaultsUntil, w.now+d)
	}
}

// freeze stops r (all of it, or its loop: until says which) for up to
// longest from now, unless it is stopped already.
func (w *world) freeze(r *simReplica, what string, until *time.Duration, longest time.Duration, count *int) {
	if longest == 0 || w.now < *until {
		return
	}
	*count++
	d := w.dur(time.Millisecond, longest)
	w.tracef("%s %s for %v", r, what, d)
	*until = w.now + d
}

// describe is shard i as everyone sees it, for a violation's message.
func (w *world) describe(i int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "lease %s;", w.srv.state(shardgroup.ShardLease(simGroup, i)))
	for _, r := range w.reps {
		if !r.alive {
			continue
		}
		mono := r.Mono(w.now)
		fmt.Fprintf(&b, " %s(%s, plan %q, members %v)", r, r.sm[i].m.Phase(), r.view.Plan(mono)[i], r.view.Members(mono))
	}
	return b.String()
}
