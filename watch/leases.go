package watch

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	apiwatch "k8s.io/apimachinery/pkg/watch"
)

// The Leases are listed and then watched by one goroutine that reads and
// decodes each event from the stream and applies it to the model itself.
// client-go's reflector would put two goroutines and two channels between
// the socket and the model (its StreamWatcher, then its own loop), and an
// informer a DeltaFIFO and a handler goroutine more: at hundreds of renewals
// a second, the thread wake-ups of those hand-offs were most of the CPU
// (docs/performance.md). This loop keeps the reflector's contract: list,
// watch from the list's resourceVersion with bookmarks, watch again from
// the last one seen when the stream ends, list again (and delete what is
// gone) when that version has expired, and back off while the server
// cannot be reached.

// Watch timing: the first two as client-go's reflector has them.
const (
	minWatchTimeout = 5 * time.Minute // the server ends each watch after 5-10 minutes
	maxRetryWait    = 30 * time.Second
	// quickEnd: a stream that ends this soon without an event is treated as
	// a failure, so a server that accepts watches and drops them at once
	// is not asked again in a tight loop.
	quickEnd = time.Second
)

// runLeases lists and watches the Leases until ctx is done.
func (w *Watcher) runLeases(ctx context.Context) {
	wait := w.retryWait
	retry := func() bool {
		// Jittered, so that dashboards cut off together do not return together.
		d := wait + rand.N(wait)
		wait = min(2*wait, maxRetryWait)
		select {
		case <-w.clock.After(d):
			return true
		case <-ctx.Done():
			return false
		}
	}
	// "0" is served from the API server's watch cache, as the reflector's
	// first list is; after an expired version, a consistent list ("").
	listVersion := "0"
	rv, mustList := "", true
	for ctx.Err() == nil {
		if mustList {
			list, err := w.api.Leases.List(ctx, metav1.ListOptions{LabelSelector: w.opts.Selector, ResourceVersion: listVersion})
			w.setConn(err)
			if err != nil {
				if retry() {
					continue
				}
				return
			}
			leases := make([]*coordinationv1.Lease, len(list.Items))
			for i := range list.Items {
				leases[i] = &list.Items[i]
			}
			w.onLeaseList(leases)
			rv, mustList = list.ResourceVersion, false
		}
		timeout := int64((minWatchTimeout + rand.N(minWatchTimeout)).Seconds())
		stream, err := w.api.Leases.Stream(ctx, metav1.ListOptions{
			LabelSelector: w.opts.Selector, ResourceVersion: rv,
			AllowWatchBookmarks: true, TimeoutSeconds: &timeout,
		})
		if expired(err) {
			mustList, listVersion = true, ""
			continue
		}
		w.setConn(err)
		if err != nil {
			if retry() {
				continue
			}
			return
		}
		wait = w.retryWait
		opened := w.clock.Now()
		var events int
		rv, events, err = w.follow(stream, rv)
		stream.Close()
		switch {
		case ctx.Err() != nil:
			return
		case expired(err):
			w.log.Debug("lease watch expired, listing again", "err", err)
			mustList, listVersion = true, ""
		case err != nil:
			// The stream broke (a dropped connection, a server going
			// down): say so now, not only if the next call fails too.
			w.setConn(err)
			// One that had been working is opened again at once.
			if events == 0 && !retry() {
				return
			}
		case events == 0 && w.clock.Since(opened) < quickEnd:
			w.log.Debug("lease watch ended at once", "after", w.clock.Since(opened))
			if !retry() {
				return
			}
		}
	}
}

// follow applies the stream's events until it ends and returns the last
// resourceVersion seen and how many events came. io.EOF (the server's
// timeout) is a normal end: nil.
func (w *Watcher) follow(stream EventStream, rv string) (string, int, error) {
	for n := 0; ; n++ {
		typ, obj, err := stream.Decode()
		if errors.Is(err, io.EOF) {
			return rv, n, nil
		}
		if err != nil {
			return rv, n, fmt.Errorf("reading the lease watch: %w", err)
		}
		if typ == apiwatch.Error {
			return rv, n, apierrors.FromObject(obj)
		}
		l, ok := obj.(*coordinationv1.Lease) // bookmarks too: a Lease with only its version
		if !ok {
			return rv, n, fmt.Errorf("reading the lease watch: %s event of %T, not a Lease", typ, obj)
		}
		rv = l.ResourceVersion
		switch typ {
		case apiwatch.Added, apiwatch.Modified:
			w.onLease(l)
		case apiwatch.Deleted:
			w.onLeaseDeleted(l.Namespace, l.Name)
		}
	}
}

// expired: the resourceVersion asked for is no longer (or not yet) in the
// API server's window, so only a new list can go on from here.
func expired(err error) bool {
	return apierrors.IsResourceExpired(err) || apierrors.IsGone(err) ||
		apierrors.HasStatusCause(err, metav1.CauseTypeResourceVersionTooLarge)
}
