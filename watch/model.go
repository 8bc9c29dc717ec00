package watch

import (
	"cmp"
	"slices"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"

	"github.com/leader-elector/leader-elector/internal/leaseann"
	"github.com/leader-elector/leader-elector/internal/shardgroup"
)

// maxRenewals bounds LeaseState.Renewals (the dashboard's heartbeat).
const maxRenewals = 16

// Model is the pure per-Lease state machine: it is fed Lease objects and the
// time on our clock, and returns the events they mean. It does no I/O and
// holds no locks; the Watcher serialises calls. Times passed in are ours
// (observed), times read from Leases are the cluster's.
type Model struct {
	// Skew is the cluster's clock minus ours, estimated from the API
	// server's Date header. It is used only for Leases we have not yet seen
	// change (at start), to tell one already stale by the cluster's clock.
	Skew time.Duration
	// FlapThreshold and FlapWindow: more than FlapThreshold transitions
	// within FlapWindow (our clock) make a Lease flapping. 0 disables.
	FlapThreshold int
	FlapWindow    time.Duration

	leases map[leaseKey]*entry
	timers deadlineHeap

	pods       func(namespace, name string) bool // nil until the Pod cache synced
	byHolder   map[string]map[*entry]struct{}    // "ns/holder" -> judged leases held by it
	candidates map[leaseKey][]Candidate          // a Lease's candidates
}

// leaseKey identifies a Lease without building a "ns/name" string per update.
type leaseKey struct{ namespace, name string }

// entry is one Lease's state plus what the state machine remembers about
// its past.
type entry struct {
	st LeaseState
	// releasedAt is the cluster time the Lease was last released (zero if
	// never seen released); prevHolder who held it before.
	releasedAt time.Time
	prevHolder string
	// transitions are our times of the recent transitions, for flapping.
	transitions []time.Time
	flapUntil   time.Time
	// judged: registered in byHolder under judgedKey ("" when the holder
	// cannot be judged). holderJudged: judgedKey was decided for
	// judgedHolder, so a renewal need not decide again (a DNS-name check).
	judgedKey    string
	judgedHolder string
	holderJudged bool

	// beats is the renewal history (our clock, Unix nanoseconds), a ring
	// of nbeats entries ending before head. It is 128 bytes per Lease where
	// a []time.Time would be several hundred; events get a fresh slice.
	beats  [maxRenewals]int64
	head   uint8
	nbeats uint8

	deleted  bool
	deadline time.Time // zero: no timer
	heapIdx  int       // -1 when not in the heap
}

// NewModel returns an empty model.
func NewModel(skew time.Duration, flapThreshold int, flapWindow time.Duration) *Model {
	return &Model{
		Skew:          skew,
		FlapThreshold: flapThreshold,
		FlapWindow:    flapWindow,
		leases:        make(map[leaseKey]*entry),
		byHolder:      make(map[string]map[*entry]struct{}),
		candidates:    make(map[leaseKey][]Candidate),
	}
}

// Len is the number of Leases known.
func (m *Model) Len() int { return len(m.leases) }

// Get returns a copy of one Lease's state.
func (m *Model) Get(namespace, name string) (LeaseState, bool) {
	e, ok := m.leases[leaseKey{namespace, name}]
	if !ok {
		return LeaseState{}, false
	}
	return e.state(), true
}

// Apply feeds the current version of a Lease observed at now and appends
// the events it means to dst.
func (m *Model) Apply(dst []Event, l *coordinationv1.Lease, now time.Time) []Event {
	key := leaseKey{l.Namespace, l.Name}
	e, ok := m.leases[key]
	if !ok {
		e = &entry{heapIdx: -1}
		m.leases[key] = e
		m.fill(e, l)
		m.judgeNew(e, now)
		m.rejudgeOrphan(e) // the added event carries the verdict; no orphan event
		m.reschedule(e)
		return append(dst, Event{Type: EventAdded, Time: now, Lease: e.state()})
	}
	prev := e.st
	m.fill(e, l)
	st := &e.st
	var ev Event
	switch {
	case st.Holder != prev.Holder && st.Holder == "":
		// Released: client-go writes the release time as renewTime.
		e.releasedAt = firstNonZero(st.RenewTime, st.AcquireTime)
		e.prevHolder = prev.Holder
		st.Status, st.Observed, st.ExpiresAt = StatusReleased, now, time.Time{}
		ev = Event{Type: EventReleased, From: prev.Holder}
	case st.Holder != prev.Holder:
		ev = Event{Type: EventTransition, From: prev.Holder, To: st.Holder}
		acquired := firstNonZero(st.AcquireTime, st.RenewTime)
		switch {
		case prev.Holder != "" && !prev.RenewTime.IsZero():
			ev.GapFrom, ev.Gap = GapFromRenewal, nonNegative(acquired.Sub(prev.RenewTime))
		case prev.Holder == "" && !e.releasedAt.IsZero():
			ev.From = e.prevHolder
			ev.GapFrom, ev.Gap = GapFromRelease, nonNegative(acquired.Sub(e.releasedAt))
		}
		e.prevHolder = prev.Holder
		st.Observed = now
		e.nbeats = 0
		e.beat(now)
		st.RenewInterval = 0
		m.markHeld(e, now)
		m.noteTransition(e, now)
	case st.Holder != "" && !st.RenewTime.Equal(prev.RenewTime):
		if !prev.RenewTime.IsZero() && st.RenewTime.After(prev.RenewTime) {
			// The cluster's clock between the two renewals: immune to
			// our delivery jitter.
			st.RenewInterval = st.RenewTime.Sub(prev.RenewTime)
		}
		st.Observed = now
		e.beat(now)
		m.markHeld(e, now)
		ev = Event{Type: EventRenewed}
	default:
		if st.Holder != "" && st.Status == StatusHeld && st.LeaseDurationSeconds != prev.LeaseDurationSeconds {
			st.ExpiresAt = expiry(st.Observed, st.LeaseDurationSeconds)
		}
		if trackedFieldsEqual(&prev, st) {
			m.reschedule(e)
			return dst
		}
		ev = Event{Type: EventUpdated}
	}
	// The flags change with the event; the event carries them, and a flip
	// gets its own event too so a consumer of flags alone needs no diffing.
	orphanFlip := m.rejudgeOrphan(e)
	flapping := m.isFlapping(e, now)
	flapFlip := flapping != st.Flapping
	st.Flapping = flapping
	m.reschedule(e)

	ev.Time, ev.Lease = now, e.state()
	dst = append(dst, ev)
	if orphanFlip {
		dst = append(dst, Event{Type: EventOrphan, Time: now, Lease: ev.Lease})
	}
	if flapFlip {
		dst = append(dst, Event{Type: EventFlapping, Time: now, Lease: ev.Lease})
	}
	return dst
}

// Replace applies a full list of the Leases, in namespace/name order
// (the API server's order differs between a list and a streamed list):
// each as by Apply (a Lease that did not change emits nothing), then a
// deleted event for every Lease known but absent from the list. It may
// reorder leases.
func (m *Model) Replace(dst []Event, leases []*coordinationv1.Lease, now time.Time) []Event {
	slices.SortFunc(leases, func(a, b *coordinationv1.Lease) int {
		return cmp.Or(cmp.Compare(a.Namespace, b.Namespace), cmp.Compare(a.Name, b.Name))
	})
	present := make(map[leaseKey]struct{}, len(leases))
	for _, l := range leases {
		present[leaseKey{l.Namespace, l.Name}] = struct{}{}
		dst = m.Apply(dst, l, now)
	}
	if len(present) == len(m.leases) {
		return dst
	}
	var gone []leaseKey
	for k := range m.leases {
		if _, ok := present[k]; !ok {
			gone = append(gone, k)
		}
	}
	slices.SortFunc(gone, func(a, b leaseKey) int {
		return cmp.Or(cmp.Compare(a.namespace, b.namespace), cmp.Compare(a.name, b.name))
	})
	for _, k := range gone {
		dst = m.Delete(dst, k.namespace, k.name, now)
	}
	return dst
}

// Delete forgets a Lease and appends its deleted event.
func (m *Model) Delete(dst []Event, namespace, name string, now time.Time) []Event {
	key := leaseKey{namespace, name}
	e, ok := m.leases[key]
	if !ok {
		return dst
	}
	delete(m.leases, key)
	e.deleted = true
	m.unjudge(e)
	e.deadline = time.Time{}
	m.reschedule(e)
	return append(dst, Event{Type: EventDeleted, Time: now, Lease: e.state()})
}

// fill copies the Lease's fields into e.st, keeping what we observed.
func (m *Model) fill(e *entry, l *coordinationv1.Lease) {
	st := &e.st
	st.Namespace, st.Name = l.Namespace, l.Name
	st.ResourceVersion = l.ResourceVersion
	labelsSame := sameLabels(st.Labels, l.Labels)
	if !labelsSame {
		st.Labels = l.Labels // replaced, never mutated: copies handed out stay valid
	}
	// The group is read again only when what it is read from may have
	// changed: a renewal of a group's Lease costs one map lookup.
	if !labelsSame || l.Annotations[shardgroup.GroupAnnotation] != st.Group {
		st.setGroup(shardgroup.Parse(l.Labels, l.Annotations))
	}
	s := &l.Spec
	st.Holder = deref(s.HolderIdentity)
	st.AcquireTime, st.RenewTime = time.Time{}, time.Time{}
	if s.AcquireTime != nil {
		st.AcquireTime = s.AcquireTime.UTC()
	}
	if s.RenewTime != nil {
		st.RenewTime = s.RenewTime.UTC()
	}
	st.LeaseDurationSeconds = derefInt(s.LeaseDurationSeconds)
	st.Transitions = derefInt(s.LeaseTransitions)
	st.PreferredHolder = deref(s.PreferredHolder)
	st.HandoverTo, st.Priority = "", 0
	if req, ok := leaseann.Request(l.Annotations); ok {
		st.HandoverTo = cmp.Or(req.To, "*")
	}
	st.Priority = leaseann.Priority(l.Annotations)
	st.Strategy = ""
	if s.Strategy != nil {
		st.Strategy = string(*s.Strategy)
	}
	if len(m.candidates) > 0 {
		st.Candidates = m.candidates[leaseKey{st.Namespace, st.Name}]
	}
}

// judgeNew sets the status of a Lease seen for the first time. We have
// observed no change yet, so a held Lease's expiry is judged from its
// renewTime translated to our clock with the skew estimate: one already
// stale by the cluster's clock is expired now, not held for a duration.
func (m *Model) judgeNew(e *entry, now time.Time) {
	st := &e.st
	st.Observed = now
	if st.Holder == "" {
		st.Status = StatusNone
		if t := firstNonZero(st.RenewTime, st.AcquireTime); !t.IsZero() {
			st.Status = StatusReleased
			e.releasedAt = t
		}
		return
	}
	st.Status = StatusHeld
	if st.LeaseDurationSeconds <= 0 {
		return // no duration: nothing to judge expiry by
	}
	st.ExpiresAt = expiry(now, st.LeaseDurationSeconds)
	if !st.RenewTime.IsZero() {
		if byCluster := expiry(st.RenewTime.Add(-m.Skew), st.LeaseDurationSeconds); byCluster.Before(st.ExpiresAt) {
			st.ExpiresAt = byCluster
		}
	}
	if !st.ExpiresAt.After(now) {
		st.Status = StatusExpired
	}
}

// markHeld sets a held status with a fresh expiry from now.
func (m *Model) markHeld(e *entry, now time.Time) {
	e.st.Status = StatusHeld
	e.st.ExpiresAt = time.Time{}
	if e.st.LeaseDurationSeconds > 0 {
		e.st.ExpiresAt = expiry(now, e.st.LeaseDurationSeconds)
	}
}

// Expire appends the events due at now: Leases whose duration passed with
// no renewal, and flapping flags whose window passed.
func (m *Model) Expire(dst []Event, now time.Time) []Event {
	for len(m.timers) > 0 && !m.timers[0].deadline.After(now) {
		e := m.timers[0]
		st := &e.st
		if st.Status == StatusHeld && !st.ExpiresAt.IsZero() && !st.ExpiresAt.After(now) {
			st.Status = StatusExpired
			dst = append(dst, Event{Type: EventExpired, Time: now, Lease: e.state()})
		}
		if st.Flapping && !m.isFlapping(e, now) {
			st.Flapping = false
			dst = append(dst, Event{Type: EventFlapping, Time: now, Lease: e.state()})
		}
		m.reschedule(e)
	}
	return dst
}

// NextDeadline is when Expire next has something to do.
func (m *Model) NextDeadline() (time.Time, bool) {
	if len(m.timers) == 0 {
		return time.Time{}, false
	}
	return m.timers[0].deadline, true
}

// reschedule puts e in the heap at its next deadline: its expiry while
// held, and the end of its flapping window while flapping.
func (m *Model) reschedule(e *entry) {
	var d time.Time
	if !e.deleted {
		if e.st.Status == StatusHeld {
			d = e.st.ExpiresAt
		}
		if e.st.Flapping && (d.IsZero() || e.flapUntil.Before(d)) {
			d = e.flapUntil
		}
	}
	e.deadline = d
	m.timers.set(e)
}

// noteTransition records a holder change for flapping.
func (m *Model) noteTransition(e *entry, now time.Time) {
	if m.FlapThreshold <= 0 {
		return
	}
	e.transitions = append(e.transitions, now)
	if len(e.transitions) > m.FlapThreshold+1 {
		e.transitions = append(e.transitions[:0], e.transitions[len(e.transitions)-m.FlapThreshold-1:]...)
	}
}

// isFlapping: more than FlapThreshold transitions within FlapWindow before
// now. It also sets when that stops being true.
func (m *Model) isFlapping(e *entry, now time.Time) bool {
	n := len(e.transitions)
	if m.FlapThreshold <= 0 || n <= m.FlapThreshold {
		return false
	}
	oldest := e.transitions[n-m.FlapThreshold-1]
	e.flapUntil = oldest.Add(m.FlapWindow)
	return now.Before(e.flapUntil)
}

// trackedFieldsEqual compares what an updated event reports.
func trackedFieldsEqual(a, b *LeaseState) bool {
	return a.LeaseDurationSeconds == b.LeaseDurationSeconds && a.Transitions == b.Transitions &&
		a.PreferredHolder == b.PreferredHolder && a.Strategy == b.Strategy &&
		a.HandoverTo == b.HandoverTo && a.Priority == b.Priority &&
		a.AcquireTime.Equal(b.AcquireTime) && sameLabels(a.Labels, b.Labels) &&
		a.Group == b.Group && a.Member == b.Member && a.Shard == b.Shard && a.Shards == b.Shards
}

// setGroup records what shardgroup.Parse read of the Lease's group.
func (s *LeaseState) setGroup(of shardgroup.Of) {
	s.Group, s.Member = of.Group, of.Member
	s.Shard, s.Shards = int32(of.Shard), int32(of.Shards) // bounded by shardgroup.MaxShards
}

// beat records a renewal observed at t.
func (e *entry) beat(t time.Time) {
	e.beats[e.head] = t.UnixNano()
	e.head = (e.head + 1) % maxRenewals
	e.nbeats = min(e.nbeats+1, maxRenewals)
}

// state is a copy of the Lease's state for an event, with its own
// Renewals slice (oldest first).
func (e *entry) state() LeaseState {
	st := e.st
	if e.nbeats > 0 {
		st.Renewals = make([]time.Time, e.nbeats)
		start := (int(e.head) - int(e.nbeats) + maxRenewals) % maxRenewals
		for i := range st.Renewals {
			st.Renewals[i] = time.Unix(0, e.beats[(start+i)%maxRenewals]).UTC()
		}
	}
	return st
}

func expiry(from time.Time, seconds int32) time.Time {
	return from.Add(time.Duration(seconds) * time.Second)
}

func firstNonZero(ts ...time.Time) time.Time {
	for _, t := range ts {
		if !t.IsZero() {
			return t
		}
	}
	return time.Time{}
}

func nonNegative(d time.Duration) time.Duration { return max(d, 0) }

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func derefInt(i *int32) int32 {
	if i == nil {
		return 0
	}
	return *i
}

func sameLabels(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}
