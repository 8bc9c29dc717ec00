package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/leader-elector/leader-elector/internal/replica"
)

// Mixed fleets: our sidecar and client-go's own elector (bench/baseline,
// client-go's example as it is) on one Lease. A rolling update from the
// original sidecar to ours, or back, runs both at once; they must never
// act together. Two replicas, one of each kind: every hand-over goes from
// one kind to the other, both ways, gracefully (SIGTERM) and by a crash
// (SIGKILL), and the replaced replica comes back as a follower of its kind.
// The checker reads every status file throughout: 0 overlaps.

var (
	baselineOnce sync.Once
	baselineBin  string
	baselineErr  error
)

// buildBaseline builds bench/baseline once per test binary.
func buildBaseline(t *testing.T) string {
	t.Helper()
	baselineOnce.Do(func() {
		baselineBin = filepath.Join(filepath.Dir(binPath), "baseline")
		baselineErr = replica.Build(context.Background(), replica.BuildOptions{Package: "./bench/baseline", Out: baselineBin})
	})
	if baselineErr != nil {
		t.Fatal(baselineErr)
	}
	return baselineBin
}

// fleetKind is one kind of replica: how to start it on the test's Lease.
type fleetKind struct {
	name   string
	launch func(s *electSetup, e *elector)
	// crashWait is how long after a crash of this kind's leader the other
	// kind may wait before it takes over, at most.
	crashWait time.Duration
}

func oursKind() fleetKind {
	return fleetKind{name: "ours", launch: func(s *electSetup, e *elector) { s.launch(e) }, crashWait: 3 * time.Second}
}

// baselineKind runs client-go's elector with timings' timings and the
// given release.
func baselineKind(bin string, timings replica.Elect, release bool, crashWait time.Duration) fleetKind {
	return fleetKind{name: "client-go", crashWait: crashWait, launch: func(s *electSetup, e *elector) {
		args := replica.Elect{Kubeconfig: s.kubeconfig, Namespace: s.ns, Lease: s.lease, Identity: e.id, StatusFile: e.status,
			LeaseDuration: timings.LeaseDuration, RenewDeadline: timings.RenewDeadline, RetryPeriod: timings.RetryPeriod,
			Extra: []string{fmt.Sprintf("-release-on-cancel=%v", release)}}.BaselineArgs()
		e.testProc = startProgram(s.t, bin, nil, args...)
	}}
}

// runMixedFleet runs the hand-overs described above between kinds a and b.
func runMixedFleet(t *testing.T, a, b fleetKind) {
	s := newElectSetup(t)
	type step struct {
		sig  syscall.Signal
		what string
	}
	steps := []step{{syscall.SIGTERM, "graceful"}, {syscall.SIGTERM, "graceful"}, {syscall.SIGKILL, "crash"}, {syscall.SIGKILL, "crash"}}
	kinds := map[*elector]fleetKind{}
	var all []*elector
	prepare := func(k fleetKind) *elector {
		e := s.prepare(fmt.Sprintf("%s-%d", k.name, len(all)))
		kinds[e] = k
		all = append(all, e)
		return e
	}
	// Every replica the test will run, so the checker watches all files.
	first, second := prepare(a), prepare(b)
	next := map[string][]*elector{}
	for range steps {
		for _, k := range []fleetKind{a, b} {
			next[k.name] = append(next[k.name], prepare(k))
		}
	}
	chk := startChecker(all)

	a.launch(s, first)
	waitOneLeader(t, 20*time.Second, []*elector{first})
	b.launch(s, second)
	live := []*elector{first, second}
	time.Sleep(2 * time.Second) // the follower sees renewals
	for i, st := range steps {
		leader := waitOneLeader(t, 30*time.Second, live)
		follower := without(live, leader)[0]
		time.Sleep(time.Second)
		leader.Signal(st.sig)
		sent := time.Now()
		leader.Wait(20 * time.Second)
		if st.sig == syscall.SIGKILL {
			os.Remove(leader.status) // its pod is gone, and the file with it
		}
		// The follower (the other kind) takes over: at once after a
		// release, or once the dead or unreleased holder's lease expired.
		waitOneLeader(t, kinds[leader].crashWait+15*time.Second, []*elector{follower})
		t.Logf("step %d: %s hand-over %s -> %s, new file %v after the signal", i+1, st.what, leader.id, follower.id, time.Since(sent).Round(time.Millisecond))
		k := kinds[leader]
		fresh := next[k.name][0]
		next[k.name] = next[k.name][1:]
		k.launch(s, fresh)
		live = []*elector{follower, fresh}
		time.Sleep(2 * time.Second) // the fresh follower sees renewals
	}
	chk.finish(t)
	for _, e := range live {
		e.Signal(syscall.SIGTERM)
		e.Wait(20 * time.Second)
	}
}

// Our sidecar next to client-go's elector with the same fast timings and
// client-go's example's release on SIGTERM.
func TestInteropClientGoElector(t *testing.T) {
	bin := buildBaseline(t)
	runMixedFleet(t, oursKind(), baselineKind(bin, replica.Elect{LeaseDuration: 3 * time.Second, RenewDeadline: 2 * time.Second, RetryPeriod: 500 * time.Millisecond}, true, 3*time.Second))
}

// Our sidecar (fast timings) next to client-go's elector configured as the
// original sidecar: 15s/10s/2s, nothing released on SIGTERM, so taking over
// from it waits out its 15s lease.
func TestInteropOriginalSidecar(t *testing.T) {
	bin := buildBaseline(t)
	runMixedFleet(t, oursKind(), baselineKind(bin, replica.Elect{LeaseDuration: 15 * time.Second, RenewDeadline: 10 * time.Second, RetryPeriod: 2 * time.Second}, false, 17*time.Second))
}
