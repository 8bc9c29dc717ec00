package tui

import (
	"slices"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/leader-elector/leader-elector/watch"
)

// visibleKeys lists the table's rows in order.
func visibleKeys(m *model) []string {
	var keys []string
	for _, r := range m.table.store.visible {
		keys = append(keys, r.key)
	}
	return keys
}

func added(l watch.LeaseState) watch.Event {
	return watch.Event{Type: watch.EventAdded, Time: t0, Lease: l}
}

func TestUpdate(t *testing.T) {
	a := held("default", "alpha", "pod-a", time.Minute, time.Second, 1)
	b := held("default", "bravo", "pod-b", time.Minute, 3*time.Second, 2)
	c := held("default", "charlie", "pod-c", time.Minute, 14*time.Second, 9) // expires at t0+1s
	node := held("kube-node-lease", "node-1", "node-1", time.Hour, time.Second, 0)
	other := held("kube-system", "kube-scheduler", "sched-1", time.Hour, time.Second, 0)
	bToD := b
	bToD.Holder, bToD.AcquireTime, bToD.Transitions = "pod-d", t0, 3
	bReleased := b
	bReleased.Holder, bReleased.Status, bReleased.ExpiresAt = "", watch.StatusReleased, time.Time{}
	three := events(added(a), added(b), added(c), watch.Event{Type: watch.EventSynced, Time: t0})

	tests := []struct {
		name  string
		opts  Options
		msgs  []tea.Msg
		check func(t *testing.T, m *model)
	}{
		{
			name: "before the first list it is connecting",
			check: func(t *testing.T, m *model) {
				if m.links.conns[0].state != watch.ConnConnecting || m.links.synced || len(m.table.store.rows) != 0 {
					t.Errorf("conn %q synced %v rows %d, want connecting, false, 0", m.links.conns[0].state, m.links.synced, len(m.table.store.rows))
				}
			},
		},
		{
			name: "added Leases are rows sorted by name and the watch is connected once synced",
			msgs: []tea.Msg{events(added(c), added(a), added(b), watch.Event{Type: watch.EventSynced, Time: t0})},
			check: func(t *testing.T, m *model) {
				want := []string{"default/alpha", "default/bravo", "default/charlie"}
				if got := visibleKeys(m); !slices.Equal(got, want) {
					t.Errorf("rows %v, want %v", got, want)
				}
				if !m.links.synced || m.links.conns[0].state != watch.ConnConnected {
					t.Errorf("synced %v conn %q, want true connected", m.links.synced, m.links.conns[0].state)
				}
			},
		},
		{
			name: "a deleted Lease leaves the table",
			msgs: []tea.Msg{three, events(watch.Event{Type: watch.EventDeleted, Time: t0, Lease: b})},
			check: func(t *testing.T, m *model) {
				if got, want := visibleKeys(m), []string{"default/alpha", "default/charlie"}; !slices.Equal(got, want) {
					t.Errorf("rows %v, want %v", got, want)
				}
			},
		},
		{
			name: "a transition updates the row and heads the transitions pane and the Lease's history",
			msgs: []tea.Msg{three, events(watch.Event{Type: watch.EventTransition, Time: at(time.Second), Lease: bToD, From: "pod-b", To: "pod-d", Gap: 2500 * time.Millisecond, GapFrom: watch.GapFromRenewal})},
			check: func(t *testing.T, m *model) {
				r := m.table.store.rows["default/bravo"]
				if r.holder != "pod-d" || r.lease.Transitions != 3 {
					t.Errorf("row holder %q transitions %d, want pod-d 3", r.holder, r.lease.Transitions)
				}
				want := transition{at: at(time.Second), key: "bravo", from: "pod-b", to: "pod-d", gap: 2500 * time.Millisecond, hasGap: true}
				if len(m.trans.list) != 1 || m.trans.list[0] != want {
					t.Errorf("transitions %+v, want [%+v]", m.trans.list, want)
				}
				if len(r.history) != 1 || r.history[0] != want {
					t.Errorf("history %+v, want [%+v]", r.history, want)
				}
				if !m.now.Equal(at(time.Second)) {
					t.Errorf("now %v, want the event's time %v", m.now, at(time.Second))
				}
			},
		},
		{
			name: "a release names who let go, even when the event does not",
			msgs: []tea.Msg{three, events(watch.Event{Type: watch.EventReleased, Time: t0, Lease: bReleased})},
			check: func(t *testing.T, m *model) {
				want := transition{at: t0, key: "bravo", from: "pod-b", released: true}
				if len(m.trans.list) != 1 || m.trans.list[0] != want {
					t.Errorf("transitions %+v, want [%+v]", m.trans.list, want)
				}
				if bd := badgeOf(&m.table.store.rows["default/bravo"].lease, m.now); bd != badgeReleased {
					t.Errorf("badge %v, want released", bd)
				}
			},
		},
		{
			name: "a held Lease shows expired as soon as the clock passes its expiry",
			msgs: []tea.Msg{three, tickMsg(at(999 * time.Millisecond))},
			check: func(t *testing.T, m *model) {
				if bd := badgeOf(&m.table.store.rows["default/charlie"].lease, m.now); bd != badgeHeld {
					t.Errorf("at +999ms badge %v, want held", bd)
				}
				m.Update(tickMsg(at(time.Second)))
				if bd := badgeOf(&m.table.store.rows["default/charlie"].lease, m.now); bd != badgeExpired {
					t.Errorf("at +1s badge %v, want expired", bd)
				}
			},
		},
		{
			name: "lost connection, then a Lease event shows it connected again",
			msgs: []tea.Msg{three, events(watch.Event{Type: watch.EventError, Time: at(time.Second), Connection: watch.ConnLost, Message: "lost connection to https://10.0.0.1:6443, retrying"})},
			check: func(t *testing.T, m *model) {
				if m.links.conns[0].state != watch.ConnLost || !m.links.conns[0].since.Equal(at(time.Second)) || m.links.conns[0].message == "" {
					t.Errorf("conn %+v, want lost since +1s with a message", m.links.conns[0])
				}
				m.Update(events(watch.Event{Type: watch.EventRenewed, Time: at(2 * time.Second), Lease: a}))
				if m.links.conns[0].state != watch.ConnConnected {
					t.Errorf("after a renewal conn %q, want connected", m.links.conns[0].state)
				}
			},
		},
		{
			name: "an event naming the connection as connected clears the error",
			msgs: []tea.Msg{three,
				events(watch.Event{Type: watch.EventError, Time: t0, Connection: watch.ConnLost, Message: "lost"}),
				events(watch.Event{Type: watch.EventConnected, Time: at(time.Second), Connection: watch.ConnConnected})},
			check: func(t *testing.T, m *model) {
				if m.links.conns[0].state != watch.ConnConnected || m.links.conns[0].message != "" || len(m.table.store.rows) != 3 {
					t.Errorf("conn %+v rows %d, want connected, no message, 3 rows", m.links.conns[0], len(m.table.store.rows))
				}
			},
		},
		{
			name: "forbidden keeps its message, made inert",
			msgs: []tea.Msg{events(watch.Event{Type: watch.EventError, Time: t0, Connection: watch.ConnForbidden, Resource: watch.ResourceLeases, Message: "forbidden: \x1b[2Jcannot watch leases"})},
			check: func(t *testing.T, m *model) {
				if m.links.conns[0].state != watch.ConnForbidden || m.links.conns[0].message != `forbidden: \x1b[2Jcannot watch leases` {
					t.Errorf("conn %+v", m.links.conns[0])
				}
			},
		},
		{
			name: "no right to list Pods is a note, not a broken link",
			msgs: []tea.Msg{three, events(podsDenied("default"))},
			check: func(t *testing.T, m *model) {
				if m.links.conns[0].state != watch.ConnConnected || m.links.conns[0].message != "" || !strings.HasPrefix(m.links.note, "forbidden: cannot list pods") {
					t.Errorf("conn %+v note %q, want connected with the note kept apart", m.links.conns[0], m.links.note)
				}
			},
		},
		{
			name: "node Leases are hidden under -A until n",
			opts: Options{AllNamespaces: true},
			msgs: []tea.Msg{events(added(a), added(node), added(other))},
			check: func(t *testing.T, m *model) {
				if got, want := visibleKeys(m), []string{"default/alpha", "kube-system/kube-scheduler"}; !slices.Equal(got, want) {
					t.Errorf("rows %v, want %v", got, want)
				}
				m.Update(press("n"))
				if got, want := visibleKeys(m), []string{"default/alpha", "kube-node-lease/node-1", "kube-system/kube-scheduler"}; !slices.Equal(got, want) {
					t.Errorf("after n rows %v, want %v", got, want)
				}
			},
		},
		{
			name: "watching kube-node-lease itself shows its Leases",
			opts: Options{Namespace: "kube-node-lease"},
			msgs: []tea.Msg{events(added(node))},
			check: func(t *testing.T, m *model) {
				if got := visibleKeys(m); len(got) != 1 {
					t.Errorf("rows %v, want the node Lease", got)
				}
			},
		},
		{
			name: "j, k and arrows move the cursor within bounds",
			msgs: []tea.Msg{three, press("j"), press("down"), press("j"), press("j")},
			check: func(t *testing.T, m *model) {
				if m.table.cursor != 2 {
					t.Errorf("cursor %d, want 2 (last row)", m.table.cursor)
				}
				send(m, press("k"), press("up"), press("up"))
				if m.table.cursor != 0 {
					t.Errorf("cursor %d, want 0", m.table.cursor)
				}
				send(m, press("G"))
				if m.table.cursor != 2 {
					t.Errorf("after G cursor %d, want 2", m.table.cursor)
				}
			},
		},
		{
			name: "the cursor stays on its Lease when the order changes",
			msgs: []tea.Msg{three, press("j"), press("s")}, // on bravo; sort by status puts expired first
			check: func(t *testing.T, m *model) {
				if m.table.sortBy != sortStatus {
					t.Fatalf("sort %v, want status", m.table.sortBy)
				}
				m.Update(tickMsg(at(2 * time.Second))) // charlie expires
				if got := m.table.selectedKey(); got != "default/bravo" {
					t.Errorf("selected %q, want default/bravo; rows %v", got, visibleKeys(m))
				}
				if got := visibleKeys(m)[0]; got != "default/charlie" {
					t.Errorf("first row %q, want the expired default/charlie", got)
				}
			},
		},
		{
			name: "s cycles through every order and back to name",
			msgs: []tea.Msg{three},
			check: func(t *testing.T, m *model) {
				var seen []string
				for range sortKeys {
					m.Update(press("s"))
					seen = append(seen, m.table.sortBy.String())
				}
				want := []string{"status", "expiry", "renewed", "transitions", "holder", "name"}
				if !slices.Equal(seen, want) {
					t.Errorf("sorts %v, want %v", seen, want)
				}
			},
		},
		{
			name: "sort by renewed puts the freshest renewal first and follows renewals",
			msgs: []tea.Msg{three, press("s"), press("s"), press("s")},
			check: func(t *testing.T, m *model) {
				if got, want := visibleKeys(m), []string{"default/alpha", "default/bravo", "default/charlie"}; !slices.Equal(got, want) {
					t.Errorf("rows %v, want %v", got, want)
				}
				renewed := c
				renewed.RenewTime = at(time.Second)
				renewed.Renewals = append(slices.Clone(c.Renewals), at(time.Second))
				m.Update(events(watch.Event{Type: watch.EventRenewed, Time: at(time.Second), Lease: renewed}))
				if got := visibleKeys(m)[0]; got != "default/charlie" {
					t.Errorf("after charlie renewed first row %q, want default/charlie", got)
				}
			},
		},
		{
			name: "enter opens the selected Lease and esc goes back",
			msgs: []tea.Msg{three, press("j"), press("enter")},
			check: func(t *testing.T, m *model) {
				if m.screen != screenDetail || m.detail.key != "default/bravo" {
					t.Errorf("screen %v detail %q, want detail of default/bravo", m.screen, m.detail.key)
				}
				m.Update(press("esc"))
				if m.screen != screenTable {
					t.Errorf("after esc screen %v, want table", m.screen)
				}
			},
		},
		{
			name: "/ filters as you type, enter keeps it, esc clears it",
			msgs: []tea.Msg{three, press("/"), press("p"), press("o"), press("d"), press("-"), press("c")},
			check: func(t *testing.T, m *model) {
				if got, want := visibleKeys(m), []string{"default/charlie"}; !slices.Equal(got, want) {
					t.Errorf("filtering pod-c rows %v, want %v", got, want)
				}
				m.Update(press("enter"))
				if m.filter.active || m.filter.text != "pod-c" {
					t.Errorf("after enter filtering %v text %q, want false pod-c", m.filter.active, m.filter.text)
				}
				m.Update(press("esc"))
				if m.filter.text != "" || len(visibleKeys(m)) != 3 {
					t.Errorf("after esc filter %q rows %v, want none and 3 rows", m.filter.text, visibleKeys(m))
				}
			},
		},
		{
			name: "the filter follows a change of holder",
			msgs: []tea.Msg{three, press("/"), press("p"), press("o"), press("d"), press("-"), press("d"), press("enter"),
				events(watch.Event{Type: watch.EventTransition, Time: t0, Lease: bToD, From: "pod-b", To: "pod-d"})},
			check: func(t *testing.T, m *model) {
				if got, want := visibleKeys(m), []string{"default/bravo"}; !slices.Equal(got, want) {
					t.Errorf("rows %v, want %v", got, want)
				}
			},
		},
		{
			name: "tab switches panes, ? toggles the help",
			msgs: []tea.Msg{three, press("tab"), press("?")},
			check: func(t *testing.T, m *model) {
				if m.focus != paneTransitions || !m.help.show {
					t.Errorf("focus %v help %v, want transitions true", m.focus, m.help.show)
				}
				send(m, press("tab"), press("?"))
				if m.focus != paneLeases || m.help.show {
					t.Errorf("focus %v help %v, want leases false", m.focus, m.help.show)
				}
			},
		},
		{
			name: "a resize keeps the cursor on screen",
			msgs: []tea.Msg{manyLeases(100), press("G"), tea.WindowSizeMsg{Width: 80, Height: 12}},
			check: func(t *testing.T, m *model) {
				rows := m.tableRows()
				if m.table.cursor != 99 || m.table.offset > m.table.cursor || m.table.cursor >= m.table.offset+rows {
					t.Errorf("cursor %d offset %d rows %d: cursor off screen", m.table.cursor, m.table.offset, rows)
				}
				if m.width != 80 || m.height != 12 {
					t.Errorf("size %dx%d, want 80x12", m.width, m.height)
				}
			},
		},
		{
			name: "a closed events channel marks the watch ended and stops listening",
			msgs: []tea.Msg{three, eventsMsg{closed: true}},
			check: func(t *testing.T, m *model) {
				if m.links.conns[0].state != connEnded {
					t.Errorf("conn %q, want ended", m.links.conns[0].state)
				}
			},
		},
		{
			name: "a tick never moves the clock backwards",
			msgs: []tea.Msg{tickMsg(at(5 * time.Second)), tickMsg(at(time.Second))},
			check: func(t *testing.T, m *model) {
				if !m.now.Equal(at(5 * time.Second)) {
					t.Errorf("now %v, want %v", m.now, at(5*time.Second))
				}
			},
		},
		{
			name: "the transitions pane keeps the newest, bounded",
			msgs: []tea.Msg{manyTransitions(maxTransitions + 10)},
			check: func(t *testing.T, m *model) {
				if n := len(m.trans.list); n > maxTransitions || n < maxTransitions/2 {
					t.Errorf("%d transitions kept, want between %d and %d", n, maxTransitions/2, maxTransitions)
				}
				if last := m.trans.list[len(m.trans.list)-1]; last.to != "pod-509" {
					t.Errorf("newest kept %+v, want the last one (to pod-509)", last)
				}
				if h := m.table.store.rows["default/flappy"].history; len(h) != historyPerLease {
					t.Errorf("history of %d, want bounded to %d", len(h), historyPerLease)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := newTestModel(t, tt.opts, 100, 30)
			send(m, tt.msgs...)
			tt.check(t, m)
		})
	}
}

func TestQuitKeys(t *testing.T) {
	for _, k := range []string{"q", "ctrl+c"} {
		t.Run(k, func(t *testing.T) {
			m := newTestModel(t, Options{}, 80, 24)
			_, cmd := m.Update(press(k))
			if cmd == nil {
				t.Fatal("no command, want tea.Quit")
			}
			if _, ok := cmd().(tea.QuitMsg); !ok {
				t.Errorf("command gives %T, want tea.QuitMsg", cmd())
			}
		})
	}
	// While typing a filter, q is a letter, not quit.
	m := newTestModel(t, Options{}, 80, 24)
	send(m, press("/"))
	if _, cmd := m.Update(press("q")); cmd != nil {
		if _, ok := cmd().(tea.QuitMsg); ok {
			t.Error("q while filtering quit, want it typed")
		}
	}
	if m.filter.text != "q" {
		t.Errorf("filter %q, want q", m.filter.text)
	}
}

// manyLeases is n held Leases in one batch.
func manyLeases(n int) eventsMsg {
	var evs []watch.Event
	for i := range n {
		evs = append(evs, added(held("default", leaseName(i), "pod-"+leaseName(i), time.Minute, time.Duration(i%15)*time.Second, int32(i%7))))
	}
	return events(evs...)
}

func leaseName(i int) string {
	const digits = "0123456789"
	return "lease-" + string([]byte{digits[i/1000%10], digits[i/100%10], digits[i/10%10], digits[i%10]})
}

// manyTransitions is n transitions of one Lease, to pod-0 ... pod-(n-1).
func manyTransitions(n int) eventsMsg {
	var evs []watch.Event
	l := held("default", "flappy", "pod-0", time.Minute, 0, 0)
	for i := range n {
		from := l.Holder
		l.Holder = "pod-" + itoa(i)
		l.Transitions++
		evs = append(evs, watch.Event{Type: watch.EventTransition, Time: t0, Lease: l, From: from, To: l.Holder, Gap: time.Second})
	}
	return events(evs...)
}

func itoa(i int) string {
	if i < 10 {
		return string(rune('0' + i))
	}
	return itoa(i/10) + string(rune('0'+i%10))
}

func TestPositionShown(t *testing.T) {
	m := newTestModel(t, Options{}, 160, 20)
	send(m, manyLeases(100), press("j"), press("j"))
	if f := m.viewFooter(false); !strings.Contains(f, "3/100  sort: name") {
		t.Errorf("footer %q, want the cursor's place 3/100", f)
	}
	send(m, manyTransitions(30), press("tab"), press("j"), press("j"))
	if v := m.View(); !strings.Contains(v, "TRANSITIONS (newest first)  30  (2 newer above)") {
		t.Errorf("the transitions title does not say the pane is scrolled:\n%s", v)
	}
}

func TestDetailScrolls(t *testing.T) {
	m := newTestModel(t, Options{AllNamespaces: true}, 80, 24)
	send(m, events(fleet()...), press("j"), press("j"), press("j"), press("enter"))
	if m.detail.key != "default/my-controller" {
		t.Fatalf("detail of %q, want default/my-controller", m.detail.key)
	}
	if m.detail.vp.AtBottom() || !strings.Contains(m.viewFooter(false), "more ↓") {
		t.Fatalf("a record taller than the screen should say there is more: footer %q", m.viewFooter(false))
	}
	send(m, press("j"))
	if m.detail.vp.YOffset != 1 {
		t.Errorf("after j the detail is at line %d, want 1", m.detail.vp.YOffset)
	}
	send(m, press("G"))
	if !m.detail.vp.AtBottom() || !strings.Contains(m.viewFooter(false), "end") {
		t.Errorf("after G: at bottom %v, footer %q; want the end", m.detail.vp.AtBottom(), m.viewFooter(false))
	}
	if !strings.Contains(m.View(), "my-controller-7d9f8b6c4-p8q2m   1.37.2") {
		t.Errorf("after G the second candidate is not on screen:\n%s", m.View())
	}
}

// TestRenewedOnOurClock: a cluster clock 30 s ahead must not make a
// renewal we saw a second ago read as "in the future" or "0.0s ago".
func TestRenewedOnOurClock(t *testing.T) {
	l := held("default", "skewed", "pod-a", time.Minute, time.Second, 0)
	l.RenewTime = t0.Add(29 * time.Second) // the cluster's clock, 30 s ahead
	m := newTestModel(t, Options{}, 100, 10)
	send(m, events(added(l)))
	if v := m.View(); !strings.Contains(v, "1.0s ago") {
		t.Errorf("the renewal seen 1 s ago (cluster stamp 29 s ahead) does not read 1.0s ago:\n%s", v)
	}
	// A handover we saw is timed on our clock too, whatever acquireTime says.
	taken := l
	taken.Holder, taken.AcquireTime = "pod-b", t0.Add(29*time.Second)
	send(m, events(watch.Event{Type: watch.EventTransition, Time: at(-2 * time.Second), Lease: taken, From: "pod-a", To: "pod-b"}))
	r := m.table.store.rows["default/skewed"]
	if got := heldFor(r, badgeHeld, t0); got != "2.0s" {
		t.Errorf("held for %q after a handover seen 2 s ago, want 2.0s", got)
	}
	// Before any renewal is seen, the cluster's stamp is all there is.
	l.Renewals = nil
	l.RenewTime = t0.Add(-5 * time.Second)
	send(m, events(watch.Event{Type: watch.EventUpdated, Time: t0, Lease: l}))
	if v := m.View(); !strings.Contains(v, "5.0s ago") {
		t.Errorf("with no renewal seen, renewTime 5 s ago does not read 5.0s ago:\n%s", v)
	}
}
