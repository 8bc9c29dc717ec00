package controlplane_test

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/utils/ptr"

	"github.com/leader-elector/leader-elector/internal/controlplane"
)

var cp *controlplane.ControlPlane

func TestMain(m *testing.M) { os.Exit(controlplane.Main(m, &cp)) }

// The first real test: a Lease round-trips through create, get, update and
// watch on the real API server.
func TestLeaseCreateGetUpdateWatch(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ns := cp.Namespace(t)
	leases := cp.Client(t, cp.Admin).CoordinationV1().Leases(ns)

	created, err := leases.Create(ctx, &coordinationv1.Lease{
		ObjectMeta: metav1.ObjectMeta{Name: "demo"},
		Spec:       coordinationv1.LeaseSpec{HolderIdentity: ptr.To("pod-a"), LeaseDurationSeconds: ptr.To[int32](15)},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	w, err := leases.Watch(ctx, metav1.ListOptions{
		FieldSelector:   fields.OneTermEqualSelector("metadata.name", "demo").String(),
		ResourceVersion: created.ResourceVersion,
	})
	if err != nil {
		t.Fatalf("watch: %v", err)
	}
	defer w.Stop()

	got, err := leases.Get(ctx, "demo", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("get: %v", err)
	}
	got.Spec.HolderIdentity = ptr.To("pod-b")
	if _, err := leases.Update(ctx, got, metav1.UpdateOptions{}); err != nil {
		t.Fatalf("update: %v", err)
	}
	// A second update from the stale object must conflict: elections rely on it.
	created.Spec.HolderIdentity = ptr.To("pod-c")
	if _, err := leases.Update(ctx, created, metav1.UpdateOptions{}); !apierrors.IsConflict(err) {
		t.Fatalf("update from a stale resourceVersion: got %v, want a 409 conflict", err)
	}

	select {
	case ev := <-w.ResultChan():
		lease, ok := ev.Object.(*coordinationv1.Lease)
		if !ok || ev.Type != "MODIFIED" || ptr.Deref(lease.Spec.HolderIdentity, "") != "pod-b" {
			t.Fatalf("watch event = %s %#v, want MODIFIED with holder pod-b", ev.Type, ev.Object)
		}
	case <-ctx.Done():
		t.Fatal("no watch event for the update")
	}
}

// A user whose Role grants only get on Leases is refused everything else.
func TestRestrictedUserIsForbidden(t *testing.T) {
	ctx := context.Background()
	ns := cp.Namespace(t)
	admin := cp.Client(t, cp.Admin)
	rbac := admin.RbacV1()
	if _, err := rbac.Roles(ns).Create(ctx, &rbacv1.Role{
		ObjectMeta: metav1.ObjectMeta{Name: "lease-reader"},
		Rules:      []rbacv1.PolicyRule{{APIGroups: []string{"coordination.k8s.io"}, Resources: []string{"leases"}, Verbs: []string{"get"}}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := rbac.RoleBindings(ns).Create(ctx, &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "lease-reader"},
		RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: "lease-reader"},
		Subjects:   []rbacv1.Subject{{Kind: "User", Name: "restricted", APIGroup: "rbac.authorization.k8s.io"}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.CoordinationV1().Leases(ns).Create(ctx, &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Name: "x"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	user := cp.Client(t, cp.UserConfig("restricted")).CoordinationV1().Leases(ns)
	if _, err := user.Get(ctx, "x", metav1.GetOptions{}); err != nil {
		t.Fatalf("get with the granted verb: %v", err)
	}
	tests := []struct {
		verb string
		call func() error
	}{
		{"list", func() error { _, err := user.List(ctx, metav1.ListOptions{}); return err }},
		{"create", func() error {
			_, err := user.Create(ctx, &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Name: "y"}}, metav1.CreateOptions{})
			return err
		}},
		{"delete", func() error { return user.Delete(ctx, "x", metav1.DeleteOptions{}) }},
	}
	for _, tt := range tests {
		if err := tt.call(); !apierrors.IsForbidden(err) {
			t.Errorf("%s: got %v, want Forbidden", tt.verb, err)
		} else if !strings.Contains(err.Error(), `User "restricted"`) {
			t.Errorf("%s: error %q does not name the user", tt.verb, err)
		}
	}
}

// Coordinated Leader Election's LeaseCandidates are served, so the
// dashboard's claims about them can be tested.
func TestLeaseCandidatesServed(t *testing.T) {
	res, err := cp.Client(t, cp.Admin).Discovery().ServerResourcesForGroupVersion("coordination.k8s.io/v1beta1")
	if err != nil {
		t.Fatalf("discovery of coordination.k8s.io/v1beta1: %v", err)
	}
	for _, r := range res.APIResources {
		if r.Name == "leasecandidates" {
			return
		}
	}
	t.Fatalf("leasecandidates not served; got %v", res.APIResources)
}

// RestartAPIServer keeps the data: chaos tests rely on it.
func TestRestartAPIServerKeepsData(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	ns := cp.Namespace(t)
	leases := cp.Client(t, cp.Admin).CoordinationV1().Leases(ns)
	if _, err := leases.Create(ctx, &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Name: "kept"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := cp.RestartAPIServer(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := leases.Get(ctx, "kept", metav1.GetOptions{}); err != nil {
		t.Fatalf("after restart: %v", err)
	}
}
