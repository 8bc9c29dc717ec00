package watch

import (
	"context"
	"log/slog"
	"sync"

	"github.com/go-logr/logr"

	coordinationv1 "k8s.io/api/coordination/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	apiwatch "k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/tools/cache"
	"k8s.io/klog/v2"
)

// leaseStore is where the Lease reflector delivers: straight into the
// model. There is no informer cache, DeltaFIFO or handler goroutine between
// them, since the model keeps every Lease's state already; keeping client-go's
// copy as well doubled the memory per Lease.
type leaseStore struct{ w *Watcher }

func (s leaseStore) Add(obj any) error { return s.Update(obj) }
func (s leaseStore) Resync() error     { return nil }
func (s leaseStore) Update(obj any) error {
	if l, ok := obj.(*coordinationv1.Lease); ok {
		s.w.onLease(l)
	}
	return nil
}

func (s leaseStore) Delete(obj any) error {
	if l, ok := obj.(*coordinationv1.Lease); ok {
		s.w.onLeaseDeleted(l.Namespace, l.Name)
	}
	return nil
}

// Replace is a full list: the first one is the initial states; later ones
// (a relist after a long disconnect) also delete what is gone.
func (s leaseStore) Replace(items []any, _ string) error {
	leases := make([]*coordinationv1.Lease, 0, len(items))
	for _, obj := range items {
		if l, ok := obj.(*coordinationv1.Lease); ok {
			leases = append(leases, l)
		}
	}
	s.w.onLeaseList(leases)
	return nil
}

// startLeases runs the Lease reflector until ctx is done.
func (w *Watcher) startLeases(ctx context.Context, wg *sync.WaitGroup) {
	leases := w.api.Leases
	tweak := func(o *metav1.ListOptions) { o.LabelSelector = w.opts.Selector }
	lw := reportingLW(w.setConn,
		func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			tweak(&o)
			return leases.List(ctx, o)
		},
		func(ctx context.Context, o metav1.ListOptions) (apiwatch.Interface, error) {
			tweak(&o)
			return leases.Watch(ctx, o)
		})
	r := cache.NewReflectorWithOptions(lw, &coordinationv1.Lease{}, leaseStore{w}, cache.ReflectorOptions{
		Name: "leases", TypeDescription: "leases",
	})
	// The reflector logs its failures through the context's logger; the
	// reporting ListWatch turns them into events already, so they go to
	// debug.
	ctx = klog.NewContext(ctx, logr.FromSlogHandler(demoted{w.log.Handler()}))
	wg.Go(func() { r.RunWithContext(ctx) })
}

// demoted logs every record at debug level.
type demoted struct{ h slog.Handler }

func (d demoted) Enabled(ctx context.Context, _ slog.Level) bool {
	return d.h.Enabled(ctx, slog.LevelDebug)
}

func (d demoted) Handle(ctx context.Context, r slog.Record) error {
	r.Level = slog.LevelDebug
	return d.h.Handle(ctx, r)
}

func (d demoted) WithAttrs(as []slog.Attr) slog.Handler { return demoted{d.h.WithAttrs(as)} }
func (d demoted) WithGroup(name string) slog.Handler    { return demoted{d.h.WithGroup(name)} }
