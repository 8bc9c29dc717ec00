// Package leasewatch is the one list-then-watch loop over Leases that both
// modes use: elect follows its one Lease with it, the dashboard all the
// Leases of a namespace.
//
// It keeps client-go's reflector's contract: list, watch from the list's
// resourceVersion with bookmarks and a jittered server timeout, watch again
// from the last resourceVersion seen when the stream ends, list again
// (consistently) when that version has expired (410 Gone, or "too large
// resource version"), and back off with jitter while the server cannot be
// reached. It is not the reflector itself: that puts two goroutines and two
// channels between the socket and the caller (its StreamWatcher, then its
// own loop), and at hundreds of renewals a second those thread wake-ups
// were most of the dashboard's CPU (docs/performance.md). Here one
// goroutine decodes each event and hands it to the Handler.
package leasewatch

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/utils/clock"

	"github.com/leader-elector/leader-elector/internal/kubeclient"
)

// Timing, the first two as client-go's reflector has them.
const (
	// MinWatchTimeout: the server is asked to end each watch after 5-10
	// minutes (jittered, so that clients do not come back together).
	MinWatchTimeout = 5 * time.Minute
	// MaxRetryWait caps the wait between failed calls (before jitter).
	MaxRetryWait = 30 * time.Second
	// QuickEnd: a stream that ends this soon without an event is treated
	// as a failure, so a server that accepts watches and drops them at
	// once is not asked again in a tight loop.
	QuickEnd = time.Second
)

// Client lists Leases and opens watches on them.
type Client interface {
	List(ctx context.Context, opts metav1.ListOptions) (*coordinationv1.LeaseList, error)
	// Stream opens a watch whose events are read by calling Decode.
	Stream(ctx context.Context, opts metav1.ListOptions) (Stream, error)
}

// Stream is an open watch, read in the caller's goroutine.
// internal/kubeclient's WatchDecoder is one.
type Stream interface {
	// Decode blocks for the next event; io.EOF means the server ended the
	// watch (its timeout).
	Decode() (watch.EventType, runtime.Object, error)
	// Close ends the watch; a Decode waiting on it returns an error.
	Close() error
}

// Handler receives what the loop sees, in the loop's goroutine, in order.
type Handler interface {
	// Replace is the whole state after a list: a Lease that is not in
	// leases is gone (a relist after an expired version is how deletions
	// missed meanwhile are learnt, as with a reflector's store). rv is the
	// list's resourceVersion.
	Replace(leases []*coordinationv1.Lease, rv string)
	// Apply is one change from the watch: watch.Added, Modified or Deleted.
	Apply(typ watch.EventType, lease *coordinationv1.Lease)
	// Connection is the outcome of each list and watch call, and of a
	// stream that broke: nil when the server answered. An expired version
	// is not a failure: the loop lists again without reporting it.
	Connection(err error)
}

// Options configure Run.
type Options struct {
	// LabelSelector and FieldSelector select the Leases.
	LabelSelector, FieldSelector string
	// CachedFirstList serves the first list from the API server's watch
	// cache (resourceVersion "0"), as a reflector's first list is: cheap
	// for the server, possibly a little stale. Otherwise, and always after
	// an expired version, the list is consistent (resourceVersion "").
	CachedFirstList bool
	// RetryWait is the first wait after a failed call; it doubles to
	// MaxRetryWait, each wait jittered up to twice as long, and starts over
	// once a watch has delivered an event or stayed open QuickEnd. Default
	// 800 ms, as the reflector's.
	RetryWait time.Duration
	// Clock times the waits; nil: the real clock.
	Clock clock.Clock
	// Rand returns a random duration in [0, d), to jitter the waits and the
	// watch timeouts; nil: rand.N of the global source.
	Rand func(d time.Duration) time.Duration
	// Logger receives diagnostics; nil discards them.
	Logger *slog.Logger
}

// Run lists and watches the Leases until ctx is done, feeding h.
func Run(ctx context.Context, c Client, h Handler, o Options) {
	if o.RetryWait <= 0 {
		o.RetryWait = 800 * time.Millisecond
	}
	if o.Clock == nil {
		o.Clock = clock.RealClock{}
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	jitter := o.Rand
	if jitter == nil {
		jitter = rand.N[time.Duration]
	}
	report := func(err error) {
		if ctx.Err() == nil { // a call cut short because we stop is no failure
			h.Connection(err)
		}
	}

	wait := o.RetryWait
	retry := func() bool {
		// Jittered, so that clients cut off together do not return together.
		d := wait + jitter(wait)
		wait = min(2*wait, MaxRetryWait)
		select {
		case <-o.Clock.After(d):
			return true
		case <-ctx.Done():
			return false
		}
	}
	listVersion := ""
	if o.CachedFirstList {
		listVersion = "0"
	}
	rv, mustList := "", true
	for ctx.Err() == nil {
		// listed: rv is this very list's. A watch from it that is refused
		// as expired at once means the server's watch window lags its
		// lists; wait before listing again, not in a tight loop.
		listed := mustList
		if mustList {
			list, err := c.List(ctx, metav1.ListOptions{LabelSelector: o.LabelSelector, FieldSelector: o.FieldSelector, ResourceVersion: listVersion})
			if Expired(err) && listVersion != "" {
				o.Logger.Debug("lease list from the watch cache refused, listing consistently", "err", err)
				listVersion = ""
				continue
			}
			report(err)
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
			h.Replace(leases, list.ResourceVersion)
			rv, mustList = list.ResourceVersion, false
		}
		timeout := int64((MinWatchTimeout + jitter(MinWatchTimeout)).Seconds())
		stream, err := c.Stream(ctx, metav1.ListOptions{
			LabelSelector: o.LabelSelector, FieldSelector: o.FieldSelector, ResourceVersion: rv,
			AllowWatchBookmarks: true, TimeoutSeconds: &timeout,
		})
		if Expired(err) {
			o.Logger.Debug("lease watch refused as expired, listing again", "rv", rv, "err", err)
			mustList, listVersion = true, ""
			if listed && !retry() {
				return
			}
			continue
		}
		report(err)
		if err != nil {
			if retry() {
				continue
			}
			return
		}
		opened := o.Clock.Now()
		var events int
		rv, events, err = follow(ctx, stream, rv, h)
		if events > 0 || o.Clock.Since(opened) >= QuickEnd {
			// It worked for a while: the next failure waits the least
			// again. A watch that fails at once does not count, or a
			// server that opens watches only to end them would be asked
			// as often as ever.
			wait = o.RetryWait
		}
		switch {
		case ctx.Err() != nil:
			return
		case Expired(err):
			o.Logger.Debug("lease watch expired, listing again", "rv", rv, "err", err)
			mustList, listVersion = true, ""
			if listed && events == 0 && !retry() {
				return
			}
		case err != nil:
			// The stream broke (a dropped connection, a server going
			// down): say so now, not only if the next call fails too.
			report(err)
			// One that had been working is opened again at once.
			if events == 0 && !retry() {
				return
			}
		case events == 0 && o.Clock.Since(opened) < QuickEnd:
			o.Logger.Debug("lease watch ended at once", "after", o.Clock.Since(opened))
			if !retry() {
				return
			}
		}
	}
}

// follow hands the stream's events to h until it ends, closes it, and
// returns the last resourceVersion seen (bookmarks too) and how many events
// came. io.EOF (the server's timeout) is a normal end: nil.
func follow(ctx context.Context, stream Stream, rv string, h Handler) (string, int, error) {
	// ctx's end closes the stream, so a Decode waiting on a quiet watch
	// returns whatever the Stream's own request does with ctx.
	stop := context.AfterFunc(ctx, func() { stream.Close() })
	defer func() {
		if stop() {
			stream.Close()
		}
	}()
	for n := 0; ; n++ {
		typ, obj, err := stream.Decode()
		if errors.Is(err, io.EOF) {
			return rv, n, nil
		}
		if err != nil {
			return rv, n, fmt.Errorf("reading the lease watch: %w", err)
		}
		if typ == watch.Error {
			return rv, n, apierrors.FromObject(obj)
		}
		l, ok := obj.(*coordinationv1.Lease) // bookmarks too: a Lease with only its version
		if !ok {
			return rv, n, fmt.Errorf("reading the lease watch: %s event of %T, not a Lease", typ, obj)
		}
		rv = l.ResourceVersion
		switch typ {
		case watch.Added, watch.Modified, watch.Deleted:
			h.Apply(typ, l)
		}
	}
}

// Expired says the resourceVersion asked for is no longer (or not yet) in
// the API server's window, so only a new list can go on from here.
func Expired(err error) bool {
	return apierrors.IsResourceExpired(err) || apierrors.IsGone(err) ||
		apierrors.HasStatusCause(err, metav1.CauseTypeResourceVersionTooLarge)
}

// Kube is r, the Lease client of internal/kubeclient, as a Client.
func Kube(r *kubeclient.Resource[*coordinationv1.Lease, *coordinationv1.LeaseList]) Client {
	return kubeClient{r}
}

type kubeClient struct {
	*kubeclient.Resource[*coordinationv1.Lease, *coordinationv1.LeaseList]
}

func (c kubeClient) Stream(ctx context.Context, opts metav1.ListOptions) (Stream, error) {
	d, err := c.Resource.Stream(ctx, opts)
	if err != nil {
		return nil, err // not a nil *WatchDecoder in a non-nil Stream
	}
	return d, nil
}
