package main

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/leader-elector/leader-elector/internal/benchkit"
)

// changeSet is the membership changes of one M and one set of timings.
type changeSet struct {
	m       int
	t       timings
	changes []change
}

// steadyPair is ours and the baseline over the same steady window.
type steadyPair struct {
	t          timings
	ours, base steadyResult
}

func printHeader(w io.Writer, cycles, defaultCycles int, window time.Duration) {
	fmt.Fprintf(w, "\nshards bench: N=%d replicas of `elect --shards M --status-dir DIR`, one real kube-apiserver + etcd on loopback, each replica's requests counted by its own proxy\n", replicas)
	fmt.Fprintf(w, "membership changes: %d cycles per M with fast timings (%s), %d with the defaults (%s), M=16; a cycle is a leave (SIGTERM), a join, a crash (SIGKILL), a join, starting from 4 replicas\n", cycles, fast, defaultCycles, defaults)
	fmt.Fprintf(w, "the default release delay (lease duration - renew deadline - retry period); balanced = the running replicas' directories show every shard once, each replica floor(M/N) or ceil(M/N); directories polled every %s\n", pollEvery)
	fmt.Fprintf(w, "steady state: N=%d, M=16, %s window after settling; baseline = %d plain client-go electors (bench/baseline), one per replica per shard Lease, same timings\n", replicas, window, replicas*16)
}

// printChanges prints the time from each kind of change to balance.
func printChanges(w io.Writer, sets []changeSet) {
	fmt.Fprintf(w, "\ntime to balance: from the signal (leave, crash) or the new process's start (join) until balanced among the running replicas\n\n")
	fmt.Fprintf(w, "%-22s %4s %-17s %4s %8s %8s %8s %8s %8s\n", "timings", "M", "change", "n", "min (s)", "p50 (s)", "p95 (s)", "max (s)", "p95/LD")
	var goals []string
	for _, s := range sets {
		for _, kind := range kinds {
			ds := tookOf(s.changes, kind)
			if len(ds) == 0 {
				continue
			}
			p95 := benchkit.Percentile(ds, 95)
			fmt.Fprintf(w, "%-22s %4d %-17s %4d %8.3f %8.3f %8.3f %8.3f %8.2f\n", s.t, s.m, kind, len(ds),
				secs(benchkit.Percentile(ds, 0.0001)), secs(benchkit.Percentile(ds, 50)), secs(p95), secs(benchkit.Percentile(ds, 100)), p95.Seconds()/s.t.ld.Seconds())
			if kind == leave {
				goals = append(goals, goal(p95 <= s.t.ld, fmt.Sprintf("%s, M=%d: balanced p95 %.3fs after a leave <= one lease duration %s", s.t, s.m, secs(p95), secsText(s.t.ld))))
			}
		}
	}
	fmt.Fprintf(w, "\ngoals:\n%s", strings.Join(goals, ""))
}

// printMoves prints the hand-overs per change against the minimum.
func printMoves(w io.Writer, sets []changeSet) {
	fmt.Fprintf(w, "\nshard moves per membership change, counted from the directories from the change until the next one (settle included):\n")
	fmt.Fprintf(w, "  move = a shard's file leaves one replica that stays and appears on another; take = it appears after no staying replica had it (the leaver's)\n")
	fmt.Fprintf(w, "  minimum = shards.MinMoves(members after, owners just before) and the shards no staying member owned; late = moves+takes after balance was first seen\n\n")
	fmt.Fprintf(w, "%-22s %4s %-17s %4s %8s %8s %8s %8s %6s %8s\n", "timings", "M", "change", "n", "moves", "min", "takes", "min", "late", "doubles")
	var all, allMin, doubles int
	for _, s := range sets {
		for _, kind := range kinds {
			var t change
			n := 0
			for _, c := range s.changes {
				if c.kind != kind {
					continue
				}
				n++
				t.moves += c.moves
				t.minMoves += c.minMoves
				t.takes += c.takes
				t.minTakes += c.minTakes
				t.after += c.after
				t.doubles += c.doubles
			}
			if n == 0 {
				continue
			}
			all += t.moves
			allMin += t.minMoves
			doubles += t.doubles
			fmt.Fprintf(w, "%-22s %4d %-17s %4d %8d %8d %8d %8d %6d %8d\n", s.t, s.m, kind, n, t.moves, t.minMoves, t.takes, t.minTakes, t.after, t.doubles)
		}
	}
	fmt.Fprintf(w, "%-22s %4s %-17s %4s %8d %8d\n", "total", "", "", "", all, allMin)
	fmt.Fprintf(w, "\ngoals:\n")
	fmt.Fprint(w, goal(all == allMin, fmt.Sprintf("shard moves %d == the minimum %d", all, allMin)))
	fmt.Fprint(w, goal(doubles == 0, fmt.Sprintf("no shard in two running replicas' directories at once (%d polls x shards saw one)", doubles)))
}

// printSteady prints requests per replica and per shard, ours and the
// baseline, and the goal against a single leader's renewals.
func printSteady(w io.Writer, ps []steadyPair) {
	for _, p := range ps {
		o, b := p.ours, p.base
		renewals := time.Minute.Seconds() / p.t.rp.Seconds()
		fmt.Fprintf(w, "\nsteady state, %s: N=%d, M=%d, %s window; ours one process per replica, baseline %d electors per replica\n\n", p.t, o.replicas, o.shards, o.window, o.shards)
		fmt.Fprintf(w, "%-52s %10s %10s %8s\n", "requests per minute", "ours", "baseline", "ratio")
		row := func(name string, a, b float64) {
			fmt.Fprintf(w, "%-52s %10.1f %10.1f %8s\n", name, a, b, benchkit.Ratio(a, b))
		}
		row("per replica, all", o.total(), b.total())
		for _, k := range benchkit.Keys(o.perReplica, b.perReplica) {
			row("  "+k, o.perReplica[k], b.perReplica[k])
		}
		mem := benchkit.Sum(o.member)
		fmt.Fprintf(w, "%-52s %10.1f %10s\n", "  of which the member Lease (ours, every LD/3)", mem, "-")
		for _, k := range slices.Sorted(maps.Keys(o.member)) {
			fmt.Fprintf(w, "%-52s %10.1f %10s\n", "    member "+k, o.member[k], "-")
		}
		row("per shard, all replicas' / M", o.perShard(), b.perShard())
		shardOnly := (o.total() - mem) * float64(o.replicas) / float64(o.shards)
		fmt.Fprintf(w, "%-52s %10.1f %10s\n", "per shard, without the member Leases", shardOnly, "-")
		fmt.Fprintf(w, "%-52s %10.1f %10s\n", fmt.Sprintf("a single leader's renewals (60/%s)", secsText(p.t.rp)), renewals, "")
		fmt.Fprintf(w, "\neach replica's requests/min: ours %s; baseline %s\n", benchkit.Totals(o.totals), benchkit.Totals(b.totals))
		if o.changed || b.changed {
			fmt.Fprintf(w, "note: during the window an owner changed (ours: %v) or a baseline Lease had no single leader (baseline: %v)\n", o.changed, b.changed)
		}
		fmt.Fprintf(w, "\ngoals (%s):\n", p.t)
		fmt.Fprint(w, goal(o.perShard() <= renewals, fmt.Sprintf("requests per shard per minute %.1f <= a single leader's renewals %.1f (member Leases included)", o.perShard(), renewals)))
		fmt.Fprint(w, goal(shardOnly <= renewals, fmt.Sprintf("the same without the member Leases' renewals: %.1f <= %.1f", shardOnly, renewals)))
		fmt.Fprint(w, goal(o.total() < b.total(), fmt.Sprintf("fewer requests per replica than %d plain electors: %.1f < %.1f", o.shards, o.total(), b.total())))
	}
}

func goal(ok bool, what string) string {
	mark := "MET   "
	if !ok {
		mark = "MISSED"
	}
	return fmt.Sprintf("  %s %s\n", mark, what)
}

func tookOf(cs []change, kind string) []time.Duration {
	var out []time.Duration
	for _, c := range cs {
		if c.kind == kind {
			out = append(out, c.took)
		}
	}
	return out
}

func secs(d time.Duration) float64 { return d.Seconds() }
