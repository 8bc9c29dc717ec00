package watch

import "container/heap"

// deadlineHeap orders entries by their next deadline: one timer serves every
// Lease (no goroutine or timer per Lease), and a renewal is an O(log n) fix.
type deadlineHeap []*entry

func (h deadlineHeap) Len() int           { return len(h) }
func (h deadlineHeap) Less(i, j int) bool { return h[i].deadline.Before(h[j].deadline) }
func (h deadlineHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].heapIdx, h[j].heapIdx = i, j
}

func (h *deadlineHeap) Push(x any) {
	e := x.(*entry)
	e.heapIdx = len(*h)
	*h = append(*h, e)
}

func (h *deadlineHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	e.heapIdx = -1
	return e
}

// set places e according to e.deadline: removed when zero, else inserted
// or moved.
func (h *deadlineHeap) set(e *entry) {
	switch {
	case e.deadline.IsZero():
		if e.heapIdx >= 0 {
			heap.Remove(h, e.heapIdx)
		}
	case e.heapIdx >= 0:
		heap.Fix(h, e.heapIdx)
	default:
		heap.Push(h, e)
	}
}
