package tuie2e

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/leaderelection"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
	"k8s.io/utils/ptr"

	"github.com/leader-elector/leader-elector/tui"
	"github.com/leader-elector/leader-elector/watch"
)

// TestEndToEnd runs the real watcher against the real control plane into
// the dashboard, changes a holder with the admin client, and waits for the
// transition on screen, with the gap written on the API's clock.
func TestEndToEnd(t *testing.T) {
	ns := cp.Namespace(t)
	cs := cp.Client(t, cp.Admin)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	// Times in the past, so the gap is exact: 2.5 s from bravo-pod-1's
	// last renewal to bravo-pod-2's acquisition.
	now := metav1.NewMicroTime(time.Now().Add(-10 * time.Second).Truncate(time.Second))
	taken := metav1.NewMicroTime(now.Add(2500 * time.Millisecond))
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

	w := watch.New(watchAPI(t, cp.Admin, ns), watch.Options{Namespace: ns})
	runErr := make(chan error, 1)
	go func() { runErr <- w.Run(ctx) }()
	s := tui.NewScreen(w.Events(), tui.Options{Namespace: ns, Context: "test"}, 120, 30)
	waitScreen(t, s, "alpha-controller", "bravo-controller", "bravo-pod-1", "connected")

	// bravo-pod-1 hands over to bravo-pod-2, as client-go's elector writes it.
	b, err := leases.Get(ctx, "bravo-controller", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("reading lease bravo-controller: %v", err)
	}
	b.Spec.HolderIdentity = ptr.To("bravo-pod-2")
	b.Spec.AcquireTime, b.Spec.RenewTime = &taken, &taken
	b.Spec.LeaseTransitions = ptr.To[int32](1)
	if _, err := leases.Update(ctx, b, metav1.UpdateOptions{}); err != nil {
		t.Fatalf("changing the holder of lease bravo-controller: %v", err)
	}
	screen := waitScreen(t, s, "bravo-pod-1 -> bravo-pod-2")
	cancel()
	for _, open := s.Next(); open; _, open = s.Next() {
	}
	if err := <-runErr; err != nil {
		t.Errorf("watch ended with %v", err)
	}
	if l := line(screen, "bravo-controller", "bravo-pod-1 -> bravo-pod-2"); !strings.Contains(l, "gap 2.5s") {
		t.Errorf("transition line %q, want bravo-controller's handover with gap 2.5s:\n%s", l, screen)
	}
	if !strings.Contains(screen, "TRANSITIONS (newest first)  1\n") {
		t.Errorf("want one transition in the pane:\n%s", screen)
	}
	if l := line(screen, "bravo-controller", "held"); !strings.Contains(l, "bravo-pod-2") {
		t.Errorf("bravo-controller row %q, want held by bravo-pod-2:\n%s", l, screen)
	}
}

// elector runs client-go's leader election for one identity until ctx
// ends, releasing the Lease on the way out as our sidecar does.
func elector(ctx context.Context, t *testing.T, cs kubernetes.Interface, ns, lease, id string, wg *sync.WaitGroup) {
	lock := &resourcelock.LeaseLock{
		LeaseMeta:  metav1.ObjectMeta{Name: lease, Namespace: ns},
		Client:     cs.CoordinationV1(),
		LockConfig: resourcelock.ResourceLockConfig{Identity: id},
	}
	le, err := leaderelection.NewLeaderElector(leaderelection.LeaderElectionConfig{
		Lock: lock, ReleaseOnCancel: true,
		LeaseDuration: 15 * time.Second, RenewDeadline: 10 * time.Second, RetryPeriod: 2 * time.Second,
		Callbacks: leaderelection.LeaderCallbacks{OnStartedLeading: func(context.Context) {}, OnStoppedLeading: func() {}},
	})
	if err != nil {
		t.Fatalf("building elector %s for %s: %v", id, lease, err)
	}
	wg.Go(func() { le.Run(ctx) })
}

// TestLiveElection runs client-go electors on the real control plane and
// the real watcher into the dashboard at 120x30: renewals every 2 s, then
// the leader of one Lease steps down (releasing it) and its rival takes
// over. The screen must show the release and the handover with its gap.
// With -v it logs the final screen: the capture in the README.
func TestLiveElection(t *testing.T) {
	ns := cp.Namespace(t)
	cs := cp.Client(t, cp.Admin)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()

	w := watch.New(watchAPI(t, cp.Admin, ns), watch.Options{Namespace: ns})
	go func() { _ = w.Run(ctx) }()
	s := tui.NewScreen(w.Events(), tui.Options{Namespace: ns, Context: "kind-dev"}, 120, 30)

	leaderCtx, stepDown := context.WithCancel(ctx)
	elector(leaderCtx, t, cs, ns, "payments-leader", "payments-7d9f8b6c4-x2x9k", &wg)
	waitScreen(t, s, "payments-leader")
	elector(ctx, t, cs, ns, "payments-leader", "payments-7d9f8b6c4-p8q2m", &wg)
	elector(ctx, t, cs, ns, "report-writer", "report-writer-0", &wg)
	elector(ctx, t, cs, ns, "cache-warmer", "cache-warmer-5c6b-zk4tq", &wg)
	time.Sleep(9 * time.Second) // a few renewals for the heartbeats
	stepDown()
	waitScreen(t, s, "payments-7d9f8b6c4-x2x9k released")
	waitScreen(t, s, "payments-7d9f8b6c4-x2x9k -> payments-7d9f8b6c4-p8q2m  gap")
	time.Sleep(2 * time.Second) // a renewal or so after the handover
	s.Next()

	screen := s.View()
	t.Logf("the dashboard at 120x30:\n%s", screen)
	for _, want := range []string{"3 leases", "payments-leader", "report-writer", "cache-warmer",
		"payments-7d9f8b6c4-x2x9k released", "payments-7d9f8b6c4-x2x9k -> payments-7d9f8b6c4-p8q2m  gap"} {
		if !strings.Contains(screen, want) {
			t.Errorf("final screen lacks %q", want)
		}
	}
	if l := line(screen, "payments-leader", "payments-7d9f8b6c4-p8q2m"); !strings.Contains(l, "held") {
		t.Errorf("payments-leader row %q, want held by payments-7d9f8b6c4-p8q2m:\n%s", l, screen)
	}
}
