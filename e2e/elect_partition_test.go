package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"k8s.io/client-go/rest"

	"github.com/leader-elector/leader-elector/controlplane"
)

// A leader cut off from the API server (its connection black-holed: a
// partition, requests hang) must remove its status file on its own
// monotonic deadline — last renewal start + renew-deadline — before the
// follower may take the Lease; the checker proves no two files at once.
// When the partition heals it follows, and never exits.
func TestElectPartitionedLeaderStepsDown(t *testing.T) {
	s := newElectSetup(t)
	proxy, err := newFaultProxy(strings.TrimPrefix(cp.Host, "https://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { proxy.Close() })
	viaProxy := rest.CopyConfig(cp.Admin)
	viaProxy.Host = "https://" + proxy.Addr()
	kc := filepath.Join(t.TempDir(), "kubeconfig")
	if err := controlplane.WriteKubeconfig(kc, viaProxy, s.ns); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	a := &elector{id: "cut-off", status: filepath.Join(dir, "status")}
	a.proc = startBinary(t, nil, append([]string{"elect", "--kubeconfig", kc, "--lease-name", s.lease,
		"--identity", a.id, "--status-file", a.status, "--http-addr="}, fastTimings...)...)
	waitOneLeader(t, 20*time.Second, []*elector{a})
	b := s.start("connected")
	es := []*elector{a, b}
	chk := startChecker(es)
	time.Sleep(time.Second) // b follows, having seen a's renewals

	proxy.BlackHole()
	cut := time.Now()
	waitFor(t, 10*time.Second, "the partitioned leader's file to go", func() bool {
		_, err := os.Lstat(a.status)
		return err != nil
	})
	removed := time.Since(cut)
	waitOneLeader(t, 15*time.Second, es)
	if ls := leaders(es); ls[0] != b {
		t.Fatalf("%s leads, want the connected replica", ls[0].id)
	}
	took := time.Since(cut)
	t.Logf("partition: leader's file removed %v after the cut, follower leads %v after it", removed.Round(time.Millisecond), took.Round(time.Millisecond))

	proxy.Heal()
	time.Sleep(3 * time.Second) // a reconnects and follows
	if ls := leaders(es); len(ls) != 1 || ls[0] != b {
		t.Errorf("after healing the leaders are %v, want only %s", ids(ls), b.id)
	}
	if a.exited() {
		t.Errorf("the partitioned replica exited (code %d); it must keep competing", a.code)
	}
	chk.finish(t)
	for _, e := range es {
		e.Signal(syscall.SIGTERM)
		if code := e.Wait(15 * time.Second); code != 0 {
			t.Errorf("%s exited %d, want 0", e.id, code)
		}
	}
}
