package e2e

import (
	"context"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/leader-elector/leader-elector/internal/replica"
)

// A leader cut off from the API server (its connection black-holed: a
// partition, requests hang) must remove its status file on its own
// monotonic deadline — last renewal start + renew-deadline — before the
// follower may take the Lease; the checker proves no two files at once.
// When the partition heals it follows, and never exits.
// ownDeadlineSlack is how late past its deadline a leader's file may go:
// the deadline timer fires late by the scheduler's delay (up to a few
// hundred ms on a loaded 2-core machine), and the removal's unlink and
// directory fsync take a little; the test polls every 5ms. It is below
// retry-period (500ms), the part of the margin lease-duration -
// renew-deadline that covers a late deadline.
const ownDeadlineSlack = 300 * time.Millisecond

// waitGone polls path every 5ms until it is gone and returns when it was
// first seen gone; it fails t after timeout.
func waitGone(t *testing.T, path string, timeout time.Duration) time.Time {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		if _, err := os.Lstat(path); err != nil {
			return time.Now()
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s still there after %v", path, timeout)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestElectPartitionedLeaderStepsDown(t *testing.T) {
	s := newElectSetup(t)
	proxy, kc := s.viaFaultProxy()
	dir := t.TempDir()
	a := &elector{id: "cut-off", status: filepath.Join(dir, "status")}
	a.testProc = startBinary(t, nil, fastArgs(replica.Elect{Kubeconfig: kc, Lease: s.lease, Identity: a.id, StatusFile: a.status})...)
	waitOneLeader(t, 20*time.Second, []*elector{a})
	b := s.start("connected")
	es := []*elector{a, b}
	chk := startChecker(es)
	time.Sleep(time.Second) // b follows, having seen a's renewals

	proxy.BlackHole()
	cut := time.Now()
	gone := waitGone(t, a.status, 10*time.Second)
	removed := gone.Sub(cut)
	// The claim: the file goes by the start of the last successful renewal
	// + renew-deadline. The Lease's renewTime, stamped by the leader as a
	// renewal starts, is no earlier than that start (a renewal that landed
	// after the cut but whose answer was lost only makes it later, and the
	// bound looser by at most one retry period).
	l, err := cp.Client(t, cp.Admin).CoordinationV1().Leases(s.ns).Get(context.Background(), s.lease, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if h := *l.Spec.HolderIdentity; h != a.id {
		t.Fatalf("the Lease was held by %q when the cut-off leader's file went: it went too late", h)
	}
	lastRenew := l.Spec.RenewTime.Time
	if late := gone.Sub(lastRenew.Add(2 * time.Second)); late > ownDeadlineSlack {
		t.Errorf("the cut-off leader's file went %v after its last renewal's start, %v past renew-deadline (2s); allowed slack %v",
			gone.Sub(lastRenew).Round(time.Millisecond), late.Round(time.Millisecond), ownDeadlineSlack)
	}
	waitOneLeader(t, 15*time.Second, es)
	if ls := leaders(es); ls[0] != b {
		t.Fatalf("%s leads, want the connected replica", ls[0].id)
	}
	took := time.Since(cut)
	t.Logf("partition: leader's file removed %v after the cut (%v after its last renewal's start), follower leads %v after the cut", removed.Round(time.Millisecond), gone.Sub(lastRenew).Round(time.Millisecond), took.Round(time.Millisecond))

	proxy.Heal()
	time.Sleep(3 * time.Second) // a reconnects and follows
	if ls := leaders(es); len(ls) != 1 || ls[0] != b {
		t.Errorf("after healing the leaders are %v, want only %s", ids(ls), b.id)
	}
	if a.exited() {
		t.Errorf("the partitioned replica exited (code %d); it must keep competing", a.code())
	}
	chk.finish(t)
	for _, e := range es {
		e.Signal(syscall.SIGTERM)
		if code := e.Wait(15 * time.Second); code != 0 {
			t.Errorf("%s exited %d, want 0", e.id, code)
		}
	}
}
