package tui

import (
	"cmp"
	"slices"
	"strings"
	"time"
)

// sortKey is the table order; `s` cycles through them.
type sortKey int

const (
	sortName        sortKey = iota // namespace/name
	sortStatus                     // problems first: expired, flapping, orphan...
	sortExpiry                     // soonest to expire first
	sortRenewed                    // most recently renewed first
	sortTransitions                // most transitions first
	sortHolder                     // holder identity
	sortKeys                       // how many there are
)

func (k sortKey) String() string {
	return [...]string{"name", "status", "expiry", "renewed", "transitions", "holder"}[k]
}

// refresh brings the visible rows up to date, once per batch of events,
// per tick or per key, never once per event: a rebuild when membership may
// have changed, a full sort when the order did, and otherwise a merge of
// the few rows that moved (O(n + k log k) for k moved rows, where a full
// sort of 5,000 rows would cost a millisecond per batch).
func (t *tableView) refresh() {
	s := t.store
	if t.fresh() {
		return
	}
	selected := t.selected()
	if s.dirty {
		s.visible = s.visible[:0]
		s.widest = widestStrings{}
		needle := strings.ToLower(t.filter)
		hideNodes := t.hideNodeLeases()
		for _, r := range s.all {
			if hideNodes && r.node {
				continue
			}
			if needle != "" && !strings.Contains(r.lowerKey, needle) {
				continue
			}
			s.visible = append(s.visible, r)
			s.widest.grow(r)
		}
	}
	less := t.rowOrder()
	if s.dirty || s.resort || len(s.moved) > len(s.visible)/4 {
		slices.SortFunc(s.visible, less)
	} else {
		s.mergeMoved(less)
	}
	for _, r := range s.moved {
		r.moved = false
	}
	s.moved = s.moved[:0]
	s.dirty, s.resort = false, false
	t.reselect(selected)
}

// fresh says whether the visible rows are up to date.
func (t *tableView) fresh() bool {
	s := t.store
	return !s.dirty && !s.resort && len(s.moved) == 0
}

// rowOrder is the comparison of the current sort, ties broken by key.
func (t *tableView) rowOrder() func(a, b *row) int {
	by := t.sortBy
	return func(a, b *row) int {
		if c := compareRows(by, a, b); c != 0 {
			return c
		}
		return strings.Compare(a.key, b.key)
	}
}

// mergeMoved puts the moved rows back in order: the others are still
// sorted, so it takes them out, sorts them and merges the two runs.
func (s *store) mergeMoved(less func(a, b *row) int) {
	changed := s.scratch[:0]
	rest := s.visible[:0] // filtered in place: writes trail reads
	for _, r := range s.visible {
		if r.moved {
			changed = append(changed, r)
		} else {
			rest = append(rest, r)
		}
	}
	slices.SortFunc(changed, less)
	out := s.spare[:0]
	i, j := 0, 0
	for i < len(rest) && j < len(changed) {
		if less(changed[j], rest[i]) < 0 {
			out = append(out, changed[j])
			j++
		} else {
			out = append(out, rest[i])
			i++
		}
	}
	out = append(append(out, rest[i:]...), changed[j:]...)
	s.spare = s.visible[:0] // the old backing array is the next spare
	s.visible = out
	s.scratch = changed[:0]
}

// compareRows orders two rows by the sort key alone. Status uses the badge
// the row was last judged with (per event, and per tick for all rows), so
// rows not marked as moved are still in order.
func compareRows(by sortKey, a, b *row) int {
	switch by {
	case sortStatus:
		return cmp.Compare(a.counted.rank(), b.counted.rank())
	case sortExpiry:
		return compareTimes(a.lease.ExpiresAt, b.lease.ExpiresAt)
	case sortRenewed:
		return -compareTimes(a.renewed, b.renewed)
	case sortTransitions:
		return -cmp.Compare(a.lease.Transitions, b.lease.Transitions)
	case sortHolder:
		return strings.Compare(a.lease.Holder, b.lease.Holder)
	}
	return 0
}

// compareTimes orders times with the zero time last.
func compareTimes(a, b time.Time) int {
	switch {
	case a.IsZero() && b.IsZero():
		return 0
	case a.IsZero():
		return 1
	case b.IsZero():
		return -1
	}
	return a.Compare(b)
}
