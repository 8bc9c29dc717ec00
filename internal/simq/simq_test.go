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
