package shards

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

func names(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("app-%d", i)
	}
	return out
}

func loads(plan []string) map[string]int {
	out := map[string]int{}
	for _, o := range plan {
		out[o]++
	}
	return out
}

// checkBalanced fails t unless every member owns ⌊M/N⌋ or ⌈M/N⌉ of plan's
// shards and every shard has a member.
func checkBalanced(t *testing.T, members, plan []string) {
	t.Helper()
	n, m := len(members), len(plan)
	l := loads(plan)
	for _, o := range plan {
		if !slices.Contains(members, o) {
			t.Fatalf("a shard went to %q, not a member of %v: %v", o, members, plan)
		}
	}
	for _, mem := range members {
		if got := l[mem]; got != m/n && got != (m+n-1)/n {
			t.Fatalf("%s owns %d of %d shards among %d members, want %d or %d: %v", mem, got, m, n, m/n, (m+n-1)/n, plan)
		}
	}
}

// TestPlanScenarios follows the end-to-end story with M = 8: four
// replicas settle at two each, a leave moves only the leaver's shards, a
// fifth replica takes one, and nothing moves while membership is still.
func TestPlanScenarios(t *testing.T) {
	four := names(4)
	settled := Plan(four, make([]string, 8))
	checkBalanced(t, four, settled)
	if again := Plan(four, settled); !slices.Equal(again, settled) {
		t.Fatalf("planning again without a change moved shards: %v -> %v", settled, again)
	}

	tests := []struct {
		name      string
		members   []string
		wantMoves int
	}{
		{"a replica leaves: only its two shards move", four[1:], 0}, // its shards have no live owner: taken, not handed over
		{"a fifth replica joins: one shard moves to it", append(slices.Clone(four), "app-4"), 1},
		{"two join: two shards move", append(slices.Clone(four), "app-4", "app-5"), 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			next := Plan(tt.members, settled)
			checkBalanced(t, tt.members, next)
			if got := Moves(tt.members, settled, next); got != tt.wantMoves {
				t.Errorf("%d hand-overs, want %d: %v -> %v", got, tt.wantMoves, settled, next)
			}
			changed := 0
			for i := range next {
				if next[i] != settled[i] {
					changed++
				}
			}
			if want := tt.wantMoves + 2*boolInt(len(tt.members) < 4); changed != want {
				t.Errorf("%d shards changed owner, want %d", changed, want)
			}
		})
	}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// TestPlanProperties checks, over many random memberships and current
// owners (some dead, some unowned): balance within one, hand-overs equal
// to the minimum any balanced plan needs, stability, and that the plan
// does not depend on the order the members are listed in.
func TestPlanProperties(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 5000 {
		n, m := 1+rng.IntN(8), 1+rng.IntN(64)
		members := names(n + 3)[rng.IntN(3):][:n] // a window: some earlier owners are gone
		owners := make([]string, m)
		for s := range owners {
			switch k := rng.IntN(10); {
			case k < 2:
			case k < 4:
				owners[s] = fmt.Sprintf("gone-%d", rng.IntN(3))
			default:
				owners[s] = members[rng.IntN(n)]
			}
		}
		plan := Plan(members, owners)
		checkBalanced(t, members, plan)
		if got, least := Moves(members, owners, plan), MinMoves(members, owners); got != least {
			t.Fatalf("case %d: %d hand-overs, the minimum is %d: %v -> %v", i, got, least, owners, plan)
		}
		if again := Plan(members, plan); !slices.Equal(again, plan) {
			t.Fatalf("case %d: not stable: %v -> %v", i, plan, again)
		}
		// Halfway through the moves, with any shard that moves still
		// with its owner, released, or taken by its new one, nobody
		// changes course so as to cost a hand-over: every owned shard
		// the plan kept stays, and no more shards move than were still
		// to. (Free shards may go to another member with room, and
		// which member gets a ⌈M/N⌉ place may change among those still
		// filling up: that costs no hand-over.)
		halfway := slices.Clone(owners)
		pending := 0
		for s := range halfway {
			if halfway[s] != plan[s] {
				switch rng.IntN(3) {
				case 0:
					halfway[s] = ""
				case 1:
					halfway[s] = plan[s]
				}
			}
			if slices.Contains(members, halfway[s]) && halfway[s] != plan[s] {
				pending++
			}
		}
		mid := Plan(members, halfway)
		checkBalanced(t, members, mid)
		for s, o := range halfway {
			if o == plan[s] && mid[s] != o {
				t.Fatalf("case %d: halfway %v shard %d of %s moves to %s", i, halfway, s, o, mid[s])
			}
		}
		if got := Moves(members, halfway, mid); got > pending {
			t.Fatalf("case %d: halfway %v, %d hand-overs, only %d were still to come", i, halfway, got, pending)
		}
		shuffled := slices.Clone(members)
		rng.Shuffle(len(shuffled), func(a, b int) { shuffled[a], shuffled[b] = shuffled[b], shuffled[a] })
		if other := Plan(shuffled, owners); !slices.Equal(other, plan) {
			t.Fatalf("case %d: the members' order changed the plan: %v vs %v", i, plan, other)
		}
	}
}

// TestPlanWithoutMembers: nobody is alive, nobody owns anything.
func TestPlanWithoutMembers(t *testing.T) {
	if got := Plan(nil, []string{"a", "b"}); !slices.Equal(got, []string{"", ""}) {
		t.Fatalf("got %v", got)
	}
}

// TestMovesAgainstPlainRendezvous prints what the capacity buys: plain
// rendezvous hashing (each shard to its highest-weight member) moves the
// minimum but is not balanced within one; Plan is, with the minimum of
// hand-overs, over 1,000 random joins and leaves of 4 replicas sharing 16
// shards.
//
//	go test ./elect/shards -run TestMovesAgainstPlainRendezvous -v
func TestMovesAgainstPlainRendezvous(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	const m = 16
	members := names(4)
	next := 4
	cur := Plan(members, make([]string, m))
	var moves, least, unbalanced, changes int
	for range 1000 {
		if rng.IntN(2) == 0 && len(members) > 1 {
			k := rng.IntN(len(members))
			members = slices.Delete(slices.Clone(members), k, k+1)
		} else {
			members = append(slices.Clone(members), fmt.Sprintf("app-%d", next))
			next++
		}
		changes++
		p := Plan(members, cur)
		checkBalanced(t, members, p)
		moves += Moves(members, cur, p)
		least += MinMoves(members, cur)
		cur = p

		plain := make([]string, m)
		for s := range plain {
			for _, mem := range members {
				if plain[s] == "" || Score(s, mem) > Score(s, plain[s]) {
					plain[s] = mem
				}
			}
		}
		l := loads(plain)
		for _, mem := range members {
			if got := l[mem]; got > (m+len(members)-1)/len(members) || got < m/len(members) {
				unbalanced++
				break
			}
		}
	}
	if moves != least {
		t.Fatalf("%d hand-overs over %d membership changes, the minimum is %d", moves, changes, least)
	}
	t.Logf("%d membership changes among 16 shards: Plan %d hand-overs (minimum %d), always balanced within one; plain rendezvous unbalanced after %d of them",
		changes, moves, least, unbalanced)
}

// TestPlanFollowsRendezvous: where room does not decide, a shard goes to
// the member with the highest weight for it. With as many shards as
// members every member has room for one, and shard 0, placed first, goes
// to its top weight.
func TestPlanFollowsRendezvous(t *testing.T) {
	for n := 1; n <= 12; n++ {
		members := names(n)
		want := members[0]
		for _, mem := range members {
			if Score(0, mem) > Score(0, want) {
				want = mem
			}
		}
		if got := Plan(members, make([]string, n))[0]; got != want {
			t.Errorf("%d members: the shard went to %s, the highest weight is %s's", n, got, want)
		}
	}
}

// TestPlanMovesEachShardOnce follows the plan one step at a time, as the
// replicas do: at each step one owner releases a shard the current plan
// moves away, or a free shard is taken by the member the current plan
// names, in random order, planning again after every step. However the
// steps interleave, the releases add up to the minimum the first plan
// promised: no member changes course halfway at the cost of a hand-over.
// (Here every step sees the latest state. Replicas whose views lag one
// another are the shard simulation's to check: with the ⌈M/N⌉ places
// ranked by how many shards a member owns, its seed 114 moved a shard
// twice.)
func TestPlanMovesEachShardOnce(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for c := range 3000 {
		n, m := 2+rng.IntN(5), 2+rng.IntN(24)
		all := names(n + 1)
		before, after := all[:n], all
		if rng.IntN(2) == 0 { // a join, or a leave
			before, after = all, all[1:]
		}
		// A balanced group before the change.
		owners := Plan(before, make([]string, m))
		least := MinMoves(after, owners)
		for s := range owners {
			if !slices.Contains(after, owners[s]) {
				owners[s] = "" // the leaver's shards expire
			}
		}
		releases := 0
		for range 10 * m {
			plan := Plan(after, owners)
			var steps []int
			for s := range owners {
				if owners[s] != plan[s] {
					steps = append(steps, s)
				}
			}
			if len(steps) == 0 {
				break
			}
			s := steps[rng.IntN(len(steps))]
			if owners[s] == "" {
				owners[s] = plan[s]
			} else {
				owners[s] = ""
				releases++
			}
		}
		checkBalanced(t, after, owners)
		if releases != least {
			t.Fatalf("case %d (%d shards, %v -> %v): %d hand-overs, the minimum is %d", c, m, before, after, releases, least)
		}
	}
}
