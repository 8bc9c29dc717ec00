package main

import (
	"maps"
	"slices"

	"github.com/leader-elector/leader-elector/elect/shards"
)

// view is what the live replicas' status directories show at one moment:
// replica identity -> the shards whose file is in its directory.
type view map[string][]int

// balanced reports whether the view shows every one of m shards exactly
// once, each replica with ⌊m/n⌋ or ⌈m/n⌉ of them: the group has settled.
func (v view) balanced(m int) bool {
	n := len(v)
	if n == 0 {
		return false
	}
	seen := make([]bool, m)
	total := 0
	for _, s := range v {
		if len(s) != m/n && len(s) != (m+n-1)/n {
			return false
		}
		for _, i := range s {
			if i < 0 || i >= m || seen[i] {
				return false
			}
			seen[i] = true
			total++
		}
	}
	return total == m
}

// owners returns each shard's owner in the view ("" when nobody shows it)
// and how many shards two or more replicas showed at once (the first in
// identity order is taken as the owner then).
func (v view) owners(m int) (owners []string, doubles int) {
	owners = make([]string, m)
	for _, id := range slices.Sorted(maps.Keys(v)) {
		for _, i := range v[id] {
			if i < 0 || i >= m {
				continue
			}
			if owners[i] != "" {
				doubles++
				continue
			}
			owners[i] = id
		}
	}
	return owners, doubles
}

func (v view) members() []string { return slices.Sorted(maps.Keys(v)) }

// moveCounter follows one membership change from the directories: from the
// owners just before it, every later view of the members after it. A shard
// whose file leaves one member and then appears on another is a hand-over
// (a move); a shard that appears on a member after no member had it (it
// was the leaver's, or nobody's) is a take. Plan and MinMoves count the
// same way: a shard without a live owner is taken, not handed over.
type moveCounter struct {
	members map[string]bool
	last    []string // per shard, the last member seen showing it
	moves   int
	takes   int
	doubles int // polls x shards shown by two members at once
	// minMoves and minTakes are the fewest of each any balanced plan needs
	// from the owners before the change.
	minMoves, minTakes int
}

// newMoveCounter starts counting from before (every replica's directory,
// the leaver's included) towards the members after the change.
func newMoveCounter(before view, after []string, m int) *moveCounter {
	c := &moveCounter{members: map[string]bool{}, last: make([]string, m)}
	for _, id := range after {
		c.members[id] = true
	}
	owners, _ := before.owners(m)
	for i, o := range owners {
		if c.members[o] {
			c.last[i] = o
		} else {
			c.minTakes++
		}
	}
	c.minMoves = shards.MinMoves(after, owners)
	return c
}

// observe takes one view of the members' directories (others ignored) and
// returns how many hand-overs and takes it showed.
func (c *moveCounter) observe(v view) (moves, takes int) {
	owners := map[int]string{}
	for id, s := range v {
		if !c.members[id] {
			continue
		}
		for _, i := range s {
			if i < 0 || i >= len(c.last) {
				continue
			}
			if o, ok := owners[i]; ok && o != id {
				c.doubles++
				continue
			}
			owners[i] = id
		}
	}
	for i, o := range owners {
		switch last := c.last[i]; {
		case last == o:
		case last == "":
			takes++
		default:
			moves++
		}
		c.last[i] = o
	}
	c.moves += moves
	c.takes += takes
	return moves, takes
}
