package leaselock

import (
	"context"
	"fmt"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	rl "k8s.io/client-go/tools/leaderelection/resourcelock"
)

// expiryMargin is added to a lease's expiry so a timer that fires a hair
// early (clock granularity) never acts before it.
const expiryMargin = 5 * time.Millisecond

// Get returns the Lease's record. The holder, a first call, and a call right
// after a failed write read the API, as LeaseLock does. A follower is served
// from the watch and blocks until one of these, whichever comes first:
//   - the holder changed or became empty: the record is returned at once;
//   - the Lease was deleted and the last holder's lease has expired (or
//     there was none): a NotFound error, so the elector creates it;
//   - the holder's lease expired by our clock (our last local observation of
//     a change of its record, plus its leaseDurationSeconds): see vacant;
//   - ctx ends: ctx's error.
//
// Renewals by the same holder do not return: the elector keeps the record it
// saw, and that is all it needs until one of the above. For one lease
// duration after this process stops holding the Lease, Get returns the
// newest record from the watch at once instead (see stopHoldingLocked).
func (l *Lock) Get(ctx context.Context) (*rl.LeaderElectionRecord, []byte, error) {
	l.Start(context.Background())
	l.mu.Lock()
	direct := l.readNext || l.holding || l.told == nil
	l.mu.Unlock()
	if direct {
		return l.read(ctx)
	}
	return l.await(ctx)
}

// read gets the Lease from the API server and tells the elector.
func (l *Lock) read(ctx context.Context) (*rl.LeaderElectionRecord, []byte, error) {
	lease, err := l.leases.Get(ctx, l.name, metav1.GetOptions{})
	l.mu.Lock()
	defer l.mu.Unlock()
	if apierrors.IsNotFound(err) {
		l.readNext = false
		l.stopHoldingLocked()
		l.goneLocked("")
		l.lease, l.told, l.toldRaw = nil, nil, nil
		return nil, nil, fmt.Errorf("reading lease %s: %w", l.Describe(), err)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("reading lease %s: %w", l.Describe(), err)
	}
	l.readNext = false
	if lease.Spec.HolderIdentity == nil || *lease.Spec.HolderIdentity != l.cfg.Identity {
		l.stopHoldingLocked()
	}
	l.observeLocked(lease)
	rec, raw := l.tellLocked(lease)
	return rec, raw, nil
}

// tellLocked makes lease the object Update writes against and returns its
// record, remembering what the elector was told.
func (l *Lock) tellLocked(lease *coordinationv1.Lease) (*rl.LeaderElectionRecord, []byte) {
	rec, raw := record(lease)
	l.lease = lease.DeepCopy() // Update changes it; never the informer's object
	told := *rec
	l.told, l.toldRaw = &told, raw
	return rec, raw
}

type action int

const (
	wait   action = iota
	tell          // return the current record
	vacant        // the holder's lease expired by our clock
	gone          // return NotFound
	read          // read the API (the Lease names us)
)

// decideLocked says what a follower's Get does now, and if it waits, until when.
func (l *Lock) decideLocked(now time.Time) (action, time.Time) {
	v := &l.seen
	var expiry time.Time
	if v.rec != nil {
		expiry = v.changedAt.Add(time.Duration(v.rec.LeaseDurationSeconds)*time.Second + expiryMargin)
	}
	if !v.present {
		// Someone deleted the Lease. Its last holder still believes it leads
		// until its term runs out, so wait for that before creating it anew;
		// the holder itself recreates it on its next renewal.
		if v.rec == nil || v.rec.HolderIdentity == "" || !now.Before(expiry) {
			return gone, time.Time{}
		}
		return wait, expiry
	}
	switch holder := v.rec.HolderIdentity; {
	case holder == "":
		return tell, time.Time{} // released: the graceful hand-over
	case holder == l.cfg.Identity:
		// Not written by us as holder: a restarted process's predecessor or
		// a twin with our identity. The caller (elect's guard) tells them
		// apart by watching its renewals, so it reads the API each time.
		return read, time.Time{}
	case now.Before(l.lostUntil):
		return tell, time.Time{} // we just stopped holding: never block
	case l.told == nil || l.told.HolderIdentity != holder:
		return tell, time.Time{} // a new leader, for OnNewLeader
	case !now.Before(expiry):
		return vacant, time.Time{}
	}
	return wait, expiry
}

// await is a follower's Get: it blocks until decideLocked says otherwise.
func (l *Lock) await(ctx context.Context) (*rl.LeaderElectionRecord, []byte, error) {
	for {
		l.mu.Lock()
		act, until := l.decideLocked(l.clock.Now())
		switch act {
		case tell:
			rec, raw := l.tellLocked(l.seen.obj)
			l.mu.Unlock()
			return rec, raw, nil
		case vacant:
			rec, raw := l.vacantLocked()
			l.mu.Unlock()
			return rec, raw, nil
		case gone:
			l.lease, l.told, l.toldRaw = nil, nil, nil
			l.mu.Unlock()
			err := apierrors.NewNotFound(coordinationv1.Resource("leases"), l.name)
			return nil, nil, fmt.Errorf("reading lease %s from the watch: %w", l.Describe(), err)
		case read:
			l.mu.Unlock()
			return l.read(ctx)
		}
		wake := l.seen.changed
		l.mu.Unlock()

		timer := l.clock.NewTimer(until.Sub(l.clock.Now()))
		select {
		case <-ctx.Done():
			timer.Stop()
			return nil, nil, fmt.Errorf("waiting for lease %s to change: %w", l.Describe(), ctx.Err())
		case <-wake:
		case <-timer.C():
		}
		timer.Stop()
	}
}

// vacantLocked answers a Get at the moment the holder's lease expired by our
// clock. client-go's elector took its `now` before calling Get, so a record
// it already knows cannot look expired to it after we blocked; an empty
// holder is the one thing it acts on regardless of time. So the record comes
// back with the holder cleared, paired with the raw bytes the elector saw
// last: its observed record (what OnNewLeader reports) stays the real
// holder, and it goes straight to Update. That Update carries the
// resourceVersion of the newest object we saw, so if the holder renewed
// after all, the API server refuses it and the next Get reads the API.
func (l *Lock) vacantLocked() (*rl.LeaderElectionRecord, []byte) {
	l.lease = l.seen.obj.DeepCopy()
	rec := *l.seen.rec
	l.log.Debug("holder's lease expired by our observation", "holder", rec.HolderIdentity,
		"lastChangeSeen", l.seen.changedAt, "leaseDurationSeconds", rec.LeaseDurationSeconds)
	rec.HolderIdentity = ""
	return &rec, l.toldRaw
}
