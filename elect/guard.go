package elect

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sync"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	rl "k8s.io/client-go/tools/leaderelection/resourcelock"
	"k8s.io/utils/clock"
)

// otherProcessSuffix marks, for client-go's eyes only, a record held under
// our identity that this process did not write.
const otherProcessSuffix = " (another process)"

// writtenMemory is how many of our own writes guardLock remembers. A write
// whose response was lost may still show up on a later Get, so every write
// attempted is remembered, not only the successful ones.
const writtenMemory = 16

// guardLock decorates the inner lock (client-go's LeaseLock or the fast
// lock) for the elector. It
//   - takes the start time of every successful acquiring or renewing write
//     on the monotonic clock and hands it to the owner, whose deadline
//     timer is measured from it;
//   - ends the term (status file removed, child stopped) before a release
//     is sent, and refuses to release a Lease that is no longer ours;
//   - tells apart records this process wrote from records written under
//     the same identity by someone else (a restarted container's dead
//     predecessor, or a live twin with the same hostname): those are shown
//     to client-go under another holder name, so it only takes the Lease
//     after it expires by observation, and a live twin is reported.
//
// client-go calls the lock from one goroutine; the mutex only guards
// against the endpoints reading state.
type guardLock struct {
	inner     rl.Interface
	clock     clock.PassiveClock
	log       *slog.Logger
	owner     *termOwner
	collision func(rec rl.LeaderElectionRecord, loud bool) // reports a live twin: metric always, Event when loud
	renewFail func()
	renewed   func() // a renewal succeeded (metrics)

	mu        sync.Mutex
	written   [writtenMemory]recordKey
	next      int
	lastGet   *rl.LeaderElectionRecord // the last record Get returned, undisguised
	lastMine  bool                     // whether lastGet was written by us
	foreign   recordKey                // the last record under our identity not written by us
	collided  bool
	lastAlarm time.Time

	// acquired maps the acquire time client-go stamped on our last
	// acquisition to the one we wrote instead (see stamp).
	acquired [2]metav1.Time
}

// recordKey identifies one write: its holder and timestamps at the
// microsecond precision the API server keeps.
type recordKey struct {
	holder      string
	renew       int64
	acquire     int64
	transitions int
}

func keyOf(r rl.LeaderElectionRecord) recordKey {
	return recordKey{r.HolderIdentity, r.RenewTime.Time.UnixMicro(), r.AcquireTime.Time.UnixMicro(), r.LeaderTransitions}
}

var _ rl.Interface = (*guardLock)(nil)

// Get reads the record and shows client-go a record held under our identity
// by another process as held by "<identity> (another process)".
func (g *guardLock) Get(ctx context.Context) (*rl.LeaderElectionRecord, []byte, error) {
	rec, raw, err := g.inner.Get(ctx)
	if err != nil {
		return rec, raw, err
	}
	g.owner.observe(*rec)
	id := g.inner.Identity()
	g.mu.Lock()
	cp := *rec
	g.lastGet = &cp
	mine := rec.HolderIdentity == id && g.wroteLocked(keyOf(*rec))
	g.lastMine = mine
	if rec.HolderIdentity != id || mine {
		if rec.HolderIdentity != id {
			g.foreign, g.collided = recordKey{}, false
		}
		g.mu.Unlock()
		if !mine && g.owner.isLeading() {
			// Someone took or cleared the Lease: we lost it, whatever
			// client-go concludes later.
			g.log.Warn("the Lease is no longer ours; stepping down at once", "holder", rec.HolderIdentity)
			g.owner.endTerm("another holder took the Lease")
		}
		return rec, raw, nil
	}
	k := keyOf(*rec)
	first := g.foreign == recordKey{}
	changed := !first && k != g.foreign
	g.foreign = k
	g.mu.Unlock()

	switch {
	case g.owner.isLeading():
		g.reportCollision(*rec, "while this process leads")
	case changed:
		g.reportCollision(*rec, "it keeps being renewed")
	case first:
		g.log.Info("the Lease is held under this identity by an earlier process (a restarted container?); waiting for it to expire before taking it",
			"holder", rec.HolderIdentity, "leaseDurationSeconds", rec.LeaseDurationSeconds)
	}
	disguised := *rec
	disguised.HolderIdentity = rec.HolderIdentity + otherProcessSuffix
	raw, err = json.Marshal(disguised)
	if err != nil {
		return nil, nil, fmt.Errorf("encoding the lease record: %w", err)
	}
	return &disguised, raw, nil
}

// reportCollision ends our term at once and raises the alarm: another live
// process writes the Lease under our identity. The log line and the Event
// are rate-limited to one a minute; the metric counts every write seen.
func (g *guardLock) reportCollision(rec rl.LeaderElectionRecord, how string) {
	g.owner.endTerm("identity collision")
	g.mu.Lock()
	now := g.clock.Now()
	loud := !g.collided || now.Sub(g.lastAlarm) >= time.Minute
	g.collided = true
	if loud {
		g.lastAlarm = now
	}
	g.mu.Unlock()
	if loud {
		g.log.Error("identity collision: another live process holds the Lease under this replica's identity ("+how+"); give each replica a unique --identity (POD_NAME from metadata.name; with hostNetwork the hostname is shared)",
			"identity", rec.HolderIdentity, "renewTime", rec.RenewTime.Time)
	}
	if g.collision != nil {
		g.collision(rec, loud)
	}
}

// Create creates the Lease holding ler.
func (g *guardLock) Create(ctx context.Context, ler rl.LeaderElectionRecord) error {
	return g.write(ctx, ler, g.inner.Create)
}

// Update writes ler. A release (empty holder) first ends the term, so the
// status file is gone and the child stopped before the Lease is offered to
// others, and is refused if the last record read is not ours (client-go
// judges that from its older observation).
func (g *guardLock) Update(ctx context.Context, ler rl.LeaderElectionRecord) error {
	if ler.HolderIdentity == "" {
		g.owner.endTerm("releasing the Lease")
		g.mu.Lock()
		mine, last := g.lastMine, g.lastGet
		g.mu.Unlock()
		if !mine {
			holder := "nobody"
			if last != nil && last.HolderIdentity != "" {
				holder = last.HolderIdentity
			}
			return fmt.Errorf("not releasing the Lease: it is held by %s, not by this process", holder)
		}
	}
	return g.write(ctx, ler, g.inner.Update)
}

func (g *guardLock) write(ctx context.Context, ler rl.LeaderElectionRecord, do func(context.Context, rl.LeaderElectionRecord) error) error {
	start := g.clock.Now()
	g.mu.Lock()
	ler = g.stampLocked(ler, metav1.NewTime(start))
	g.written[g.next] = keyOf(ler)
	g.next = (g.next + 1) % writtenMemory
	g.mu.Unlock()
	if err := do(ctx, ler); err != nil {
		if ler.HolderIdentity != "" && g.renewFail != nil {
			g.renewFail()
		}
		return err
	}
	g.mu.Lock()
	g.lastGet, g.lastMine = &ler, ler.HolderIdentity == g.inner.Identity()
	g.mu.Unlock()
	if ler.HolderIdentity == g.inner.Identity() {
		g.owner.renewed(start)
		if g.renewed != nil {
			g.renewed()
		}
	}
	g.owner.observe(ler)
	return nil
}

func (g *guardLock) wroteLocked(k recordKey) bool {
	for _, w := range g.written {
		if w == k {
			return true
		}
	}
	return false
}

// RecordEvent records client-go's "became leader" / "stopped leading".
func (g *guardLock) RecordEvent(s string) { g.inner.RecordEvent(s) }

// Identity is our holder identity.
func (g *guardLock) Identity() string { return g.inner.Identity() }

// Describe names the Lease.
func (g *guardLock) Describe() string { return g.inner.Describe() }

// stampLocked dates a write at the moment it is sent. client-go stamps its
// record before it calls Get, and the watch-based lock's Get waits (seconds,
// up to a lease duration) until the Lease can be taken: written as stamped,
// a takeover would carry a renewTime already older than the lease duration,
// so the Lease would look expired the moment it was taken to anyone judging
// by renewTime (kubectl, dashboards), and the leaderless gap would read 0.
// client-go keeps its own copy of the acquisition and sends its acquireTime
// again on every renewal, so the corrected acquire time is remembered and
// substituted there too.
func (g *guardLock) stampLocked(ler rl.LeaderElectionRecord, now metav1.Time) rl.LeaderElectionRecord {
	switch {
	case ler.HolderIdentity != "" && ler.AcquireTime.Equal(&ler.RenewTime):
		// An acquisition: client-go sets both times to the same instant.
		g.acquired = [2]metav1.Time{ler.AcquireTime, now}
		ler.AcquireTime = now
	case !g.acquired[0].IsZero() && ler.AcquireTime.Equal(&g.acquired[0]):
		ler.AcquireTime = g.acquired[1]
	}
	ler.RenewTime = now
	return ler
}
