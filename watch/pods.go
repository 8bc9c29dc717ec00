package watch

import (
	"context"
	"fmt"
	"sync"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	apiwatch "k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/tools/cache"
)

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
			w.emitError(ConnForbidden, failure(ResourcePods, err), fmt.Sprintf("forbidden: cannot list pods in %s, so orphan holders are not judged; grant list and watch on pods to judge them", where))
			stop()
		})
	}
	lw := reportingLW(report,
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
