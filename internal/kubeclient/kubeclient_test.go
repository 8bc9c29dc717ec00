package kubeclient_test

import (
	"context"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	authorizationv1 "k8s.io/api/authorization/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"

	"github.com/leader-elector/leader-elector/internal/controlplane"
	"github.com/leader-elector/leader-elector/internal/kubeclient"
)

var cp *controlplane.ControlPlane

func TestMain(m *testing.M) { os.Exit(controlplane.Main(m, &cp)) }

// contentTypes records the Content-Type of every answer.
type contentTypes struct {
	mu   sync.Mutex
	seen map[string]int
	next http.RoundTripper
}

func (c *contentTypes) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := c.next.RoundTrip(r)
	if err == nil {
		c.mu.Lock()
		c.seen[r.Method+" "+resp.Header.Get("Content-Type")]++
		c.mu.Unlock()
	}
	return resp, err
}

// A Lease's whole life through the clients, as the sidecar lives it:
// create, get, update with its resourceVersion (and a conflict with a stale
// one), list and watch by name, all in protobuf.
func TestLeaseRoundTripInProtobuf(t *testing.T) {
	ns := cp.Namespace(t)
	cfg := rest.CopyConfig(cp.Admin)
	seen := &contentTypes{seen: map[string]int{}}
	cfg.Wrap(func(rt http.RoundTripper) http.RoundTripper { seen.next = rt; return seen })
	c, err := kubeclient.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	leases := c.Leases(ns)
	created, err := leases.Create(ctx, &coordinationv1.Lease{
		ObjectMeta: metav1.ObjectMeta{Name: "lock"},
		Spec:       coordinationv1.LeaseSpec{HolderIdentity: ptr.To("a"), LeaseDurationSeconds: ptr.To[int32](15)},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	w, err := leases.Watch(ctx, metav1.ListOptions{FieldSelector: "metadata.name=lock", ResourceVersion: created.ResourceVersion})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	got, err := leases.Get(ctx, "lock", metav1.GetOptions{})
	if err != nil || *got.Spec.HolderIdentity != "a" {
		t.Fatalf("get: %v, %v", got, err)
	}
	got.Spec.HolderIdentity = ptr.To("b")
	updated, err := leases.Update(ctx, got, metav1.UpdateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	stale := created.DeepCopy()
	stale.Spec.HolderIdentity = ptr.To("c")
	if _, err := leases.Update(ctx, stale, metav1.UpdateOptions{}); !apierrors.IsConflict(err) {
		t.Errorf("update with a stale resourceVersion: %v, want a conflict", err)
	}
	list, err := leases.List(ctx, metav1.ListOptions{FieldSelector: "metadata.name=lock"})
	if err != nil || len(list.Items) != 1 || list.Items[0].ResourceVersion != updated.ResourceVersion {
		t.Fatalf("list: %+v, %v", list, err)
	}
	select {
	case ev := <-w.ResultChan():
		l, ok := ev.Object.(*coordinationv1.Lease)
		if ev.Type != watch.Modified || !ok || *l.Spec.HolderIdentity != "b" {
			t.Errorf("watch event %s %T %+v, want MODIFIED to holder b", ev.Type, ev.Object, ev.Object)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no watch event for the update")
	}
	seen.mu.Lock()
	defer seen.mu.Unlock()
	for k, n := range seen.seen {
		if !strings.Contains(k, "application/vnd.kubernetes.protobuf") {
			t.Errorf("%d answers of %q: not protobuf", n, k)
		}
	}
}

// A watch through Unbounded outlives the rest.Config's Timeout, which
// client-go applies to the whole of a request; through the bounded clients
// it ends at the Timeout.
func TestUnboundedWatchOutlivesTheTimeout(t *testing.T) {
	ns := cp.Namespace(t)
	cfg := rest.CopyConfig(cp.Admin)
	cfg.Timeout = time.Second
	bounded, err := kubeclient.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	unbounded, err := bounded.Unbounded()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := bounded.Leases(ns).Create(ctx, &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Name: "lock"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	watchFor := func(c *kubeclient.Clients) (ended bool) {
		w, err := c.Leases(ns).Watch(ctx, metav1.ListOptions{FieldSelector: "metadata.name=lock", ResourceVersion: "0"})
		if err != nil {
			t.Fatal(err)
		}
		defer w.Stop()
		<-w.ResultChan() // the ADDED of the initial state
		select {
		case _, open := <-w.ResultChan():
			return !open
		case <-time.After(2500 * time.Millisecond):
			return false
		}
	}
	if !watchFor(bounded) {
		t.Error("the bounded client's watch outlived its 1s Timeout: the test cannot tell the two apart")
	}
	if watchFor(unbounded) {
		t.Error("the unbounded watch ended within 2.5s, with a 1s Timeout on the config")
	}
}

// Events sent as our JSON struct arrive as core/v1 Events with every field
// we set; Pods are read and patched as metadata; a review answers; the
// discovery stand-in knows served resources from unserved ones.
func TestEventsPodsReviewsAndDiscovery(t *testing.T) {
	ns := cp.Namespace(t)
	c, err := kubeclient.New(cp.Admin)
	if err != nil {
		t.Fatal(err)
	}
	admin := cp.Client(t, cp.Admin)
	ctx := context.Background()
	now := metav1.NewTime(time.Now().Truncate(time.Second))
	err = c.Events(ns).Create(ctx, &kubeclient.Event{
		ObjectMeta:         metav1.ObjectMeta{Name: "lock.1", Namespace: ns},
		InvolvedObject:     kubeclient.ObjectReference{Kind: "Lease", APIVersion: "coordination.k8s.io/v1", Namespace: ns, Name: "lock"},
		Reason:             "LeaderElection",
		Message:            "a became leader",
		Type:               "Normal",
		Source:             kubeclient.EventSource{Component: "leader-elector"},
		FirstTimestamp:     now,
		LastTimestamp:      now,
		Count:              1,
		ReportingComponent: "leader-elector",
		ReportingInstance:  "a",
	})
	if err != nil {
		t.Fatal(err)
	}
	ev, err := admin.CoreV1().Events(ns).Get(ctx, "lock.1", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := corev1.Event{
		InvolvedObject: corev1.ObjectReference{Kind: "Lease", APIVersion: "coordination.k8s.io/v1", Namespace: ns, Name: "lock"},
		Reason:         "LeaderElection", Message: "a became leader", Type: "Normal",
		Source: corev1.EventSource{Component: "leader-elector"}, Count: 1,
		ReportingController: "leader-elector", ReportingInstance: "a",
	}
	if ev.InvolvedObject != want.InvolvedObject || ev.Reason != want.Reason || ev.Message != want.Message || ev.Type != want.Type ||
		ev.Source != want.Source || ev.Count != 1 || ev.ReportingController != want.ReportingController ||
		ev.ReportingInstance != want.ReportingInstance || !ev.FirstTimestamp.Equal(&now) || !ev.LastTimestamp.Equal(&now) {
		t.Errorf("stored event %+v\nwant %+v at %v", *ev, want, now)
	}

	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "app-0", Labels: map[string]string{"app": "x"}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "app"}}}}
	if _, err := admin.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	pods, err := c.Pods(ns)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pods.Patch(ctx, "app-0", types.MergePatchType, []byte(`{"metadata":{"labels":{"role":"leader"}}}`), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	list, err := pods.List(ctx, metav1.ListOptions{LabelSelector: "role=leader"})
	if err != nil || len(list.Items) != 1 || list.Items[0].Name != "app-0" || list.Items[0].Labels["app"] != "x" {
		t.Errorf("pods labelled role=leader: %+v, %v", list, err)
	}
	if _, err := pods.Get(ctx, "missing", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("get of a missing Pod: %v, want NotFound", err)
	}

	review, err := c.SelfSubjectAccessReviews().Create(ctx, &authorizationv1.SelfSubjectAccessReview{Spec: authorizationv1.SelfSubjectAccessReviewSpec{
		ResourceAttributes: &authorizationv1.ResourceAttributes{Namespace: ns, Verb: "update", Group: "coordination.k8s.io", Resource: "leases"},
	}}, metav1.CreateOptions{})
	if err != nil || !review.Status.Allowed {
		t.Errorf("the admin may not update leases? %+v, %v", review, err)
	}

	for _, tt := range []struct {
		gv       schema.GroupVersion
		resource string
		want     bool
	}{
		{coordinationv1.SchemeGroupVersion, "leases", true},
		{coordinationv1.SchemeGroupVersion, "leasecandidates", false},
	} {
		got, err := c.Serves(ctx, tt.gv, tt.resource)
		if err != nil || got != tt.want {
			t.Errorf("Serves(%s, %s) = %v, %v; want %v", tt.gv, tt.resource, got, err, tt.want)
		}
	}
	if _, err := c.Serves(ctx, schema.GroupVersion{Group: "nothing.example", Version: "v1"}, "things"); !apierrors.IsNotFound(err) {
		t.Errorf("Serves of a group that does not exist: %v, want NotFound", err)
	}
}

// acceptOnly makes every request accept one media type, as a server or
// proxy that speaks nothing else would answer.
type acceptOnly struct {
	mediaType string
	next      http.RoundTripper
}

func (a acceptOnly) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Accept", a.mediaType)
	return a.next.RoundTrip(r)
}

// Stream's decoder reads the events a watch sends, in protobuf or in JSON
// (told apart by the first byte), until Close ends the stream.
func TestStreamDecodesWatchEvents(t *testing.T) {
	ns := cp.Namespace(t)
	for _, mediaType := range []string{"application/vnd.kubernetes.protobuf", "application/json"} {
		t.Run(mediaType, func(t *testing.T) {
			cfg := rest.CopyConfig(cp.Admin)
			seen := &contentTypes{seen: map[string]int{}}
			cfg.Wrap(func(rt http.RoundTripper) http.RoundTripper {
				seen.next = acceptOnly{mediaType, rt}
				return seen
			})
			c, err := kubeclient.New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			leases := c.Leases(ns)
			name := "lock-" + strings.ToLower(strings.TrimPrefix(mediaType, "application/vnd.kubernetes."))[:4]
			created, err := leases.Create(ctx, &coordinationv1.Lease{
				ObjectMeta: metav1.ObjectMeta{Name: name},
				Spec:       coordinationv1.LeaseSpec{HolderIdentity: ptr.To("a")},
			}, metav1.CreateOptions{})
			if err != nil {
				t.Fatal(err)
			}
			stream, err := leases.Stream(ctx, metav1.ListOptions{FieldSelector: "metadata.name=" + name, ResourceVersion: created.ResourceVersion})
			if err != nil {
				t.Fatal(err)
			}
			created.Spec.HolderIdentity = ptr.To("b")
			if _, err := leases.Update(ctx, created, metav1.UpdateOptions{}); err != nil {
				t.Fatal(err)
			}
			type decoded struct {
				typ watch.EventType
				obj any
				err error
			}
			next := make(chan decoded, 1)
			decode := func() {
				typ, obj, err := stream.Decode()
				next <- decoded{typ, obj, err}
			}
			go decode()
			select {
			case d := <-next:
				if l, ok := d.obj.(*coordinationv1.Lease); d.err != nil || d.typ != watch.Modified || !ok || *l.Spec.HolderIdentity != "b" {
					t.Errorf("Decode = %s %T %v, want MODIFIED to holder b", d.typ, d.obj, d.err)
				}
			case <-time.After(10 * time.Second):
				stream.Close()
				t.Fatal("no event decoded within 10s of the update")
			}
			go decode()
			stream.Close()
			select {
			case d := <-next:
				if d.err == nil {
					t.Error("Decode after Close returned no error")
				}
			case <-time.After(10 * time.Second):
				t.Error("Decode still waiting 10s after Close")
			}

			seen.mu.Lock()
			defer seen.mu.Unlock()
			for k := range seen.seen {
				if !strings.Contains(k, mediaType) {
					t.Errorf("an answer of %q, want %s only", k, mediaType)
				}
			}
		})
	}
}
