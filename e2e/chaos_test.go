package e2e

import (
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/leader-elector/leader-elector/internal/proc"
	"github.com/leader-elector/leader-elector/internal/replica"
)

// The long run is the same test with other flags (docs/safety.md has
// its figures):
//
//	go test ./e2e -run 'TestChaos$' -v -count=1 -timeout 40m -args -chaos.duration=30m -chaos.seed=7
var (
	chaosDuration   = flag.Duration("chaos.duration", 75*time.Second, "how long TestChaos injects faults (the whole test takes about 30s more)")
	chaosSeed       = flag.Uint64("chaos.seed", 1, "seed of TestChaos's fault schedule")
	chaosCandidates = flag.Int("chaos.candidates", 5, "replicas TestChaos runs")
)

// The chaos timings obey every rule (4s > 2s + 0.5s, 2s > 1.2 x 0.5s) and
// leave a safety margin of 4 - 2 - 0.5 = 1.5s.
const (
	chaosLeaseDuration = 4 * time.Second
	chaosRenewDeadline = 2 * time.Second
	chaosRetryPeriod   = 500 * time.Millisecond
	// chaosWakeGrace is how long after SIGCONT a woken replica's claims are
	// not judged: the time for the kernel to schedule it and the Go runtime
	// to run its overdue deadline timer. The run reports the slowest wake
	// it saw.
	chaosWakeGrace = 500 * time.Millisecond
	// chaosSettle is the margin over LeaseDuration for one leader to emerge
	// once every fault has healed: client-go retries every RetryPeriod with
	// up to 1.2 x jitter, and a request or two on a busy machine.
	chaosSettle = 3 * time.Second
)

// chaosHarness runs the replicas, their proxies and the checker of one test.
type chaosHarness struct {
	t     *testing.T
	ns    string
	lease string
	admin kubernetes.Interface
	cands []*chaosCandidate
	chk   *chaosChecker
}

func newChaosHarness(t *testing.T, n int) *chaosHarness {
	t.Helper()
	h := &chaosHarness{t: t, ns: cp.Namespace(t), lease: "chaos", admin: cp.Client(t, cp.Admin)}
	dir := t.TempDir()
	target := strings.TrimPrefix(cp.Host, "https://")
	for i := range n {
		proxy, err := newFaultProxy(target)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { proxy.Close() })
		// The serving certificate names 127.0.0.1, so TLS verifies through
		// the proxy's port as well.
		cfg := rest.CopyConfig(cp.Admin)
		cfg.Host = "https://" + proxy.Addr()
		c := &chaosCandidate{
			idx:        i,
			id:         fmt.Sprintf("replica-%d", i),
			statusFile: filepath.Join(t.TempDir(), "leader_status"),
			httpAddr:   freeAddr(t),
			kubeconfig: cp.Kubeconfig(t, cfg, h.ns),
			proxy:      proxy,
		}
		// The last replica runs in exec mode: its child's life is a claim
		// the checker watches like the files.
		if i == n-1 && n > 1 {
			c.childPidFile = filepath.Join(dir, fmt.Sprintf("child-%d.pid", i))
		}
		h.cands = append(h.cands, c)
	}
	h.chk = newChaosChecker(h.cands, chaosRulesFor(chaosLeaseDuration, chaosRenewDeadline, chaosRetryPeriod, chaosWakeGrace, chaosSettle), h.readLease)
	return h
}

// readLease is the checker's view of the Lease, through the admin client
// straight to the API server (no fault proxy).
func (h *chaosHarness) readLease(ctx context.Context) (leaseObs, error) {
	l, err := h.admin.CoordinationV1().Leases(h.ns).Get(ctx, h.lease, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return leaseObs{}, nil
	}
	if err != nil {
		return leaseObs{}, fmt.Errorf("reading the Lease: %w", err)
	}
	o := leaseObs{exists: true, resourceVersion: l.ResourceVersion}
	if l.Spec.HolderIdentity != nil {
		o.holder = *l.Spec.HolderIdentity
	}
	if l.Spec.RenewTime != nil {
		o.renew = l.Spec.RenewTime.Time
	}
	if l.Spec.AcquireTime != nil {
		o.acquire = l.Spec.AcquireTime.Time
	}
	return o, nil
}

// freeAddr returns a loopback address nobody listens on now.
func freeAddr(t *testing.T) string {
	t.Helper()
	addr, err := replica.FreeAddr()
	if err != nil {
		t.Fatal(err)
	}
	return addr
}

// start runs a new process for c, as a restarted container would: same
// identity, same status file (a dead predecessor's file may still be there).
func (h *chaosHarness) start(c *chaosCandidate) {
	_, err := os.Lstat(c.statusFile)
	stale := err == nil
	began := time.Now()
	e := replica.Elect{
		Kubeconfig: c.kubeconfig, Lease: h.lease, Namespace: h.ns,
		Identity: c.id, StatusFile: c.statusFile, HTTPAddr: c.httpAddr,
		LeaseDuration: chaosLeaseDuration, RenewDeadline: chaosRenewDeadline, RetryPeriod: chaosRetryPeriod,
	}
	if c.childPidFile != "" {
		// 500ms fits in renew-deadline - 2 x retry-period = 1s; the child
		// is a sleep that SIGTERM ends at once anyway.
		e.Extra = []string{"--grace=500ms", "--", "sh", "-c", chaosChildScript, "sh", c.childPidFile}
	}
	// At debug level: a failed test prints every replica's log, and a
	// follower's decisions (what it saw, when it judged the Lease expired,
	// the writes it lost) are logged only there.
	e.Extra = append([]string{"--verbose"}, e.Extra...)
	p := startBinary(h.t, nil, e.Args()...)
	var inc int
	c.change(func() {
		c.incarn++
		inc = c.incarn
		c.p, c.startedAt = p, began
		c.stopped, c.exited, c.cleanExit = false, false, false
		c.contAt, c.termAt, c.killAt, c.exitAt = time.Time{}, time.Time{}, time.Time{}, time.Time{}
		c.staleStart, c.answered = stale, false
	})
	go h.watchExit(c, p, inc)
}

// watchExit records how c's process inc ended and whether that was the
// documented outcome of what the harness did to it.
func (h *chaosHarness) watchExit(c *chaosCandidate, p *testProc, inc int) {
	<-p.Done()
	code, sig := p.ExitCode()
	var killed, termed, answered bool
	c.change(func() {
		if c.incarn != inc {
			return
		}
		killed, termed, answered = !c.killAt.IsZero(), !c.termAt.IsZero(), c.answered
		c.exited, c.exitAt = true, time.Now()
		c.cleanExit = termed && !killed && code == 0
	})
	switch {
	case killed:
		if sig != syscall.SIGKILL && code != 0 {
			h.chk.violatef("%s exited %d before its SIGKILL landed; stderr ends:\n%s", c.id, code, proc.Tail(p.Stderr(), 5))
		}
	case termed && !answered && sig == syscall.SIGTERM:
		// SIGTERM landed before the process set up its handler (the Go
		// runtime's first milliseconds): it had done nothing yet, so the
		// default action, death by SIGTERM, leaves nothing behind.
		h.chk.note("SIGTERM during start-up (killed by it before any work)")
	case termed:
		if code != 0 {
			h.chk.violatef("%s exited %d (signal %v) after SIGTERM, want 0; stderr ends:\n%s", c.id, code, sig, proc.Tail(p.Stderr(), 5))
		}
	default:
		h.chk.violatef("%s exited on its own with code %d (signal %v); stderr ends:\n%s", c.id, code, sig, proc.Tail(p.Stderr(), 5))
	}
}

func (h *chaosHarness) signal(c *chaosCandidate, sig syscall.Signal) {
	c.mu.Lock()
	p := c.p
	c.mu.Unlock()
	if err := p.Process.Signal(sig); err != nil && !p.Exited() {
		h.chk.violatef("%s: %v", c.id, err)
	}
}

func (h *chaosHarness) kill(c *chaosCandidate) {
	c.change(func() { c.killAt = time.Now() })
	h.signal(c, syscall.SIGKILL)
}

func (h *chaosHarness) term(c *chaosCandidate) {
	c.change(func() { c.termAt = time.Now() })
	h.signal(c, syscall.SIGTERM)
}

// pause freezes the replica as a frozen container would be: the sidecar
// and, in exec mode, its child.
func (h *chaosHarness) pause(c *chaosCandidate) {
	c.change(func() { c.stopped = true })
	h.signal(c, syscall.SIGSTOP)
	h.signalChild(c, syscall.SIGSTOP)
}

// signalChild signals an exec-mode replica's running child, if any.
func (h *chaosHarness) signalChild(c *chaosCandidate, sig syscall.Signal) {
	if c.childPidFile == "" {
		return
	}
	if pid, ok := childRunning(c.childPidFile); ok {
		_ = syscall.Kill(pid, sig) // it may have just exited
	}
}

// resume sends SIGCONT; timeWake asks the checker to time how long the
// woken replica keeps its file (for a leader paused past its deadline).
func (h *chaosHarness) resume(c *chaosCandidate, timeWake bool) {
	h.signal(c, syscall.SIGCONT)
	h.signalChild(c, syscall.SIGCONT)
	now := time.Now()
	c.change(func() { c.stopped, c.contAt = false, now })
	if timeWake {
		h.chk.watchWake(c, now)
	}
}

func (c *chaosCandidate) hasExited() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.exited
}

// leader returns the candidate the Lease names, read straight from the API
// server (not through a proxy), or nil.
func (h *chaosHarness) leader() *chaosCandidate {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	l, err := h.admin.CoordinationV1().Leases(h.ns).Get(ctx, h.lease, metav1.GetOptions{})
	if err != nil || l.Spec.HolderIdentity == nil {
		return nil
	}
	for _, c := range h.cands {
		if c.id == *l.Spec.HolderIdentity {
			return c
		}
	}
	return nil
}

// faultKind names a fault; the report counts them by name.
type faultKind string

const (
	faultKillLeader        faultKind = "SIGKILL leader, restart"
	faultKillFollower      faultKind = "SIGKILL follower, restart"
	faultTermLeader        faultKind = "SIGTERM leader, restart"
	faultTermFollower      faultKind = "SIGTERM follower, restart"
	faultPauseLeaderShort  faultKind = "SIGSTOP leader < renew deadline"
	faultPauseLeaderLong   faultKind = "SIGSTOP leader > lease duration"
	faultPauseFollower     faultKind = "SIGSTOP follower"
	faultPartitionLeader   faultKind = "black-hole leader"
	faultPartitionFollower faultKind = "black-hole follower"
	faultLatencyLeader     faultKind = "latency spike on the leader"
	faultLatencyFollower   faultKind = "latency spike on a follower"
	faultReset             faultKind = "reset connections"
	faultRestartAPIServer  faultKind = "restart kube-apiserver"
)

// faultWeights is how often each kind is drawn, in this order (a fixed
// order keeps a seed's schedule reproducible).
var faultWeights = []struct {
	kind   faultKind
	weight int
}{
	{faultKillLeader, 2}, {faultKillFollower, 1},
	{faultTermLeader, 2}, {faultTermFollower, 1},
	{faultPauseLeaderShort, 1}, {faultPauseLeaderLong, 2}, {faultPauseFollower, 1},
	{faultPartitionLeader, 2}, {faultPartitionFollower, 1},
	{faultLatencyLeader, 2}, {faultLatencyFollower, 1}, {faultReset, 1}, {faultRestartAPIServer, 1},
}

// activeFault is a fault in force; heal is called from healAt on until it
// reports the fault is over.
type activeFault struct {
	kind   faultKind
	target *chaosCandidate // nil for the API server
	healAt time.Time
	heal   func(now time.Time) bool
}

// between draws a duration in [lo, hi).
func between(rng *rand.Rand, lo, hi time.Duration) time.Duration {
	return lo + time.Duration(rng.Int64N(int64(hi-lo)))
}

// inject draws and starts one fault, or returns nil when the drawn one has
// no free target now.
func (h *chaosHarness) inject(rng *rand.Rand, active []*activeFault) *activeFault {
	total := 0
	for _, w := range faultWeights {
		total += w.weight
	}
	pick := rng.IntN(total)
	var kind faultKind
	for _, w := range faultWeights {
		if pick < w.weight {
			kind = w.kind
			break
		}
		pick -= w.weight
	}
	busy := map[*chaosCandidate]bool{}
	for _, f := range active {
		if f.target != nil {
			busy[f.target] = true
		}
		if f.kind == faultRestartAPIServer && kind == faultRestartAPIServer {
			return nil
		}
	}
	leader := h.leader()
	var followers []*chaosCandidate
	for _, c := range h.cands {
		if c != leader && !busy[c] {
			followers = append(followers, c)
		}
	}
	var target *chaosCandidate
	switch kind {
	case faultKillLeader, faultTermLeader, faultPauseLeaderShort, faultPauseLeaderLong, faultPartitionLeader, faultLatencyLeader:
		if leader == nil || busy[leader] {
			return nil
		}
		target = leader
	case faultRestartAPIServer:
	default:
		if len(followers) == 0 {
			return nil
		}
		target = followers[rng.IntN(len(followers))]
	}
	now := time.Now()
	f := &activeFault{kind: kind, target: target}
	if target != nil && target == leader {
		h.chk.leaderHit(now)
	}
	switch kind {
	case faultKillLeader, faultKillFollower:
		h.kill(target)
		f.healAt = now.Add(between(rng, 200*time.Millisecond, 6*time.Second))
		f.heal = func(time.Time) bool {
			if !target.hasExited() {
				return false
			}
			h.start(target)
			return true
		}
	case faultTermLeader, faultTermFollower:
		h.term(target)
		f.healAt = now.Add(between(rng, 200*time.Millisecond, 3*time.Second))
		f.heal = func(now time.Time) bool {
			if !target.hasExited() {
				if now.Sub(f.healAt) > 15*time.Second {
					h.chk.violatef("%s still running 15s after SIGTERM; killing it", target.id)
					h.kill(target)
				}
				return false
			}
			h.start(target)
			return true
		}
	case faultPauseLeaderShort:
		h.pause(target)
		f.healAt = now.Add(between(rng, 200*time.Millisecond, chaosRenewDeadline*3/4))
		f.heal = func(time.Time) bool { h.resume(target, false); return true }
	case faultPauseLeaderLong, faultPauseFollower:
		h.pause(target)
		f.healAt = now.Add(chaosLeaseDuration + between(rng, 500*time.Millisecond, 3*time.Second))
		f.heal = func(time.Time) bool { h.resume(target, kind == faultPauseLeaderLong); return true }
	case faultPartitionLeader, faultPartitionFollower:
		target.proxy.BlackHole()
		f.healAt = now.Add(between(rng, 500*time.Millisecond, 8*time.Second))
		f.heal = func(time.Time) bool { target.proxy.Heal(); return true }
	case faultLatencyLeader, faultLatencyFollower:
		target.proxy.SetDelay(between(rng, 100*time.Millisecond, 1500*time.Millisecond))
		f.healAt = now.Add(between(rng, time.Second, 6*time.Second))
		f.heal = func(time.Time) bool { target.proxy.SetDelay(0); return true }
	case faultReset:
		target.proxy.Reset()
		f.healAt = now
		f.heal = func(time.Time) bool { return true }
	case faultRestartAPIServer:
		// No replica can reach the API while it restarts: the leaderless-gap
		// bound does not apply then, nor for a lease duration after.
		restartAt := now
		done := make(chan struct{})
		go func() {
			defer close(done)
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			if err := cp.RestartAPIServer(ctx); err != nil {
				h.chk.violatef("restarting kube-apiserver: %v", err)
			}
		}()
		f.healAt = now
		f.heal = func(time.Time) bool {
			select {
			case <-done:
				h.chk.excuse(restartAt, time.Now().Add(chaosLeaseDuration+chaosSettle))
				return true
			default:
				return false
			}
		}
	}
	return f
}

// chaosRun is what a run did, besides what the checker found.
type chaosRun struct {
	faults       map[faultKind]int
	toOneLeader  time.Duration
	oneLeader    string
	transitions  int32
	faultsActive time.Duration
}

// run starts every replica, injects faults for d on the schedule of seed,
// heals everything, waits for one leader, shuts every replica down with
// SIGTERM and returns what happened.
func (h *chaosHarness) run(d time.Duration, seed uint64) chaosRun {
	t := h.t
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	for _, c := range h.cands {
		h.start(c)
	}
	h.chk.Start()
	res := chaosRun{faults: map[faultKind]int{}}

	began := time.Now()
	end := began.Add(d)
	next := began.Add(3 * time.Second) // let a first leader emerge
	var active []*activeFault
	healDue := func(now time.Time, all bool) {
		for i := 0; i < len(active); {
			f := active[i]
			if (all || !now.Before(f.healAt)) && f.heal(now) {
				active = slices.Delete(active, i, i+1)
				continue
			}
			i++
		}
	}
	for now := time.Now(); now.Before(end); now = time.Now() {
		healDue(now, false)
		if !now.Before(next) && len(active) < 2 {
			if f := h.inject(rng, active); f != nil {
				active = append(active, f)
				res.faults[f.kind]++
				t.Logf("%7.2fs fault: %s%s", now.Sub(began).Seconds(), f.kind, targetName(f.target))
			}
			next = now.Add(between(rng, 300*time.Millisecond, 3*time.Second))
		}
		time.Sleep(50 * time.Millisecond)
	}
	for healStart := time.Now(); len(active) > 0; {
		healDue(time.Now(), true)
		if time.Since(healStart) > 2*time.Minute {
			t.Errorf("faults still not healed after 2 minutes: %d left", len(active))
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	healed := time.Now()
	res.faultsActive = healed.Sub(began)

	// After the faults: one leader, the one the Lease names and every
	// replica reports, within LeaseDuration + a margin.
	limit := chaosLeaseDuration + chaosSettle
	for {
		if id, ok := h.oneLeader(); ok {
			res.toOneLeader, res.oneLeader = time.Since(healed), id
			break
		}
		if time.Since(healed) > limit+10*time.Second {
			res.toOneLeader = -1
			break
		}
		time.Sleep(50 * time.Millisecond)
	}

	if l, err := h.admin.CoordinationV1().Leases(h.ns).Get(context.Background(), h.lease, metav1.GetOptions{}); err == nil && l.Spec.LeaseTransitions != nil {
		res.transitions = *l.Spec.LeaseTransitions
	} else if err != nil && !apierrors.IsNotFound(err) {
		t.Errorf("reading the Lease at the end: %v", err)
	}

	// Shut every replica down as a rollout would: each must exit 0 and
	// leave no file (the checker judges both).
	h.chk.shuttingDown()
	for _, c := range h.cands {
		h.term(c)
	}
	for _, c := range h.cands {
		select {
		case <-c.p.Done():
		case <-time.After(15 * time.Second):
			t.Errorf("%s did not exit within 15s of SIGTERM", c.id)
		}
	}
	time.Sleep(50 * time.Millisecond) // a last sweep after the exits
	h.chk.Stop()
	return res
}

func targetName(c *chaosCandidate) string {
	if c == nil {
		return ""
	}
	return " (" + c.id + ")"
}

// oneLeader reports whether exactly one replica's status file exists, the
// Lease names it, and every replica's /leader names it.
func (h *chaosHarness) oneLeader() (string, bool) {
	var have []string
	for _, c := range h.cands {
		if _, err := os.Lstat(c.statusFile); err == nil {
			have = append(have, c.id)
		}
	}
	if len(have) != 1 {
		return "", false
	}
	if l := h.leader(); l == nil || l.id != have[0] {
		return "", false
	}
	for _, c := range h.cands {
		a, err := h.chk.askLeader(c)
		if err != nil || a.Leader != have[0] || a.IsLeader != (c.id == have[0]) {
			return "", false
		}
	}
	return have[0], true
}

// TestChaos runs replicas under a seeded schedule of faults and proves
// that no two of them ever claimed leadership at once, that every read of a
// status file was whole, that every process ran or exited as documented,
// and that one leader emerged within LeaseDuration + a margin once the
// faults ended. Its figures are printed with -v.
func TestChaos(t *testing.T) {
	h := newChaosHarness(t, *chaosCandidates)
	t.Logf("chaos: seed %d, %d replicas, faults for %v, lease %v / renew deadline %v / retry %v",
		*chaosSeed, len(h.cands), *chaosDuration, chaosLeaseDuration, chaosRenewDeadline, chaosRetryPeriod)
	res := h.run(*chaosDuration, *chaosSeed)
	rep := h.chk.Report()

	total := 0
	kinds := make([]string, 0, len(res.faults))
	for k, n := range res.faults {
		total += n
		kinds = append(kinds, fmt.Sprintf("%s: %d", k, n))
	}
	slices.Sort(kinds)
	t.Logf("faults injected: %d (%s)", total, strings.Join(kinds, ", "))
	t.Logf("Lease transitions (spec.leaseTransitions): %d", res.transitions)
	for _, line := range strings.Split(rep.String(), "\n") {
		t.Log(line)
	}
	if res.toOneLeader >= 0 {
		t.Logf("one leader (%s) %v after the last fault healed (limit %v)", res.oneLeader, res.toOneLeader.Round(time.Millisecond), chaosLeaseDuration+chaosSettle)
	}

	for _, v := range rep.Violations {
		t.Errorf("violation: %s", v)
	}
	for _, o := range rep.FileOverlaps {
		t.Errorf("overlap: %s", o)
	}
	for _, o := range rep.HTTPOverlaps {
		t.Errorf("overlap: %s", o)
	}
	judgeSafetyFindings(t, rep)
	switch {
	case res.toOneLeader < 0:
		t.Errorf("no single leader within %v of the last fault healing", chaosLeaseDuration+chaosSettle+10*time.Second)
	case res.toOneLeader > chaosLeaseDuration+chaosSettle:
		t.Errorf("one leader only %v after the faults ended, want within LeaseDuration + %v = %v", res.toOneLeader, chaosSettle, chaosLeaseDuration+chaosSettle)
	}
	if total == 0 || rep.Terms == 0 || rep.Reads == 0 || rep.LeaseSamples == 0 || rep.HTTPSamples == 0 {
		t.Errorf("the run tested nothing: %d faults, %d terms, %d reads, %d Lease reads, %d /leader answers", total, rep.Terms, rep.Reads, rep.LeaseSamples, rep.HTTPSamples)
	}
}

// TestChaosPausedLeader is the hard case, made deterministic: a leader
// frozen (SIGSTOP, a long GC or a throttled container) past its lease. Its
// file stays on disk while it is frozen: nothing can remove it. A new leader
// takes over once the Lease expires. On SIGCONT the old leader's overdue
// deadline timer must remove its file at once, and it must not take the
// Lease back.
func TestChaosPausedLeader(t *testing.T) {
	h := newChaosHarness(t, 3)
	for _, c := range h.cands {
		h.start(c)
	}
	h.chk.Start()
	var old *chaosCandidate
	waitFor(t, 20*time.Second, "a first leader", func() bool {
		if id, ok := h.oneLeader(); ok {
			old = h.byID(id)
			return true
		}
		return false
	})

	h.pause(old)
	var next *chaosCandidate
	// A follower takes the Lease a lease duration after the last renewal it
	// saw; the bound leaves a second lease duration for a loaded machine
	// (at 9 s it ran out in two full runs while other builds ran).
	waitFor(t, 2*chaosLeaseDuration+chaosSettle+chaosRenewDeadline, "another replica to take the Lease from the frozen leader", func() bool {
		if l := h.leader(); l != nil && l != old {
			if _, err := os.Lstat(l.statusFile); err == nil {
				next = l
				return true
			}
		}
		return false
	})
	// What no sidecar can prevent: the frozen process's file is still there.
	if _, err := os.Lstat(old.statusFile); err != nil {
		t.Fatalf("the frozen leader's file is gone while it was frozen (%v): something else removed it", err)
	}

	h.resume(old, true)
	cont := time.Now()
	waitFor(t, 5*time.Second, "the woken leader's file to go", func() bool {
		_, err := os.Lstat(old.statusFile)
		return err != nil
	})
	gone := time.Since(cont)
	t.Logf("the frozen leader's file went %v after SIGCONT (polled every 20ms; the checker's own figure below is finer)", gone.Round(time.Millisecond))

	// It must stay a follower of the new leader, and say so.
	waitFor(t, 5*time.Second, "the woken replica to report the new leader", func() bool {
		a, err := h.chk.askLeader(old)
		return err == nil && !a.IsLeader && a.Leader == next.id
	})
	time.Sleep(chaosLeaseDuration)
	if id, ok := h.oneLeader(); !ok || id != next.id {
		t.Errorf("after the wake the leader is %q (settled: %v), want still %s", id, ok, next.id)
	}

	h.chk.shuttingDown()
	for _, c := range h.cands {
		h.term(c)
	}
	for _, c := range h.cands {
		c.p.Wait(15 * time.Second)
	}
	time.Sleep(50 * time.Millisecond)
	h.chk.Stop()
	rep := h.chk.Report()
	for _, line := range strings.Split(rep.String(), "\n") {
		t.Log(line)
	}
	for _, v := range rep.Violations {
		t.Errorf("violation: %s", v)
	}
	for _, o := range slices.Concat(rep.FileOverlaps, rep.HTTPOverlaps) {
		t.Errorf("overlap: %s", o)
	}
	judgeSafetyFindings(t, rep)
	if rep.FrozenReads == 0 {
		t.Errorf("the checker never read the frozen leader's file: the pause was not observed")
	}
	if rep.Wakes != 1 || rep.MaxWake > chaosWakeGrace {
		t.Errorf("the woken leader's file went %v after SIGCONT (seen %d times), want within the wake grace %v", rep.MaxWake, rep.Wakes, chaosWakeGrace)
	}
}

func (h *chaosHarness) byID(id string) *chaosCandidate {
	for _, c := range h.cands {
		if c.id == id {
			return c
		}
	}
	return nil
}
