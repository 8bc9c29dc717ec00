package elect

import (
	"context"
	"slices"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// A replica that crashed leaves its member Lease behind, and Pods of a
// Deployment get new names, so without a collector the namespace would
// gather one dead member Lease per Pod ever. The live member whose
// identity sorts first deletes a member Lease that nobody renewed for
// memberGCAfter lease durations and whose holder is no member (by its
// shards) either. The delete is conditional on the
// resourceVersion it saw, so a replica that was only cut off and renews
// meanwhile keeps its Lease; one whose Lease was deleted creates it again
// at its next renewal.
const memberGCAfter = 3

// memberGC is the collector's state: the deletes under way.
type memberGC struct {
	deleting map[string]bool // member Lease name -> a delete is under way
	done     chan string     // names whose delete ended
}

// collect starts the deletes of dead member Leases that are this
// replica's to collect (it is the first live member).
func (g *group) collect(ctx context.Context, now time.Duration) {
	if g.api.Deletes == nil {
		return
	}
	if g.gc.deleting == nil {
		g.gc.deleting, g.gc.done = map[string]bool{}, make(chan string, 16)
	}
	for {
		select {
		case name := <-g.gc.done:
			delete(g.gc.deleting, name)
			continue
		default:
		}
		break
	}
	live := g.view.Members(now)
	if len(live) == 0 || slices.Min(live) != g.cfg.Identity {
		return
	}
	after := memberGCAfter * g.cfg.LeaseDuration
	for name, m := range g.known {
		// A replica acting for shards leaves its member Lease alone: it
		// is a member by its shards' renewals, and its Lease stays.
		if now-m.since < after || g.gc.deleting[name] || slices.Contains(live, m.holder) {
			continue
		}
		g.gc.deleting[name] = true
		g.log.Info("deleting the member Lease of a replica gone for good", "memberLease", name, "holder", m.holder, "unrenewedFor", (now - m.since).Round(time.Second))
		go func() {
			dctx, cancel := context.WithTimeout(ctx, RequestTimeout(g.cfg.RenewDeadline))
			defer cancel()
			rv := m.rv
			err := g.api.Deletes.Delete(dctx, name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{ResourceVersion: &rv}})
			if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
				g.log.Warn("could not delete a dead member Lease; trying again later", "memberLease", name, "err", err)
			}
			select {
			case g.gc.done <- name:
			case <-ctx.Done():
			}
		}()
	}
}

// nextCollect is when the oldest unrenewed member Lease becomes
// collectable (0: none known).
func (g *group) nextCollect() time.Duration {
	var next time.Duration
	for _, m := range g.known {
		if at := m.since + memberGCAfter*g.cfg.LeaseDuration; next == 0 || at < next {
			next = at
		}
	}
	return next
}
