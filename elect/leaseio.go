package elect

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/watch"

	"github.com/leader-elector/leader-elector/elect/leadership"
	"github.com/leader-elector/leader-elector/internal/leaseann"
	"github.com/leader-elector/leader-elector/internal/leasewatch"
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
	return leadership.Lease{Exists: true, RV: obj.ResourceVersion, Record: r, Obj: obj,
		Handover: handoverOf(obj), Priority: leaseann.Priority(obj.Annotations)}
}

// handoverOf is the hand-over asked of obj's holder: the annotation, or
// else spec.preferredHolder (Coordinated Leader Election), which asks the
// same. An annotation that cannot be read asks nothing.
func handoverOf(obj *coordinationv1.Lease) leadership.Handover {
	if req, ok := leaseann.Request(obj.Annotations); ok {
		return leadership.Handover{ID: req.ID, To: req.To}
	}
	if p := obj.Spec.PreferredHolder; p != nil && *p != "" && (obj.Spec.HolderIdentity == nil || *obj.Spec.HolderIdentity != *p) {
		return leadership.Handover{ID: "spec.preferredHolder=" + *p, To: *p}
	}
	return leadership.Handover{}
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
	watches   LeaseWatcher // without an overall request timeout
	namespace string
	name      string
	timeout   time.Duration
	// bound makes the context of one request: context.WithTimeout, or the
	// host's when the host keeps time (the simulation).
	bound func(context.Context, time.Duration) (context.Context, context.CancelFunc)
	// labels go on the Lease with every write (Config.LeaseLabels, and a
	// shard's group labels); annotations too (a shard's group name).
	labels      map[string]string
	annotations map[string]string
}

// stamp sets a's labels and annotations on obj, keeping those others set.
func (a *leaseAPI) stamp(obj *coordinationv1.Lease) {
	obj.Labels = merge(obj.Labels, a.labels)
	obj.Annotations = merge(obj.Annotations, a.annotations)
}

// merge sets add's keys in m (made when nil and needed) and returns it.
func merge(m, add map[string]string) map[string]string {
	if len(add) == 0 {
		return m
	}
	if m == nil {
		m = make(map[string]string, len(add))
	}
	for k, v := range add {
		m[k] = v
	}
	return m
}

func (a *leaseAPI) write(ctx context.Context, w leadership.Write) (*coordinationv1.Lease, error) {
	ctx, cancel := a.bound(ctx, a.timeout)
	defer cancel()
	if w.Create {
		obj := &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Name: a.name, Namespace: a.namespace}}
		a.stamp(obj)
		annotate(obj, w)
		toSpec(w.Record, &obj.Spec)
		out, err := a.leases.Create(ctx, obj, metav1.CreateOptions{})
		if err != nil {
			return nil, fmt.Errorf("creating lease %s/%s: %w", a.namespace, a.name, err)
		}
		return out, nil
	}
	// Update the object the write is based on, so labels and annotations
	// others set survive; its resourceVersion makes the write fail if
	// anyone wrote since.
	obj := &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Name: a.name, Namespace: a.namespace}}
	if base, ok := w.Base.(*coordinationv1.Lease); ok && base.ResourceVersion == w.BaseRV {
		obj = base.DeepCopy()
	}
	obj.ResourceVersion = w.BaseRV
	a.stamp(obj)
	annotate(obj, w)
	toSpec(w.Record, &obj.Spec)
	out, err := a.leases.Update(ctx, obj, metav1.UpdateOptions{})
	if err != nil {
		return nil, fmt.Errorf("updating lease %s/%s: %w", a.namespace, a.name, err)
	}
	return out, nil
}

// annotate sets what a write publishes besides the record: the holder's
// priority (none on a release), and removes the hand-over request it
// fulfils, if that request is still the one on the Lease.
func annotate(obj *coordinationv1.Lease, w leadership.Write) {
	if w.Priority != 0 {
		setAnnotation(obj, PriorityAnnotation, strconv.Itoa(int(w.Priority)))
	} else {
		delete(obj.Annotations, PriorityAnnotation)
	}
	if w.ClearHandover != "" {
		clearHandover(obj, w.ClearHandover)
	}
}

func setAnnotation(obj *coordinationv1.Lease, k, v string) {
	if obj.Annotations == nil {
		obj.Annotations = map[string]string{}
	}
	obj.Annotations[k] = v
}

// clearHandover removes the request id from obj, and only that one.
func clearHandover(obj *coordinationv1.Lease, id string) bool {
	if leaseann.HasRequest(obj.Annotations, id) {
		delete(obj.Annotations, HandoverAnnotation)
		return true
	}
	return false
}

// handover adds (req) or withdraws (the request id) a hand-over request:
// an update of the object at baseRV, which fails if the Lease changed
// meanwhile. It writes nothing when there is nothing to withdraw.
func (a *leaseAPI) handover(ctx context.Context, base any, baseRV string, req *HandoverRequest, withdraw string) error {
	obj, ok := base.(*coordinationv1.Lease)
	if !ok || obj.ResourceVersion != baseRV {
		return fmt.Errorf("lease %s/%s: no copy at resourceVersion %s to write the hand-over request on", a.namespace, a.name, baseRV)
	}
	obj = obj.DeepCopy()
	switch {
	case req != nil:
		setAnnotation(obj, HandoverAnnotation, req.Encode())
	case !clearHandover(obj, withdraw):
		return nil
	}
	ctx, cancel := a.bound(ctx, a.timeout)
	defer cancel()
	if _, err := a.leases.Update(ctx, obj, metav1.UpdateOptions{}); err != nil {
		return fmt.Errorf("writing the hand-over request on lease %s/%s: %w", a.namespace, a.name, err)
	}
	return nil
}

func (a *leaseAPI) read(ctx context.Context) (*coordinationv1.Lease, error) {
	ctx, cancel := a.bound(ctx, a.timeout)
	defer cancel()
	return a.leases.Get(ctx, a.name, metav1.GetOptions{})
}

// watchEvent is one thing the watch saw: a state of the Lease (absent when
// deleted or not there), a failure (err), or only that a call was answered
// (answered: nothing observed).
type watchEvent struct {
	lease    leadership.Lease
	err      error
	answered bool
}

// follow lists and watches the one Lease until ctx ends, sending what it
// sees, with the loop the dashboard uses too (internal/leasewatch: the
// reflector's contract). The watch is what keeps followers from polling: a
// release or a holder change wakes them at once. Every list is consistent:
// a stale Lease from the watch cache would only cost a conflict. retry is
// the first wait after a failure.
func (a *leaseAPI) follow(ctx context.Context, retry time.Duration, send func(watchEvent)) {
	leasewatch.Run(ctx, boundedList{a}, followed{send}, leasewatch.Options{
		FieldSelector: fields.OneTermEqualSelector("metadata.name", a.name).String(),
		RetryWait:     retry,
	})
}

// boundedList bounds each list by the request timeout; the watch has none.
type boundedList struct{ a *leaseAPI }

func (c boundedList) List(ctx context.Context, opts metav1.ListOptions) (*coordinationv1.LeaseList, error) {
	ctx, cancel := c.a.bound(ctx, c.a.timeout)
	defer cancel()
	list, err := c.a.leases.List(ctx, opts)
	if err != nil {
		return nil, fmt.Errorf("listing lease %s/%s: %w", c.a.namespace, c.a.name, err)
	}
	return list, nil
}

func (c boundedList) Stream(ctx context.Context, opts metav1.ListOptions) (leasewatch.Stream, error) {
	s, err := c.a.watches.Stream(ctx, opts)
	if err != nil {
		return nil, fmt.Errorf("watching lease %s/%s: %w", c.a.namespace, c.a.name, err)
	}
	return s, nil
}

// followed turns what the loop sees into watchEvents.
type followed struct{ send func(watchEvent) }

func (f followed) Replace(leases []*coordinationv1.Lease, rv string) {
	if len(leases) == 0 {
		f.send(watchEvent{lease: leadership.Lease{RV: rv}})
		return
	}
	f.send(watchEvent{lease: toLease(leases[0])})
}

func (f followed) Apply(typ watch.EventType, obj *coordinationv1.Lease) {
	if typ == watch.Deleted {
		f.send(watchEvent{lease: leadership.Lease{RV: obj.ResourceVersion}})
		return
	}
	f.send(watchEvent{lease: toLease(obj)})
}

// Connection reports every call's outcome, so readiness returns as soon as
// a watch opens again, though the Lease may not change for a while.
func (f followed) Connection(err error) {
	f.send(watchEvent{err: err, answered: err == nil})
}
