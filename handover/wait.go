package handover

import (
	"context"
	"fmt"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/watch"

	"github.com/leader-elector/leader-elector/internal/exitcode"
	"github.com/leader-elector/leader-elector/internal/leasewatch"
)

// seen is what the watch of the Lease reports: its state (nil: deleted),
// or a failure to follow it.
type seen struct {
	lease *coordinationv1.Lease
	gone  bool
	err   error
}

// follower hands leasewatch's news to wait, in order.
type follower struct {
	ctx context.Context
	out chan<- seen
}

func (f follower) send(s seen) {
	select {
	case f.out <- s:
	case <-f.ctx.Done():
	}
}

func (f follower) Replace(leases []*coordinationv1.Lease, _ string) {
	if len(leases) == 0 {
		f.send(seen{gone: true})
		return
	}
	f.send(seen{lease: leases[0]})
}

func (f follower) Apply(typ watch.EventType, l *coordinationv1.Lease) {
	f.send(seen{lease: l, gone: typ == watch.Deleted})
}

func (f follower) Connection(err error) {
	if apierrors.IsForbidden(err) || apierrors.IsUnauthorized(err) {
		f.send(seen{err: err})
	}
}

// wait follows the Lease (a watch selected by name, re-established on
// failure, internal/leasewatch's), calls ask once the first list is in
// (so that no answer can come before the watch is there to see it), and
// waits until a holder other than from takes it; it returns who.
func wait(ctx context.Context, leases LeaseClient, o Options, from string, timeout time.Duration, ask func() error) (string, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	ch := make(chan seen)
	done := make(chan struct{})
	go func() {
		defer close(done)
		leasewatch.Run(ctx, leases, follower{ctx: ctx, out: ch}, leasewatch.Options{
			FieldSelector: fields.OneTermEqualSelector("metadata.name", o.Name).String(),
			Clock:         o.Clock,
		})
	}()
	defer func() { cancel(); <-done }()

	ref := o.Namespace + "/" + o.Name
	var first seen
	select {
	case <-ctx.Done():
		return "", ctx.Err()
	case first = <-ch:
	}
	if first.err == nil && !first.gone {
		if err := ask(); err != nil {
			return "", err
		}
	}
	deadline := o.Clock.After(timeout)
	released := false
	for {
		s := first
		if s == (seen{}) {
			select {
			case <-ctx.Done():
				return "", ctx.Err()
			case <-deadline:
				return "", timedOut(o, ref, from, released, timeout)
			case s = <-ch:
			}
		}
		first = seen{}
		switch {
		case s.err != nil:
			return "", exitcode.Configf("may not follow Lease %s (%v): grant get, list and watch on leases in namespace %s, e.g. with a RoleBinding to %s",
				ref, reason(s.err), o.Namespace, OperatorRole)
		case s.gone:
			return "", exitcode.WithCode(exitcode.Runtime, fmt.Errorf("Lease %s was deleted while it was being handed over", ref))
		}
		holder := Holder(s.lease)
		switch {
		case holder == "":
			if !released {
				released = true
				o.Progress(Progress{Step: StepReleased, Holder: from, Lease: ref})
			}
		case holder == from && released:
			return "", exitcode.WithCode(exitcode.Runtime, fmt.Errorf("%s released Lease %s and took it back: no other replica took it", Safe(from), ref))
		case holder == from:
			// Not answered yet.
		case o.To != "" && holder != o.To:
			o.Progress(Progress{Step: StepTaken, Holder: holder, Lease: ref})
			return holder, exitcode.WithCode(exitcode.Runtime, fmt.Errorf("%s took Lease %s, not %s: try again, or check that %s is running and competing for it",
				Safe(holder), ref, Safe(o.To), Safe(o.To)))
		default:
			o.Progress(Progress{Step: StepTaken, Holder: holder, Lease: ref})
			return holder, nil
		}
	}
}

// timedOut is the error of a wait that ran out: the holder did not answer,
// or nobody (To) took the released Lease.
func timedOut(o Options, ref, from string, released bool, d time.Duration) error {
	switch {
	case !released:
		return exitcode.WithCode(exitcode.Runtime, fmt.Errorf("%s did not answer within %v: it may not understand planned hand-overs (client-go's elector, the original sidecar); the Lease %s is unchanged",
			Safe(from), d, ref))
	case o.To != "":
		return exitcode.WithCode(exitcode.Runtime, fmt.Errorf("%s released Lease %s but %s did not take it within %v: check that it is running and competing for it",
			Safe(from), ref, Safe(o.To), d))
	}
	return exitcode.WithCode(exitcode.Runtime, fmt.Errorf("%s released Lease %s but no replica took it within %v", Safe(from), ref, d))
}
