package tui

import (
	"slices"
	"time"

	"github.com/leader-elector/leader-elector/watch"
)

// connEnded is the link's state once the events channel closed (the
// watch stopped, or a replay reached the end of its recording). It is the
// dashboard's own: no event carries it.
const connEnded watch.ConnState = "ended"

// connection is one context's link to its API server as the status line
// shows it.
type connection struct {
	state   watch.ConnState // one of watch's, or connEnded
	since   time.Time       // when it entered this state, our clock
	message string          // Inert; what failed and how to fix it
	synced  bool            // its initial states are complete
}

// linksView is each context's link to its API server: its state for the
// status line, and the problem lines under it (what failed and its fix,
// a side note).
type linksView struct {
	c *common
	// contexts names the contexts watched and conns is each one's link,
	// in the same order; one context (possibly unnamed) at least.
	contexts []string
	conns    []connection
	note     string // Inert; a side problem (no Pods to judge orphans)
	synced   bool   // some context's initial states are complete
}

func newLinksView(c *common, contexts []string, since time.Time) linksView {
	conns := make([]connection, len(contexts))
	for i := range conns {
		conns[i] = connection{state: watch.ConnConnecting, since: since}
	}
	return linksView{c: c, contexts: slices.Clone(contexts), conns: conns}
}

// conn is the link of the context an event names; with one context, its
// only link. A context not named at start gets a link of its own.
func (v *linksView) conn(context string) *connection {
	if !v.c.multi {
		return &v.conns[0]
	}
	for i, c := range v.contexts {
		if c == context {
			return &v.conns[i]
		}
	}
	v.contexts = append(v.contexts, context)
	v.conns = append(v.conns, connection{state: watch.ConnConnecting, since: v.c.now})
	return &v.conns[len(v.conns)-1]
}

// observe moves the link an event is about: synced, an error, news of
// the link, or a Lease update that proves the watch is through again.
func (v *linksView) observe(ev *watch.Event) {
	conn := v.conn(ev.Context)
	switch ev.Type {
	case watch.EventSynced:
		v.synced = true
		conn.synced = true
		if conn.state == watch.ConnConnecting {
			*conn = connection{state: watch.ConnConnected, since: ev.Time, synced: true}
		}
		return
	case watch.EventError:
		v.applyError(conn, ev)
		return
	case watch.EventDeleted:
		return
	}
	if ev.Connection != "" {
		v.applyError(conn, ev) // connected again after an error, or news of the link
	}
	if ev.Lease.Name == "" {
		return // not about a Lease
	}
	if conn.state == watch.ConnConnecting || conn.state == watch.ConnLost {
		// A Lease update proves the watch is through again.
		*conn = connection{state: watch.ConnConnected, since: ev.Time, synced: conn.synced}
	}
}

// applyError moves the connection state; the message says what to fix.
// A failure about another resource than the Leases (watch may not list
// Pods, so it does not judge orphans) leaves the link as it is and becomes
// a note. Events with no resource (connected, or a Fleet's stopped context
// whose error did not say) are about the link.
func (v *linksView) applyError(conn *connection, ev *watch.Event) {
	state := ev.Connection
	if ev.Resource != "" && ev.Resource != watch.ResourceLeases {
		v.note = Inert(ev.Message)
		if v.c.multi {
			v.note = Inert(ev.Context) + ": " + v.note
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

// end marks every link ended: the events channel closed.
func (v *linksView) end() {
	for i := range v.conns {
		v.conns[i] = connection{state: connEnded, since: v.c.now, message: "the watch stopped; press q to quit", synced: v.conns[i].synced}
	}
}

// reset forgets every link's state: connecting since since.
func (v *linksView) reset(since time.Time) {
	v.synced = false
	v.note = ""
	for i := range v.conns {
		v.conns[i] = connection{state: watch.ConnConnecting, since: since}
	}
}
