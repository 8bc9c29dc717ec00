package watch

import (
	"context"

	coordinationv1 "k8s.io/api/coordination/v1"
	apiwatch "k8s.io/apimachinery/pkg/watch"

	"github.com/leader-elector/leader-elector/internal/leasewatch"
)

// runLeases lists and watches the Leases until ctx is done, with the one
// loop elect follows its Lease with (internal/leasewatch: the reflector's
// contract, read in this goroutine). The first list is served from the API
// server's watch cache, as a reflector's is.
func (w *Watcher) runLeases(ctx context.Context) {
	leasewatch.Run(ctx, w.api.Leases, leaseHandler{w}, leasewatch.Options{
		LabelSelector:   w.opts.Selector,
		CachedFirstList: true,
		RetryWait:       w.retryWait,
		Clock:           w.clock,
		Logger:          w.log,
	})
}

// leaseHandler applies what the loop sees to the model, and the outcome of
// its calls to the connection state.
type leaseHandler struct{ w *Watcher }

func (h leaseHandler) Replace(leases []*coordinationv1.Lease, _ string) { h.w.onLeaseList(leases) }

func (h leaseHandler) Apply(typ apiwatch.EventType, l *coordinationv1.Lease) {
	if typ == apiwatch.Deleted {
		h.w.onLeaseDeleted(l.Namespace, l.Name)
		return
	}
	h.w.onLease(l)
}

func (h leaseHandler) Connection(err error) { h.w.setConn(err) }
