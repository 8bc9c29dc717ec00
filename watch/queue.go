package watch

import (
	"context"
	"sync"
)

// queue sits between the producers (the Lease watch, the Pod and
// LeaseCandidate informers, the expiry timer) and the Events channel, so a
// slow receiver never blocks them. While the receiver keeps up, a pushed
// event goes straight into the channel, with no hand-off to the forwarding
// goroutine: at hundreds of events a second each hand-off's thread wake-up
// costs more than the event's own work.
// Backpressure: events wait here, unbounded but bounded in practice, because
// a renewed event whose Lease already has a renewed event waiting replaces
// it in place (the newer one carries the latest state; Coalesced counts the
// merged ones). Every other event is kept in order. So while the receiver
// is behind, the queue holds at most one renewal per Lease plus the rarer
// state changes, and the latest state of every Lease is always delivered.
type queue struct {
	context string       // stamped on every event as it leaves
	out     chan<- Event // nil: every event waits for forward
	mu      sync.Mutex
	pending []Event
	renewed map[string]int // lease key -> index in pending of its renewed event
	wake    chan struct{}  // capacity 1: "pending is not empty"
	spare   []Event
	// busy: forward holds a batch it has not sent in full, so a pushed
	// event must wait behind it, as must any event while pending is not
	// empty. closed: out is closed.
	busy, closed bool
}

func newQueue(context string, out chan<- Event) *queue {
	return &queue{context: context, out: out, renewed: make(map[string]int), wake: make(chan struct{}, 1)}
}

// push enqueues evs; it never blocks.
func (q *queue) push(evs ...Event) {
	if len(evs) == 0 {
		return
	}
	q.mu.Lock()
	for i := range evs {
		ev := &evs[i]
		if len(q.pending) == 0 && !q.busy && !q.closed {
			// Everything pushed before is in out already: the receiver
			// gets this one in order, at once if it has room.
			if q.context != "" {
				ev.Context = q.context
			}
			select {
			case q.out <- *ev:
				continue
			default:
			}
		}
		key := ""
		if ev.Lease.Name != "" {
			key = ev.Lease.Key()
		}
		if ev.Type == EventRenewed {
			if j, ok := q.renewed[key]; ok {
				ev.Coalesced = q.pending[j].Coalesced + 1
				q.pending[j] = *ev
				continue
			}
			q.renewed[key] = len(q.pending)
		} else if key != "" {
			// A later renewal must not jump ahead of this event.
			delete(q.renewed, key)
		}
		q.pending = append(q.pending, *ev)
	}
	waiting := len(q.pending) > 0
	q.mu.Unlock()
	if waiting {
		select {
		case q.wake <- struct{}{}:
		default:
		}
	}
}

// take returns everything pending, oldest first, and marks the queue busy
// until a take finds nothing. The slice is valid until the next take.
func (q *queue) take() []Event {
	q.mu.Lock()
	defer q.mu.Unlock()
	batch := q.pending
	q.busy = len(batch) > 0
	q.pending = q.spare[:0]
	if cap(q.pending) > maxReusedBatch {
		// A burst (the initial list) grew it: let it go rather than keep
		// thousands of states' worth of memory for the rest of the run.
		q.pending = nil
	}
	q.spare = batch
	clear(q.renewed)
	return batch
}

// maxReusedBatch bounds the capacity of the pending slice kept for reuse.
const maxReusedBatch = 1024

// forward sends queued events on out until ctx is done and then, after
// done is closed, drains what is left and closes out.
func (q *queue) forward(ctx context.Context, done <-chan struct{}) {
	out := q.out
	defer func() {
		q.mu.Lock()
		defer q.mu.Unlock()
		q.closed = true
		close(out)
	}()
	for {
		batch := q.take()
		for i := range batch {
			if q.context != "" {
				batch[i].Context = q.context
			}
			select {
			case out <- batch[i]:
			case <-ctx.Done():
				return
			}
			batch[i] = Event{} // let the states it held be collected
		}
		if len(batch) > 0 {
			continue
		}
		select {
		case <-q.wake:
		case <-done:
			if q.empty() {
				return
			}
		case <-ctx.Done():
			return
		}
	}
}

func (q *queue) empty() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.pending) == 0
}
