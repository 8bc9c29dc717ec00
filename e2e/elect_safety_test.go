package e2e

import (
	"context"
	"os"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/leader-elector/leader-elector/internal/replica"
)

// Issue 11's defects as tests that a user could run by hand with kubectl:
// each fails on today's core and encodes what the new core guarantees.

// A foreign write clears the holder while a replica leads (kubectl patch
// lease ... holderIdentity ""). Within a few retry periods some replica
// leads and acts (its file, the Lease and every /leader agree), and no
// replica keeps renewing the Lease while not acting for longer than
// RenewDeadline (the checker's zombie rule). Today the old leader's
// client-go elector re-takes the Lease and renews it for ever with its file
// gone: nobody acts again.
func TestElectZombieAfterHolderCleared(t *testing.T) {
	h := newChaosHarness(t, 3)
	// A foreign write that clears the holder looks to the followers like a
	// release, which they may take at once while the old leader is still
	// stopping: the margin is promised for the sidecars' own hand-overs,
	// not after someone else rewrites their Lease.
	h.chk.rules.Margin = 0
	for _, c := range h.cands {
		h.start(c)
	}
	h.chk.Start()
	old := h.waitOne(20 * time.Second)
	// The followers hear of everything 300ms late (600ms round trips, in
	// their 1s request timeout): the old leader's next renewal beats them
	// to the cleared Lease, the case where today's core turns zombie.
	for _, c := range h.cands {
		if c != old {
			c.proxy.SetDelay(300 * time.Millisecond)
		}
	}
	time.Sleep(time.Second) // a few renewals

	patch := []byte(`{"spec":{"holderIdentity":""}}`)
	if _, err := h.admin.CoordinationV1().Leases(h.ns).Patch(context.Background(), h.lease, types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
		t.Fatalf("clearing the holder: %v", err)
	}
	cleared := time.Now()
	// A few retry periods: the cleared Lease is free, a watching replica
	// sees it at once and takes it with one write; 1s of slack for a loaded
	// machine.
	bound := 4*chaosRetryPeriod + time.Second
	var id string
	var ok bool
	for id, ok = h.oneLeader(); !ok && time.Since(cleared) < bound; id, ok = h.oneLeader() {
		time.Sleep(20 * time.Millisecond)
	}
	if ok {
		t.Logf("%s led before the clear; %s leads and acts %v after it", old.id, id, time.Since(cleared).Round(time.Millisecond))
	} else {
		// Not fatal: the checker's findings below say what happened.
		t.Errorf("no replica leads and acts %v after the holder was cleared (%s led before)", bound, old.id)
	}
	for _, c := range h.cands {
		c.proxy.SetDelay(0)
	}
	// Long enough for a zombie to show: renewals for over RenewDeadline.
	time.Sleep(chaosLeaseDuration + chaosRenewDeadline)
	if now, ok := h.oneLeader(); !ok {
		t.Errorf("%v after the clear no single replica leads and acts", time.Since(cleared).Round(time.Millisecond))
	} else if now != id {
		t.Logf("leadership moved on to %s", now)
	}
	h.finish(t)
}

// The Lease is deleted while a live holder leads (and, here, cannot reach
// the API server to re-create it). Its followers saw it renew moments ago,
// so they must not create the Lease before that holder's lease expires by
// their own observation (LeaseDuration after the last renewal they saw,
// which is no earlier than its renewTime); the holder itself may re-create
// it. Issue 11 (defect 7) reports direct reads that re-create a deleted
// Lease at once; today's core passes this form of it (its followers wait),
// and the new core must keep doing so.
func TestElectLeaseDeletedWhileHeld(t *testing.T) {
	h := newChaosHarness(t, 3)
	for _, c := range h.cands {
		h.start(c)
	}
	h.chk.Start()
	holder := h.waitOne(20 * time.Second)
	time.Sleep(time.Second)
	// The holder is cut off from the API server as the Lease goes, so it
	// cannot re-create the Lease itself: it keeps acting until its own
	// deadline (its last renewal + RenewDeadline), and only a follower that
	// waits out the lease it saw renewed keeps clear of it.
	holder.proxy.BlackHole()

	leases := h.admin.CoordinationV1().Leases(h.ns)
	ctx := context.Background()
	var lastRenew time.Time
	for {
		// Delete exactly the version read, so its renewTime is the holder's
		// last renewal before the deletion.
		l, err := leases.Get(ctx, h.lease, metav1.GetOptions{})
		if err != nil {
			t.Fatalf("reading the Lease: %v", err)
		}
		rv := l.ResourceVersion
		err = leases.Delete(ctx, h.lease, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{ResourceVersion: &rv}})
		if err == nil {
			lastRenew = l.Spec.RenewTime.Time
			break
		}
		if !apierrors.IsConflict(err) {
			t.Fatalf("deleting the Lease: %v", err)
		}
	}
	deleted := time.Now()

	var creator string
	var acquired time.Time
	waitFor(t, chaosLeaseDuration+chaosSettle, "the Lease to be re-created", func() bool {
		l, err := leases.Get(ctx, h.lease, metav1.GetOptions{})
		if err != nil || l.Spec.HolderIdentity == nil || *l.Spec.HolderIdentity == "" {
			return false
		}
		creator, acquired = *l.Spec.HolderIdentity, l.Spec.AcquireTime.Time
		return true
	})
	t.Logf("Lease deleted %v after %s's last renewal; re-created by %s, acquireTime %v after that renewal",
		deleted.Sub(lastRenew).Round(time.Millisecond), holder.id, creator, acquired.Sub(lastRenew).Round(time.Millisecond))
	// 1ms: the Lease stores microseconds.
	if creator != holder.id && acquired.Before(lastRenew.Add(chaosLeaseDuration-time.Millisecond)) {
		t.Errorf("%s created the Lease %v after %s's last renewal, before that holder's lease (%v) could expire",
			creator, acquired.Sub(lastRenew).Round(time.Millisecond), holder.id, chaosLeaseDuration)
	}
	holder.proxy.Heal()
	waitFor(t, chaosLeaseDuration+chaosSettle, "one replica to lead and act", func() bool {
		_, ok := h.oneLeader()
		return ok
	})
	h.finish(t)
}

// SIGTERM lands while a replica's takeover has succeeded on the API server
// but before the replica has heard so (its connection is slow). It must
// still release the Lease, so the next replica leads well before a whole
// LeaseDuration after that takeover; a replica that released nothing makes
// the next one wait at least LeaseDuration from its first sight of the
// takeover. Today the release is skipped (issue 11, defect 9).
func TestElectTermDuringTakeoverReleases(t *testing.T) {
	s := newElectSetup(t)
	a := s.start("first")
	waitOneLeader(t, 20*time.Second, []*elector{a})

	// The taker talks through a proxy that delays every byte 300ms each way:
	// its takeover lands on the server 300ms before it hears of it. The
	// round trip (600ms) stays inside its request timeout (1s).
	proxy, kc := s.viaFaultProxy()
	proxy.SetDelay(300 * time.Millisecond)
	b := s.prepare("taker")
	b.testProc = startBinary(t, nil, fastArgs(replica.Elect{Kubeconfig: kc, Lease: s.lease, Identity: b.id, StatusFile: b.status, LeaderFile: b.leader})...)
	waitFor(t, 30*time.Second, "the taker to follow the first leader", func() bool {
		got, err := os.ReadFile(b.leader)
		return err == nil && string(got) == a.id
	})
	c := s.prepare("next")
	chk := startChecker([]*elector{a, b, c})

	a.Signal(syscall.SIGKILL) // its Lease is left to expire: the taker takes it over
	a.Wait(5 * time.Second)
	os.Remove(a.status) // its pod is gone, and the file with it
	leases := cp.Client(t, cp.Admin).CoordinationV1().Leases(s.ns)
	var taken time.Time
	waitFor(t, 15*time.Second, "the taker's takeover to land", func() bool {
		l, err := leases.Get(context.Background(), s.lease, metav1.GetOptions{})
		if err != nil || l.Spec.HolderIdentity == nil || *l.Spec.HolderIdentity != b.id {
			return false
		}
		taken = l.Spec.AcquireTime.Time
		return true
	})
	b.Signal(syscall.SIGTERM)
	termAt := time.Now()
	s.launch(c)
	if code := b.Wait(15 * time.Second); code != 0 {
		t.Errorf("the taker exited %d after SIGTERM, want 0", code)
	}
	waitOneLeader(t, 15*time.Second, []*elector{b, c})
	led := time.Now()
	t.Logf("takeover at %s, SIGTERM %v after it, the next replica leads %v after it",
		taken.Format("15:04:05.000"), termAt.Sub(taken).Round(time.Millisecond), led.Sub(taken).Round(time.Millisecond))
	if ls := leaders([]*elector{b, c}); len(ls) != 1 || ls[0] != c {
		t.Fatalf("leaders %v, want only %s", ids(ls), c.id)
	}
	if !led.Before(taken.Add(3 * time.Second)) {
		t.Errorf("the next replica led %v after the interrupted takeover, not before a whole lease duration (3s): the taker released nothing",
			led.Sub(taken).Round(time.Millisecond))
	}
	chk.finish(t)
}

// waitOne waits until exactly one replica leads and acts, and returns it.
func (h *chaosHarness) waitOne(timeout time.Duration) *chaosCandidate {
	h.t.Helper()
	var c *chaosCandidate
	waitFor(h.t, timeout, "one replica to lead and act", func() bool {
		id, ok := h.oneLeader()
		c = h.byID(id)
		return ok
	})
	return c
}

// finish shuts every replica down with SIGTERM, stops the checker and fails
// the test on what it found.
func (h *chaosHarness) finish(t *testing.T) {
	t.Helper()
	h.chk.shuttingDown()
	for _, c := range h.cands {
		h.term(c)
	}
	for _, c := range h.cands {
		c.p.Wait(15 * time.Second)
	}
	time.Sleep(50 * time.Millisecond) // a last sweep after the exits
	h.chk.Stop()
	rep := h.chk.Report()
	for _, line := range strings.Split(rep.String(), "\n") {
		t.Log(line)
	}
	for _, v := range slices.Concat(rep.Violations, rep.FileOverlaps, rep.HTTPOverlaps, rep.Zombies, rep.MarginViolations, rep.CrossViolations) {
		t.Errorf("checker: %s", v)
	}
}
