package simq

import (
	"slices"
	"testing"
	"time"
)

func TestOrder(t *testing.T) {
	var q Queue[string]
	q.Push(2*time.Second, "b1")
	q.Push(time.Second, "a")
	q.Push(2*time.Second, "b2")
	q.Push(3*time.Second, "c")
	var got []string
	for q.Len() > 0 {
		it := q.Pop()
		// "a" is paused until 2s: it runs there, after b1, scheduled
		// before it, and before b2, scheduled after it.
		if q.Defer(it, 2*time.Second) {
			continue
		}
		got = append(got, it.V)
	}
	if want := []string{"b1", "a", "b2", "c"}; !slices.Equal(got, want) {
		t.Errorf("order %v, want %v", got, want)
	}
}

func TestTraceKeepsTheLastLinesAndDigestsAll(t *testing.T) {
	a, b := Trace{Keep: 2}, Trace{Keep: 5}
	for _, l := range []string{"one", "two", "three"} {
		a.Add(l)
		b.Add(l)
	}
	if got := a.Text(); got != "two\nthree\n" {
		t.Errorf("kept %q, want the last two lines", got)
	}
	if !slices.Equal(a.Sum(), b.Sum()) {
		t.Error("the same lines gave different digests")
	}
	b.Add("four")
	if slices.Equal(a.Sum(), b.Sum()) {
		t.Error("another line left the digest as it was")
	}
}
