package tui

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/exp/golden"
	coordinationv1 "k8s.io/api/coordination/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/leader-elector/leader-elector/watch"
)

// incident is a recording of two clusters made by the real state machine
// and read back through the recording format: in prod-eu the scheduler's
// leader cp-1 stops renewing at +10s, its Lease expires at +25s and cp-2
// takes over at +27s; prod-us renews throughout. Recording starts at -1s.
func incident(t testing.TB) *watch.Recording {
	t.Helper()
	lease := func(holder string, acquired, renewed time.Duration, transitions int32) *coordinationv1.Lease {
		return &coordinationv1.Lease{
			ObjectMeta: metav1.ObjectMeta{Namespace: "kube-system", Name: "kube-scheduler"},
			Spec: coordinationv1.LeaseSpec{HolderIdentity: ptr.To(holder), LeaseDurationSeconds: ptr.To[int32](15),
				AcquireTime: &metav1.MicroTime{Time: t0.Add(acquired)}, RenewTime: &metav1.MicroTime{Time: t0.Add(renewed)},
				LeaseTransitions: ptr.To(transitions)},
		}
	}
	eu, us := watch.NewModel(0, 3, 5*time.Minute), watch.NewModel(0, 3, 5*time.Minute)
	var evs []watch.Event
	add := func(ctx string, more []watch.Event) { evs = append(evs, inContext(ctx, more...)...) }
	add("prod-eu", eu.Replace(nil, []*coordinationv1.Lease{lease("cp-1", -time.Hour, -time.Second, 4)}, t0))
	add("prod-eu", []watch.Event{{Type: watch.EventSynced, Time: t0}})
	add("prod-us", us.Replace(nil, []*coordinationv1.Lease{lease("us-cp-1", -2*time.Hour, -1500*time.Millisecond, 1)}, t0.Add(30*time.Millisecond)))
	add("prod-us", []watch.Event{{Type: watch.EventSynced, Time: t0.Add(30 * time.Millisecond)}})
	for s := 2 * time.Second; s <= 40*time.Second; s += 2 * time.Second {
		if s <= 10*time.Second {
			add("prod-eu", eu.Apply(nil, lease("cp-1", -time.Hour, s-50*time.Millisecond, 4), t0.Add(s)))
		}
		if s == 26*time.Second {
			add("prod-eu", eu.Expire(nil, t0.Add(25*time.Second)))
		}
		if s == 28*time.Second {
			add("prod-eu", eu.Apply(nil, lease("cp-2", 27*time.Second, 27*time.Second, 5), t0.Add(27*time.Second+80*time.Millisecond)))
		}
		if s > 28*time.Second {
			add("prod-eu", eu.Apply(nil, lease("cp-2", 27*time.Second, s-time.Second, 5), t0.Add(s-time.Second+60*time.Millisecond)))
		}
		add("prod-us", us.Apply(nil, lease("us-cp-1", -2*time.Hour, s+500*time.Millisecond, 1), t0.Add(s+550*time.Millisecond)))
	}
	var buf bytes.Buffer
	w, err := watch.NewRecorder(&buf, watch.RecordingHeader{Version: "test", Contexts: []string{"prod-eu", "prod-us"}, Namespace: "kube-system", Start: t0.Add(-time.Second)})
	if err != nil {
		t.Fatal(err)
	}
	for i := range evs {
		if err := w.Write(&evs[i]); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	rec, err := watch.ReadRecording(&buf)
	if err != nil || rec.Damage != nil {
		t.Fatalf("reading the recording back: %v %v", err, rec.Damage)
	}
	return rec
}

// replayModel is the dashboard replaying rec at speed 1.
func replayModel(t testing.TB, rec *watch.Recording, w, h int) *model {
	t.Helper()
	return newTestModel(t, Options{Namespace: rec.Header.Namespace, Contexts: rec.Contexts(),
		Replay: &Replay{Events: rec.Events, Start: rec.Header.Start, Speed: 1}}, w, h)
}

// wall is a replay frame at wall-clock offset d (any base will do: only
// the time between frames counts).
func wall(d time.Duration) replayTickMsg { return replayTickMsg(time.Unix(1e9, 0).Add(d)) }

func TestReplay(t *testing.T) {
	rec := incident(t)
	euRow := func(m *model) *row { return m.table.store.rows["prod-eu\x00kube-system/kube-scheduler"] }
	tests := []struct {
		name  string
		msgs  []tea.Msg
		at    time.Duration // replay clock, from t0
		check func(t *testing.T, m *model)
	}{{
		name: "it opens at the recording's start, before any event",
		at:   -time.Second,
		check: func(t *testing.T, m *model) {
			if len(m.table.store.rows) != 0 || m.links.conns[0].state != watch.ConnConnecting || m.replay.paused {
				t.Errorf("rows %d link %q paused %v, want 0, connecting, playing", len(m.table.store.rows), m.links.conns[0].state, m.replay.paused)
			}
		},
	}, {
		name: "frames move the clock by wall time times speed",
		msgs: []tea.Msg{wall(0), wall(time.Second), press("+"), wall(3 * time.Second)},
		at:   4 * time.Second,
		check: func(t *testing.T, m *model) {
			if len(m.table.store.rows) != 2 || m.links.conns[0].state != watch.ConnConnected || m.links.conns[1].state != watch.ConnConnected || m.replay.speed != 2 {
				t.Errorf("rows %d links %q %q speed %v, want 2 rows, both connected, x2", len(m.table.store.rows), m.links.conns[0].state, m.links.conns[1].state, m.replay.speed)
			}
		},
	}, {
		name: "paused, frames do not move it",
		msgs: []tea.Msg{wall(0), wall(time.Second), press("p"), wall(30 * time.Second)},
		at:   0,
	}, {
		name: "step applies the next recorded instant and pauses",
		msgs: []tea.Msg{press("."), press(".")},
		at:   30 * time.Millisecond,
		check: func(t *testing.T, m *model) {
			if !m.replay.paused || len(m.table.store.rows) != 2 {
				t.Errorf("paused %v rows %d, want paused with both contexts' Lease", m.replay.paused, len(m.table.store.rows))
			}
		},
	}, {
		name: "t seeks to the next transition and pauses there",
		msgs: []tea.Msg{press("t")},
		at:   27*time.Second + 80*time.Millisecond,
		check: func(t *testing.T, m *model) {
			if len(m.trans.list) != 1 || m.trans.list[0].to != "cp-2" || !m.replay.paused {
				t.Errorf("transitions %+v paused %v, want cp-1 -> cp-2, paused", m.trans.list, m.replay.paused)
			}
		},
	}, {
		name: "seeking back replays the recording up to the new instant",
		msgs: []tea.Msg{press("t"), press("left")},
		at:   17*time.Second + 80*time.Millisecond,
		check: func(t *testing.T, m *model) {
			r := euRow(m)
			if len(m.trans.list) != 0 || r == nil || r.lease.Holder != "cp-1" || badgeOf(&r.lease, m.now) != badgeHeld {
				t.Errorf("transitions %d row %+v, want cp-1 still holding", len(m.trans.list), r)
			}
		},
	}, {
		name: "expiry is judged on the recording's clock",
		msgs: []tea.Msg{press("t"), press("left"), press("right"), press("left"), press("p"), wall(0), wall(8 * time.Second)},
		at:   25*time.Second + 80*time.Millisecond,
		check: func(t *testing.T, m *model) {
			if r := euRow(m); r == nil || badgeOf(&r.lease, m.now) != badgeExpired {
				t.Errorf("row %+v, want expired 15 s after cp-1's last renewal at +10s", r)
			}
		},
	}, {
		name: "a minute on, then the start and the end",
		msgs: []tea.Msg{press("]"), press("b")},
		at:   -time.Second,
		check: func(t *testing.T, m *model) {
			if len(m.table.store.rows) != 0 {
				t.Errorf("%d rows at the start", len(m.table.store.rows))
			}
		},
	}, {
		name: "the end is the last recorded instant",
		msgs: []tea.Msg{press("e"), wall(0), wall(time.Minute)},
		at:   40*time.Second + 550*time.Millisecond,
		check: func(t *testing.T, m *model) {
			if !m.replay.done() || !strings.Contains(ansi.Strip(m.View()), "■ end") {
				t.Errorf("done %v, want the end shown", m.replay.done())
			}
		},
	}, {
		name: "at speed 0 each frame is the next recorded instant",
		msgs: []tea.Msg{wall(0), wall(time.Millisecond), wall(2 * time.Millisecond)},
		at:   2 * time.Second, // +0, +30ms (prod-us), +2s
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := replayModel(t, rec, 120, 30)
			if tc.name == "at speed 0 each frame is the next recorded instant" {
				m.replay.speed = 0
			}
			send(m, tc.msgs...)
			if want := t0.Add(tc.at); !m.now.Equal(want) || !m.replay.at.Equal(want) {
				t.Errorf("replay clock %s (model %s), want %s", m.replay.at.Format(time.StampMilli), m.now.Format(time.StampMilli), want.Format(time.StampMilli))
			}
			if tc.check != nil {
				tc.check(t, m)
			}
		})
	}
}

// TestReplaySeekEqualsPlay: wherever the replay is sought, the screen is
// the one playing the recording up to there gives.
func TestReplaySeekEqualsPlay(t *testing.T) {
	rec := incident(t)
	for _, d := range []time.Duration{0, 9 * time.Second, 25*time.Second + 80*time.Millisecond, 31 * time.Second} {
		played := replayModel(t, rec, 120, 30)
		send(played, press("p"), wall(0))
		played.replay.paused = false
		send(played, wall(d+time.Second)) // from -1s
		sought := replayModel(t, rec, 120, 30)
		send(sought, press("e"), press("b"))
		sought.seek(t0.Add(d))
		if a, b := ansi.Strip(played.View()), ansi.Strip(sought.View()); a != b {
			t.Errorf("at %s, played:\n%s\nsought:\n%s", d, a, b)
		}
	}
}

// TestGoldenReplay: the replayed dashboard at the moment of the handover
// (after t), and at the end of a recording cut short.
func TestGoldenReplay(t *testing.T) {
	rec := incident(t)
	damaged := *rec
	damaged.Events = rec.Events[:len(rec.Events)/2]
	states := []struct {
		name string
		rec  *watch.Recording
		msgs []tea.Msg
	}{
		{"at the handover", rec, []tea.Msg{press("t")}},
		{"playing at x4", rec, []tea.Msg{wall(0), press("+"), press("+"), wall(3 * time.Second)}},
		{"help", rec, []tea.Msg{press("?")}},
		{"end of a damaged recording", &damaged, []tea.Msg{press("e")}},
	}
	for _, st := range states {
		for _, size := range goldenSizes {
			t.Run(fmt.Sprintf("%s/%dx%d", st.name, size.w, size.h), func(t *testing.T) {
				m := replayModel(t, st.rec, size.w, size.h)
				if st.rec == &damaged {
					m.replay.damage = "the recording is damaged at line 58 (cut short): the replay stops there"
				}
				send(m, st.msgs...)
				view := m.View()
				checkFrame(t, view, size.w, size.h)
				golden.RequireEqual(t, []byte(ansi.Strip(view)))
			})
		}
	}
}
