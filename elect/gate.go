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
// visible. Ending a term takes the lock only to mark the term over, so a
// write that passed its check has finished its rename before the removal
// runs, and one that has not will see the term over and not show anything.
//
// The loop opens and extends terms without the lock (an atomic window): a
// rename or fork that stalls inside the gate must not stall the loop, which
// has deadlines to keep.
type termGate struct {
	now func() time.Duration // the driver's monotonic clock

	open atomic.Pointer[window] // the current term and its deadline (nil: none)

	mu    sync.Mutex // held across a reveal, and to end a term
	ended map[uint64]bool
}

// window is an open term and its deadline.
type window struct {
	term  uint64
	until time.Duration
}

func newTermGate(now func() time.Duration) *termGate {
	return &termGate{now: now, ended: map[uint64]bool{}}
}

// begin opens term until its deadline.
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

// end closes term: nothing of it may become visible any more. It waits for
// a reveal of the term under way.
func (g *termGate) end(term uint64) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.ended[term] = true
	if w := g.open.Load(); w != nil && w.term == term {
		g.open.CompareAndSwap(w, nil)
	}
}

// left reports whether term is open and how long until its deadline; the
// caller holds mu.
func (g *termGate) left(term uint64) (time.Duration, bool) {
	w := g.open.Load()
	if w == nil || w.term != term || g.ended[term] {
		return 0, false
	}
	left := w.until - g.now()
	return left, left > 0
}

// remaining reports whether term is open and how long until its deadline.
// For what a request makes visible (the leader label): a request is not
// quick enough to hold the lock over, so it is checked here first and
// bounded by the time left instead.
func (g *termGate) remaining(term uint64) (time.Duration, bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.left(term)
}

// show runs reveal if term is open and before its deadline, and reports
// whether it ran. reveal must be quick (a rename, a fork/exec).
func (g *termGate) show(term uint64, reveal func() error) (shown bool, err error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if _, ok := g.left(term); !ok {
		return false, nil
	}
	return true, reveal()
}
