package shards

import (
	"slices"
	"testing"
	"time"
)

func TestViewJudgesExpiryOnItsOwnClock(t *testing.T) {
	const ld = 15 * time.Second
	v := NewView(4)
	v.Member(0, "g-member-a", "a", "r1", ld)
	v.Member(0, "g-member-b", "b", "r1", ld)
	v.Shard(0, 0, "a", "r1", ld)
	v.Shard(0, 1, "b", "r1", ld)

	if got := v.Members(time.Second); !slices.Equal(got, []string{"a", "b"}) {
		t.Fatalf("members = %v", got)
	}
	// b renews at 10s (a new version); a does not.
	v.Member(10*time.Second, "g-member-b", "b", "r2", ld)
	v.Shard(10*time.Second, 1, "b", "r2", ld)
	// Seeing a's unchanged record again must not restart its clock.
	v.Member(12*time.Second, "g-member-a", "a", "r1", ld)

	if got := v.NextExpiry(time.Second); got != ld {
		t.Errorf("next expiry = %v, want %v", got, ld)
	}
	at := ld
	if got := v.Members(at); !slices.Equal(got, []string{"b"}) {
		t.Errorf("members at %v = %v, want [b]", at, got)
	}
	if got := v.Owners(at); !slices.Equal(got, []string{"", "b", "", ""}) {
		t.Errorf("owners at %v = %v", at, got)
	}
	if got := v.Plan(at); !slices.Equal(got, []string{"b", "b", "b", "b"}) {
		t.Errorf("plan at %v = %v, want every shard with b", at, got)
	}
	if got := v.NextExpiry(at); got != 25*time.Second {
		t.Errorf("next expiry at %v = %v, want 25s", at, got)
	}
	// b leaves (its member Lease released or deleted): nobody is left.
	v.Member(at, "g-member-b", "", "r3", ld)
	if got := v.Plan(at); !slices.Equal(got, []string{"", "", "", ""}) {
		t.Errorf("plan without members = %v", got)
	}
	// A shard number beyond the group is ignored, not a panic.
	v.Shard(at, 4, "x", "r1", ld)
}

func TestViewChangesTellEachShardOnce(t *testing.T) {
	const ld = 15 * time.Second
	v := NewView(2)
	if got := v.Changes(0); len(got) != 0 {
		t.Fatalf("changes before anything is seen = %v", got)
	}
	v.Member(0, "g-member-a", "a", "r1", ld)
	if got, want := v.Changes(0), []Change{{0, "a"}, {1, "a"}}; !slices.Equal(got, want) {
		t.Fatalf("changes = %v, want %v", got, want)
	}
	if got := v.Changes(time.Second); len(got) != 0 {
		t.Fatalf("nothing changed, yet changes = %v", got)
	}
	v.Shard(time.Second, 0, "a", "r1", ld)
	v.Shard(time.Second, 1, "a", "r1", ld)
	v.Member(time.Second, "g-member-b", "b", "r1", ld)
	got := v.Changes(time.Second)
	if len(got) != 1 || got[0].Owner != "b" {
		t.Fatalf("b joined: changes = %v, want one shard moving to b", got)
	}
	// a expires: its shard goes to b, and nobody is told twice.
	got = v.Changes(ld)
	if len(got) != 1 || got[0].Owner != "b" {
		t.Fatalf("a expired: changes = %v", got)
	}
}
