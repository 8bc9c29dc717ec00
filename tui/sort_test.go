package tui

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/leader-elector/leader-elector/watch"
)

// TestIncrementalOrderMatchesFullSort drives a model with random renewals,
// handovers, releases, deletions, ticks, sort and filter changes, and after
// every message checks the table against a from-scratch rebuild: the same
// rows, in the order a full sort gives. The incremental merge must never
// drift from it.
func TestIncrementalOrderMatchesFullSort(t *testing.T) {
	for seed := range uint64(20) {
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			rnd := rand.New(rand.NewPCG(seed, 1))
			m := newTestModel(t, Options{AllNamespaces: true}, 120, 40)
			ls := benchLeases(300)
			for i := range ls {
				if i%10 == 0 {
					ls[i].Namespace = watch.NodeLeaseNamespace
				}
			}
			evs := make([]watch.Event, len(ls))
			for i := range ls {
				evs[i] = added(ls[i])
			}
			m.Update(events(evs...))
			now := t0
			for step := range 400 {
				var msg tea.Msg
				switch k := rnd.IntN(100); {
				case k < 3:
					msg = press("s")
				case k < 5:
					msg = press("n")
				case k < 7:
					f := []string{"", "team-0", "x2x9k", "controller-001"}[rnd.IntN(4)]
					send(m, press("/"))
					for range len(m.filter.text) {
						send(m, press("backspace"))
					}
					for _, r := range f {
						send(m, press(string(r)))
					}
					msg = press("enter")
				case k < 20:
					now = now.Add(time.Duration(rnd.IntN(3000)) * time.Millisecond)
					msg = tickMsg(now)
				default:
					var batch []watch.Event
					for range 1 + rnd.IntN(20) {
						i := rnd.IntN(len(ls))
						l := &ls[i]
						ev := watch.Event{Time: now, Type: watch.EventRenewed}
						switch r := rnd.IntN(20); {
						case r == 0:
							ev.Type, ev.From = watch.EventTransition, l.Holder
							l.Holder = fmt.Sprintf("pod-%d", rnd.IntN(1000))
							l.Transitions++
						case r == 1:
							ev.Type, ev.From = watch.EventReleased, l.Holder
							l.Holder, l.Status = "", watch.StatusReleased
						case r == 2:
							ev.Type = watch.EventDeleted
						}
						l.RenewTime = now.Add(-time.Duration(rnd.IntN(20000)) * time.Millisecond)
						l.ExpiresAt = l.RenewTime.Add(15 * time.Second)
						if l.Holder != "" {
							l.Status = watch.StatusHeld
						}
						ev.Lease = *l
						batch = append(batch, ev)
					}
					msg = events(batch...)
				}
				m.Update(msg)
				checkOrder(t, m, step)
				if t.Failed() {
					return
				}
			}
		})
	}
}

// checkOrder compares the table with a rebuild from scratch.
func checkOrder(t *testing.T, m *model, step int) {
	t.Helper()
	var want []*row
	needle := strings.ToLower(m.filter.text)
	for _, r := range m.table.store.rows {
		if m.table.hideNodeLeases() && r.node || needle != "" && !strings.Contains(r.lowerKey, needle) {
			continue
		}
		want = append(want, r)
	}
	slices.SortFunc(want, m.table.rowOrder())
	got := m.table.store.visible
	if len(got) != len(want) {
		t.Fatalf("step %d (sort %v, filter %q): %d rows, want %d", step, m.table.sortBy, m.filter.text, len(got), len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("step %d (sort %v): row %d is %s, want %s", step, m.table.sortBy, i, got[i].key, want[i].key)
		}
	}
	if len(m.table.store.moved) != 0 {
		t.Fatalf("step %d: %d rows still marked moved after refresh", step, len(m.table.store.moved))
	}
}
