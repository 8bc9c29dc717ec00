package shards

import (
	"slices"
	"time"
)

// View is what one replica knows of its group: the holders of the shard
// Leases and of the member Leases, each judged live as a follower judges
// a Lease, on the replica's own clock: until its lease duration has passed
// since the replica saw its record change. No two clocks are compared, so
// skew between machines does not matter, only their rates.
//
// View is pure: the caller feeds it what the watch saw and the time, and
// asks it for the plan.
type View struct {
	self    string // this replica's identity
	shards  []holding
	members map[string]holding // by member Lease name
	told    []string           // the owner each shard's machine was last told (Changes)

	// A shard of ours that the plan moves away is told so only once the
	// plan has wanted it away for settle: replicas judge a crashed
	// member expired a watch delay apart, and meanwhile their plans may
	// disagree for a moment (the shard simulation's seed 641). awaySince
	// is when the plan began to want shard i away (away[i] set).
	settle    time.Duration
	away      []bool
	awaySince []time.Duration
}

// holding is one Lease as last seen.
type holding struct {
	holder  string
	version string        // the record as last seen: a change restarts its clock
	since   time.Duration // when the record was seen to change, on our clock
	ld      time.Duration
}

func (h holding) live(now time.Duration) bool {
	return h.holder != "" && now < h.since+h.ld
}

// see records a Lease's state at now; an unchanged version keeps its
// clock running.
func (h holding) see(now time.Duration, holder, version string, ld time.Duration) holding {
	if holder == h.holder && version == h.version {
		return h
	}
	return holding{holder: holder, version: version, since: now, ld: ld}
}

// NewView is what replica self knows of a group of m shards before
// anything is seen. A shard of self's is told to move away only after the
// plan has wanted that for settle (a retry period, say).
func NewView(m int, self string, settle time.Duration) *View {
	return &View{self: self, shards: make([]holding, m), members: map[string]holding{}, told: make([]string, m),
		settle: settle, away: make([]bool, m), awaySince: make([]time.Duration, m)}
}

// Shard records what shard i's Lease says at now: its holder ("" when free
// or gone), a version that changes with every renewal (the record), and
// its lease duration.
func (v *View) Shard(now time.Duration, i int, holder, version string, ld time.Duration) {
	if i < 0 || i >= len(v.shards) {
		return
	}
	v.shards[i] = v.shards[i].see(now, holder, version, ld)
}

// Member records what the member Lease name says at now; holder "" (or a
// deleted Lease) means the member left. age is how long ago the record says
// it was renewed, by this replica's wall clock (0: unknown), and counts
// only the first time this view sees the Lease: a replica that starts
// after another crashed must not count the dead one alive for a whole
// lease duration, while every later renewal is timed on the view's own
// clock as always. Membership is not safety (the shard Leases are), so a
// skewed clock costs at most a moment's imbalance.
func (v *View) Member(now time.Duration, name, holder, version string, ld, age time.Duration) {
	if holder == "" {
		delete(v.members, name)
		return
	}
	h, seen := v.members[name]
	h = h.see(now, holder, version, ld)
	if !seen {
		h.since -= min(max(age, 0), ld)
	}
	v.members[name] = h
}

// Members are the live members' identities at now, sorted: those whose
// member Lease is live, and those holding a live shard Lease. A replica
// renews its member Lease only while it holds no shard (elect/member.go):
// renewing its shards shows it alive, and one Lease fewer to renew keeps a
// group's requests per shard at a single leader's.
func (v *View) Members(now time.Duration) []string {
	var out []string
	for _, h := range v.members {
		if h.live(now) {
			out = append(out, h.holder)
		}
	}
	for _, h := range v.shards {
		if h.live(now) {
			out = append(out, h.holder)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// Owners are the live holders of the shards at now ("" for a free one).
func (v *View) Owners(now time.Duration) []string {
	out := make([]string, len(v.shards))
	for i, h := range v.shards {
		if h.live(now) {
			out[i] = h.holder
		}
	}
	return out
}

// Plan is the owner every shard should have, as far as this replica can
// tell at now (Plan over Members and Owners). A free shard this replica's
// machine was told to take counts as this replica's: its write may have
// landed already, unseen by the watch, and a plan that gave the shard
// elsewhere meanwhile would make the machine hand over what it had just
// taken (the shard simulation's seed 162: while a crashed member's shard
// Leases expired one by one, each expiry placed the free shards anew).
func (v *View) Plan(now time.Duration) []string {
	owners := v.Owners(now)
	for i, o := range owners {
		if o == "" && v.told[i] == v.self {
			owners[i] = v.self
		}
	}
	return Plan(v.Members(now), owners)
}

// NextExpiry is the earliest moment after now at which a Lease this view
// holds live expires, when the plan may change without anything being
// seen; 0 when none will.
func (v *View) NextExpiry(now time.Duration) time.Duration {
	var next time.Duration
	consider := func(h holding) {
		if h.live(now) && (next == 0 || h.since+h.ld < next) {
			next = h.since + h.ld
		}
	}
	for _, h := range v.shards {
		consider(h)
	}
	for _, h := range v.members {
		consider(h)
	}
	for i, pending := range v.away {
		if at := v.awaySince[i] + v.settle; pending && at > now && (next == 0 || at < next) {
			next = at
		}
	}
	return next
}

// Change tells shard Shard's machine whom the plan wants as its owner.
type Change struct {
	Shard int
	Owner string
}

// Changes are the shards whose planned owner differs from what their
// machines were last told, in shard order (a shard of ours moving away
// once the plan has wanted that for the settle time); the caller tells
// each machine (leadership.Owner) and calls again after every observation
// and at NextExpiry.
func (v *View) Changes(now time.Duration) []Change {
	var out []Change
	for i, o := range v.Plan(now) {
		if o == v.told[i] {
			v.away[i] = false
			continue
		}
		if v.told[i] == v.self && o != v.self {
			if !v.away[i] {
				v.away[i], v.awaySince[i] = true, now
			}
			if now < v.awaySince[i]+v.settle {
				continue
			}
		}
		v.away[i] = false
		v.told[i] = o
		out = append(out, Change{Shard: i, Owner: o})
	}
	return out
}
