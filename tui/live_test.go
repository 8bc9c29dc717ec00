package tui

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/leaderelection"
	"k8s.io/client-go/tools/leaderelection/resourcelock"

	"github.com/leader-elector/leader-elector/watch"
)

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
	wg.Add(1)
	go func() { defer wg.Done(); le.Run(ctx) }()
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

	w := watch.New(leaseAPI(t, cp.Admin, ns), watch.Options{Namespace: ns})
	go func() { _ = w.Run(ctx) }()
	tm := startProgram(t, newModel(newSource(w.Events()), Options{Namespace: ns, Context: "kind-dev"}, lipgloss.DefaultRenderer()), 120, 30)

	leaderCtx, stepDown := context.WithCancel(ctx)
	elector(leaderCtx, t, cs, ns, "payments-leader", "payments-7d9f8b6c4-x2x9k", &wg)
	waitScreen(t, tm, "payments-leader")
	elector(ctx, t, cs, ns, "payments-leader", "payments-7d9f8b6c4-p8q2m", &wg)
	elector(ctx, t, cs, ns, "report-writer", "report-writer-0", &wg)
	elector(ctx, t, cs, ns, "cache-warmer", "cache-warmer-5c6b-zk4tq", &wg)
	time.Sleep(9 * time.Second) // a few renewals for the heartbeats
	stepDown()
	waitScreen(t, tm, "payments-7d9f8b6c4-x2x9k released")
	waitScreen(t, tm, "payments-7d9f8b6c4-x2x9k -> payments-7d9f8b6c4-p8q2m  gap")
	time.Sleep(2 * time.Second) // a renewal or so after the handover

	final := finalModel(t, tm)
	screen := ansi.Strip(final.View())
	t.Logf("the dashboard at 120x30:\n%s", screen)
	for _, want := range []string{"3 leases", "payments-leader", "report-writer", "cache-warmer",
		"payments-7d9f8b6c4-x2x9k released", "payments-7d9f8b6c4-x2x9k -> payments-7d9f8b6c4-p8q2m  gap"} {
		if !strings.Contains(screen, want) {
			t.Errorf("final screen lacks %q", want)
		}
	}
	r := final.store.rows[ns+"/payments-leader"]
	if r == nil || r.lease.Holder != "payments-7d9f8b6c4-p8q2m" || badgeOf(&r.lease, final.now) != badgeHeld {
		t.Errorf("payments-leader %+v, want held by payments-7d9f8b6c4-p8q2m", r)
	}
}
