package watch

import (
	"context"
	"fmt"
	"log/slog"
	"sync"

	"github.com/go-logr/logr"

	coordinationv1 "k8s.io/api/coordination/v1"
	coordinationv1beta1 "k8s.io/api/coordination/v1beta1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	apiwatch "k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/tools/cache"
	"k8s.io/klog/v2"
)

// reportingLW wraps list and watch calls so that every outcome reaches
// report: the reflector retries a refused watch by itself without calling
// its watch error handler, so the handler alone would miss lost connections.
func reportingLW(client any, report func(error),
	list func(context.Context, metav1.ListOptions) (runtime.Object, error),
	watch func(context.Context, metav1.ListOptions) (apiwatch.Interface, error),
) cache.ListerWatcher {
	lw := &cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			obj, err := list(ctx, o)
			report(err)
			return obj, err
		},
		WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (apiwatch.Interface, error) {
			wi, err := watch(ctx, o)
			report(err)
			return wi, err
		},
	}
	return cache.ToListWatcherWithWatchListSemantics(lw, client)
}

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
	leases := w.client.CoordinationV1().Leases(w.opts.Namespace)
	tweak := func(o *metav1.ListOptions) { o.LabelSelector = w.opts.Selector }
	lw := reportingLW(w.client, w.setConn,
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

// quietErrors routes an informer's watch errors to debug logs: the
// reporting ListWatch turns them into events already.
func (w *Watcher) quietErrors(inf cache.SharedIndexInformer, what string) {
	_ = inf.SetWatchErrorHandlerWithContext(func(_ context.Context, _ *cache.Reflector, err error) {
		w.log.Debug("watch ended", "resource", what, "err", err)
	})
}

// leaseCandidatesServed asks discovery whether coordination.k8s.io/v1beta1
// LeaseCandidates exist on this cluster.
func (w *Watcher) leaseCandidatesServed() bool {
	res, err := w.client.Discovery().ServerResourcesForGroupVersion(coordinationv1beta1.SchemeGroupVersion.String())
	if err != nil {
		w.log.Debug("leasecandidates not served", "err", err)
		return false
	}
	for _, r := range res.APIResources {
		if r.Name == "leasecandidates" {
			return true
		}
	}
	return false
}

// startCandidates informs on LeaseCandidates when served. Forbidden stops
// it quietly (a debug log): candidates are extra detail, not a failure.
func (w *Watcher) startCandidates(ctx context.Context, wg *sync.WaitGroup) {
	if !w.leaseCandidatesServed() {
		return
	}
	ctx, stop := context.WithCancel(ctx)
	cands := w.client.CoordinationV1beta1().LeaseCandidates(w.opts.Namespace)
	report := func(err error) {
		if apierrors.IsForbidden(err) {
			w.log.Debug("leasecandidates forbidden; not showing them", "err", err)
			stop()
		}
	}
	lw := reportingLW(w.client, report,
		func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) { return cands.List(ctx, o) },
		func(ctx context.Context, o metav1.ListOptions) (apiwatch.Interface, error) {
			return cands.Watch(ctx, o)
		})
	inf := cache.NewSharedIndexInformerWithOptions(lw, &coordinationv1beta1.LeaseCandidate{}, cache.SharedIndexInformerOptions{ObjectDescription: "leasecandidates"})
	_ = inf.SetTransform(func(obj any) (any, error) {
		if c, ok := obj.(*coordinationv1beta1.LeaseCandidate); ok {
			c.ManagedFields = nil
		}
		return obj, nil
	})
	w.quietErrors(inf, "leasecandidates")
	set := func(c *coordinationv1beta1.LeaseCandidate) {
		w.mu.Lock()
		defer w.mu.Unlock()
		w.buf = w.model.SetCandidate(w.buf[:0], c.Namespace, c.Spec.LeaseName, candidateOf(c), w.clock.Now())
		w.emitLocked()
	}
	del := func(c *coordinationv1beta1.LeaseCandidate) {
		w.mu.Lock()
		defer w.mu.Unlock()
		w.buf = w.model.DeleteCandidate(w.buf[:0], c.Namespace, c.Spec.LeaseName, c.Name, w.clock.Now())
		w.emitLocked()
	}
	_, _ = inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: func(obj any) {
			if c, ok := obj.(*coordinationv1beta1.LeaseCandidate); ok {
				set(c)
			}
		},
		UpdateFunc: func(oldObj, obj any) {
			old, ok1 := oldObj.(*coordinationv1beta1.LeaseCandidate)
			c, ok2 := obj.(*coordinationv1beta1.LeaseCandidate)
			if !ok1 || !ok2 {
				return
			}
			if old.Spec.LeaseName != c.Spec.LeaseName {
				del(old)
			}
			set(c)
		},
		DeleteFunc: func(obj any) {
			if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				obj = d.Obj
			}
			if c, ok := obj.(*coordinationv1beta1.LeaseCandidate); ok {
				del(c)
			}
		},
	})
	wg.Go(func() { inf.RunWithContext(ctx) })
}

func candidateOf(c *coordinationv1beta1.LeaseCandidate) Candidate {
	out := Candidate{
		Name:             c.Name,
		BinaryVersion:    c.Spec.BinaryVersion,
		EmulationVersion: c.Spec.EmulationVersion,
		Strategy:         string(c.Spec.Strategy),
	}
	if c.Spec.RenewTime != nil {
		out.RenewTime = c.Spec.RenewTime.UTC()
	}
	if c.Spec.PingTime != nil {
		out.PingTime = c.Spec.PingTime.UTC()
	}
	return out
}

var podsResource = schema.GroupVersionResource{Version: "v1", Resource: "pods"}

// startPods runs a metadata-only Pod informer for orphan judgement. If
// Pods are forbidden it says so once, as an error event, and stops: the
// Leases go on without orphan judgement.
func (w *Watcher) startPods(ctx context.Context, wg *sync.WaitGroup) {
	ctx, stop := context.WithCancel(ctx)
	pods := w.opts.Metadata.Resource(podsResource).Namespace(w.opts.Namespace)
	report := func(err error) {
		if !apierrors.IsForbidden(err) {
			return
		}
		w.podsDone.Do(func() {
			where := "all namespaces"
			if w.opts.Namespace != "" {
				where = fmt.Sprintf("namespace %q", w.opts.Namespace)
			}
			w.emitError(ConnForbidden, fmt.Sprintf("forbidden: cannot list pods in %s, so orphan holders are not judged; grant list and watch on pods to judge them", where))
			stop()
		})
	}
	lw := reportingLW(w.opts.Metadata, report,
		func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) { return pods.List(ctx, o) },
		func(ctx context.Context, o metav1.ListOptions) (apiwatch.Interface, error) { return pods.Watch(ctx, o) })
	inf := cache.NewSharedIndexInformerWithOptions(lw, &metav1.PartialObjectMetadata{}, cache.SharedIndexInformerOptions{ObjectDescription: "pods"})
	// Keep names only: memory stays a few dozen bytes per Pod.
	_ = inf.SetTransform(func(obj any) (any, error) {
		if p, ok := obj.(*metav1.PartialObjectMetadata); ok {
			return &metav1.PartialObjectMetadata{TypeMeta: p.TypeMeta, ObjectMeta: metav1.ObjectMeta{
				Name: p.Name, Namespace: p.Namespace, ResourceVersion: p.ResourceVersion,
			}}, nil
		}
		return obj, nil
	})
	w.quietErrors(inf, "pods")
	changed := func(obj any) {
		if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
			obj = d.Obj
		}
		p, ok := obj.(*metav1.PartialObjectMetadata)
		if !ok {
			return
		}
		w.mu.Lock()
		defer w.mu.Unlock()
		w.buf = w.model.PodChanged(w.buf[:0], p.Namespace, p.Name, w.clock.Now())
		w.emitLocked()
	}
	reg, _ := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{AddFunc: changed, DeleteFunc: changed})
	store := inf.GetStore()
	exists := func(namespace, name string) bool {
		_, ok, _ := store.GetByKey(namespace + "/" + name)
		return ok
	}
	wg.Go(func() { inf.RunWithContext(ctx) })
	wg.Go(func() {
		if !cache.WaitForCacheSync(ctx.Done(), reg.HasSynced) {
			return
		}
		w.mu.Lock()
		defer w.mu.Unlock()
		w.buf = w.model.SetPods(w.buf[:0], exists, w.clock.Now())
		w.emitLocked()
	})
}
