package tui

import (
	"github.com/leader-elector/leader-elector/watch"
)

// apply folds one event into the model in O(1): a map update, plus an
// append to the transitions when the holder changed. Re-sorting, if the
// event can move the row, waits for refresh at the end of the batch.
func (m *model) apply(ev *watch.Event) {
	if ev.Time.After(m.now) {
		m.now = ev.Time // never show an event as happening in the future
	}
	conn := m.conn(ev.Context)
	ctx := m.rowContext(ev)
	switch ev.Type {
	case watch.EventSynced:
		m.synced = true
		conn.synced = true
		if conn.state == watch.ConnConnecting {
			*conn = connection{state: watch.ConnConnected, since: ev.Time, synced: true}
		}
		return
	case watch.EventError:
		m.applyError(conn, ev)
		return
	case watch.EventDeleted:
		m.table.remove(rowKey(ctx, &ev.Lease))
		return
	}
	if ev.Connection != "" {
		m.applyError(conn, ev) // connected again after an error, or news of the link
	}
	if ev.Lease.Name == "" {
		return // not about a Lease
	}
	if conn.state == watch.ConnConnecting || conn.state == watch.ConnLost {
		// A Lease update proves the watch is through again.
		*conn = connection{state: watch.ConnConnected, since: ev.Time, synced: conn.synced}
	}
	r, prevHolder := m.table.upsert(ctx, &ev.Lease, m.now)
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
	m.trans = m.trans.add(t)
	r.addHistory(t)
}

// applyError moves the connection state; the message says what to fix.
// A failure about another resource than the Leases (watch may not list
// Pods, so it does not judge orphans) leaves the link as it is and becomes
// a note. Events with no resource (connected, or a Fleet's stopped context
// whose error did not say) are about the link.
func (m *model) applyError(conn *connection, ev *watch.Event) {
	state := ev.Connection
	if ev.Resource != "" && ev.Resource != watch.ResourceLeases {
		m.note = Inert(ev.Message)
		if m.multi {
			m.note = Inert(ev.Context) + ": " + m.note
		}
		return
	}
	if state == "" {
		state = conn.state // an error that does not change the link
	}
	since := conn.since
	if state != conn.state {
		since = ev.Time
	}
	msg := Inert(ev.Message)
	if state == watch.ConnConnected {
		msg = "" // recovered: the error line goes
	}
	*conn = connection{state: state, since: since, message: msg, synced: conn.synced}
}

// paneKey names a Lease in the transitions pane: its name alone when one
// namespace is watched (the status line names it), else "ns/name"; with
// several contexts, the context first.
func (m *model) paneKey(r *row) string {
	key := r.name
	if m.opts.AllNamespaces {
		key = r.ns + "/" + r.name
	}
	if m.multi {
		key = r.ctxName + "  " + key
	}
	return key
}
