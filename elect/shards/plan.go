// Package shards decides which replica should own each of M shards (issue
// 22): balanced within one over the live members, moving only the shards
// that must move when membership changes, and computed by every replica on
// its own from what it sees, with no coordinator.
//
// It is pure and deterministic: Plan is the assignment, and View what one
// replica has seen of its group (who is alive, who holds what), judged on
// its own clock. Package elect does the I/O: the member Lease, the watch,
// and one leadership machine per shard, which it tells the planned owner.
package shards

import (
	"cmp"
	"hash/fnv"
	"slices"
	"strconv"
)

// Score is the rendezvous (highest-random-weight) weight of member for
// shard: every replica computes the same, and a shard prefers the member
// with the highest.
func Score(shard int, member string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(member))
	h.Write([]byte{0})
	h.Write([]byte(strconv.Itoa(shard)))
	// FNV's low bits mix poorly for short, similar inputs; a final
	// avalanche (splitmix64's) spreads them.
	x := h.Sum64()
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

// Plan returns the owner each shard should have, given the live members
// and the current owners (owners[i] is shard i's, "" when nobody owns it;
// an owner that is not a member counts as nobody). len(owners) is the
// number of shards. With no members every shard is unowned.
//
// Every member gets ⌊M/N⌋ or ⌈M/N⌉ shards. The ⌈M/N⌉ places go to the
// members that own more than ⌊M/N⌋ now (then by rendezvous weight), and each
// member keeps as many of its shards as its place allows, so only the
// shards that must move do: those of members
// that left, and a member's excess. Shards without an owner go, in order,
// to the member with the highest weight for them that has room. So the
// plan is stable (planning again from it changes nothing) and does not
// depend on the order members are listed in.
func Plan(members []string, owners []string) []string {
	m, n := len(owners), len(members)
	plan := make([]string, m)
	if n == 0 {
		return plan
	}
	live := make(map[string]bool, n)
	for _, mem := range members {
		live[mem] = true
	}
	held := map[string][]int{}
	for shard, o := range owners {
		if live[o] {
			held[o] = append(held[o], shard)
		}
	}

	// Room: the ⌈M/N⌉ places go first to the members that own more than
	// ⌊M/N⌋, then by rendezvous weight. Only whether a member owns more
	// counts, not how much more: whichever of them gets a place, the same
	// number of shards moves, and a member shedding its excess keeps its
	// place on the way down. Ranked by count instead, a member that had
	// shed one shard could fall behind another that had not yet, lose its
	// place, and shed a second one: a move beyond the minimum (found by
	// the shard simulation).
	order := slices.Clone(members)
	slices.Sort(order)
	order = slices.Compact(order)
	n = len(order)
	q, r := m/n, m%n
	over := func(mem string) int {
		if len(held[mem]) > q {
			return 1
		}
		return 0
	}
	slices.SortStableFunc(order, func(a, b string) int {
		if c := cmp.Compare(over(b), over(a)); c != 0 {
			return c
		}
		return cmp.Compare(Score(-1, b), Score(-1, a))
	})
	room := make(map[string]int, n)
	for i, mem := range order {
		room[mem] = q
		if i < r {
			room[mem]++
		}
	}

	// Keep: each member its shards, up to its room (the lowest-numbered:
	// which ones does not change how many move).
	for _, mem := range order {
		mine := held[mem]
		for _, shard := range mine[:min(len(mine), room[mem])] {
			plan[shard] = mem
			room[mem]--
		}
	}

	// Place: every other shard with the member it prefers that has room.
	for shard := range plan {
		if plan[shard] != "" {
			continue
		}
		best, bestScore := "", uint64(0)
		for _, mem := range order {
			if room[mem] == 0 {
				continue
			}
			if s := Score(shard, mem); best == "" || s > bestScore || (s == bestScore && mem < best) {
				best, bestScore = mem, s
			}
		}
		plan[shard] = best
		room[best]--
	}
	return plan
}

// Moves counts the shards whose live owner differs between two plans: the
// hand-overs it takes to go from one to the other (a shard without a live
// owner is taken, not handed over).
func Moves(members []string, from, to []string) int {
	live := map[string]bool{}
	for _, mem := range members {
		live[mem] = true
	}
	n := 0
	for i := range from {
		if live[from[i]] && from[i] != to[i] {
			n++
		}
	}
	return n
}

// MinMoves is the fewest hand-overs any balanced plan needs from owners:
// with the ⌈M/N⌉ places given to the members that own the most, the sum of
// every member's excess over its place.
func MinMoves(members []string, owners []string) int {
	m := len(owners)
	uniq := slices.Compact(slices.Sorted(slices.Values(members)))
	n := len(uniq)
	if n == 0 {
		return 0
	}
	count := map[string]int{}
	for _, o := range owners {
		count[o]++
	}
	loads := make([]int, 0, n)
	for _, mem := range uniq {
		loads = append(loads, count[mem])
	}
	slices.SortFunc(loads, func(a, b int) int { return cmp.Compare(b, a) })
	q, r := m/n, m%n
	total := 0
	for i, l := range loads {
		place := q
		if i < r {
			place++
		}
		total += max(0, l-place)
	}
	return total
}
