package e2e

import (
	"context"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/leader-elector/leader-elector/internal/replica"
)

// A restarted container keeps its identity and its emptyDir: the new
// process removes the stale status file before anything else, waits out its
// dead predecessor's Lease (no collision: nobody renews it), then leads.
func TestElectRestartSameIdentity(t *testing.T) {
	s := newElectSetup(t)
	old := s.start("pod-0")
	waitOneLeader(t, 20*time.Second, []*elector{old})
	old.Signal(syscall.SIGKILL)
	killed := time.Now()
	old.Wait(5 * time.Second)
	if _, err := os.Lstat(old.status); err != nil {
		t.Fatalf("a SIGKILLed process cannot remove its file, yet it is gone: %v", err)
	}

	// Same identity, same status file (the emptyDir survives a restart).
	args := fastArgs(replica.Elect{Kubeconfig: s.kubeconfig, Lease: s.lease, Identity: "pod-0", StatusFile: old.status})
	restarted := &elector{testProc: startBinary(t, nil, args...), id: "pod-0", status: old.status}
	waitFor(t, 10*time.Second, "the stale file to be removed", func() bool {
		return strings.Contains(restarted.Stderr(), "removed a stale file")
	})
	waitOneLeader(t, 20*time.Second, []*elector{restarted})
	took := time.Since(killed)
	t.Logf("restarted process leads %v after the kill", took.Round(time.Millisecond))
	// It first saw the record after the kill and must wait a whole lease
	// duration from then.
	if took < 3*time.Second {
		t.Errorf("led %v after the kill, before the predecessor's Lease (3s) could expire", took)
	}
	if strings.Contains(restarted.Stderr(), "identity collision") {
		t.Errorf("a dead predecessor was reported as a collision:\n%s", restarted.Stderr())
	}
	restarted.Signal(syscall.SIGTERM)
	if code := restarted.Wait(10 * time.Second); code != 0 {
		t.Errorf("exit %d, want 0", code)
	}
}

// A leader whose Lease is taken by someone else removes its file at once,
// keeps running and competing, and leads again once that Lease expires.
func TestElectLosesLeaseAndCompetesAgain(t *testing.T) {
	s := newElectSetup(t)
	e := s.start("solo")
	waitOneLeader(t, 20*time.Second, []*elector{e})

	leases := cp.Client(t, cp.Admin).CoordinationV1().Leases(s.ns)
	ctx := context.Background()
	for {
		l, err := leases.Get(ctx, s.lease, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		intruder := "intruder"
		now := metav1.NewMicroTime(time.Now())
		l.Spec.HolderIdentity, l.Spec.RenewTime, l.Spec.AcquireTime = &intruder, &now, &now
		if _, err = leases.Update(ctx, l, metav1.UpdateOptions{}); err == nil {
			break
		}
		t.Logf("retrying the takeover: %v", err)
	}
	taken := time.Now()
	took := waitGone(t, e.status, 5*time.Second).Sub(taken)
	t.Logf("status file removed %v after the Lease was taken", took.Round(time.Millisecond))
	// "At once": the leader hears of the foreign holder from its watch, and
	// at the latest from its next renewal attempt, within retry-period
	// (500ms). The slack covers that attempt's request and a loaded
	// 2-core machine's scheduling delay, as ownDeadlineSlack does.
	if bound := 500*time.Millisecond + ownDeadlineSlack; took > bound {
		t.Errorf("the status file went %v after the Lease was taken, want within retry-period + %v = %v", took.Round(time.Millisecond), ownDeadlineSlack, bound)
	}
	waitOneLeader(t, 20*time.Second, []*elector{e})
	if e.exited() {
		t.Fatalf("the sidecar exited after losing the Lease")
	}
	if h := s.holder(); h != "solo" {
		t.Errorf("holder %q, want solo again", h)
	}
	e.Signal(syscall.SIGTERM)
	if code := e.Wait(10 * time.Second); code != 0 {
		t.Errorf("exit %d, want 0", code)
	}
}
