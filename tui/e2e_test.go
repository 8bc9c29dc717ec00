package tui

import (
	"context"
	"testing"
	"time"

	"github.com/charmbracelet/lipgloss"
	coordinationv1 "k8s.io/api/coordination/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/leader-elector/leader-elector/watch"
)

// TestEndToEnd runs the real watcher against the real control plane into
// the dashboard, changes a holder with the admin client, and waits for the
// transition on screen.
func TestEndToEnd(t *testing.T) {
	ns := cp.Namespace(t)
	cs := cp.Client(t, cp.Admin)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	now := metav1.NewMicroTime(time.Now())
	lease := func(name, holder string) *coordinationv1.Lease {
		return &coordinationv1.Lease{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: map[string]string{"app": name}},
			Spec: coordinationv1.LeaseSpec{
				HolderIdentity:       ptr.To(holder),
				LeaseDurationSeconds: ptr.To[int32](15),
				AcquireTime:          &now,
				RenewTime:            &now,
				LeaseTransitions:     ptr.To[int32](0),
			},
		}
	}
	leases := cs.CoordinationV1().Leases(ns)
	for _, l := range []*coordinationv1.Lease{lease("alpha-controller", "alpha-pod-1"), lease("bravo-controller", "bravo-pod-1")} {
		if _, err := leases.Create(ctx, l, metav1.CreateOptions{}); err != nil {
			t.Fatalf("creating lease %s: %v", l.Name, err)
		}
	}

	w := watch.New(leaseAPI(t, cp.Admin, ns), watch.Options{Namespace: ns})
	runErr := make(chan error, 1)
	go func() { runErr <- w.Run(ctx) }()

	tm := startProgram(t, newModel(newSource(w.Events()), Options{Namespace: ns, Context: "test"}, lipgloss.DefaultRenderer()), 120, 30)
	waitScreen(t, tm, "alpha-controller", "bravo-controller", "bravo-pod-1", "connected")

	// bravo-pod-1 hands over to bravo-pod-2, as client-go's elector writes it.
	b, err := leases.Get(ctx, "bravo-controller", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("reading lease bravo-controller: %v", err)
	}
	taken := metav1.NewMicroTime(time.Now())
	b.Spec.HolderIdentity = ptr.To("bravo-pod-2")
	b.Spec.AcquireTime, b.Spec.RenewTime = &taken, &taken
	b.Spec.LeaseTransitions = ptr.To[int32](1)
	if _, err := leases.Update(ctx, b, metav1.UpdateOptions{}); err != nil {
		t.Fatalf("changing the holder of lease bravo-controller: %v", err)
	}
	waitScreen(t, tm, "bravo-pod-1 -> bravo-pod-2")

	final := finalModel(t, tm)
	cancel()
	if err := <-runErr; err != nil {
		t.Errorf("watch ended with %v", err)
	}
	r := final.store.rows[ns+"/bravo-controller"]
	if r == nil || r.holder != "bravo-pod-2" || r.lease.Transitions != 1 {
		t.Fatalf("bravo-controller row %+v, want held by bravo-pod-2 after 1 transition", r)
	}
	if len(final.transitions) != 1 {
		t.Fatalf("transitions %+v, want one", final.transitions)
	}
	tr := final.transitions[0]
	if tr.from != "bravo-pod-1" || tr.to != "bravo-pod-2" || tr.key != "bravo-controller" {
		t.Errorf("transition %+v, want bravo-controller bravo-pod-1 -> bravo-pod-2", tr)
	}
	// The gap runs from bravo-pod-1's last renewal to bravo-pod-2's
	// acquisition, both written above on the API's clock.
	if want := taken.Sub(now.Time); !tr.hasGap || tr.gap < want-time.Millisecond || tr.gap > want+time.Millisecond {
		t.Errorf("gap %v (known %v), want %v", tr.gap, tr.hasGap, want)
	}
}
