package e2e

import (
	"context"
	"strconv"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/leader-elector/leader-elector/elect/leadership"
)

// TestCompatResourceVersions checks what elect assumes of resource versions
// (leadership.Newer): on this API server they are decimal numbers that grow
// with every write to a Lease, and a watch delivers them in that order. make
// test-compat runs it against older releases too (README: Supported
// Kubernetes versions).
func TestCompatResourceVersions(t *testing.T) {
	ctx := context.Background()
	ns := cp.Namespace(t)
	leases := cp.Client(t, cp.Admin).CoordinationV1().Leases(ns)
	w, err := leases.Watch(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	l, err := leases.Create(ctx, &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Name: "rv"}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	written := []string{l.ResourceVersion}
	for i := range 5 {
		holder := "pod-" + strconv.Itoa(i)
		l.Spec.HolderIdentity = &holder
		if l, err = leases.Update(ctx, l, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		written = append(written, l.ResourceVersion)
	}
	for i, rv := range written {
		if _, err := strconv.ParseUint(rv, 10, 64); err != nil {
			t.Fatalf("kube-apiserver %s: resourceVersion %q is not a decimal number", cp.Version, rv)
		}
		if i > 0 && !leadership.Newer(rv, written[i-1]) {
			t.Errorf("kube-apiserver %s: write %d has resourceVersion %s, not newer than %s", cp.Version, i, rv, written[i-1])
		}
	}
	var seen []string
	timeout := time.After(10 * time.Second)
	for len(seen) < len(written) {
		select {
		case ev := <-w.ResultChan():
			if obj, ok := ev.Object.(*coordinationv1.Lease); ok {
				seen = append(seen, obj.ResourceVersion)
			}
		case <-timeout:
			t.Fatalf("kube-apiserver %s: the watch delivered %v of the writes %v", cp.Version, seen, written)
		}
	}
	for i := range written {
		if seen[i] != written[i] {
			t.Fatalf("kube-apiserver %s: the watch delivered %v, the writes returned %v", cp.Version, seen, written)
		}
	}
	t.Logf("kube-apiserver %s: resource versions %v are numbers in write order", cp.Version, written)
}
