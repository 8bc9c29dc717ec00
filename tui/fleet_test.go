package tui

import (
	"slices"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/leader-elector/leader-elector/watch"
)

// inContext stamps evs with a context, as a Watcher does.
func inContext(ctx string, evs ...watch.Event) []watch.Event {
	out := make([]watch.Event, len(evs))
	for i, ev := range evs {
		ev.Context = ctx
		out[i] = ev
	}
	return out
}

// twoClusters is kube-system of two clusters, the same Lease names with
// other holders, and a third cluster that cannot be reached.
func twoClusters() []watch.Event {
	eu := inContext("prod-eu", fleetIn("kube-system")...)
	var us []watch.Event
	for _, ev := range fleetIn("kube-system") {
		if ev.Lease.Holder != "" {
			ev.Lease.Holder = strings.Replace(ev.Lease.Holder, "cp-", "us-cp-", 1)
			ev.Lease.RenewTime = ev.Lease.RenewTime.Add(-700 * time.Millisecond)
			ev.Lease.ExpiresAt = ev.Lease.ExpiresAt.Add(-700 * time.Millisecond)
		}
		us = append(us, ev)
	}
	us = inContext("prod-us", us...)
	lost := watch.Event{Type: watch.EventError, Time: t0.Add(-2 * time.Second), Context: "staging", Connection: watch.ConnLost,
		Message: "cannot reach the API server, retrying in 4s: dial tcp 10.0.0.9:6443: connect: connection refused"}
	return append(append(eu, us...), lost)
}

var fleetOpts = Options{Namespace: "kube-system", Contexts: []string{"prod-eu", "prod-us", "staging"}}

var fleetStates = []screenState{
	{"three contexts one unreachable", fleetOpts, func() []tea.Msg {
		return []tea.Msg{events(twoClusters()...), tickMsg(at(1500 * time.Millisecond))}
	}},
	{"filtered to one context", fleetOpts, func() []tea.Msg {
		return []tea.Msg{events(twoClusters()...), press("/"), press("u"), press("s"), press("-"), press("enter")}
	}},
	{"sorted by holder across contexts", fleetOpts, func() []tea.Msg {
		return []tea.Msg{events(twoClusters()...), press("s"), press("s"), press("s"), press("s"), press("s")}
	}},
	{"one context forbidden, one stopped", fleetOpts, func() []tea.Msg {
		return []tea.Msg{events(append(inContext("prod-eu", fleetIn("kube-system")...),
			watch.Event{Type: watch.EventError, Time: t0, Context: "prod-us", Connection: watch.ConnStopped,
				Resource: watch.ResourceLeases, Reason: watch.ReasonForbidden, Message: `forbidden: this user may not list or watch leases.coordination.k8s.io in namespace "kube-system"; grant it with a Role`},
			watch.Event{Type: watch.EventError, Time: t0, Context: "staging", Connection: watch.ConnForbidden,
				Resource: watch.ResourceLeases, Reason: watch.ReasonForbidden, Message: `leases.coordination.k8s.io is forbidden: User "dev" cannot watch resource "leases"`})...)}
	}},
	{"detail names the context", fleetOpts, func() []tea.Msg {
		return []tea.Msg{events(twoClusters()...), press("j"), press("j"), press("j"), press("enter")}
	}},
}

// TestGoldenFleet renders several contexts at once: a CONTEXT column, one
// link per context in the status line, each context's problem on its own
// line, and rows of the others untouched by it.
func TestGoldenFleet(t *testing.T) {
	requireGoldens(t, fleetStates)
	requireFits(t, fleetStates, []struct{ w, h int }{{1, 1}, {20, 6}, {60, 15}, {250, 70}})
}

func TestFleetLinksAreSeparate(t *testing.T) {
	m := newTestModel(t, fleetOpts, 160, 48)
	send(m, events(twoClusters()...))
	if len(m.table.store.rows) != 4 {
		t.Fatalf("%d rows, want the 2 Leases of each of 2 contexts", len(m.table.store.rows))
	}
	states := []watch.ConnState{m.links.conns[0].state, m.links.conns[1].state, m.links.conns[2].state}
	if !slices.Equal(states, []watch.ConnState{watch.ConnConnected, watch.ConnConnected, watch.ConnLost}) {
		t.Errorf("links %v, want connected, connected, lost", states)
	}
	// prod-us loses its link: prod-eu's rows and link stay as they were.
	send(m, events(watch.Event{Type: watch.EventError, Time: t0, Context: "prod-us", Connection: watch.ConnLost, Message: "lost connection, retrying"}))
	if m.links.conns[0].state != watch.ConnConnected || m.links.conns[1].state != watch.ConnLost || len(m.table.store.rows) != 4 {
		t.Errorf("links %q %q rows %d, want connected, lost, 4", m.links.conns[0].state, m.links.conns[1].state, len(m.table.store.rows))
	}
	// A renewal from prod-us proves its link again; prod-eu's is unchanged.
	r := m.table.store.rows["prod-us\x00kube-system/kube-scheduler"]
	if r == nil {
		t.Fatal("no row for prod-us kube-system/kube-scheduler")
	}
	l := r.lease
	l.RenewTime = t0.Add(time.Second)
	send(m, events(watch.Event{Type: watch.EventRenewed, Time: t0.Add(time.Second), Context: "prod-us", Lease: l}))
	if m.links.conns[1].state != watch.ConnConnected || m.links.conns[1].message != "" {
		t.Errorf("prod-us link %+v, want connected without a message", m.links.conns[1])
	}
	// A transition in one context is named with it in the pane.
	l.Holder = "us-cp-9"
	send(m, events(watch.Event{Type: watch.EventTransition, Time: t0.Add(2 * time.Second), Context: "prod-us", Lease: l, From: "x", To: "us-cp-9"}))
	if last := m.trans.list[len(m.trans.list)-1]; last.key != "prod-us  kube-scheduler" {
		t.Errorf("transition key %q, want the context first", last.key)
	}
	if m.table.store.rows["prod-eu\x00kube-system/kube-scheduler"].lease.Holder == "us-cp-9" {
		t.Error("prod-us's transition changed prod-eu's row")
	}
}
