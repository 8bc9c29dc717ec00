// Package simq is the event queue of the deterministic simulations (of one
// Lease in package elect, of a shard group in elect/shards): events run in
// the order of their true time, and at equal times in the order they were
// first scheduled, so a seed replays exactly.
package simq

import (
	"container/heap"
	"hash"
	"hash/fnv"
	"strings"
	"time"
)

// Queue holds events carrying a V each.
type Queue[V any] struct {
	items items[V]
	seq   uint64
}

// Item is one scheduled event.
type Item[V any] struct {
	At  time.Duration
	V   V
	seq uint64
}

// Push schedules v at at.
func (q *Queue[V]) Push(at time.Duration, v V) {
	q.seq++
	heap.Push(&q.items, &Item[V]{At: at, V: v, seq: q.seq})
}

// Len is the number of events scheduled.
func (q *Queue[V]) Len() int { return len(q.items) }

// Pop takes the next event.
func (q *Queue[V]) Pop() *Item[V] { return heap.Pop(&q.items).(*Item[V]) }

// Defer puts it back for until when it is due before then (its replica is
// paused, say), keeping its first place among the events of that time, and
// reports whether it did.
func (q *Queue[V]) Defer(it *Item[V], until time.Duration) bool {
	if it.At >= until {
		return false
	}
	it.At = until
	heap.Push(&q.items, it)
	return true
}

type items[V any] []*Item[V]

func (s items[V]) Len() int { return len(s) }
func (s items[V]) Less(i, j int) bool {
	if s[i].At != s[j].At {
		return s[i].At < s[j].At
	}
	return s[i].seq < s[j].seq
}
func (s items[V]) Swap(i, j int) { s[i], s[j] = s[j], s[i] }
func (s *items[V]) Push(x any)   { *s = append(*s, x.(*Item[V])) }
func (s *items[V]) Pop() any {
	old := *s
	it := old[len(old)-1]
	*s = old[:len(old)-1]
	return it
}

// Clock is a simulated replica's monotonic clock: it reads Offset at true
// time 0 and runs at Rate against true time, so no two replicas agree.
type Clock struct {
	Offset time.Duration
	Rate   float64
}

// Mono is what the clock reads at true time t.
func (c Clock) Mono(t time.Duration) time.Duration {
	return c.Offset + time.Duration(float64(t)*c.Rate)
}

// TrueAt is the first true time (to the nanosecond, rounded up) at which
// the clock has reached mono.
func (c Clock) TrueAt(mono time.Duration) time.Duration {
	return time.Duration(float64(mono-c.Offset)/c.Rate) + 1
}

// TrueDur is how long d on the clock lasts in true time.
func (c Clock) TrueDur(d time.Duration) time.Duration {
	return time.Duration(float64(d) / c.Rate)
}

// Trace keeps a run's last Keep lines, for the report of a violation, and
// a digest of every line: the same seed must give the same digest, so a
// change that claims not to alter what a simulation does can show it.
type Trace struct {
	Keep   int
	lines  []string
	next   int
	digest hash.Hash64
}

// Add records one line.
func (t *Trace) Add(line string) {
	if t.digest == nil {
		t.digest = fnv.New64a()
	}
	t.digest.Write([]byte(line))
	if len(t.lines) < t.Keep {
		t.lines = append(t.lines, line)
		return
	}
	if t.Keep > 0 {
		t.lines[t.next] = line
		t.next = (t.next + 1) % t.Keep
	}
}

// Text is the lines kept, oldest first, each ending in a newline.
func (t *Trace) Text() string {
	var b strings.Builder
	for i := range t.lines {
		b.WriteString(t.lines[(t.next+i)%len(t.lines)])
		b.WriteByte('\n')
	}
	return b.String()
}

// Sum is the digest of every line added, in order.
func (t *Trace) Sum() []byte {
	if t.digest == nil {
		t.digest = fnv.New64a()
	}
	return t.digest.Sum(nil)
}
