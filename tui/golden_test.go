package tui

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/exp/golden"

	"github.com/leader-elector/leader-elector/watch"
)

// fleet is a believable set of Leases at t0: controllers renewing every
// 2 s, one expired, one released, one flapping, an orphan, one never held,
// and node Leases (hidden under -A).
func fleet() []watch.Event {
	ctrl := held("default", "my-controller", "my-controller-7d9f8b6c4-x2x9k", 41*time.Minute, 1800*time.Millisecond, 3)
	ctrl.Labels = map[string]string{"app.kubernetes.io/name": "my-controller", "app.kubernetes.io/managed-by": "leader-elector"}
	ctrl.ResourceVersion = "48213"
	ctrl.Candidates = []watch.Candidate{
		{Name: "my-controller-7d9f8b6c4-x2x9k", BinaryVersion: "1.37.2", EmulationVersion: "1.37", Strategy: "OldestEmulationVersion", RenewTime: t0.Add(-4 * time.Second)},
		{Name: "my-controller-7d9f8b6c4-p8q2m", BinaryVersion: "1.37.2", EmulationVersion: "1.37", Strategy: "OldestEmulationVersion", RenewTime: t0.Add(-6 * time.Second)},
	}
	kcm := held("kube-system", "kube-controller-manager", "cp-1_4c1e7b2a-1c2d-4e5f-8a9b-0c1d2e3f4a5b", 26*time.Hour, 400*time.Millisecond, 1)
	sched := held("kube-system", "kube-scheduler", "cp-2_9b8a7c6d-5e4f-4a3b-9c2d-1e0f9a8b7c6d", 26*time.Hour, 1200*time.Millisecond, 2)
	pay := held("payments", "payments-leader", "payments-6c5b4d-7kq2p", 3*time.Hour, 19*time.Second, 12)
	pay.Status = watch.StatusExpired
	batch := held("payments", "batch-lock", "", time.Hour, 25*time.Second, 4)
	batch.Holder, batch.Status, batch.ExpiresAt, batch.AcquireTime = "", watch.StatusReleased, time.Time{}, time.Time{}
	flaky := held("default", "flaky-operator", "flaky-operator-5f6d-b", 4*time.Second, 900*time.Millisecond, 31)
	flaky.Flapping = true
	ghost := held("default", "ghost-singleton", "ghost-singleton-0", 2*time.Hour, 2*time.Second, 0)
	ghost.Orphan = true
	fresh := watch.LeaseState{Namespace: "apps", Name: "report-writer", LeaseDurationSeconds: 15, Status: watch.StatusNone}
	evs := []watch.Event{}
	for _, l := range []watch.LeaseState{ctrl, kcm, sched, pay, batch, flaky, ghost, fresh} {
		evs = append(evs, added(l))
	}
	for i := 1; i <= 3; i++ {
		n := held("kube-node-lease", fmt.Sprintf("node-%d", i), fmt.Sprintf("node-%d", i), 30*time.Hour, time.Duration(i)*time.Second, 0)
		n.LeaseDurationSeconds = 40
		n.ExpiresAt = n.RenewTime.Add(40 * time.Second)
		evs = append(evs, added(n))
	}
	evs = append(evs, watch.Event{Type: watch.EventSynced, Time: t0})
	// Transitions seen since the dashboard started, oldest first.
	tr := func(d time.Duration, l watch.LeaseState, from, to string, gap time.Duration) watch.Event {
		return watch.Event{Type: watch.EventTransition, Time: t0.Add(-d), Lease: l, From: from, To: to, Gap: gap, GapFrom: watch.GapFromRenewal}
	}
	evs = append(evs,
		tr(41*time.Minute, ctrl, "my-controller-7d9f8b6c4-p8q2m", "my-controller-7d9f8b6c4-x2x9k", 1200*time.Millisecond),
		tr(40*time.Second, flaky, "flaky-operator-5f6d-a", "flaky-operator-5f6d-b", 7*time.Second),
		watch.Event{Type: watch.EventReleased, Time: t0.Add(-25 * time.Second), Lease: batch, From: "batch-runner-1"},
		tr(20*time.Second, flaky, "flaky-operator-5f6d-b", "flaky-operator-5f6d-a", 2100*time.Millisecond),
		tr(4*time.Second, flaky, "flaky-operator-5f6d-a", "flaky-operator-5f6d-b", 300*time.Millisecond),
	)
	return evs
}

// fleetIn is the fleet as a watch of one namespace sees it.
func fleetIn(ns string) []watch.Event {
	var evs []watch.Event
	for _, ev := range fleet() {
		if ev.Lease.Namespace == ns || ev.Type == watch.EventSynced {
			evs = append(evs, ev)
		}
	}
	return evs
}

// podsDenied is the error event of a watch refused the Pods of ns, as
// package watch words it.
func podsDenied(ns string) watch.Event {
	return watch.Event{Type: watch.EventError, Time: t0, Connection: watch.ConnForbidden,
		Resource: watch.ResourcePods, Reason: watch.ReasonForbidden,
		Message: `forbidden: cannot list pods in namespace "` + ns + `", so orphan holders are not judged; grant list and watch on pods to judge them`}
}

// podsForbiddenIn is the screen of ns's Leases (default's, moved there)
// after watch was refused its Pods.
func podsForbiddenIn(ns string) []tea.Msg {
	evs := fleetIn("default")
	for i := range evs {
		if evs[i].Lease.Name != "" {
			evs[i].Lease.Namespace = ns
		}
	}
	return []tea.Msg{events(evs...), events(podsDenied(ns))}
}

// goldenStates are the screens a user meets, each rendered at 80x24 and
// 160x48 and compared with testdata/TestGolden/<state>/<size>.golden.
var goldenStates = []screenState{
	{"connecting", Options{}, func() []tea.Msg { return []tea.Msg{tickMsg(at(1200 * time.Millisecond))} }},
	{"empty namespace", Options{Namespace: "staging"}, func() []tea.Msg {
		return []tea.Msg{events(watch.Event{Type: watch.EventSynced, Time: t0})}
	}},
	{"all namespaces", Options{AllNamespaces: true}, func() []tea.Msg {
		return []tea.Msg{events(fleet()...)}
	}},
	{"one namespace", Options{Namespace: "default"}, func() []tea.Msg {
		return []tea.Msg{events(fleetIn("default")...), tickMsg(at(500 * time.Millisecond))}
	}},
	{"node leases shown", Options{AllNamespaces: true}, func() []tea.Msg {
		return []tea.Msg{events(fleet()...), press("n"), press("s"), press("s")}
	}},
	{"detail", Options{AllNamespaces: true}, func() []tea.Msg {
		return []tea.Msg{events(fleet()...), press("j"), press("j"), press("j"), press("enter")}
	}},
	{"detail with a hand-over asked", Options{Namespace: "default"}, func() []tea.Msg {
		evs := fleetIn("default")
		for i := range evs {
			if evs[i].Lease.Name == "my-controller" {
				evs[i].Lease.HandoverTo, evs[i].Lease.Priority = "my-controller-7d9f8b6c4-p8q2m", 2
			}
		}
		return []tea.Msg{events(evs...), press("j"), press("j"), press("enter")}
	}},
	{"help", Options{AllNamespaces: true}, func() []tea.Msg {
		return []tea.Msg{events(fleet()...), press("?")}
	}},
	{"transitions focused", Options{AllNamespaces: true}, func() []tea.Msg {
		return []tea.Msg{events(fleet()...), press("tab")}
	}},
	{"filter", Options{AllNamespaces: true}, func() []tea.Msg {
		return []tea.Msg{events(fleet()...), press("/"), press("k"), press("u"), press("b"), press("e")}
	}},
	{"filter matches nothing", Options{AllNamespaces: true}, func() []tea.Msg {
		return []tea.Msg{events(fleet()...), press("/"), press("z"), press("z"), press("enter")}
	}},
	{"sorted by status", Options{AllNamespaces: true}, func() []tea.Msg {
		return []tea.Msg{events(fleet()...), press("s"), tickMsg(at(14 * time.Second))}
	}},
	{"connection lost", Options{AllNamespaces: true}, func() []tea.Msg {
		return []tea.Msg{events(fleet()...), events(watch.Event{Type: watch.EventError, Time: t0, Connection: watch.ConnLost, Message: "lost connection to https://127.0.0.1:6443: connection refused; retrying"}), tickMsg(at(3 * time.Second))}
	}},
	{"forbidden", Options{Namespace: "payments"}, func() []tea.Msg {
		return []tea.Msg{events(watch.Event{Type: watch.EventError, Time: t0, Connection: watch.ConnForbidden, Resource: watch.ResourceLeases, Reason: watch.ReasonForbidden, Message: `leases.coordination.k8s.io is forbidden: User "dev" cannot watch resource "leases" in namespace "payments"`})}
	}},
	{"pods forbidden", Options{Namespace: "default"}, func() []tea.Msg { return podsForbiddenIn("default") }},
	// "releases" holds "lease": the Pods denial must not pass for one of Leases.
	{"pods forbidden in releases", Options{Namespace: "releases"}, func() []tea.Msg { return podsForbiddenIn("releases") }},
	{"handover confirm", Options{Namespace: "default", Handover: noHandover}, func() []tea.Msg {
		return []tea.Msg{events(fleetIn("default")...), press("j"), press("j"), press("H")}
	}},
	{"handover progress", Options{Namespace: "default", Handover: noHandover}, func() []tea.Msg {
		return append([]tea.Msg{events(fleetIn("default")...), press("j"), press("j"), press("H"), press("y")}, handoverSteps()[:2]...)
	}},
	{"handover done", Options{Namespace: "default", Handover: noHandover}, func() []tea.Msg {
		return append([]tea.Msg{events(fleetIn("default")...), press("j"), press("j"), press("H"), press("y")}, handoverSteps()...)
	}},
	{"handover failed", Options{Namespace: "default", Handover: noHandover}, func() []tea.Msg {
		return []tea.Msg{events(fleetIn("default")...), press("j"), press("j"), press("H"), press("y"), handoverDoneMsg{err: errors.New(
			"my-controller-7d9f8b6c4-x2x9k did not answer within 40s: it may not understand planned hand-overs (client-go's elector, the original sidecar); the Lease default/my-controller is unchanged")}}
	}},
	{"help with handover", Options{AllNamespaces: true, Handover: noHandover}, func() []tea.Msg {
		return []tea.Msg{events(fleet()...), press("?")}
	}},
	{"hostile strings", Options{Namespace: "default"}, func() []tea.Msg {
		evil := held("default", "lease\x1b[2J\x1b[H", "pwn\x1b]0;owned\x07\x1b[31mred\u202eexe", time.Minute, time.Second, 1)
		evil.Labels = map[string]string{"x\x1b[5m": "blink\r\nline"}
		return []tea.Msg{events(added(evil), watch.Event{Type: watch.EventTransition, Time: t0, Lease: evil, From: "a\x1b[1A", To: evil.Holder, Gap: time.Second, GapFrom: watch.GapFromRelease}, watch.Event{Type: watch.EventSynced, Time: t0}), press("enter")}
	}},
}

var goldenSizes = []struct{ w, h int }{{80, 24}, {160, 48}}

func TestGolden(t *testing.T) { requireGoldens(t, goldenStates) }

// screenState is a screen a user meets: the options and the messages that
// lead there.
type screenState struct {
	name string
	opts Options
	msgs func() []tea.Msg
}

// requireGoldens renders every state at each of goldenSizes and compares
// it, colour stripped, with testdata/<test>/<state>/<size>.golden.
func requireGoldens(t *testing.T, states []screenState) {
	t.Helper()
	for _, st := range states {
		for _, size := range goldenSizes {
			t.Run(fmt.Sprintf("%s/%dx%d", st.name, size.w, size.h), func(t *testing.T) {
				m := newTestModel(t, st.opts, size.w, size.h)
				send(m, st.msgs()...)
				view := m.View()
				checkFrame(t, view, size.w, size.h)
				golden.RequireEqual(t, []byte(ansi.Strip(view)))
			})
		}
	}
}

// requireFits renders every state at 160x48, resizes it to each of sizes,
// and checks that the frame fits.
func requireFits(t *testing.T, states []screenState, sizes []struct{ w, h int }) {
	t.Helper()
	for _, st := range states {
		for _, size := range sizes {
			t.Run(fmt.Sprintf("%s/%dx%d", st.name, size.w, size.h), func(t *testing.T) {
				m := newTestModel(t, st.opts, 160, 48)
				send(m, st.msgs()...)
				m.Update(tea.WindowSizeMsg{Width: size.w, Height: size.h})
				checkFrame(t, m.View(), size.w, size.h)
			})
		}
	}
}

// checkFrame asserts what makes a frame safe to draw: exactly h lines, none
// wider than w (a longer line would wrap and scroll the screen), and no
// escape sequence other than styling.
func checkFrame(t *testing.T, view string, w, h int) {
	t.Helper()
	lines := strings.Split(view, "\n")
	if len(lines) != h {
		t.Errorf("view has %d lines, want %d", len(lines), h)
	}
	for i, l := range lines {
		if n := ansi.StringWidth(l); n > w {
			t.Errorf("line %d is %d cells wide, want at most %d: %q", i+1, n, w, l)
		}
		if plain := ansi.Strip(l); strings.ContainsAny(plain, "\x1b\r\a\b\x9b") {
			t.Errorf("line %d holds a control character: %q", i+1, plain)
		}
	}
}

// TestFrameFitsAnySize renders every state at sizes from tiny to huge: a
// resize must never make the frame taller or wider than the terminal.
func TestFrameFitsAnySize(t *testing.T) {
	requireFits(t, goldenStates, []struct{ w, h int }{{1, 1}, {5, 2}, {12, 3}, {20, 6}, {40, 10}, {60, 15}, {79, 23}, {81, 25}, {100, 30}, {120, 40}, {250, 70}})
}
