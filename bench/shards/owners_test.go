package main

import "testing"

func TestBalanced(t *testing.T) {
	for _, tc := range []struct {
		name string
		v    view
		m    int
		want bool
	}{
		{"4 each", view{"a": {0, 1, 2, 3}, "b": {4, 5, 6, 7}, "c": {8, 9, 10, 11}, "d": {12, 13, 14, 15}}, 16, true},
		{"5 5 6", view{"a": {0, 1, 2, 3, 4}, "b": {5, 6, 7, 8, 9}, "c": {10, 11, 12, 13, 14, 15}}, 16, true},
		{"4 5 7", view{"a": {0, 1, 2, 3}, "b": {4, 5, 6, 7, 8}, "c": {9, 10, 11, 12, 13, 14, 15}}, 16, false},
		{"one missing", view{"a": {0, 1}, "b": {2}}, 4, false},
		{"one twice", view{"a": {0, 1}, "b": {1, 2}}, 3, false},
		{"one out of range", view{"a": {0, 1}, "b": {2, 4}}, 4, false},
		{"a new member with none", view{"a": {0, 1}, "b": {2, 3}, "c": nil}, 4, false},
		{"nobody", view{}, 4, false},
	} {
		if got := tc.v.balanced(tc.m); got != tc.want {
			t.Errorf("%s: balanced = %v, want %v", tc.name, got, tc.want)
		}
	}
}

// TestMoveCounterLeave: b leaves; its shards are taken by a and c, which
// is no hand-over, and the minimum is none.
func TestMoveCounterLeave(t *testing.T) {
	before := view{"a": {0, 1}, "b": {2, 3}, "c": {4, 5}}
	c := newMoveCounter(before, []string{"a", "c"}, 6)
	if c.minMoves != 0 || c.minTakes != 2 {
		t.Fatalf("minimum %d moves %d takes, want 0 and 2", c.minMoves, c.minTakes)
	}
	c.observe(view{"a": {0, 1}, "c": {4, 5}})
	c.observe(view{"a": {0, 1, 2}, "c": {4, 5}})
	c.observe(view{"a": {0, 1, 2}, "c": {3, 4, 5}})
	if c.moves != 0 || c.takes != 2 || c.doubles != 0 {
		t.Errorf("%d moves %d takes %d doubles, want 0, 2, 0", c.moves, c.takes, c.doubles)
	}
}

// TestMoveCounterJoin: d joins a group of three with 6 shards; two must
// move to it. A shard that goes a -> (nobody) -> d is one hand-over; one
// that goes back and forth is two more.
func TestMoveCounterJoin(t *testing.T) {
	before := view{"a": {0, 1, 2}, "b": {3, 4}, "c": {5}, "d": nil}
	c := newMoveCounter(before, []string{"a", "b", "c", "d"}, 6)
	if c.minMoves != 1 || c.minTakes != 0 {
		t.Fatalf("minimum %d moves %d takes, want 1 and 0", c.minMoves, c.minTakes)
	}
	c.observe(view{"a": {0, 1}, "b": {3, 4}, "c": {5}, "d": nil})
	if m, _ := c.observe(view{"a": {0, 1}, "b": {3, 4}, "c": {5}, "d": {2}}); m != 1 {
		t.Errorf("a -> nobody -> d: %d moves, want 1", m)
	}
	c.observe(view{"a": {0, 1}, "b": {3}, "c": {5}, "d": {2, 4}})
	c.observe(view{"a": {0, 1}, "b": {3, 4}, "c": {5}, "d": {2}})
	if c.moves != 3 || c.takes != 0 {
		t.Errorf("%d moves %d takes, want 3 and 0", c.moves, c.takes)
	}
}

func TestMoveCounterIgnoresNonMembersAndCountsDoubles(t *testing.T) {
	before := view{"a": {0}, "b": {1}}
	c := newMoveCounter(before, []string{"a"}, 2)
	c.observe(view{"a": {0, 1}, "b": {1}, "x": {0}}) // b left; x is no member
	if c.takes != 1 || c.moves != 0 || c.doubles != 0 {
		t.Errorf("%d takes %d moves %d doubles, want 1, 0, 0", c.takes, c.moves, c.doubles)
	}
	c2 := newMoveCounter(view{"a": {0}, "b": {1}}, []string{"a", "b"}, 2)
	c2.observe(view{"a": {0, 1}, "b": {1}})
	if c2.doubles != 1 {
		t.Errorf("%d doubles, want 1", c2.doubles)
	}
}

func TestOwners(t *testing.T) {
	o, d := view{"b": {1, 0}, "a": {0}}.owners(3)
	if o[0] != "a" || o[1] != "b" || o[2] != "" || d != 1 {
		t.Errorf("owners %q doubles %d", o, d)
	}
}
