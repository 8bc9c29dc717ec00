package watch

import (
	"context"
	"log/slog"
	"slices"
	"sync"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	"k8s.io/client-go/metadata"
	"k8s.io/utils/clock"
)

// Options configures a Watcher.
type Options struct {
	// Namespace to watch; "" means all namespaces.
	Namespace string
	// Selector is a label selector for the Leases ("" = all).
	Selector string
	// Names, when set, are the only Leases watched (kubectl get leases
	// NAME...); the others of the namespace are ignored.
	Names []string
	// Clock judges expiry and stamps events; nil means the real clock.
	Clock clock.WithTicker
	// Logger receives diagnostics; nil discards them.
	Logger *slog.Logger
	// Metadata, when set, is used for a metadata-only Pod informer that
	// judges orphan holders. nil: no orphan judgement.
	Metadata metadata.Interface
	// Skew returns the cluster's clock minus ours; it is called once the
	// API server has answered (see SkewRecorder). nil means 0.
	Skew func() time.Duration
	// FlapThreshold and FlapWindow: more than FlapThreshold transitions of
	// one Lease within FlapWindow mark it flapping. 0 disables.
	FlapThreshold int
	FlapWindow    time.Duration
	// Context is the kubeconfig context's name, stamped on every event
	// (Event.Context) so the streams of several clusters can be merged.
	Context string
	// ConnectTimeout bounds the wait for an unreachable API server at start:
	// Run returns an error after it. 0 retries until ctx is done (the
	// dashboard shows the retries as error events).
	ConnectTimeout time.Duration
	// FailFast ends Run at once when the API server refuses the connection
	// at start (nothing listens, an unknown host, an untrusted
	// certificate), as kubectl does, instead of retrying until
	// ConnectTimeout: for a stream read by a script. Timeouts and an
	// overloaded server are still retried.
	FailFast bool
	// Buffer is the capacity of the Events channel (default 256; each slot
	// holds a whole state). Events beyond it wait in an internal queue,
	// where renewals coalesce; see Events.
	Buffer int
}

// Watcher informs on Leases and emits their events. Create it with New,
// read Events, and call Run once.
type Watcher struct {
	api   API
	opts  Options
	clock clock.WithTicker
	log   *slog.Logger
	// retryWait is the first wait after a failed Lease call; it doubles
	// (jittered) to leasewatch.MaxRetryWait and starts over once a watch opens.
	retryWait time.Duration

	mu       sync.Mutex // guards model, synced, armed, conn, buf
	model    *Model
	synced   bool
	syncedCh chan struct{} // closed with the synced event
	armed    time.Time     // the deadline the expiry timer is set for
	conn     ConnState     // of the Lease calls; ConnConnecting until one returned
	buf      []Event
	rearm    chan struct{}
	q        *queue
	out      chan Event
	podsDone sync.Once
}

// New returns a Watcher of api's Leases.
func New(api API, opts Options) *Watcher {
	if opts.Clock == nil {
		opts.Clock = clock.RealClock{}
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Buffer <= 0 {
		opts.Buffer = 256
	}
	w := &Watcher{
		api:       api,
		opts:      opts,
		clock:     opts.Clock,
		log:       opts.Logger,
		retryWait: 800 * time.Millisecond,
		model:     NewModel(0, opts.FlapThreshold, opts.FlapWindow),
		rearm:     make(chan struct{}, 1),
		syncedCh:  make(chan struct{}),
		out:       make(chan Event, opts.Buffer),
	}
	w.q = newQueue(opts.Context, w.out)
	return w
}

// Events is the stream: first an added event per existing Lease (the
// initial states), then synced, then live events. It is closed after Run
// returns and what was queued is delivered.
//
// Backpressure: the Lease watch never waits for the receiver. Events pass
// through an internal queue in which, while the receiver is behind, a
// Lease's waiting renewed event is replaced by its newer one (Coalesced
// counts the merges); no other event is dropped or merged, so the latest
// state of every Lease always arrives.
func (w *Watcher) Events() <-chan Event { return w.out }

// Run connects, checks RBAC, starts the watches and emits events until ctx
// is done (then it returns nil). At start, a user who may not list or
// watch Leases gets a configuration error (exit 2) naming the missing
// verbs; an API server that stays unreachable for ConnectTimeout gets an
// error. Later failures are error events, and the watches retry.
func (w *Watcher) Run(ctx context.Context) error {
	done := make(chan struct{})
	defer close(done)
	go w.q.forward(ctx, done)

	if err := w.preflight(ctx); err != nil {
		return err
	}
	if w.opts.Skew != nil {
		w.mu.Lock()
		w.model.Skew = w.opts.Skew()
		w.mu.Unlock()
	}

	ictx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer func() {
		stop()
		wg.Wait()
	}()

	wg.Go(func() { w.runLeases(ictx) })
	if w.opts.Metadata != nil {
		w.startPods(ictx, &wg)
	}
	w.startCandidates(ictx, &wg)

	select {
	case <-w.syncedCh:
	case <-ctx.Done():
		return nil
	}
	w.log.Debug("leases synced")

	w.expireLoop(ctx)
	return nil
}

// onLeaseList applies a full list: the initial states, then synced; on a
// relist, also the deletions missed while disconnected.
func (w *Watcher) onLeaseList(leases []*coordinationv1.Lease) {
	if len(w.opts.Names) > 0 {
		leases = slices.DeleteFunc(leases, func(l *coordinationv1.Lease) bool { return !w.wanted(l.Name) })
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	now := w.clock.Now()
	w.buf = w.model.Replace(w.buf[:0], leases, now)
	w.emitLocked()
	if !w.synced {
		w.synced = true
		w.q.push(Event{Type: EventSynced, Time: now})
		close(w.syncedCh)
	}
}

// onLease applies one added or updated Lease from the watch.
func (w *Watcher) onLease(l *coordinationv1.Lease) {
	if !w.wanted(l.Name) {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = w.model.Apply(w.buf[:0], l, w.clock.Now())
	w.emitLocked()
}

func (w *Watcher) onLeaseDeleted(namespace, name string) {
	if !w.wanted(name) {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = w.model.Delete(w.buf[:0], namespace, name, w.clock.Now())
	w.emitLocked()
}

// wanted tells whether the Lease named name is watched (Options.Names).
func (w *Watcher) wanted(name string) bool {
	return len(w.opts.Names) == 0 || slices.Contains(w.opts.Names, name)
}

// emitLocked queues w.buf and wakes the expiry timer when the earliest
// deadline moved earlier. Pushing under w.mu keeps the order of events
// from the watches and the timer the order the model produced them in.
func (w *Watcher) emitLocked() {
	w.q.push(w.buf...)
	clear(w.buf) // the queue holds copies; drop references to states
	if cap(w.buf) > maxReusedBatch {
		w.buf = nil // grown by a full list: do not keep it for the run
	}
	if next, ok := w.model.NextDeadline(); ok && (w.armed.IsZero() || next.Before(w.armed)) {
		w.armed = next
		select {
		case w.rearm <- struct{}{}:
		default:
		}
	}
}

// expireLoop runs the single expiry timer until ctx is done.
func (w *Watcher) expireLoop(ctx context.Context) {
	for {
		w.mu.Lock()
		now := w.clock.Now()
		w.buf = w.model.Expire(w.buf[:0], now)
		w.q.push(w.buf...)
		clear(w.buf)
		next, ok := w.model.NextDeadline()
		w.armed = next // zero when !ok
		w.mu.Unlock()

		var fire <-chan time.Time
		var t clock.Timer
		if ok {
			t = w.clock.NewTimer(next.Sub(now))
			fire = t.C()
		}
		select {
		case <-fire:
		case <-w.rearm:
		case <-ctx.Done():
		}
		if t != nil {
			t.Stop()
		}
		if ctx.Err() != nil {
			return
		}
	}
}

// emitError queues an error event for f (and logs it); message says what
// failed and how to fix it.
func (w *Watcher) emitError(state ConnState, f *Failure, message string) {
	// Debug: the event is the report (stdout, or the dashboard); the log
	// would only repeat it on stderr.
	w.log.Debug(message, "connection", state, "resource", f.Resource, "reason", f.Reason)
	w.mu.Lock()
	defer w.mu.Unlock()
	w.q.push(Event{Type: EventError, Time: w.clock.Now(), Message: message, Connection: state, Resource: f.Resource, Reason: f.Reason})
}
