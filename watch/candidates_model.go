package watch

import (
	"cmp"
	"slices"
	"time"
)

// SetCandidate records (or replaces, by name) a LeaseCandidate naming
// namespace/leaseName and appends a candidates event when that Lease is
// known. Candidates of Leases not seen yet are kept for when they appear.
func (m *Model) SetCandidate(dst []Event, namespace, leaseName string, c Candidate, now time.Time) []Event {
	key := leaseKey{namespace, leaseName}
	old := m.candidates[key]
	i := slices.IndexFunc(old, func(o Candidate) bool { return o.Name == c.Name })
	// Copy on write: states handed out in events share the old slice.
	next := slices.Clone(old)
	if i >= 0 {
		next[i] = c
	} else {
		next = append(next, c)
		slices.SortFunc(next, func(a, b Candidate) int { return cmp.Compare(a.Name, b.Name) })
	}
	m.candidates[key] = next
	return m.candidatesChanged(dst, key, now)
}

// DeleteCandidate forgets a LeaseCandidate.
func (m *Model) DeleteCandidate(dst []Event, namespace, leaseName, name string, now time.Time) []Event {
	key := leaseKey{namespace, leaseName}
	old := m.candidates[key]
	i := slices.IndexFunc(old, func(o Candidate) bool { return o.Name == name })
	if i < 0 {
		return dst
	}
	next := slices.Delete(slices.Clone(old), i, i+1)
	if len(next) == 0 {
		delete(m.candidates, key)
		next = nil
	} else {
		m.candidates[key] = next
	}
	return m.candidatesChanged(dst, key, now)
}

func (m *Model) candidatesChanged(dst []Event, key leaseKey, now time.Time) []Event {
	e, ok := m.leases[key]
	if !ok {
		return dst
	}
	e.st.Candidates = m.candidates[key]
	return append(dst, Event{Type: EventCandidates, Time: now, Lease: e.state()})
}
