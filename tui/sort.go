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

// movesOnRenewal reports whether a renewal can change a row's place, so a
// renewal only costs a re-sort when the order depends on it.
func (k sortKey) movesOnRenewal() bool {
	return k == sortExpiry || k == sortRenewed || k == sortStatus
}

// refresh rebuilds the visible rows if membership may have changed, or
// re-sorts them if only their order may have. It runs once per batch of
// events, per tick or per key, never once per event.
func (m *Model) refresh() {
	s := m.store
	if !s.dirty && !s.unsorted {
		return
	}
	selected := m.selectedKey()
	if s.dirty {
		s.visible = s.visible[:0]
		s.widest = widestStrings{}
		needle := strings.ToLower(m.filterText)
		hideNodes := m.hideNodeLeases()
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
	s.dirty, s.unsorted = false, false
	now := m.now
	by := m.sortBy
	slices.SortFunc(s.visible, func(a, b *row) int {
		if c := compareRows(by, a, b, now); c != 0 {
			return c
		}
		return strings.Compare(a.key, b.key)
	})
	m.reselect(selected)
}

// compareRows orders two rows by the sort key alone.
func compareRows(by sortKey, a, b *row, now time.Time) int {
	switch by {
	case sortStatus:
		return cmp.Compare(badgeOf(&a.lease, now).rank(), badgeOf(&b.lease, now).rank())
	case sortExpiry:
		return compareTimes(a.lease.ExpiresAt, b.lease.ExpiresAt)
	case sortRenewed:
		return -compareTimes(a.lease.RenewTime, b.lease.RenewTime)
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
