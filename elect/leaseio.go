package elect

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/watch"

	"github.com/leader-elector/leader-elector/elect/leadership"
)

// toLease converts a Lease object into what the machine judges.
func toLease(obj *coordinationv1.Lease) leadership.Lease {
	s := obj.Spec
	r := leadership.Record{}
	if s.HolderIdentity != nil {
		r.Holder = *s.HolderIdentity
	}
	if s.LeaseDurationSeconds != nil {
		r.LeaseDurationSeconds = *s.LeaseDurationSeconds
	}
	if s.AcquireTime != nil {
		r.AcquireTime = s.AcquireTime.Time
	}
	if s.RenewTime != nil {
		r.RenewTime = s.RenewTime.Time
	}
	if s.LeaseTransitions != nil {
		r.Transitions = *s.LeaseTransitions
	}
	return leadership.Lease{Exists: true, RV: obj.ResourceVersion, Record: r}
}

// toSpec writes a record into spec as client-go's
// resourcelock.LeaderElectionRecordToLeaseSpec does, keeping any field the
// record does not carry (preferredHolder, strategy).
func toSpec(r leadership.Record, spec *coordinationv1.LeaseSpec) {
	holder, ld, tr := r.Holder, r.LeaseDurationSeconds, r.Transitions
	acquire, renew := metav1.NewMicroTime(r.AcquireTime), metav1.NewMicroTime(r.RenewTime)
	spec.HolderIdentity = &holder
	spec.LeaseDurationSeconds = &ld
	spec.LeaseTransitions = &tr
	spec.AcquireTime = &acquire
	spec.RenewTime = &renew
}

// classify maps a write's error onto what the machine can conclude: only
// an answer from the API server proves that nothing was written.
func classify(err error) leadership.Outcome {
	switch {
	case err == nil:
		return leadership.OK
	case apierrors.IsConflict(err):
		return leadership.Conflict
	case apierrors.IsNotFound(err):
		return leadership.NotFound
	case apierrors.IsAlreadyExists(err):
		return leadership.AlreadyExists
	case apierrors.IsForbidden(err), apierrors.IsUnauthorized(err), apierrors.IsInvalid(err),
		apierrors.IsBadRequest(err), apierrors.IsTooManyRequests(err), apierrors.IsMethodNotSupported(err),
		apierrors.IsRequestEntityTooLargeError(err), apierrors.IsNotAcceptable(err), apierrors.IsUnsupportedMediaType(err):
		return leadership.Refused
	}
	return leadership.Unknown
}

// answered says whether err came from the API server (it is reachable),
// for readiness.
func answered(err error) bool {
	if err == nil {
		return true
	}
	var status apierrors.APIStatus
	return errors.As(err, &status) && status.Status().Code < http.StatusInternalServerError
}

// leaseAPI does the requests on the one Lease. Every request but the watch
// is bounded by timeout, so one hung request cannot use up the renew
// deadline.
type leaseAPI struct {
	leases    LeaseClient
	watches   LeaseClient // without an overall request timeout
	namespace string
	name      string
	timeout   time.Duration
	// labels go on the Lease with every write (Config.LeaseLabels).
	labels map[string]string
}

// stamp sets a's labels on obj, keeping the labels others set.
func (a *leaseAPI) stamp(obj *coordinationv1.Lease) {
	if len(a.labels) == 0 {
		return
	}
	if obj.Labels == nil {
		obj.Labels = make(map[string]string, len(a.labels))
	}
	for k, v := range a.labels {
		obj.Labels[k] = v
	}
}

func (a *leaseAPI) write(ctx context.Context, w leadership.Write, base *coordinationv1.Lease) (*coordinationv1.Lease, error) {
	ctx, cancel := context.WithTimeout(ctx, a.timeout)
	defer cancel()
	if w.Create {
		obj := &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Name: a.name, Namespace: a.namespace}}
		a.stamp(obj)
		toSpec(w.Record, &obj.Spec)
		out, err := a.leases.Create(ctx, obj, metav1.CreateOptions{})
		if err != nil {
			return nil, fmt.Errorf("creating lease %s/%s: %w", a.namespace, a.name, err)
		}
		return out, nil
	}
	// Update the object as last seen, so labels and annotations others set
	// survive; its resourceVersion makes the write fail if anyone wrote since.
	obj := &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Name: a.name, Namespace: a.namespace}}
	if base != nil && base.ResourceVersion == w.BaseRV {
		obj = base.DeepCopy()
	}
	obj.ResourceVersion = w.BaseRV
	a.stamp(obj)
	toSpec(w.Record, &obj.Spec)
	out, err := a.leases.Update(ctx, obj, metav1.UpdateOptions{})
	if err != nil {
		return nil, fmt.Errorf("updating lease %s/%s: %w", a.namespace, a.name, err)
	}
	return out, nil
}

func (a *leaseAPI) read(ctx context.Context) (*coordinationv1.Lease, error) {
	ctx, cancel := context.WithTimeout(ctx, a.timeout)
	defer cancel()
	return a.leases.Get(ctx, a.name, metav1.GetOptions{})
}

// watchEvent is one thing the watch saw: a state of the Lease (obj nil and
// absent when deleted or not there), or a failure.
type watchEvent struct {
	lease leadership.Lease
	obj   *coordinationv1.Lease
	err   error
}

// follow lists and watches the one Lease until ctx ends, sending what it
// sees. The watch is what keeps followers from polling: a release or a
// holder change wakes them at once. After any interruption it lists again,
// so a lost event is replaced by the current state.
func (a *leaseAPI) follow(ctx context.Context, retry time.Duration, send func(watchEvent)) {
	sel := fields.OneTermEqualSelector("metadata.name", a.name).String()
	backoff := retry
	for ctx.Err() == nil {
		rv, err := a.list(ctx, sel, send)
		if err == nil {
			backoff = retry
			err = a.watch(ctx, sel, rv, send)
		}
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			send(watchEvent{err: err})
			select {
			case <-ctx.Done():
				return
			case <-time.After(backoff):
			}
			backoff = min(2*backoff, 30*time.Second)
		}
	}
}

func (a *leaseAPI) list(ctx context.Context, sel string, send func(watchEvent)) (string, error) {
	lctx, cancel := context.WithTimeout(ctx, a.timeout)
	defer cancel()
	list, err := a.leases.List(lctx, metav1.ListOptions{FieldSelector: sel})
	if err != nil {
		return "", fmt.Errorf("listing lease %s/%s: %w", a.namespace, a.name, err)
	}
	if len(list.Items) == 0 {
		send(watchEvent{lease: leadership.Lease{RV: list.ResourceVersion}})
	} else {
		obj := &list.Items[0]
		send(watchEvent{lease: toLease(obj), obj: obj})
	}
	return list.ResourceVersion, nil
}

// watch follows from rv until the server ends the watch (nil: list again)
// or it fails.
func (a *leaseAPI) watch(ctx context.Context, sel, rv string, send func(watchEvent)) error {
	// The server ends a watch after timeoutSeconds; jitter keeps replicas
	// from relisting together.
	timeout := int64(300 + rand.IntN(300))
	w, err := a.watches.Watch(ctx, metav1.ListOptions{FieldSelector: sel, ResourceVersion: rv, TimeoutSeconds: &timeout, AllowWatchBookmarks: true})
	if err != nil {
		return fmt.Errorf("watching lease %s/%s: %w", a.namespace, a.name, err)
	}
	defer w.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case ev, ok := <-w.ResultChan():
			if !ok {
				return nil
			}
			switch ev.Type {
			case watch.Added, watch.Modified:
				if obj, ok := ev.Object.(*coordinationv1.Lease); ok {
					send(watchEvent{lease: toLease(obj), obj: obj})
				}
			case watch.Deleted:
				if obj, ok := ev.Object.(*coordinationv1.Lease); ok {
					send(watchEvent{lease: leadership.Lease{RV: obj.ResourceVersion}})
				}
			case watch.Error:
				return fmt.Errorf("watching lease %s/%s: %w", a.namespace, a.name, apierrors.FromObject(ev.Object))
			}
		}
	}
}
