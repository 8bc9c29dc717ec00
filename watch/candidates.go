package watch

import (
	"context"
	"sync"

	coordinationv1beta1 "k8s.io/api/coordination/v1beta1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	apiwatch "k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/tools/cache"
)

// leaseCandidatesServed asks discovery whether coordination.k8s.io/v1beta1
// LeaseCandidates exist on this cluster.
func (w *Watcher) leaseCandidatesServed(ctx context.Context) bool {
	served, err := w.api.Discovery.Serves(ctx, coordinationv1beta1.SchemeGroupVersion, "leasecandidates")
	if err != nil {
		w.log.Debug("leasecandidates not served", "err", err)
		return false
	}
	return served
}

// startCandidates informs on LeaseCandidates when served. Forbidden stops
// it quietly (a debug log): candidates are extra detail, not a failure.
func (w *Watcher) startCandidates(ctx context.Context, wg *sync.WaitGroup) {
	if !w.leaseCandidatesServed(ctx) {
		return
	}
	ctx, stop := context.WithCancel(ctx)
	cands := w.api.Candidates
	report := func(err error) {
		if apierrors.IsForbidden(err) {
			w.log.Debug("leasecandidates forbidden; not showing them", "err", err)
			stop()
		}
	}
	lw := reportingLW(report,
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
