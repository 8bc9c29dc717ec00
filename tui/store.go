package tui

import (
	"strings"
	"time"

	"github.com/leader-elector/leader-elector/watch"
)

// historyPerLease bounds the transitions kept for one Lease's detail view.
const historyPerLease = 20

// row is one Lease as the dashboard keeps it: the latest state from watch
// plus the inert strings rendered from it and their widths, computed once
// per change rather than once per frame.
type row struct {
	key   string
	ctx   string // its context with several, else ""
	lease watch.LeaseState
	node  bool // in kube-node-lease
	idx   int  // position in store.all

	ns, name, holder    string // Inert forms
	nsW, nameW, holderW int    // their widths in cells
	ctxName             string // Inert context
	ctxW                int
	lowerKey            string // lower-cased "ns/name holder" for the filter

	renewed time.Time // lastRenewal of lease, kept for the sort's hot loop
	counted badge     // the badge this row adds to store.tally
	moved   bool      // listed in store.moved

	history []transition // this Lease's transitions, oldest first, bounded

	// grp is set on the one row a shard group is folded into (group.go):
	// lease is then the group's summary, not a Lease.
	grp *group
}

// badge judges the row at now: a Lease by its state, a group by its shards.
func (r *row) badge(now time.Time) badge {
	if r.grp != nil {
		return r.grp.badge(now)
	}
	return badgeOf(&r.lease, now)
}

// set copies s into r, refreshing the inert strings only when they changed.
// It reports whether the holder changed (which may move the row under a
// filter or a holder sort).
func (r *row) set(ctx string, s *watch.LeaseState) (holderChanged bool) {
	isNew := r.key == ""
	holderChanged = r.lease.Holder != s.Holder || isNew
	r.lease = *s
	r.renewed = lastRenewal(&r.lease)
	if isNew {
		r.key, r.ctx = rowKey(ctx, s), ctx
		r.ctxName = Inert(ctx)
		r.ctxW = cells(r.ctxName)
		r.ns, r.name = Inert(s.Namespace), Inert(s.Name)
		r.nsW, r.nameW = cells(r.ns), cells(r.name)
		r.node = s.Namespace == watch.NodeLeaseNamespace
	}
	if holderChanged {
		r.holder = Inert(s.Holder)
		r.holderW = cells(r.holder)
		r.lowerKey = strings.ToLower(r.ns + "/" + r.name + " " + r.holder)
		if r.ctx != "" {
			r.lowerKey = strings.ToLower(r.ctxName) + " " + r.lowerKey
		}
	}
	return holderChanged
}

// rowKey identifies a Lease across contexts: "ns/name" with one context,
// the context and "ns/name" apart by a NUL (in no name) with several.
func rowKey(ctx string, s *watch.LeaseState) string {
	if ctx == "" {
		return s.Key()
	}
	return ctx + "\x00" + s.Key()
}

// transition is one change of holder, for the transitions pane.
type transition struct {
	at       time.Time // our clock
	key      string    // Inert "ns/name"
	from, to string    // Inert holders, "" for none
	gap      time.Duration
	hasGap   bool // the watch knew where the gap starts (it may be 0)
	released bool // the holder let go; to is empty
}

// store is the set of Leases: a map for O(1) updates by key, a slice of
// all rows for fast scans, and the visible slice (filtered and sorted),
// rebuilt only when marked dirty and re-ordered only where rows moved.
type store struct {
	rows    map[string]*row
	all     []*row
	visible []*row
	// dirty: membership of visible may be stale (rebuild and sort).
	dirty bool
	// resort: the order changed for every row (a new sort key).
	resort bool
	// moved: rows whose sort key changed since the last refresh.
	moved          []*row
	scratch, spare []*row // buffers reused by mergeMoved
	// tally counts rows by badge, node Leases apart, kept per update and
	// recounted per tick (when time alone turns held into expired); the
	// status line reads it instead of scanning every row per frame.
	tally    [2][badgeHeld + 1]int
	nodeRows int
	// widest inert strings among visible rows, so columns are no wider
	// than their content; grown per update, recomputed on rebuild.
	widest widestStrings
	// inGroup files each shard group's Lease (by its row key) under its
	// group's row key, so that a deletion, or a Lease leaving its group,
	// finds the group. Empty when no groups are watched.
	inGroup map[string]string
}

func newStore() *store {
	return &store{rows: make(map[string]*row), inGroup: make(map[string]string)}
}

// widestStrings are cell widths of the longest context, namespace, name
// and holder.
type widestStrings struct{ ctx, ns, name, holder int }

// grow widens w to fit r.
func (w *widestStrings) grow(r *row) {
	w.ctx = max(w.ctx, r.ctxW)
	w.ns = max(w.ns, r.nsW)
	w.name = max(w.name, r.nameW)
	w.holder = max(w.holder, r.holderW)
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// upsert applies a state judged at now; it returns the row, whether it is
// new and whether its holder changed. O(1).
func (s *store) upsert(ctx string, l *watch.LeaseState, now time.Time) (r *row, isNew, holderChanged bool) {
	r, isNew = s.take(rowKey(ctx, l))
	holderChanged = r.set(ctx, l)
	s.settle(r, isNew, holderChanged, now)
	return r, isNew, holderChanged
}

// take finds the row of key, or adds an empty one, and takes it out of
// the tally until settle counts it again.
func (s *store) take(key string) (r *row, isNew bool) {
	r, ok := s.rows[key]
	if !ok {
		r = &row{idx: len(s.all)}
		s.rows[key] = r
		s.all = append(s.all, r)
		s.dirty = true
		return r, true
	}
	s.tally[b2i(r.node)][r.counted]--
	return r, false
}

// settle counts a row taken and set again: its badge and its widths.
func (s *store) settle(r *row, isNew, holderChanged bool, now time.Time) {
	if isNew && r.node {
		s.nodeRows++
	}
	r.counted = r.badge(now)
	s.tally[b2i(r.node)][r.counted]++
	if isNew || holderChanged {
		s.widest.grow(r)
	}
}

// remove forgets a Lease. O(1): the last row takes its place in all.
func (s *store) remove(key string) {
	r, ok := s.rows[key]
	if !ok {
		return
	}
	if r.node {
		s.nodeRows--
	}
	s.tally[b2i(r.node)][r.counted]--
	last := s.all[len(s.all)-1]
	s.all[r.idx], last.idx = last, r.idx
	s.all = s.all[:len(s.all)-1]
	delete(s.rows, key)
	s.dirty = true
}

// markMoved notes that r's place in the order may have changed.
func (s *store) markMoved(r *row) {
	if !r.moved {
		r.moved = true
		s.moved = append(s.moved, r)
	}
}

// recount judges every row's badge again at now; under the status order,
// rows whose badge changed are marked as moved.
func (s *store) recount(now time.Time, byStatus bool) {
	s.tally = [2][badgeHeld + 1]int{}
	for _, r := range s.all {
		var b badge
		if r.grp == nil { // the common case without the call r.badge adds
			b = badgeOf(&r.lease, now)
		} else {
			b = r.grp.badge(now)
		}
		if b != r.counted && byStatus {
			s.markMoved(r)
		}
		r.counted = b
		s.tally[b2i(r.node)][b]++
	}
}

// addHistory appends t to the Lease's own bounded history.
func (r *row) addHistory(t transition) {
	if len(r.history) == historyPerLease {
		copy(r.history, r.history[1:])
		r.history = r.history[:historyPerLease-1]
	}
	r.history = append(r.history, t)
}
