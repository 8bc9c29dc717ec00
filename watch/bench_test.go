package watch

import (
	"fmt"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

const benchLeases = 5000

// benchModel returns a model holding benchLeases node-like Leases and the
// Lease objects, so each iteration only moves a renewTime.
func benchModel(b *testing.B) (*Model, []*coordinationv1.Lease) {
	m := NewModel(0, 3, 5*time.Minute)
	leases := make([]*coordinationv1.Lease, benchLeases)
	for i := range leases {
		leases[i] = lease("kube-node-lease", fmt.Sprintf("node-%05d", i), fmt.Sprintf("node-%05d", i), t0, t0, 40)
		leases[i].ResourceVersion = "1"
		m.Apply(nil, leases[i], t0)
	}
	return m, leases
}

// renew moves Lease i's renewTime to our clock step n (10 ms apart).
func renew(l *coordinationv1.Lease, n int) time.Time {
	now := t0.Add(time.Duration(n) * 10 * time.Millisecond)
	l.Spec.RenewTime = &metav1.MicroTime{Time: now}
	return now
}

// BenchmarkModelRenewal: the state machine alone, per renewal.
func BenchmarkModelRenewal(b *testing.B) {
	m, leases := benchModel(b)
	var evs []Event
	b.ReportAllocs()
	b.ResetTimer()
	for n := range b.N {
		l := leases[n%benchLeases]
		now := renew(l, n+1)
		evs = m.Apply(evs[:0], l, now)
	}
}

// BenchmarkAppendJSON: encoding one renewed event.
func BenchmarkAppendJSON(b *testing.B) {
	m, leases := benchModel(b)
	now := renew(leases[0], 1)
	ev := m.Apply(nil, leases[0], now)[0]
	buf := make([]byte, 0, 1024)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		buf = ev.AppendJSON(buf[:0])
	}
	b.SetBytes(int64(len(buf)))
}

// BenchmarkPerUpdate: the whole per-update path of `watch -o json` after
// decoding: state machine, queue, channel hand-off and JSON line.
func BenchmarkPerUpdate(b *testing.B) {
	m, leases := benchModel(b)
	q := newQueue("", nil)
	var evs []Event
	buf := make([]byte, 0, 1024)
	b.ReportAllocs()
	b.ResetTimer()
	for n := range b.N {
		l := leases[n%benchLeases]
		now := renew(l, n+1)
		evs = m.Apply(evs[:0], l, now)
		q.push(evs...)
		for _, ev := range q.take() {
			buf = append(ev.AppendJSON(buf[:0]), '\n')
		}
	}
}

// BenchmarkExpire: the timer's pass when nothing is due (its common case).
func BenchmarkExpire(b *testing.B) {
	m, _ := benchModel(b)
	var evs []Event
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		evs = m.Expire(evs[:0], t0)
	}
}

// BenchmarkModelRenewalShard: a renewal of a shard group's Lease, whose
// group is read from its labels only when they change.
func BenchmarkModelRenewalShard(b *testing.B) {
	m := NewModel(0, 3, 5*time.Minute)
	leases := make([]*coordinationv1.Lease, 64)
	for i := range leases {
		leases[i] = shardLease("myapp", i, len(leases), fmt.Sprintf("pod-%d", i%4), t0)
		leases[i].ResourceVersion = "1"
		m.Apply(nil, leases[i], t0)
	}
	var evs []Event
	b.ReportAllocs()
	b.ResetTimer()
	for n := range b.N {
		l := leases[n%len(leases)]
		now := renew(l, n+1)
		evs = m.Apply(evs[:0], l, now)
	}
}
