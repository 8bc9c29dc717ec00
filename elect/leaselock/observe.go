package leaselock

import (
	"context"
	"encoding/json"
	"strconv"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	coordinationv1client "k8s.io/client-go/kubernetes/typed/coordination/v1"
	"k8s.io/client-go/tools/cache"
	rl "k8s.io/client-go/tools/leaderelection/resourcelock"
)

// view is the freshest state of the Lease this process has seen, from the
// watch, its own reads and its own writes, whichever is newest.
type view struct {
	present bool
	obj     *coordinationv1.Lease // read-only (may be the informer's); nil when absent
	rv      string                // of obj, or of the deletion that removed it
	rec     *rl.LeaderElectionRecord
	spec    coordinationv1.LeaseSpec
	// changedAt is the local time the record (holder, renewTime, ...) was
	// last seen to change: the start of the holder's lease by our clock.
	// It survives a deletion, since a deletion does not end a holder's term.
	changedAt time.Time
	// changed is closed and replaced on every observation, waking Gets.
	changed chan struct{}
}

// record converts a Lease as resourcelock.LeaseLock does.
func record(lease *coordinationv1.Lease) (*rl.LeaderElectionRecord, []byte) {
	rec := rl.LeaseSpecToLeaderElectionRecord(&lease.Spec)
	raw, _ := json.Marshal(*rec) // a struct of strings, ints and times always marshals
	return rec, raw
}

// observeLocked takes in a Lease object unless a newer one is known.
func (l *Lock) observeLocked(lease *coordinationv1.Lease) {
	v := &l.seen
	if v.rv != "" && !newer(lease.ResourceVersion, v.rv) {
		return // an echo of what we know, or an event older than our own read
	}
	rec, _ := record(lease)
	// Compare the spec, not the record's JSON: that has whole seconds, so
	// two renewals within a second would look like no renewal at all.
	if !v.present || !apiequality.Semantic.DeepEqual(v.spec, lease.Spec) {
		v.changedAt = l.clock.Now()
	}
	v.present, v.obj, v.rv, v.rec = true, lease, lease.ResourceVersion, rec
	v.spec = *lease.Spec.DeepCopy()
	l.broadcastLocked()
}

// goneLocked records that the Lease does not exist, as of resourceVersion
// rv ("" when a read said NotFound, which carries none).
func (l *Lock) goneLocked(rv string) {
	v := &l.seen
	if rv != "" && v.rv != "" && newer(v.rv, rv) {
		return // recreated since
	}
	v.present, v.obj = false, nil
	if rv != "" {
		v.rv = rv
	}
	l.broadcastLocked()
}

func (l *Lock) broadcastLocked() {
	close(l.seen.changed)
	l.seen.changed = make(chan struct{})
}

// newer reports whether resourceVersion a is later than b. They are etcd
// revisions in every API server we know; should one not be a number, a
// difference counts as newer, which is the watch's own order.
func newer(a, b string) bool {
	x, errA := strconv.ParseUint(a, 10, 64)
	y, errB := strconv.ParseUint(b, 10, 64)
	if errA != nil || errB != nil {
		return a != b
	}
	return x > y
}

// newInformer watches only the Lease named name: one watch per follower, and
// list/watch with a metadata.name field selector are authorised against a
// Role's resourceNames.
func newInformer(leases coordinationv1client.LeaseInterface, name string, l *Lock) cache.SharedIndexInformer {
	sel := fields.OneTermEqualSelector("metadata.name", name).String()
	lw := &cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			o.FieldSelector = sel
			return leases.List(ctx, o)
		},
		WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			o.FieldSelector = sel
			return leases.Watch(ctx, o)
		},
	}
	inf := cache.NewSharedIndexInformer(lw, &coordinationv1.Lease{}, 0, cache.Indexers{})
	_, _ = inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { l.onEvent(obj, false) },
		UpdateFunc: func(_, obj any) { l.onEvent(obj, false) },
		DeleteFunc: func(obj any) { l.onEvent(obj, true) },
	})
	_ = inf.SetWatchErrorHandlerWithContext(func(_ context.Context, _ *cache.Reflector, err error) {
		// The reflector relists and rewatches by itself; until it does,
		// followers wake only at the expiry they already know.
		l.log.Warn("watch of the lease interrupted; relisting", "err", err)
	})
	return inf
}

func (l *Lock) onEvent(obj any, deleted bool) {
	if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = t.Obj
	}
	lease, ok := obj.(*coordinationv1.Lease)
	if !ok {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if deleted {
		l.goneLocked(lease.ResourceVersion)
		return
	}
	l.observeLocked(lease)
}
