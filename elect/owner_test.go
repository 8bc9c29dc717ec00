package elect

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	rl "k8s.io/client-go/tools/leaderelection/resourcelock"
	testingclock "k8s.io/utils/clock/testing"
)

// ownerFixture is a termOwner on a fake clock, with its hooks recorded.
type ownerFixture struct {
	t     *testing.T
	clock *testingclock.FakeClock
	o     *termOwner
	cfg   Config

	mu       sync.Mutex
	stops    []uint64 // runs whose elector was asked to stop
	exited   []int
	failures []error
	actors   []*fakeActor
}

func newOwnerFixture(t *testing.T, exec bool) *ownerFixture {
	dir := t.TempDir()
	f := &ownerFixture{t: t, clock: testingclock.NewFakeClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))}
	f.cfg = Config{Identity: "me", StatusFile: filepath.Join(dir, "status"), LeaderFile: filepath.Join(dir, "leader"),
		LeaseDuration: 15 * time.Second, RenewDeadline: 10 * time.Second, RetryPeriod: 2 * time.Second, Grace: 3 * time.Second}
	var newActor func() actor
	if exec {
		f.cfg.Command = []string{"app"}
		newActor = func() actor {
			a := &fakeActor{clock: f.clock, done: make(chan struct{})}
			f.mu.Lock()
			f.actors = append(f.actors, a)
			f.mu.Unlock()
			return a
		}
	}
	f.o = newTermOwner(f.clock, slog.New(slog.DiscardHandler), f.cfg, newActor, ownerHooks{
		stopElector: func(run uint64, _ string) { f.mu.Lock(); f.stops = append(f.stops, run); f.mu.Unlock() },
		childExited: func(code int) { f.mu.Lock(); f.exited = append(f.exited, code); f.mu.Unlock() },
		failed:      func(err error) { f.mu.Lock(); f.failures = append(f.failures, err); f.mu.Unlock() },
	})
	return f
}

func (f *ownerFixture) statusExists() bool {
	_, err := os.Lstat(f.cfg.StatusFile)
	return err == nil
}

// eventually waits (in real time) for cond: deadline callbacks run on their
// own goroutine after a fake-clock step.
func (f *ownerFixture) eventually(what string, cond func() bool) {
	f.t.Helper()
	for end := time.Now().Add(5 * time.Second); !cond(); {
		if time.Now().After(end) {
			f.t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// lead starts a run whose acquiring write started now, and its term.
func (f *ownerFixture) lead() (uint64, context.CancelFunc) {
	run := f.o.newRun()
	f.o.renewed(f.clock.Now())
	ctx, cancel := context.WithCancel(context.Background())
	f.o.startTerm(ctx, run)
	if !f.statusExists() {
		f.t.Fatalf("startTerm did not write the status file")
	}
	return run, cancel
}

type fakeActor struct {
	clock    *testingclock.FakeClock
	done     chan struct{}
	stopping time.Time // fake time when Stop began
	code     int
	mu       sync.Mutex
}

func (a *fakeActor) Start() (<-chan struct{}, error) { return a.done, nil }
func (a *fakeActor) Stop() {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.stopping.IsZero() {
		a.stopping = a.clock.Now()
	}
}
func (a *fakeActor) ExitCode() int { return a.code }
func (a *fakeActor) stoppedAt() time.Time {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.stopping
}

// A late OnStartedLeading, arriving after the removal that ended its term,
// is dropped: its write would outlive the term.
func TestOwnerDropsLateStart(t *testing.T) {
	tests := []struct {
		name string
		late func(f *ownerFixture, run uint64, ctx context.Context)
	}{
		{"run context already cancelled", func(f *ownerFixture, run uint64, ctx context.Context) {
			cctx, cancel := context.WithCancel(ctx)
			cancel()
			f.o.startTerm(cctx, run)
		}},
		{"a newer run started", func(f *ownerFixture, run uint64, ctx context.Context) {
			f.o.newRun()
			f.o.startTerm(ctx, run)
		}},
		{"after shutdown", func(f *ownerFixture, run uint64, ctx context.Context) {
			f.o.shutdown()
			f.o.startTerm(ctx, run)
		}},
		{"renewal already older than the deadline", func(f *ownerFixture, run uint64, ctx context.Context) {
			f.clock.Step(f.cfg.RenewDeadline)
			f.o.startTerm(ctx, run)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newOwnerFixture(t, false)
			run := f.o.newRun()
			f.o.renewed(f.clock.Now())
			f.o.endTerm("the term ended before its start callback ran")
			tt.late(f, run, context.Background())
			if f.statusExists() {
				t.Fatalf("a late start wrote the status file")
			}
			if f.o.isLeading() {
				t.Fatalf("owner believes it leads")
			}
		})
	}
}

// The deadline timer removes the file at the start of the last successful
// renewal + RenewDeadline, and not a moment before; a renewal moves it.
func TestOwnerDeadlineTimer(t *testing.T) {
	f := newOwnerFixture(t, false)
	run, cancel := f.lead()
	defer cancel()
	start := f.clock.Now()

	f.clock.Step(4 * time.Second)
	f.o.renewed(start.Add(3 * time.Second))            // a renewal that started at +3s succeeded
	f.clock.Step(8*time.Second + 999*time.Millisecond) // +12.999s: 1ms before +3s + 10s
	time.Sleep(20 * time.Millisecond)
	if !f.statusExists() {
		t.Fatalf("the file was removed before the deadline (last renewal start + RenewDeadline)")
	}
	f.clock.Step(time.Millisecond) // +13s
	f.eventually("the deadline to remove the file", func() bool { return !f.statusExists() })
	f.eventually("the elector to be stopped", func() bool {
		f.mu.Lock()
		defer f.mu.Unlock()
		return len(f.stops) == 1 && f.stops[0] == run
	})
	// A renewal that succeeds later cannot bring the file back in this run.
	f.o.renewed(f.clock.Now())
	if f.statusExists() {
		t.Errorf("a renewal after the deadline rewrote the status file")
	}
}

// In exec mode the child's stop begins at deadline - grace, so SIGKILL (at
// most grace later) lands by the deadline.
func TestOwnerChildStopBeginsAtDeadlineMinusGrace(t *testing.T) {
	f := newOwnerFixture(t, true)
	_, cancel := f.lead()
	defer cancel()
	start := f.clock.Now()
	f.clock.Step(f.cfg.RenewDeadline - f.cfg.Grace - time.Millisecond)
	time.Sleep(20 * time.Millisecond)
	if got := f.actors[0].stoppedAt(); !got.IsZero() {
		t.Fatalf("child stop began at +%v, before deadline - grace", got.Sub(start))
	}
	f.clock.Step(time.Millisecond)
	f.eventually("the child's stop to begin", func() bool { return !f.actors[0].stoppedAt().IsZero() })
	if got, want := f.actors[0].stoppedAt().Sub(start), f.cfg.RenewDeadline-f.cfg.Grace; got != want {
		t.Errorf("child stop began at +%v, want +%v", got, want)
	}
	if f.statusExists() {
		t.Errorf("status file still exists once the child is being stopped")
	}
}

// Nothing but the end of our own term removes the status file: a late
// "someone else leads" only updates the leader file.
func TestOwnerLateNewLeaderKeepsStatusFile(t *testing.T) {
	f := newOwnerFixture(t, false)
	_, cancel := f.lead()
	defer cancel()
	f.o.observe(rl.LeaderElectionRecord{HolderIdentity: "someone-else"})
	f.o.observe(rl.LeaderElectionRecord{HolderIdentity: "me"})
	f.o.observe(rl.LeaderElectionRecord{HolderIdentity: "someone-else"}) // late, out of date
	if !f.statusExists() {
		t.Fatalf("an observation of another holder removed the status file of a leading replica")
	}
	b, err := os.ReadFile(f.cfg.LeaderFile)
	if err != nil || string(b) != "someone-else" {
		t.Errorf("leader file = %q, %v; want the last observed holder", b, err)
	}
	f.o.observe(rl.LeaderElectionRecord{})
	if _, err := os.Lstat(f.cfg.LeaderFile); err == nil {
		t.Errorf("the leader file stayed after the Lease was released")
	}
}

// A child that exits on its own ends the term and reports its code; one
// stopped by us does not.
func TestOwnerChildExit(t *testing.T) {
	f := newOwnerFixture(t, true)
	_, cancel := f.lead()
	defer cancel()
	a := f.actors[0]
	a.code = 7
	close(a.done)
	f.eventually("the child's exit to be reported", func() bool {
		f.mu.Lock()
		defer f.mu.Unlock()
		return len(f.exited) == 1 && f.exited[0] == 7
	})
	if f.statusExists() {
		t.Errorf("status file outlived the child")
	}

	g := newOwnerFixture(t, true)
	_, cancel2 := g.lead()
	defer cancel2()
	g.o.shutdown()
	close(g.actors[0].done)
	time.Sleep(20 * time.Millisecond)
	if len(g.exited) != 0 {
		t.Errorf("a child stopped on shutdown was reported as exiting on its own")
	}
}

// endTerm returns only once the child is gone, for every caller, so a
// release can follow it.
func TestOwnerEndTermWaitsForChild(t *testing.T) {
	f := newOwnerFixture(t, true)
	_, cancel := f.lead()
	defer cancel()
	block := make(chan struct{})
	slow := &slowActor{release: block}
	f.o.mu.Lock()
	f.o.child = slow
	f.o.mu.Unlock()
	returned := make(chan struct{}, 2)
	go func() { f.o.endTerm("first"); returned <- struct{}{} }()
	time.Sleep(10 * time.Millisecond)
	go func() { f.o.endTerm("second"); returned <- struct{}{} }()
	select {
	case <-returned:
		t.Fatalf("endTerm returned while the child was still stopping")
	case <-time.After(30 * time.Millisecond):
	}
	close(block)
	<-returned
	<-returned
}

type slowActor struct{ release chan struct{} }

func (s *slowActor) Start() (<-chan struct{}, error) { return make(chan struct{}), nil }
func (s *slowActor) Stop()                           { <-s.release }
func (s *slowActor) ExitCode() int                   { return 0 }

// Writes and removals racing from many goroutines: a term's start after its
// end never leaves a file behind.
func TestOwnerRacingStartAndEnd(t *testing.T) {
	for i := range 200 {
		f := newOwnerFixture(t, false)
		run := f.o.newRun()
		f.o.renewed(f.clock.Now())
		ctx, cancel := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		wg.Add(2)
		go func() { defer wg.Done(); f.o.startTerm(ctx, run) }()
		go func() { defer wg.Done(); cancel(); f.o.endTerm("lost") }()
		wg.Wait()
		if f.statusExists() {
			t.Fatalf("iteration %d: the status file exists after its term ended", i)
		}
	}
}
