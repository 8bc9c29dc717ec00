package watch

import (
	"context"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	apiwatch "k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/tools/cache"
)

// reportingLW wraps an informer's list and watch calls so that every
// outcome reaches report: the reflector retries a refused watch by itself
// without calling its watch error handler, so the handler alone would miss
// lost connections. The Pod and LeaseCandidate informers use it; the Leases
// follow the loop elect uses too (internal/leasewatch, via leases.go).
func reportingLW(report func(error),
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
	return lw
}

// quietErrors routes an informer's watch errors to debug logs: the
// reporting ListWatch turns them into events already.
func (w *Watcher) quietErrors(inf cache.SharedIndexInformer, what string) {
	_ = inf.SetWatchErrorHandlerWithContext(func(_ context.Context, _ *cache.Reflector, err error) {
		w.log.Debug("watch ended", "resource", what, "err", err)
	})
}
