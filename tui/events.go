package tui

import (
	"strings"

	"github.com/leader-elector/leader-elector/watch"
)

// apply folds one event into the model in O(1): a map update, plus an
// append to the transitions when the holder changed. Re-sorting, if the
// event can move the row, waits for refresh at the end of the batch.
func (m *model) apply(ev *watch.Event) {
	if ev.Time.After(m.now) {
		m.now = ev.Time // never show an event as happening in the future
	}
	switch ev.Type {
	case watch.EventSynced:
		m.synced = true
		if m.conn.state == "connecting" {
			m.conn = connection{state: "connected", since: ev.Time}
		}
		return
	case watch.EventError:
		m.applyError(ev)
		return
	case watch.EventDeleted:
		m.store.remove(ev.Lease.Key())
		return
	}
	if ev.Connection != "" {
		m.applyError(ev) // "connected" again after an error, or news of the link
	}
	if ev.Lease.Name == "" {
		return // not about a Lease
	}
	if m.conn.state == "connecting" || m.conn.state == "lost" {
		// A Lease update proves the watch is through again.
		m.conn = connection{state: "connected", since: ev.Time}
	}
	var prevHolder string
	if old, ok := m.store.rows[ev.Lease.Key()]; ok {
		prevHolder = old.lease.Holder
	}
	r, _, holderChanged := m.store.upsert(&ev.Lease, m.now)
	switch {
	case holderChanged && m.filterText != "":
		m.store.dirty = true // the row may enter or leave the filter
	case m.sortBy != sortName:
		m.store.markMoved(r) // any other order may depend on what changed
	}
	switch ev.Type {
	case watch.EventTransition:
		m.addTransition(r, transition{at: ev.Time, key: m.paneKey(r), from: Inert(ev.From), to: Inert(ev.To), gap: ev.Gap, hasGap: ev.GapFrom != ""})
	case watch.EventReleased:
		from := ev.From
		if from == "" {
			from = prevHolder
		}
		m.addTransition(r, transition{at: ev.Time, key: m.paneKey(r), from: Inert(from), released: true})
	}
}

// addTransition records t in the pane and in the Lease's own history.
func (m *model) addTransition(r *row, t transition) {
	if len(m.transitions) == maxTransitions {
		// Drop the oldest half at once: amortised O(1) per transition.
		n := copy(m.transitions, m.transitions[maxTransitions/2:])
		m.transitions = m.transitions[:n]
	}
	m.transitions = append(m.transitions, t)
	r.addHistory(t)
	if m.transOffset > 0 {
		m.transOffset++ // keep the lines the user scrolled to in place
	}
}

// applyError moves the connection state; the message says what to fix.
// A denial that is not about Leases (watch cannot list Pods, so it does
// not judge orphans) leaves the link as it is and becomes a note.
func (m *model) applyError(ev *watch.Event) {
	state := ev.Connection
	if state == "forbidden" && !strings.Contains(strings.ToLower(ev.Message), "lease") {
		m.note = Inert(ev.Message)
		return
	}
	if state == "" {
		state = m.conn.state // an error that does not change the link
	}
	since := m.conn.since
	if state != m.conn.state {
		since = ev.Time
	}
	msg := Inert(ev.Message)
	if state == "connected" {
		msg = "" // recovered: the error line goes
	}
	m.conn = connection{state: state, since: since, message: msg}
}

// paneKey names a Lease in the transitions pane: its name alone when one
// namespace is watched (the status line names it), else "ns/name".
func (m *model) paneKey(r *row) string {
	if m.opts.AllNamespaces {
		return r.ns + "/" + r.name
	}
	return r.name
}
