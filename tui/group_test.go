package tui

import (
	"fmt"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"

	"github.com/leader-elector/leader-elector/internal/shardgroup"
	"github.com/leader-elector/leader-elector/watch"
)

// The four replicas of the shard group "myapp".
const (
	podA = "myapp-5c8d7f9b4-2xkqp"
	podB = "myapp-5c8d7f9b4-7hd9w"
	podC = "myapp-5c8d7f9b4-bq4zn"
	podD = "myapp-5c8d7f9b4-mv8tr"
)

// shardState is shard i of the m-shard group name in default, held by
// holder ("" for released) as watch reports it.
func shardState(name string, i, m int, holder string, renewedAgo time.Duration, transitions int32) watch.LeaseState {
	l := held("default", shardgroup.ShardLease(name, i), holder, time.Hour, renewedAgo, transitions)
	l.Group, l.Shard, l.Shards = name, int32(i), int32(m)
	if holder == "" {
		l.Status, l.ExpiresAt, l.AcquireTime, l.Renewals = watch.StatusReleased, time.Time{}, time.Time{}, nil
	}
	return l
}

// memberState is identity's member Lease of the group name.
func memberState(name, identity string, renewedAgo time.Duration) watch.LeaseState {
	l := held("default", shardgroup.MemberLease(name, identity), identity, time.Hour, renewedAgo, 0)
	l.Group, l.Member = name, true
	return l
}

// groupFleet is one ordinary Lease and the group myapp of 8 shards over 4
// replicas: 2, 2, 2 and 1 shards, shard 5 released by its holder 10 s ago
// and not taken since; shards 3 and 6 moved lately.
func groupFleet() []watch.Event {
	ctrl := held("default", "my-controller", "my-controller-7d9f8b6c4-x2x9k", 41*time.Minute, 1800*time.Millisecond, 3)
	holders := []string{podA, podA, podB, podB, podC, "", podC, podD}
	evs := []watch.Event{added(ctrl)}
	shards := make([]watch.LeaseState, len(holders))
	for i, h := range holders {
		shards[i] = shardState("myapp", i, len(holders), h, time.Duration(i)*300*time.Millisecond, int32(i%3))
		evs = append(evs, added(shards[i]))
	}
	for i, id := range []string{podA, podB, podC, podD} {
		evs = append(evs, added(memberState("myapp", id, time.Duration(i)*time.Second)))
	}
	evs = append(evs, watch.Event{Type: watch.EventSynced, Time: t0},
		watch.Event{Type: watch.EventTransition, Time: t0.Add(-40 * time.Second), Lease: shards[3], From: podA, To: podB, Gap: 800 * time.Millisecond, GapFrom: watch.GapFromRelease},
		watch.Event{Type: watch.EventTransition, Time: t0.Add(-38 * time.Second), Lease: shards[6], From: podD, To: podC, Gap: 600 * time.Millisecond, GapFrom: watch.GapFromRelease},
		watch.Event{Type: watch.EventReleased, Time: t0.Add(-10 * time.Second), Lease: shards[5], From: podD},
	)
	return evs
}

// groupStates are the screens of a shard group, compared with
// testdata/TestGoldenGroup/<state>/<size>.golden.
var groupStates = []screenState{
	{"table with a group", Options{Namespace: "default"}, func() []tea.Msg {
		return []tea.Msg{events(groupFleet()...)}
	}},
	{"group detail", Options{Namespace: "default"}, func() []tea.Msg {
		return []tea.Msg{events(groupFleet()...), press("j"), press("enter")}
	}},
	{"group under all namespaces", Options{AllNamespaces: true}, func() []tea.Msg {
		return []tea.Msg{events(groupFleet()...), press("j")}
	}},
	{"help with a group", Options{Namespace: "default"}, func() []tea.Msg {
		return []tea.Msg{events(groupFleet()...), press("?")}
	}},
	{"handover on a group", Options{Namespace: "default", Handover: noHandover}, func() []tea.Msg {
		return []tea.Msg{events(groupFleet()...), press("j"), press("H")}
	}},
}

func TestGoldenGroup(t *testing.T) { requireGoldens(t, groupStates) }

// TestGroupFrameFitsAnySize: a group's row and detail never overflow.
func TestGroupFrameFitsAnySize(t *testing.T) {
	requireFits(t, groupStates, []struct{ w, h int }{{1, 1}, {12, 3}, {20, 6}, {40, 10}, {60, 15}, {79, 23}, {100, 30}, {250, 70}})
}

// groupRow is the row of myapp in default.
func groupRow(t *testing.T, m *model) *row {
	t.Helper()
	r := m.table.store.rows[groupKey("", "default", "myapp")]
	if r == nil || r.grp == nil {
		t.Fatalf("no row for the group; rows: %v", keys(m))
	}
	return r
}

func keys(m *model) []string {
	var ks []string
	for k := range m.table.store.rows {
		ks = append(ks, k)
	}
	return ks
}

// TestGroupFolds: a group's Leases make one row whatever happens to them,
// and its figures follow: owners, unowned shards, badge, moves.
func TestGroupFolds(t *testing.T) {
	take5 := shardState("myapp", 5, 8, podD, 0, 1)
	tests := []struct {
		name        string
		msgs        []tea.Msg
		rows        int
		badge       badge
		unowned     int
		holder      string
		moves       int
		transitions int // in the pane
	}{
		{"as listed", []tea.Msg{events(groupFleet()...)}, 2, badgeUnowned, 1,
			podA + " 2 · " + podB + " 2 · " + podC + " 2 · " + podD + " 1", 2, 3},
		{"the unowned shard taken", []tea.Msg{events(groupFleet()...), events(watch.Event{Type: watch.EventTransition, Time: t0, Lease: take5, To: podD})}, 2, badgeHeld, 0,
			podA + " 2 · " + podB + " 2 · " + podC + " 2 · " + podD + " 2", 3, 4},
		{"moves age out of the window", []tea.Msg{events(groupFleet()...), tickMsg(at(5 * time.Minute))}, 2, badgeExpired, 1,
			podA + " 2 · " + podB + " 2 · " + podC + " 2 · " + podD + " 1", 0, 3},
		{"a member leaves", []tea.Msg{events(groupFleet()...), events(watch.Event{Type: watch.EventDeleted, Time: t0, Lease: memberState("myapp", podD, 0)})}, 2, badgeUnowned, 1,
			podA + " 2 · " + podB + " 2 · " + podC + " 2 · " + podD + " 1", 2, 3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := send(newTestModel(t, Options{Namespace: "default"}, 160, 48), tc.msgs...)
			if n := len(m.table.store.visible); n != tc.rows {
				t.Errorf("%d rows, want %d: %v", n, tc.rows, keys(m))
			}
			r := groupRow(t, m)
			if got := r.counted; got != tc.badge {
				t.Errorf("badge %s, want %s", got, tc.badge)
			}
			if r.grp.unowned != tc.unowned || r.lease.Holder != tc.holder {
				t.Errorf("unowned %d holder %q, want %d %q", r.grp.unowned, r.lease.Holder, tc.unowned, tc.holder)
			}
			if got := r.grp.movesSince(m.now); got != tc.moves {
				t.Errorf("moves %d, want %d", got, tc.moves)
			}
			if got := len(m.trans.list); got != tc.transitions {
				t.Errorf("%d transitions in the pane, want %d", got, tc.transitions)
			}
		})
	}
}

// TestGroupGoesAway: deleting every Lease of a group drops its row; a Lease
// that stops being labelled as a group's becomes a row of its own again.
func TestGroupGoesAway(t *testing.T) {
	m := send(newTestModel(t, Options{Namespace: "default"}, 160, 48), events(groupFleet()...))
	var dels []watch.Event
	for _, ev := range groupFleet() {
		if ev.Type == watch.EventAdded && ev.Lease.Group != "" && ev.Lease.Name != "myapp-shard-2" {
			dels = append(dels, watch.Event{Type: watch.EventDeleted, Time: t0, Lease: ev.Lease})
		}
	}
	send(m, events(dels...))
	if r := groupRow(t, m); len(r.grp.members) != 0 || r.grp.unowned != 7 || r.counted != badgeUnowned {
		t.Fatalf("left with shard 2 only: members %d, unowned %d, badge %s", len(r.grp.members), r.grp.unowned, r.counted)
	}
	plain := shardState("myapp", 2, 8, podB, 0, 0)
	plain.Group, plain.Shard, plain.Shards = "", 0, 0
	send(m, events(watch.Event{Type: watch.EventUpdated, Time: t0, Lease: plain}))
	if _, ok := m.table.store.rows[groupKey("", "default", "myapp")]; ok {
		t.Errorf("the group's row outlived its last Lease")
	}
	if r := m.table.store.rows["default/myapp-shard-2"]; r == nil || r.grp != nil || r.counted != badgeHeld {
		t.Errorf("the unlabelled Lease is no row of its own: %v", keys(m))
	}
	if n, want := len(m.table.store.visible), 2; n != want {
		t.Errorf("%d rows, want %d", n, want)
	}
	if got := m.table.store.tally[0]; got[badgeHeld] != 2 || got[badgeUnowned] != 0 {
		t.Errorf("tally %v, want 2 held", got)
	}
}

// TestGroupKeys: filtering, sorting and H treat a group's row as one row.
func TestGroupKeys(t *testing.T) {
	tests := []struct {
		name   string
		keys   []tea.Msg
		names  []string // visible rows' names, in order
		footer string   // in the footer
	}{
		{"filter by an owner", []tea.Msg{press("/"), press("m"), press("v"), press("8")}, []string{"myapp  8 shards"}, ""},
		{"filter by the group's name", []tea.Msg{press("/"), press("m"), press("y"), press("a"), press("p"), press("p")}, []string{"myapp  8 shards"}, ""},
		{"filter by a shard's name finds nothing", []tea.Msg{press("/"), press("s"), press("h"), press("a"), press("r"), press("d")}, nil, ""},
		{"sorted by status: unowned before held", []tea.Msg{press("s")}, []string{"myapp  8 shards", "my-controller"}, ""},
		{"sorted by transitions: the sum", []tea.Msg{press("s"), press("s"), press("s"), press("s")}, []string{"myapp  8 shards", "my-controller"}, ""},
		{"H on the group says how", []tea.Msg{press("j"), press("H")}, []string{"my-controller", "myapp  8 shards"},
			"hand-over is per shard Lease: leader-elector handover default/myapp-shard-N"},
		{"H on a Lease asks", []tea.Msg{press("H")}, []string{"my-controller", "myapp  8 shards"}, "Hand over default/my-controller"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := send(newTestModel(t, Options{Namespace: "default", Handover: noHandover}, 160, 48), events(groupFleet()...))
			send(m, tc.keys...)
			var names []string
			for _, r := range m.table.store.visible {
				names = append(names, r.name)
			}
			if fmt.Sprint(names) != fmt.Sprint(tc.names) {
				t.Errorf("rows %q, want %q", names, tc.names)
			}
			if tc.footer != "" && !strings.Contains(ansi.Strip(m.View()), tc.footer) {
				t.Errorf("footer lacks %q:\n%s", tc.footer, ansi.Strip(m.View()))
			}
			if m.ho.phase == handoverRunning {
				t.Errorf("a hand-over started")
			}
		})
	}
}

// TestGroupHolderCell: the holder cell cuts the owners to their tails,
// then to the first few, then drops the moves, then the unowned mark.
func TestGroupHolderCell(t *testing.T) {
	m := send(newTestModel(t, Options{Namespace: "default"}, 160, 48), events(groupFleet()...))
	g := groupRow(t, m).grp
	tests := []struct {
		w    int
		want string
	}{
		{130, podA + " 2 · " + podB + " 2 · " + podC + " 2 · " + podD + " 1  1 unowned  2 moves/5m"},
		{60, "…2xkqp 2 · …7hd9w 2 · …bq4zn 2 · +1  1 unowned  2 moves/5m"},
		{40, "…2xkqp 2 · +3  1 unowned  2 moves/5m"},
		{30, "…2xkqp 2 · +3  1 unowned"},
		{14, "…2xkqp 2 · +3"}, // the STATUS column still says unowned
		{6, "…2…p 2"},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprint(tc.w), func(t *testing.T) {
			plain, _ := m.groupHolderCell(g, tc.w)
			if cells(plain) != tc.w {
				t.Errorf("%q is %d cells, want %d", plain, cells(plain), tc.w)
			}
			if got := strings.TrimRight(plain, " "); got != tc.want {
				t.Errorf("cell %q, want %q", got, tc.want)
			}
		})
	}
}

// TestGroupDetailMembers: a member Lease past its duration reads expired,
// the others live, and a shard with no Lease yet is listed as such.
func TestGroupDetailMembers(t *testing.T) {
	evs := groupFleet()
	evs = append(evs, added(memberState("myapp", "myapp-5c8d7f9b4-zz9zz", 30*time.Second)))
	big := shardState("myapp", 9, 10, podA, 0, 0) // the group grew to 10: shard 8 has no Lease yet
	evs = append(evs, added(big))
	m := send(newTestModel(t, Options{Namespace: "default"}, 120, 60), events(evs...), press("j"), press("enter"))
	view := ansi.Strip(m.View())
	for _, want := range []string{
		"myapp-5c8d7f9b4-zz9zz  expired",
		"myapp-5c8d7f9b4-2xkqp  live",
		"8      -                      no Lease yet",
		"shards            10 (8 held, 2 unowned)",
	} {
		if !strings.Contains(view, want) {
			t.Errorf("detail lacks %q:\n%s", want, view)
		}
	}
}
