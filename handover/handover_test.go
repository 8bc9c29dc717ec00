package handover

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	apiwatch "k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes/fake"
	coordinationclient "k8s.io/client-go/kubernetes/typed/coordination/v1"
	k8stesting "k8s.io/client-go/testing"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/leader-elector/leader-elector/elect"
	"github.com/leader-elector/leader-elector/internal/exitcode"
	"github.com/leader-elector/leader-elector/internal/leasewatch"
)

// These tests drive Run's logic against client-go's fake clientset; how the
// API server answers (field selectors, the resourceVersion precondition,
// RBAC) is tested against a real one in e2e/handover_test.go.

var t0 = time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)

// fakeLeases is the fake clientset's Lease client as a LeaseClient.
type fakeLeases struct {
	coordinationclient.LeaseInterface
}

func (f fakeLeases) Stream(ctx context.Context, opts metav1.ListOptions) (leasewatch.Stream, error) {
	w, err := f.Watch(ctx, opts)
	if err != nil {
		return nil, err
	}
	return &stream{w: w}, nil
}

type stream struct{ w apiwatch.Interface }

func (s *stream) Decode() (apiwatch.EventType, runtime.Object, error) {
	ev, ok := <-s.w.ResultChan()
	if !ok {
		return "", nil, errors.New("watch closed")
	}
	return ev.Type, ev.Object, nil
}

func (s *stream) Close() error { s.w.Stop(); return nil }

type pods struct {
	names []string
	err   error
}

func (p pods) List(_ context.Context, opts metav1.ListOptions) (*metav1.PartialObjectMetadataList, error) {
	if p.err != nil {
		return nil, p.err
	}
	l := &metav1.PartialObjectMetadataList{}
	for _, n := range p.names {
		if opts.FieldSelector == "metadata.name="+n {
			l.Items = append(l.Items, metav1.PartialObjectMetadata{ObjectMeta: metav1.ObjectMeta{Name: n}})
		}
	}
	return l, nil
}

func lease(holder string, renewed time.Time) *coordinationv1.Lease {
	d := int32(15)
	l := &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "lock"},
		Spec: coordinationv1.LeaseSpec{LeaseDurationSeconds: &d, RenewTime: &metav1.MicroTime{Time: renewed}}}
	if holder != "" {
		l.Spec.HolderIdentity = &holder
	}
	return l
}

type env struct {
	cs    *fake.Clientset
	c     Clients
	clock *clocktesting.FakeClock
	mu    sync.Mutex
	steps []Progress
}

func newEnv(l *coordinationv1.Lease, podNames ...string) *env {
	e := &env{cs: fake.NewClientset(l), clock: clocktesting.NewFakeClock(t0)}
	e.c = Clients{Leases: fakeLeases{e.cs.CoordinationV1().Leases("ns")}, Pods: pods{names: podNames}}
	return e
}

func (e *env) opts(to string) Options {
	return Options{Namespace: "ns", Name: "lock", To: to, ID: "req-1", By: "test", Clock: e.clock,
		Progress: func(p Progress) { e.mu.Lock(); e.steps = append(e.steps, p); e.mu.Unlock() }}
}

func (e *env) lease(t *testing.T) *coordinationv1.Lease {
	t.Helper()
	l, err := e.cs.CoordinationV1().Leases("ns").Get(context.Background(), "lock", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func (e *env) set(t *testing.T, mutate func(*coordinationv1.Lease)) {
	t.Helper()
	l := e.lease(t)
	mutate(l)
	if _, err := e.cs.CoordinationV1().Leases("ns").Update(context.Background(), l, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// asked waits until Run has written its request.
func (e *env) asked(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if _, ok := e.lease(t).Annotations[elect.HandoverAnnotation]; ok && e.clock.HasWaiters() {
			return
		}
		time.Sleep(time.Millisecond)
	}
	t.Fatal("no request on the Lease")
}

func code(err error) int {
	var c interface{ ExitCode() int }
	if errors.As(err, &c) {
		return c.ExitCode()
	}
	return -1
}

func TestParseTarget(t *testing.T) {
	for _, tc := range []struct{ in, ns, name, err string }{
		{in: "default/my-lock", ns: "default", name: "my-lock"},
		{in: "kube-system/kube-controller-manager", ns: "kube-system", name: "kube-controller-manager"},
		{in: "my-lock", err: "is not NAMESPACE/LEASE"},
		{in: "/my-lock", err: "is not NAMESPACE/LEASE"},
		{in: "default/", err: "is not NAMESPACE/LEASE"},
		{in: "a/b/c", err: "is not NAMESPACE/LEASE"},
		{in: "Default/x", err: "namespace \"Default\""},
		{in: "default/X_y", err: "Lease name \"X_y\""},
	} {
		ns, name, err := ParseTarget(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) || code(err) != exitcode.Config {
				t.Errorf("ParseTarget(%q) = %v, want exit 2 with %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || ns != tc.ns || name != tc.name {
			t.Errorf("ParseTarget(%q) = %q, %q, %v", tc.in, ns, name, err)
		}
	}
}

// Run refuses at once, with exit 2, what it cannot ask, and writes nothing.
func TestRefusals(t *testing.T) {
	for _, tc := range []struct {
		name  string
		lease *coordinationv1.Lease
		to    string
		want  string
	}{
		{name: "no holder", lease: lease("", t0), want: "has no holder"},
		{name: "expired", lease: lease("a", t0.Add(-16*time.Second)), want: "has not renewed it since"},
		{name: "unknown to", lease: lease("a", t0), to: "ghost", want: "--to ghost: no Pod of that name in namespace ns"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(tc.lease, "a", "b")
			_, err := Run(context.Background(), e.c, e.opts(tc.to))
			if err == nil || !strings.Contains(err.Error(), tc.want) || code(err) != exitcode.Config {
				t.Fatalf("Run = %v, want exit 2 with %q", err, tc.want)
			}
			if a := e.lease(t).Annotations; len(a) != 0 {
				t.Errorf("the Lease was written: %v", a)
			}
		})
	}
	t.Run("not found", func(t *testing.T) {
		e := newEnv(lease("a", t0))
		o := e.opts("")
		o.Name = "other"
		_, err := Run(context.Background(), e.c, o)
		if err == nil || !strings.Contains(err.Error(), "Lease ns/other not found") || code(err) != exitcode.Config {
			t.Fatalf("Run = %v", err)
		}
	})
	t.Run("patch forbidden", func(t *testing.T) {
		e := newEnv(lease("a", t0))
		e.cs.PrependReactor("patch", "leases", func(k8stesting.Action) (bool, runtime.Object, error) {
			return true, nil, apierrors.NewForbidden(schema.GroupResource{Group: "coordination.k8s.io", Resource: "leases"}, "lock", errors.New("no"))
		})
		_, err := Run(context.Background(), e.c, e.opts(""))
		if err == nil || !strings.Contains(err.Error(), "grant patch on leases there") || !strings.Contains(err.Error(), "deploy/watch-rbac") || code(err) != exitcode.Config {
			t.Fatalf("Run = %v", err)
		}
	})
}

// --to the holder is already done: nothing is asked.
func TestToTheHolder(t *testing.T) {
	e := newEnv(lease("a", t0), "a")
	res, err := Run(context.Background(), e.c, e.opts("a"))
	if err != nil || !res.Already || res.Holder != "a" {
		t.Fatalf("Run = %+v, %v", res, err)
	}
	if len(e.lease(t).Annotations) != 0 {
		t.Error("the Lease was written")
	}
}

// Pods that may not be listed do not stop the request: a warning does.
func TestPodsForbiddenWarns(t *testing.T) {
	e := newEnv(lease("a", t0))
	e.c.Pods = pods{err: apierrors.NewForbidden(schema.GroupResource{Resource: "pods"}, "", errors.New("no"))}
	done := make(chan error, 1)
	go func() { _, err := Run(context.Background(), e.c, e.opts("b")); done <- err }()
	e.asked(t)
	e.set(t, func(l *coordinationv1.Lease) { l.Spec.HolderIdentity = ptr("b") })
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if len(e.steps) == 0 || e.steps[0].Step != StepWarning || !strings.Contains(e.steps[0].Message, "may not list pods in namespace ns") {
		t.Errorf("steps %v, want a warning first", e.steps)
	}
}

// A holder that answers: released, then taken by the one named.
func TestHandedOver(t *testing.T) {
	e := newEnv(lease("a", t0), "a", "b")
	done := make(chan error, 1)
	var res Result
	go func() { var err error; res, err = Run(context.Background(), e.c, e.opts("b")); done <- err }()
	e.asked(t)
	req, err := elect.ParseHandoverRequest(e.lease(t).Annotations[elect.HandoverAnnotation])
	if err != nil || req.ID != "req-1" || req.To != "b" || req.By != "test" {
		t.Fatalf("request %+v, %v", req, err)
	}
	e.set(t, func(l *coordinationv1.Lease) { l.Spec.HolderIdentity = nil })
	e.set(t, func(l *coordinationv1.Lease) {
		l.Spec.HolderIdentity = ptr("b")
		delete(l.Annotations, elect.HandoverAnnotation)
	})
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if res.Holder != "b" || res.From != "a" {
		t.Errorf("result %+v", res)
	}
	var got []string
	for _, s := range e.steps {
		got = append(got, s.String())
	}
	if want := "asked a to hand ns/lock over|released by a|taken by b"; strings.Join(got, "|") != want {
		t.Errorf("progress %q, want %q", strings.Join(got, "|"), want)
	}
}

// Another replica than the one named took it: exit 1, saying who.
func TestSomeoneElseTookIt(t *testing.T) {
	e := newEnv(lease("a", t0), "a", "b", "c")
	done := make(chan error, 1)
	go func() { _, err := Run(context.Background(), e.c, e.opts("b")); done <- err }()
	e.asked(t)
	e.set(t, func(l *coordinationv1.Lease) { l.Spec.HolderIdentity = ptr("c") })
	err := <-done
	if err == nil || code(err) != exitcode.Runtime || !strings.Contains(err.Error(), "c took Lease ns/lock, not b") {
		t.Fatalf("Run = %v", err)
	}
}

// A holder that never answers: exit 1 naming the likely reason, and our
// request is removed.
func TestTimeoutWithdraws(t *testing.T) {
	e := newEnv(lease("a", t0), "a", "b")
	done := make(chan error, 1)
	go func() { _, err := Run(context.Background(), e.c, e.opts("b")); done <- err }()
	e.asked(t)
	e.clock.Step(DefaultTimeout(15 * time.Second))
	err := <-done
	if err == nil || code(err) != exitcode.Runtime || !strings.Contains(err.Error(), "a did not answer within 40s: it may not understand planned hand-overs (client-go's elector, the original sidecar)") {
		t.Fatalf("Run = %v", err)
	}
	if v, ok := e.lease(t).Annotations[elect.HandoverAnnotation]; ok {
		t.Errorf("the request is still there: %s", v)
	}
}

// On timeout a request that is no longer ours stays.
func TestTimeoutLeavesOthersRequest(t *testing.T) {
	e := newEnv(lease("a", t0), "a", "b")
	done := make(chan error, 1)
	go func() { _, err := Run(context.Background(), e.c, e.opts("b")); done <- err }()
	e.asked(t)
	theirs := elect.HandoverRequest{ID: "theirs", By: "someone"}.Encode()
	e.set(t, func(l *coordinationv1.Lease) { l.Annotations[elect.HandoverAnnotation] = theirs })
	e.clock.Step(time.Minute)
	if err := <-done; code(err) != exitcode.Runtime {
		t.Fatalf("Run = %v", err)
	}
	if v := e.lease(t).Annotations[elect.HandoverAnnotation]; v != theirs {
		t.Errorf("annotation %q, want theirs %q", v, theirs)
	}
}

// Interrupted: our request is removed and ctx's error returned (exit 130).
func TestInterruptWithdraws(t *testing.T) {
	e := newEnv(lease("a", t0), "a")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { _, err := Run(ctx, e.c, e.opts("")); done <- err }()
	e.asked(t)
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Run = %v, want context.Canceled", err)
	}
	if _, ok := e.lease(t).Annotations[elect.HandoverAnnotation]; ok {
		t.Error("the request is still there")
	}
}

// Withdraw reads again after a conflict, and removes only its own request.
func TestWithdrawConflict(t *testing.T) {
	e := newEnv(lease("a", t0))
	e.set(t, func(l *coordinationv1.Lease) {
		l.Annotations = map[string]string{elect.HandoverAnnotation: elect.HandoverRequest{ID: "mine"}.Encode()}
	})
	conflicts := 0
	e.cs.PrependReactor("patch", "leases", func(a k8stesting.Action) (bool, runtime.Object, error) {
		if !strings.Contains(string(a.(k8stesting.PatchAction).GetPatch()), `"resourceVersion"`) {
			t.Errorf("the removal carries no resourceVersion precondition: %s", a.(k8stesting.PatchAction).GetPatch())
		}
		if conflicts == 0 {
			conflicts++
			// Meanwhile somebody replaced our request with theirs.
			// (Through the tracker: the client's lock is held here.)
			gvr := schema.GroupVersionResource{Group: "coordination.k8s.io", Version: "v1", Resource: "leases"}
			o, err := e.cs.Tracker().Get(gvr, "ns", "lock")
			if err != nil {
				t.Error(err)
			}
			l := o.(*coordinationv1.Lease).DeepCopy()
			l.Annotations[elect.HandoverAnnotation] = elect.HandoverRequest{ID: "theirs"}.Encode()
			_ = e.cs.Tracker().Update(gvr, l, "ns")
			return true, nil, apierrors.NewConflict(schema.GroupResource{Resource: "leases"}, "lock", errors.New("changed"))
		}
		return false, nil, nil
	})
	removed, err := Withdraw(context.Background(), e.c.Leases, "lock", "mine")
	if err != nil || removed {
		t.Fatalf("Withdraw = %v, %v; want nothing removed", removed, err)
	}
	if req, _ := elect.ParseHandoverRequest(e.lease(t).Annotations[elect.HandoverAnnotation]); req.ID != "theirs" {
		t.Errorf("request %+v, want theirs kept", req)
	}
}

func ptr[T any](v T) *T { return &v }

var _ = types.MergePatchType
