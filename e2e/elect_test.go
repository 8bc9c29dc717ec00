package e2e

import (
	"context"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Three electors: exactly one status file, holding the leader's identity;
// SIGTERM on the leader removes its file before the next leader's appears
// and it exits 0; a SIGKILLed leader is replaced once its Lease expires.
// A checker reads every status file throughout: never two at once, never
// empty or partial content.
func TestElectThreeElectorsHandOver(t *testing.T) {
	s := newElectSetup(t)
	es := []*elector{s.start("alpha"), s.start("bravo"), s.start("charlie")}
	chk := startChecker(es)

	first := waitOneLeader(t, 20*time.Second, es)
	if got := s.holder(); got != first.id {
		t.Fatalf("Lease held by %q but the status file is %s's", got, first.id)
	}
	// Every replica learns who leads from its leader file.
	for _, e := range es {
		waitFor(t, 5*time.Second, e.id+"'s leader file to name "+first.id, func() bool {
			b, err := os.ReadFile(e.leader)
			return err == nil && string(b) == first.id
		})
	}
	// Stable: still exactly one a few renewals later.
	time.Sleep(1500 * time.Millisecond)
	if ls := leaders(es); len(ls) != 1 || ls[0] != first {
		t.Fatalf("after 1.5s the leaders are %v, want only %s", ids(ls), first.id)
	}

	// Graceful hand-over.
	sent := time.Now()
	first.Signal(syscall.SIGTERM)
	if code := first.Wait(10 * time.Second); code != 0 {
		t.Fatalf("the old leader exited %d after SIGTERM, want 0; stderr:\n%s", code, first.Stderr())
	}
	if _, err := os.Lstat(first.status); err == nil {
		t.Fatalf("the old leader's status file outlived its process")
	}
	rest := without(es, first)
	second := waitOneLeader(t, 10*time.Second, rest)
	t.Logf("graceful hand-over: %s -> %s, new status file %v after SIGTERM", first.id, second.id, time.Since(sent).Round(time.Millisecond))

	// Crash: the Lease is left to expire. The dead process's file would
	// go with its container; here the test removes it.
	time.Sleep(time.Second)
	second.Signal(syscall.SIGKILL)
	killed := time.Now()
	second.Wait(5 * time.Second)
	// The dead leader's last renewal, stamped with its clock (this host's,
	// as the test's): no survivor observed it before that moment.
	lease, err := cp.Client(t, cp.Admin).CoordinationV1().Leases(s.ns).Get(context.Background(), s.lease, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if h := *lease.Spec.HolderIdentity; h != second.id {
		t.Fatalf("the Lease was taken by %q right after the kill, before it could expire", h)
	}
	lastRenew := lease.Spec.RenewTime.Time
	os.Remove(second.status)
	third := waitOneLeader(t, 15*time.Second, without(rest, second))
	t.Logf("crash failover: %s -> %s after %v", second.id, third.id, time.Since(killed).Round(time.Millisecond))
	// A survivor must wait a whole lease duration from its observation of
	// the last renewal: taking over sooner would be unsafe. (50ms: the
	// Lease stores microseconds, and the file appears after the write.)
	if sinceRenew := time.Since(lastRenew); sinceRenew < 3*time.Second-50*time.Millisecond {
		t.Errorf("the Lease was taken %v after the dead leader's last renewal, before it could expire (3s)", sinceRenew)
	}
	// The takeover is dated when it was written, not when client-go began
	// the attempt (the watch-based lock holds that attempt until expiry):
	// otherwise the new holder's Lease would look expired at once to
	// kubectl and dashboards. Same host, same clock as the test.
	taken, err := cp.Client(t, cp.Admin).CoordinationV1().Leases(s.ns).Get(context.Background(), s.lease, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if acq := taken.Spec.AcquireTime.Time; *taken.Spec.HolderIdentity == third.id && !acq.After(lastRenew.Add(3*time.Second-50*time.Millisecond)) {
		t.Errorf("%s's acquireTime %v is not after the dead leader's lease ran out (%v): the takeover carries a stale stamp", third.id, acq, lastRenew.Add(3*time.Second))
	}
	chk.finish(t)
	// Acquired and lost leadership are Events on the Lease.
	events, err := cp.Client(t, cp.Admin).CoreV1().Events(s.ns).List(context.Background(), metav1.ListOptions{FieldSelector: "involvedObject.name=" + s.lease})
	if err != nil {
		t.Fatal(err)
	}
	var msgs []string
	for _, ev := range events.Items {
		msgs = append(msgs, ev.Type+" "+ev.Reason+": "+ev.Message)
	}
	all := strings.Join(msgs, "\n")
	for _, want := range []string{"Normal LeaderElection: " + first.id + " became leader", "Normal LeaderElection: " + first.id + " stopped leading", "Normal LeaderElection: " + second.id + " became leader"} {
		if !strings.Contains(all, want) {
			t.Errorf("no Event %q among:\n%s", want, all)
		}
	}

	third.Signal(syscall.SIGTERM)
	if code := third.Wait(10 * time.Second); code != 0 {
		t.Errorf("last leader exited %d, want 0", code)
	}
	if h := s.holder(); h != "" {
		t.Errorf("after the last leader's SIGTERM the Lease is held by %q, want released", h)
	}
}

func ids(es []*elector) []string {
	var out []string
	for _, e := range es {
		out = append(out, e.id)
	}
	return out
}

func without(es []*elector, x *elector) []*elector {
	var out []*elector
	for _, e := range es {
		if e != x {
			out = append(out, e)
		}
	}
	return out
}
