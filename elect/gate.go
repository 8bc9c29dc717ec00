package elect

import (
	"sync"
	"time"
)

// termGate is the one lock between slow I/O that makes a term visible (the
// status file's rename, the child's start) and the deadline that ends it.
// Slow work (writing and syncing the file, looking up the command) happens
// outside it; inside it only a check and the one step that makes the term
// visible. Ending a term takes it only to mark the term over, so a write
// that passed its check has finished its rename before the removal runs,
// and one that has not will see the term over and not show anything.
type termGate struct {
	now func() time.Duration // the driver's monotonic clock

	mu    sync.Mutex
	term  uint64        // the current term (0: none)
	until time.Duration // its deadline
	ended map[uint64]bool
}

func newTermGate(now func() time.Duration) *termGate {
	return &termGate{now: now, ended: map[uint64]bool{}}
}

// begin opens term until its deadline.
func (g *termGate) begin(term uint64, until time.Duration) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.term, g.until = term, until
}

// extend moves term's deadline after a renewal.
func (g *termGate) extend(term uint64, until time.Duration) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.term == term && until > g.until {
		g.until = until
	}
}

// end closes term: nothing of it may become visible any more.
func (g *termGate) end(term uint64) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.ended[term] = true
	if g.term == term {
		g.term = 0
	}
}

// remaining reports whether term is open and how long until its deadline.
// For what a request makes visible (the leader label): a request is not
// quick enough to hold the lock over (ExtendTerm takes it on the driver's
// loop), so it is checked here first and bounded by the time left instead.
func (g *termGate) remaining(term uint64) (time.Duration, bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	left := g.until - g.now()
	if g.term != term || g.ended[term] || left <= 0 {
		return 0, false
	}
	return left, true
}

// show runs reveal if term is open and before its deadline, and reports
// whether it ran. reveal must be quick (a rename, a fork/exec).
func (g *termGate) show(term uint64, reveal func() error) (shown bool, err error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.term != term || g.ended[term] || g.now() >= g.until {
		return false, nil
	}
	return true, reveal()
}
