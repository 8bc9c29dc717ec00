package elect

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// memberLeases is a Lease client holding one member Lease, counting writes.
type memberLeases struct {
	mu      sync.Mutex
	obj     *coordinationv1.Lease
	writes  atomic.Int32
	deletes atomic.Int32
}

func (c *memberLeases) Get(_ context.Context, name string, _ metav1.GetOptions) (*coordinationv1.Lease, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.obj == nil {
		return nil, apierrors.NewNotFound(schema.GroupResource{Group: "coordination.k8s.io", Resource: "leases"}, name)
	}
	return c.obj.DeepCopy(), nil
}

func (c *memberLeases) List(context.Context, metav1.ListOptions) (*coordinationv1.LeaseList, error) {
	return &coordinationv1.LeaseList{}, nil
}

func (c *memberLeases) Create(_ context.Context, l *coordinationv1.Lease, _ metav1.CreateOptions) (*coordinationv1.Lease, error) {
	return c.store(l), nil
}

func (c *memberLeases) Update(_ context.Context, l *coordinationv1.Lease, _ metav1.UpdateOptions) (*coordinationv1.Lease, error) {
	return c.store(l), nil
}

func (c *memberLeases) Delete(context.Context, string, metav1.DeleteOptions) error {
	c.deletes.Add(1)
	return nil
}

func (c *memberLeases) store(l *coordinationv1.Lease) *coordinationv1.Lease {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.writes.Add(1)
	c.obj = l.DeepCopy()
	c.obj.ResourceVersion = "1"
	return c.obj.DeepCopy()
}

// TestMemberLeaseRenewsOnlyWhileIdle: the member Lease is written at once
// while the replica acts for no shard and every lease duration / 3 after,
// not at all while it acts, at once when it acts for none again, and
// deleted on the way out.
func TestMemberLeaseRenewsOnlyWhileIdle(t *testing.T) {
	leases := &memberLeases{}
	var idle atomic.Bool
	idle.Store(true)
	changed := make(chan struct{}, 1)
	poke := func(v bool) {
		idle.Store(v)
		changed <- struct{}{}
	}
	cfg := Config{LeaseName: "g", Namespace: "ns", Identity: "me", LeaseDuration: 6 * time.Second, RenewDeadline: 4 * time.Second, RetryPeriod: time.Second}
	m := &memberLease{cfg: cfg, api: API{Leases: leases, Deletes: leases}, log: slog.New(slog.DiscardHandler), idle: idle.Load, changed: changed}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); m.keep(ctx) }()

	waitUntil := func(what string, cond func() bool) {
		t.Helper()
		for deadline := time.Now().Add(5 * time.Second); !cond(); time.Sleep(10 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s (writes %d)", what, leases.writes.Load())
			}
		}
	}
	waitUntil("the first write", func() bool { return leases.writes.Load() == 1 })
	waitUntil("a renewal a third of a lease duration later", func() bool { return leases.writes.Load() == 2 })

	poke(false) // a shard's term began
	before := leases.writes.Load()
	time.Sleep(2500 * time.Millisecond) // more than a renewal period (2s)
	if got := leases.writes.Load(); got != before {
		t.Errorf("%d writes while acting for a shard, want none", got-before)
	}

	poke(true) // the last shard stepped down: renew now, not a period later
	start := time.Now()
	waitUntil("the renewal when idle again", func() bool { return leases.writes.Load() == before+1 })
	if took := time.Since(start); took > 1500*time.Millisecond {
		t.Errorf("renewed %v after the last shard stepped down, want at once, not a period (2s) later", took)
	}

	cancel()
	<-done
	if leases.deletes.Load() != 1 {
		t.Errorf("%d deletes on the way out, want 1", leases.deletes.Load())
	}
}
