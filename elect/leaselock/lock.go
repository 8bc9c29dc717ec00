// Package leaselock is a resourcelock.Interface on a coordination.k8s.io/v1
// Lease for client-go's leaderelection.LeaderElector that turns the
// followers' polling into one watch.
//
// client-go's acquire loop calls Get every RetryPeriod (jittered up to 2.2x)
// and cannot be woken otherwise. Here a follower's Get is served from an
// informer limited to the one Lease and blocks until something is worth
// acting on: the holder changed or left (a release, returned at once), the
// Lease was deleted, or the holder's lease expired by this process's own
// observation of its last renewal. The holder, and anyone right after a
// failed write, reads the Lease from the API instead, as LeaseLock does.
// Safety stays with client-go and the API server: every acquisition is an
// Update carrying the resourceVersion this process last saw, so a holder
// that renewed unseen makes it fail with a conflict.
package leaselock

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	coordinationv1client "k8s.io/client-go/kubernetes/typed/coordination/v1"
	"k8s.io/client-go/tools/cache"
	rl "k8s.io/client-go/tools/leaderelection/resourcelock"
	"k8s.io/utils/clock"
)

// Options tune a Lock. The zero value is ready to use.
type Options struct {
	// Clock judges expiry; tests inject a fake one. Default: the real clock.
	Clock clock.Clock
	// Logger receives the lock's own decisions (debug) and watch errors.
	// Default: discarded.
	Logger *slog.Logger
	// WatchClient serves the lock's list and watch. Default: the client
	// given to New, on the same transport but without its rest.Config
	// Timeout, which client-go would apply to the whole watch.
	WatchClient kubernetes.Interface
}

// Lock implements resourcelock.Interface on one Lease. Its Get, Create and
// Update are meant to be called by one LeaderElector at a time, as client-go
// does; Start/Stop and the informer run alongside.
type Lock struct {
	leases    coordinationv1client.LeaseInterface
	namespace string
	name      string
	cfg       rl.ResourceLockConfig
	clock     clock.Clock
	log       *slog.Logger
	informer  cache.SharedIndexInformer

	startOnce sync.Once
	cancel    context.CancelFunc

	mu   sync.Mutex
	seen view // the freshest state of the Lease this process knows

	// What the elector was told and what it will write against; see get.go.
	lease    *coordinationv1.Lease // private copy that Update modifies
	told     *rl.LeaderElectionRecord
	toldRaw  []byte
	holding  bool // our last successful write named us holder
	readNext bool // the next Get reads the API (after a failed write)
	// ourTerm is the lease duration we last wrote as holder; after we stop
	// holding, Gets do not block until lostUntil (see Get).
	ourTerm   time.Duration
	lostUntil time.Time
}

var _ rl.Interface = (*Lock)(nil)

// New returns a Lock on the Lease namespace/name. Call Start (or let the
// first Get start it) to run its watch, and Stop to end it.
func New(client kubernetes.Interface, namespace, name string, cfg rl.ResourceLockConfig, opts Options) *Lock {
	l := &Lock{
		leases:    client.CoordinationV1().Leases(namespace),
		namespace: namespace,
		name:      name,
		cfg:       cfg,
		clock:     opts.Clock,
		log:       opts.Logger,
	}
	if l.clock == nil {
		l.clock = clock.RealClock{}
	}
	if l.log == nil {
		l.log = slog.New(slog.DiscardHandler)
	}
	l.log = l.log.With("lease", l.Describe())
	l.seen.changed = make(chan struct{})
	watchLeases := unboundedLeases(client, namespace)
	if opts.WatchClient != nil {
		watchLeases = opts.WatchClient.CoordinationV1().Leases(namespace)
	}
	l.informer = newInformer(watchLeases, name, l)
	return l
}

// Start runs the Lease's watch until ctx ends or Stop is called. It returns
// at once; calling it again does nothing.
func (l *Lock) Start(ctx context.Context) {
	l.startOnce.Do(func() {
		ctx, cancel := context.WithCancel(ctx)
		l.mu.Lock()
		l.cancel = cancel
		l.mu.Unlock()
		go l.informer.RunWithContext(ctx)
	})
}

// Stop ends the watch. A follower's Get then wakes only at the expiry it
// already knows; the holder's reads and writes go on working.
func (l *Lock) Stop() {
	l.Start(context.Background()) // so a later Start cannot run it again
	l.mu.Lock()
	defer l.mu.Unlock()
	l.cancel()
}

// Forget makes the next Get return the current record at once, as the first
// one does. Call it before handing this Lock to a new LeaderElector: a new
// elector has seen nothing, and a Get that blocks on "nothing new since you
// last looked" would keep it from learning who leads.
func (l *Lock) Forget() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.told, l.toldRaw = nil, nil
	l.lostUntil = time.Time{}
}

// Identity returns the identity this lock writes as holder.
func (l *Lock) Identity() string { return l.cfg.Identity }

// Describe names the Lease as namespace/name.
func (l *Lock) Describe() string { return l.namespace + "/" + l.name }

// Create creates the Lease holding ler. The API server lets exactly one
// creator win; a loser's next Get reads the Lease from the API.
func (l *Lock) Create(ctx context.Context, ler rl.LeaderElectionRecord) error {
	lease := &coordinationv1.Lease{
		ObjectMeta: metav1.ObjectMeta{Name: l.name, Namespace: l.namespace},
		Spec:       rl.LeaderElectionRecordToLeaseSpec(&ler),
	}
	created, err := l.leases.Create(ctx, lease, metav1.CreateOptions{})
	l.wrote(created, ler, err)
	if err != nil {
		return fmt.Errorf("creating lease %s: %w", l.Describe(), err)
	}
	return nil
}

// Update writes ler over the Lease as last returned by Get (or written by
// this lock), with that object's resourceVersion: if anyone wrote since,
// the API server answers 409 Conflict and nothing changes.
func (l *Lock) Update(ctx context.Context, ler rl.LeaderElectionRecord) error {
	l.mu.Lock()
	base := l.lease
	l.mu.Unlock()
	if base == nil {
		return fmt.Errorf("updating lease %s: lease not initialized, call get or create first", l.Describe())
	}
	lease := base.DeepCopy()
	lease.Spec = rl.LeaderElectionRecordToLeaseSpec(&ler)
	updated, err := l.leases.Update(ctx, lease, metav1.UpdateOptions{})
	l.wrote(updated, ler, err)
	if err != nil {
		return fmt.Errorf("updating lease %s: %w", l.Describe(), err)
	}
	return nil
}

// wrote records the outcome of a write.
func (l *Lock) wrote(lease *coordinationv1.Lease, ler rl.LeaderElectionRecord, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err != nil {
		// Our copy may be stale: read the API once rather than trusting a
		// cache that may not have caught up with what made us fail.
		l.readNext = true
		l.log.Debug("write failed; the next get reads the API", "err", err)
		return
	}
	l.lease = lease.DeepCopy()
	if ler.HolderIdentity != "" && ler.HolderIdentity == l.cfg.Identity {
		l.holding = true
		l.ourTerm = time.Duration(ler.LeaseDurationSeconds) * time.Second
	} else {
		l.stopHoldingLocked()
	}
	l.observeLocked(lease)
}

// stopHoldingLocked notes that we no longer hold the Lease. The elector that
// held it goes on calling Get from its renew loop and its release, which must
// not block; and the elector that follows it has seen nothing yet. So for one
// of our terms, Gets return the newest record at once, from the watch: the
// elector then judges expiry itself, as it does with client-go's LeaseLock.
func (l *Lock) stopHoldingLocked() {
	if l.holding {
		l.lostUntil = l.clock.Now().Add(l.ourTerm)
	}
	l.holding = false
}

// RecordEvent records an Event on the Lease, as resourcelock.LeaseLock does.
func (l *Lock) RecordEvent(s string) {
	if l.cfg.EventRecorder == nil {
		return
	}
	l.mu.Lock()
	meta := metav1.ObjectMeta{Name: l.name, Namespace: l.namespace}
	if l.lease != nil {
		meta = *l.lease.ObjectMeta.DeepCopy()
	}
	l.mu.Unlock()
	subject := &coordinationv1.Lease{ObjectMeta: meta}
	subject.Kind = "Lease"
	subject.APIVersion = coordinationv1.SchemeGroupVersion.String()
	l.cfg.EventRecorder.Eventf(subject, corev1.EventTypeNormal, "LeaderElection", "%s", l.cfg.Identity+" "+s)
}
