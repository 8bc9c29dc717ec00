package tui

import (
	"cmp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/leader-elector/leader-elector/watch"
)

// A shard group (elect --shards, internal/shardgroup) is M shard Leases
// and one member Lease per replica. Shown as M+N rows it would bury every
// other Lease, so the table folds it into one row: the group's name and
// size, its owners and how many shards each holds, the shards nobody
// holds, and how many shards moved lately. Enter lists every shard.

// movesWindow is how far back a group's moves are counted: long enough to
// see a rebalance after a rollout, short enough that a settled group
// reads none.
const movesWindow = 5 * time.Minute

// maxMoves bounds the move times a group keeps for movesWindow.
const maxMoves = 256

// maxGroupBeats bounds the renewal times a group keeps for its heartbeat,
// as watch bounds a Lease's.
const maxGroupBeats = 16

// groupSuffix ends a group row's key: no Lease name holds a space, so a
// group's row never shares a key with a Lease, even one named like it.
const groupSuffix = " (shard group)"

// groupKey is the row key of the group name in namespace ns.
func groupKey(ctx, ns, name string) string {
	return rowKey(ctx, &watch.LeaseState{Namespace: ns, Name: name}) + groupSuffix
}

// group is one shard group's Leases as the watch reported them.
type group struct {
	ns, name string             // raw, as the Leases say
	m        int32              // M, as the newest shard Lease says
	shards   []watch.LeaseState // by number; Name "" where none was seen
	members  map[string]watch.LeaseState

	moves []time.Time // our times shards took a new holder, oldest first
	beats []time.Time // our times of shard renewals, oldest first

	// What recount last found, for the cells and the badge; stale when a
	// shard's holder or M changed since (a renewal changes neither, so it
	// costs no recount).
	stale   bool
	owners  []owner // by shards held, most first
	short   []owner // owners without the prefix they share, nil if none
	holders string  // the owners as the row's holder: "pod-a 2 · pod-b 2"
	unowned int     // shards 0..M-1 without a holder (or a Lease)
	label   string  // the name cell: "myapp  8 shards"
}

// owner is one holder of shards and how many it holds.
type owner struct {
	name  string // Inert
	count int
}

func newGroup(ns, name string) *group {
	return &group{ns: ns, name: name, members: make(map[string]watch.LeaseState)}
}

// put stores a Lease of the group and returns its holder before.
func (g *group) put(l *watch.LeaseState) (prevHolder string) {
	if l.Member {
		prevHolder = g.members[l.Name].Holder
		g.members[l.Name] = *l
		return prevHolder
	}
	i := int(l.Shard)
	if i >= len(g.shards) {
		g.shards = append(g.shards, make([]watch.LeaseState, i+1-len(g.shards))...)
	}
	prev := &g.shards[i]
	prevHolder = prev.Holder
	g.stale = g.stale || prev.Name == "" || prevHolder != l.Holder || g.m != l.Shards
	*prev = *l
	g.m = l.Shards
	return prevHolder
}

// drop forgets the Lease called name.
func (g *group) drop(name string) {
	if _, ok := g.members[name]; ok {
		delete(g.members, name)
		return
	}
	g.stale = true
	for i := range g.shards {
		if g.shards[i].Name == name {
			g.shards[i] = watch.LeaseState{}
		}
	}
	for n := len(g.shards); n > 0 && g.shards[n-1].Name == ""; n-- {
		g.shards = g.shards[:n-1]
	}
}

// empty says no Lease of the group is left.
func (g *group) empty() bool { return len(g.shards) == 0 && len(g.members) == 0 }

// note records what an event of a shard says of its movement and its
// heartbeat: a new holder is a move, and it and a renewal are beats.
func (g *group) note(typ watch.EventType, at time.Time) {
	switch typ {
	case watch.EventTransition:
		g.moves = appendBounded(g.moves, at, maxMoves)
		g.beats = appendBounded(g.beats, at, maxGroupBeats)
	case watch.EventRenewed:
		g.beats = appendBounded(g.beats, at, maxGroupBeats)
	}
}

// appendBounded appends t, dropping the oldest beyond n.
func appendBounded(ts []time.Time, t time.Time, n int) []time.Time {
	if len(ts) == n {
		copy(ts, ts[1:])
		ts = ts[:n-1]
	}
	return append(ts, t)
}

// movesSince counts the moves within movesWindow before now.
func (g *group) movesSince(now time.Time) int {
	from := now.Add(-movesWindow)
	i, _ := slices.BinarySearchFunc(g.moves, from, func(a, b time.Time) int { return a.Compare(b) })
	return len(g.moves) - i
}

// summary recounts owners and unowned shards, and returns the state the
// group's row sorts and draws by: holder the owners ("pod-a 2 · pod-b 2"),
// expiry the soonest shard's, renewal the latest, transitions the sum.
func (g *group) summary() watch.LeaseState {
	if g.stale || g.label == "" {
		g.recount()
	}
	s := watch.LeaseState{Namespace: g.ns, Name: g.name, Group: g.name, Shards: g.m, Status: watch.StatusNone}
	for i := range g.shards {
		l := &g.shards[i]
		if l.Name == "" {
			continue
		}
		s.Transitions += l.Transitions
		s.LeaseDurationSeconds = max(s.LeaseDurationSeconds, l.LeaseDurationSeconds)
		if l.RenewTime.After(s.RenewTime) {
			s.RenewTime = l.RenewTime
		}
		if l.Holder == "" {
			continue
		}
		if !l.ExpiresAt.IsZero() && (s.ExpiresAt.IsZero() || l.ExpiresAt.Before(s.ExpiresAt)) {
			s.ExpiresAt = l.ExpiresAt
		}
		s.Flapping = s.Flapping || l.Flapping
		s.Orphan = s.Orphan || l.Orphan
	}
	s.Holder = g.holders
	if s.Holder != "" {
		s.Status = watch.StatusHeld
	}
	if len(g.beats) > 0 {
		s.Renewals = slices.Clone(g.beats) // the row's copy: beats is appended to in place
	}
	return s
}

// recount counts the shards each owner holds and those nobody holds.
func (g *group) recount() {
	g.stale = false
	counts := make(map[string]int)
	for i := range g.shards {
		if l := &g.shards[i]; l.Name != "" && l.Holder != "" {
			counts[l.Holder]++
		}
	}
	raw := make([]owner, 0, len(counts))
	for name, n := range counts {
		raw = append(raw, owner{name: name, count: n})
	}
	slices.SortFunc(raw, func(a, b owner) int { return cmp.Or(-cmp.Compare(a.count, b.count), strings.Compare(a.name, b.name)) })
	parts := make([]string, len(raw))
	g.owners = g.owners[:0]
	for i, o := range raw {
		parts[i] = o.name + " " + strconv.Itoa(o.count)
		g.owners = append(g.owners, owner{name: Inert(o.name), count: o.count})
	}
	g.short = shortOwners(g.short[:0], g.owners)
	g.holders = strings.Join(parts, " · ")
	g.label = Inert(g.name) + "  " + strconv.Itoa(int(g.m)) + " shards"
	g.unowned = 0
	for i := range int(g.m) {
		if i >= len(g.shards) || g.shards[i].Holder == "" {
			g.unowned++
		}
	}
}

// shortOwners is owners without the prefix all their names share up to a
// dash ("myapp-5c8d7f9b4-"), as "…2xkqp": replicas of one Deployment
// differ only in their tail, and a narrow cell has room for tails. nil
// when they share no such prefix.
func shortOwners(dst, owners []owner) []owner {
	if len(owners) < 2 {
		return nil
	}
	prefix := owners[0].name
	for _, o := range owners[1:] {
		n := 0
		for n < len(prefix) && n < len(o.name) && prefix[n] == o.name[n] {
			n++
		}
		prefix = prefix[:n]
	}
	prefix = prefix[:strings.LastIndexByte(prefix, '-')+1]
	if len(prefix) < 4 {
		return nil
	}
	for _, o := range owners {
		dst = append(dst, owner{name: "…" + o.name[len(prefix):], count: o.count})
	}
	return dst
}

// badge judges the group at now: its worst held shard's badge (expired,
// flapping, orphan), else unowned when some shards have no holder, no
// holder when none has.
func (g *group) badge(now time.Time) badge {
	worst, held := badgeHeld, 0
	for i := range g.shards {
		if l := &g.shards[i]; l.Name != "" && l.Holder != "" {
			held++
			worst = min(worst, badgeOf(l, now))
		}
	}
	switch {
	case held == 0:
		return badgeNoHolder
	case worst != badgeHeld:
		return worst
	case g.unowned > 0:
		return badgeUnowned
	}
	return badgeHeld
}

// setGroup sets r from its group, as set does from a Lease, and reports
// whether what the filter and the widths read changed.
func (r *row) setGroup(ctx, key string, g *group) (changed bool) {
	s := g.summary()
	isNew := r.key == ""
	changed = isNew || r.lease.Holder != s.Holder
	r.lease = s
	// The latest renewal: one the watch saw, or a shard's renewTime when
	// none was seen since the dashboard started.
	r.renewed = lastRenewal(&r.lease)
	if s.RenewTime.After(r.renewed) {
		r.renewed = s.RenewTime
	}
	if isNew {
		r.grp = g
		r.key, r.ctx = key, ctx
		r.ctxName = Inert(ctx)
		r.ctxW = cells(r.ctxName)
		r.ns = Inert(g.ns)
		r.nsW = cells(r.ns)
		r.node = g.ns == watch.NodeLeaseNamespace
	}
	if g.label != r.name {
		r.name, r.nameW = g.label, cells(g.label)
		changed = true
	}
	if changed {
		r.holder = Inert(s.Holder)
		r.holderW = cells(r.holder) + cells(g.marks(0))
		// The filter finds a group by its name or any owner.
		r.lowerKey = strings.ToLower(r.ns + "/" + Inert(g.name) + " " + r.holder)
		if r.ctx != "" {
			r.lowerKey = strings.ToLower(r.ctxName) + " " + r.lowerKey
		}
	}
	return changed
}

// marks is what follows the owners in the holder cell: "2 unowned" and
// "3 moves/5m" (moves counted at now; none when now is zero, for widths).
func (g *group) marks(moves int) string {
	var s string
	if g.unowned > 0 {
		s += "  " + strconv.Itoa(g.unowned) + " unowned"
	}
	if moves > 0 {
		s += "  " + strconv.Itoa(moves) + " moves/5m"
	}
	return s
}

// upsertGroup files a Lease of a shard group (event ev) under its group's
// row, which it creates with the first; it returns the row and the
// Lease's holder before.
func (t *tableView) upsertGroup(ctx string, ev *watch.Event, now time.Time) (r *row, prevHolder string) {
	s := t.store
	l := &ev.Lease
	lkey, gkey := rowKey(ctx, l), groupKey(ctx, l.Namespace, l.Group)
	switch old, ok := s.inGroup[lkey]; {
	case ok && old != gkey:
		t.leaveGroup(ctx, l, now) // relabelled into another group
	case !ok:
		s.remove(lkey) // it was an ordinary Lease's row, if any
	}
	s.inGroup[lkey] = gkey
	r, isNew := s.take(gkey)
	if isNew {
		r.grp = newGroup(l.Namespace, l.Group)
	}
	prevHolder = r.grp.put(l)
	if !l.Member {
		r.grp.note(ev.Type, ev.Time)
	}
	t.settleGroup(r, ctx, gkey, isNew, now)
	return r, prevHolder
}

// leaveGroup takes a Lease out of the group it was filed under (deleted,
// or no longer labelled as the group's) and drops the group's row with
// its last Lease. It reports whether the Lease was in a group.
func (t *tableView) leaveGroup(ctx string, l *watch.LeaseState, now time.Time) bool {
	s := t.store
	lkey := rowKey(ctx, l)
	gkey, ok := s.inGroup[lkey]
	if !ok {
		return false
	}
	delete(s.inGroup, lkey)
	r, isNew := s.take(gkey)
	r.grp.drop(l.Name)
	if r.grp.empty() {
		s.tally[b2i(r.node)][r.counted]++ // remove takes it out again
		s.remove(gkey)
		return true
	}
	t.settleGroup(r, ctx, gkey, isNew, now)
	return true
}

// settleGroup sets a group's row from its group again and marks what it
// may have moved, as upsert does for a Lease.
func (t *tableView) settleGroup(r *row, ctx, gkey string, isNew bool, now time.Time) {
	changed := r.setGroup(ctx, gkey, r.grp)
	t.store.settle(r, isNew, changed, now)
	switch {
	case changed && t.filter != "":
		t.store.dirty = true
	case t.sortBy != sortName:
		t.store.markMoved(r)
	}
}
