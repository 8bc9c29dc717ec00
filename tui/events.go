package tui

import (
	"cmp"

	"github.com/leader-elector/leader-elector/watch"
)

// apply folds one event into the model in O(1): the link's state, a map
// update, plus an append to the transitions when the holder changed. Re-sorting, if the
// event can move the row, waits for refresh at the end of the batch.
func (m *model) apply(ev *watch.Event) {
	if ev.Time.After(m.now) {
		m.now = ev.Time // never show an event as happening in the future
	}
	m.links.observe(ev)
	ctx := m.rowContext(ev)
	switch ev.Type {
	case watch.EventSynced, watch.EventError:
		return
	case watch.EventDeleted:
		if !m.table.leaveGroup(ctx, &ev.Lease, m.now) {
			m.table.remove(rowKey(ctx, &ev.Lease))
		}
		return
	}
	if ev.Lease.Name == "" {
		return // not about a Lease
	}
	if ev.Lease.InGroup() {
		m.applyGroup(ctx, ev)
		return
	}
	if len(m.table.store.inGroup) > 0 {
		m.table.leaveGroup(ctx, &ev.Lease, m.now) // no longer labelled as a group's
	}
	r, prevHolder := m.table.upsert(ctx, &ev.Lease, m.now)
	switch ev.Type {
	case watch.EventTransition:
		m.addTransition(r, transition{at: ev.Time, key: m.trans.keyOf(r), from: Inert(ev.From), to: Inert(ev.To), gap: ev.Gap, hasGap: ev.GapFrom != ""})
	case watch.EventReleased:
		from := ev.From
		if from == "" {
			from = prevHolder
		}
		m.addTransition(r, transition{at: ev.Time, key: m.trans.keyOf(r), from: Inert(from), released: true})
	}
}

// addTransition records t in the pane and in the Lease's own history.
func (m *model) addTransition(r *row, t transition) {
	m.trans = m.trans.add(t)
	r.addHistory(t)
}

// applyGroup folds an event of a shard group's Lease into the group's row;
// a shard's change of holder goes to the transitions under the shard
// Lease's own name, which is what `handover` takes.
func (m *model) applyGroup(ctx string, ev *watch.Event) {
	m.keys.groups = true // the help explains a group's row from now on
	r, prevHolder := m.table.upsertGroup(ctx, ev, m.now)
	if ev.Lease.Member {
		return
	}
	key := m.trans.keyOfIn(r, Inert(ev.Lease.Name))
	switch ev.Type {
	case watch.EventTransition:
		m.addTransition(r, transition{at: ev.Time, key: key, from: Inert(ev.From), to: Inert(ev.To), gap: ev.Gap, hasGap: ev.GapFrom != ""})
	case watch.EventReleased:
		m.addTransition(r, transition{at: ev.Time, key: key, from: Inert(cmp.Or(ev.From, prevHolder)), released: true})
	}
}
