package tui

import (
	"strings"
	"time"

	"github.com/charmbracelet/x/ansi"

	"github.com/leader-elector/leader-elector/watch"
)

// nodeLeaseNamespace holds one Lease per node: thousands on a big cluster,
// hidden under -A unless asked for.
const nodeLeaseNamespace = "kube-node-lease"

// historyPerLease bounds the transitions kept for one Lease's detail view.
const historyPerLease = 20

// row is one Lease as the dashboard keeps it: the latest state from watch
// plus the inert strings rendered from it, computed once per change rather
// than once per frame.
type row struct {
	key   string
	lease watch.LeaseState
	node  bool // in kube-node-lease

	ns, name, holder string // Inert forms
	lowerKey         string // lower-cased "ns/name holder" for the filter

	history []transition // this Lease's transitions, oldest first, bounded
}

// set copies s into r, refreshing the inert strings only when they changed.
// It reports whether the holder changed (which may move the row under a
// filter or a holder sort).
func (r *row) set(s *watch.LeaseState) (holderChanged bool) {
	holderChanged = r.lease.Holder != s.Holder || r.key == ""
	nameChanged := r.key == ""
	r.lease = *s
	if nameChanged {
		r.key = s.Key()
		r.ns, r.name = Inert(s.Namespace), Inert(s.Name)
		r.node = s.Namespace == nodeLeaseNamespace
	}
	if holderChanged {
		r.holder = Inert(s.Holder)
	}
	if holderChanged || nameChanged {
		r.lowerKey = strings.ToLower(r.ns + "/" + r.name + " " + r.holder)
	}
	return holderChanged
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

// store is the set of Leases: a map for O(1) updates by key, and the
// visible slice (filtered and sorted) rebuilt only when marked dirty.
type store struct {
	rows    map[string]*row
	visible []*row
	// dirty: membership or order of visible may be stale.
	dirty bool
	// counts by badge over every row, node Leases included (kept as they
	// change so the status line costs nothing per frame).
	nodeRows int
	// widest inert strings among visible rows, so columns are no wider
	// than their content; grown per update, recomputed on rebuild.
	widest widestStrings
}

// widestStrings are cell widths of the longest namespace, name and holder.
type widestStrings struct{ ns, name, holder int }

// grow widens w to fit r.
func (w *widestStrings) grow(r *row) {
	w.ns = max(w.ns, ansi.StringWidth(r.ns))
	w.name = max(w.name, ansi.StringWidth(r.name))
	w.holder = max(w.holder, ansi.StringWidth(r.holder))
}

func newStore() *store {
	return &store{rows: make(map[string]*row)}
}

// upsert applies a state; it returns the row and whether it is new and
// whether its holder changed.
func (s *store) upsert(l *watch.LeaseState) (r *row, isNew, holderChanged bool) {
	key := l.Key()
	r, ok := s.rows[key]
	if !ok {
		r = &row{}
		s.rows[key] = r
		s.dirty = true
	}
	holderChanged = r.set(l)
	if !ok || holderChanged {
		s.widest.grow(r)
	}
	if !ok && r.node {
		s.nodeRows++
	}
	return r, !ok, holderChanged
}

// remove forgets a Lease.
func (s *store) remove(key string) {
	r, ok := s.rows[key]
	if !ok {
		return
	}
	if r.node {
		s.nodeRows--
	}
	delete(s.rows, key)
	s.dirty = true
}

// addHistory appends t to the Lease's own bounded history.
func (r *row) addHistory(t transition) {
	if len(r.history) == historyPerLease {
		copy(r.history, r.history[1:])
		r.history = r.history[:historyPerLease-1]
	}
	r.history = append(r.history, t)
}
