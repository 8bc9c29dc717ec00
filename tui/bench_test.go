package tui

import (
	"fmt"
	"testing"
	"time"

	"github.com/leader-elector/leader-elector/watch"
)

// benchLeases is n held Leases over 50 namespaces, as on a big cluster.
func benchLeases(n int) []watch.LeaseState {
	ls := make([]watch.LeaseState, n)
	for i := range ls {
		ls[i] = held(fmt.Sprintf("team-%02d", i%50), fmt.Sprintf("controller-%05d", i),
			fmt.Sprintf("controller-%05d-7d9f8b6c4-x2x9k", i), time.Hour, time.Duration(i%2000)*time.Millisecond, int32(i%9))
	}
	return ls
}

// benchModel is a 5,000-row model at w x h, sorted by sortBy.
func benchModel(b *testing.B, w, h int, by sortKey) (*model, []watch.LeaseState) {
	m := newTestModel(b, Options{AllNamespaces: true}, w, h)
	ls := benchLeases(5000)
	evs := make([]watch.Event, len(ls))
	for i := range ls {
		evs[i] = added(ls[i])
	}
	evs = append(evs, watch.Event{Type: watch.EventSynced, Time: t0})
	m.table.sortBy = by
	m.Update(eventsMsg{events: evs})
	if len(m.table.store.visible) != 5000 {
		b.Fatalf("%d rows, want 5000", len(m.table.store.visible))
	}
	return m, ls
}

// BenchmarkUpdate is one renewal event into a 5,000-row model, alone in
// its batch (the worst case: batching spreads the re-sort a renewal costs
// under the orders that depend on renewals over the whole batch).
func BenchmarkUpdate(b *testing.B) {
	for _, bc := range []struct {
		name  string
		by    sortKey
		batch int
	}{
		{"sort=name", sortName, 1},
		{"sort=renewed", sortRenewed, 1},
		{"sort=renewed/batch=50", sortRenewed, 50},
	} {
		b.Run(bc.name, func(b *testing.B) {
			m, ls := benchModel(b, 160, 48, bc.by)
			batch := make([]watch.Event, bc.batch)
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				for j := range batch {
					l := &ls[i%len(ls)]
					now := t0.Add(time.Duration(i) * time.Millisecond)
					l.RenewTime, l.Observed, l.ExpiresAt = now, now, now.Add(15*time.Second)
					l.Renewals[len(l.Renewals)-1] = now // in place: the generator must not allocate
					batch[j] = watch.Event{Type: watch.EventRenewed, Time: now, Lease: *l}
					i++
				}
				m.Update(eventsMsg{events: batch})
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(i), "ns/event")
		})
	}
}

// BenchmarkView renders a frame of a 5,000-row model at 160x48.
func BenchmarkView(b *testing.B) {
	for _, bc := range []struct {
		name string
		w, h int
	}{{"160x48", 160, 48}, {"80x24", 80, 24}} {
		b.Run(bc.name, func(b *testing.B) {
			m, _ := benchModel(b, bc.w, bc.h, sortName)
			m.Update(tickMsg(at(time.Second)))
			b.ReportAllocs()
			for b.Loop() {
				_ = m.View()
			}
		})
	}
}

// BenchmarkInert is the cost per API string on the path every update takes
// (a plain name is the common case; a hostile one is the worst).
func BenchmarkInert(b *testing.B) {
	for _, bc := range []struct{ name, s string }{
		{"plain", "controller-00042-7d9f8b6c4-x2x9k"},
		{"hostile", "pwn\x1b]0;owned\x07\x1b[31mred\u202eexe"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				_ = Inert(bc.s)
			}
		})
	}
}

// BenchmarkTick is a frame tick on a 5,000-row model: the clock moves,
// every row's badge is judged again (time alone expires Leases).
func BenchmarkTick(b *testing.B) {
	m, _ := benchModel(b, 160, 48, sortName)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		m.Update(tickMsg(t0.Add(time.Duration(i) * time.Millisecond)))
	}
}

// BenchmarkUpdateGroup is one renewal of a shard of a 64-shard group over
// 8 replicas, in a 5,000-row model: the group's row is summed up again.
func BenchmarkUpdateGroup(b *testing.B) {
	m, _ := benchModel(b, 160, 48, sortName)
	const shards = 64
	ls := make([]watch.LeaseState, shards)
	evs := make([]watch.Event, shards)
	for i := range ls {
		ls[i] = shardState("bench", i, shards, fmt.Sprintf("bench-7d9f8b6c4-%05d", i%8), 0, 0)
		evs[i] = added(ls[i])
	}
	m.Update(eventsMsg{events: evs})
	batch := make([]watch.Event, 1)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		l := &ls[i%shards]
		now := t0.Add(time.Duration(i) * time.Millisecond)
		l.RenewTime, l.Observed, l.ExpiresAt = now, now, now.Add(15*time.Second)
		batch[0] = watch.Event{Type: watch.EventRenewed, Time: now, Lease: *l}
		m.Update(eventsMsg{events: batch})
		i++
	}
}
