package main

import (
	"fmt"
	"math/rand/v2"
	"syscall"
	"time"
)

// Kinds of membership change.
// A join right after a crash differs from one after a leave: the crashed
// replica's member Lease is still there, and the newcomer, which judges it
// on its own clock, counts it alive for a lease duration.
const (
	leave      = "leave (SIGTERM)"
	joinLeave  = "join after leave"
	kill       = "crash (SIGKILL)"
	joinKilled = "join after crash"
)

var kinds = []string{leave, joinLeave, kill, joinKilled}

// change is one membership change as the directories showed it.
type change struct {
	kind string
	took time.Duration // from the signal (or the new process's start) to balanced
	// moves and takes are counted from the change until the next one;
	// minMoves and minTakes are the fewest any balanced plan needs.
	moves, takes, minMoves, minTakes int
	doubles                          int // polls x shards shown by two members at once
	after                            int // moves and takes after balance was first seen
}

// cycles runs n cycles of changes on a group of four: a replica leaves,
// a new one joins, a replica is killed, a new one joins. Each change
// starts after the group settled plus a random part of a retry period, so
// it lands at any phase of the renewals.
func (b *bench) cycles(m int, t timings, n int) ([]change, error) {
	g, err := b.startGroup(fmt.Sprintf("changes-%d-%s", m, t.name), 4, m, t)
	if err != nil {
		return nil, err
	}
	defer g.stop()
	if _, err := g.waitBalanced(2*time.Minute + 4*t.ld); err != nil {
		return nil, err
	}
	settle := max(2*time.Second, 2*t.rp)
	time.Sleep(settle)
	var out []change
	for c := range n {
		for _, kind := range kinds {
			time.Sleep(rand.N(t.rp))
			ch, err := g.change(kind, settle)
			if err != nil {
				return out, fmt.Errorf("M=%d %s, cycle %d, %s: %w", m, t.name, c+1, kind, err)
			}
			progress("M=%d %s: %s in %s: %d moves (min %d), %d takes (min %d)", m, t.name, kind, ch.took.Round(time.Millisecond), ch.moves, ch.minMoves, ch.takes, ch.minTakes)
			out = append(out, ch)
		}
	}
	return out, nil
}

// change makes one change of the given kind and follows the directories
// until balanced, then for settle more, counting moves throughout.
func (g *group) change(kind string, settle time.Duration) (change, error) {
	ch := change{kind: kind}
	before, err := g.waitBalanced(time.Minute)
	if err != nil {
		return ch, fmt.Errorf("not balanced before the change: %w", err)
	}
	var start time.Time
	done := make(chan struct{})
	switch kind {
	case leave, kill:
		victim := g.reps[rand.IntN(len(g.reps))]
		g.remove(victim)
		sig, grace := syscall.SIGTERM, 30*time.Second
		if kind == kill {
			sig, grace = syscall.SIGKILL, 0
		}
		start = time.Now()
		go func() { victim.Stop(sig, grace); close(done) }()
	case joinLeave, joinKilled:
		start = time.Now()
		r, err := g.add()
		if err != nil {
			return ch, err
		}
		before[r.id] = nil
		close(done)
	}
	mc := newMoveCounter(before, ids(g.reps), g.m)
	ch.minMoves, ch.minTakes = mc.minMoves, mc.minTakes
	limit := 2*time.Minute + 4*g.t.ld
	var until time.Time
	for until.IsZero() || time.Now().Before(until) {
		v := viewOf(g.reps)
		moves, takes := mc.observe(v)
		if ch.took > 0 {
			ch.after += moves + takes
		} else if v.balanced(g.m) {
			ch.took = time.Since(start)
			until = time.Now().Add(settle)
		}
		if err := g.b.failed(); err != nil {
			return ch, err
		}
		if ch.took == 0 && time.Since(start) > limit {
			return ch, fmt.Errorf("not balanced within %s: %v", limit, v)
		}
		time.Sleep(pollEvery)
	}
	select {
	case <-done:
	case <-time.After(time.Minute):
		return ch, fmt.Errorf("the replica that left did not exit within a minute")
	}
	ch.moves, ch.takes, ch.doubles = mc.moves, mc.takes, mc.doubles
	return ch, nil
}
