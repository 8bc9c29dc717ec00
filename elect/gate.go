package elect

import (
	"sync"
	"sync/atomic"
	"time"
)

// termGate is the one lock between slow I/O that makes a term visible (the
// status file's rename, the child's start) and the deadline that ends it.
// Slow work (writing and syncing the file, looking up the command) happens
// outside it; inside it only a check and the one step that makes the term
// visible.
//
// The loop opens, extends and closes terms without waiting (an atomic
// window): a rename or fork that stalls inside the gate must not stall the
// loop, which has deadlines to keep, and a term is closed the moment the
// machine ends it, not when a task gets round to it. A task that then
// removes what the term showed first calls end, which waits for a reveal
// under way: so the removal comes after the rename it must undo.
type termGate struct {
	now func() time.Duration // the driver's monotonic clock

	open atomic.Pointer[window] // the current term and its deadline (nil: none)
	mu   sync.Mutex             // held across a reveal
}

// window is an open term and its deadline.
type window struct {
	term  uint64
	until time.Duration
}

func newTermGate(now func() time.Duration) *termGate {
	return &termGate{now: now}
}

// begin opens term until its deadline. Terms only grow, so a closed term
// never opens again.
func (g *termGate) begin(term uint64, until time.Duration) {
	g.open.Store(&window{term: term, until: until})
}

// extend moves term's deadline after a renewal.
func (g *termGate) extend(term uint64, until time.Duration) {
	for {
		w := g.open.Load()
		if w == nil || w.term != term || until <= w.until {
			return
		}
		if g.open.CompareAndSwap(w, &window{term: term, until: until}) {
			return
		}
	}
}

// close closes term at once: nothing of it may become visible any more.
func (g *termGate) close(term uint64) {
	for {
		w := g.open.Load()
		if w == nil || w.term != term || g.open.CompareAndSwap(w, nil) {
			return
		}
	}
}

// end closes term and waits for a reveal of it under way to finish.
func (g *termGate) end(term uint64) {
	g.close(term)
	g.mu.Lock()
	defer g.mu.Unlock()
}

// remaining reports whether term is open and how long until its deadline.
// For what a request makes visible (the leader label): a request is not
// quick enough to hold the lock over, so it is checked here first and
// bounded by the time left instead.
func (g *termGate) remaining(term uint64) (time.Duration, bool) {
	w := g.open.Load()
	if w == nil || w.term != term {
		return 0, false
	}
	left := w.until - g.now()
	return left, left > 0
}

// show runs reveal if term is open and before its deadline, and reports
// whether it ran. reveal must be quick (a rename, a fork/exec).
func (g *termGate) show(term uint64, reveal func() error) (shown bool, err error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if _, ok := g.remaining(term); !ok {
		return false, nil
	}
	return true, reveal()
}
