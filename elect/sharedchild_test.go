package elect

import (
	"errors"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeRuns is a processes port whose runs are recorded and end when told.
type fakeRuns struct {
	mu       sync.Mutex
	runs     []*fakeRun
	stopFail bool
}

type fakeRun struct {
	env     []string
	done    chan struct{}
	code    int
	mu      sync.Mutex
	stopped bool
}

func (f *fakeRuns) add(env []string) *fakeRun {
	f.mu.Lock()
	defer f.mu.Unlock()
	r := &fakeRun{env: env, done: make(chan struct{})}
	f.runs = append(f.runs, r)
	return r
}

func (r *fakeRun) wait() (int, bool) { <-r.done; return r.code, true }

func (r *fakeRun) exit(code int) { r.code = code; close(r.done) }

func (r *fakeRun) live() bool {
	select {
	case <-r.done:
		return false
	default:
		return true
	}
}

func (f *fakeRuns) stopFails() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.stopFail
}

// fakeStopper is a run with the fake's failure switch.
type fakeStopper struct {
	*fakeRun
	f *fakeRuns
}

func (s fakeStopper) stop(time.Duration) error {
	if s.f.stopFails() {
		return errors.New("a process would not die")
	}
	s.mu.Lock()
	s.stopped = true
	s.mu.Unlock()
	s.exit(-1)
	return nil
}

type fakeProcs struct{ *fakeRuns }

func (p fakeProcs) start(_, env []string, _ *slog.Logger) (process, error) {
	return fakeStopper{p.add(env), p.fakeRuns}, nil
}

// shardsOf is the run's LEADER_ELECTOR_SHARDS and its tokens.
func (r *fakeRun) shards() string {
	var out []string
	for _, kv := range r.env {
		if strings.HasPrefix(kv, ShardsEnv+"=") || strings.HasPrefix(kv, ShardTokensEnv+"=") {
			out = append(out, kv)
		}
	}
	return strings.Join(out, " ")
}

func (f *fakeRuns) liveRuns() []*fakeRun {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []*fakeRun
	for _, r := range f.runs {
		if r.live() {
			out = append(out, r)
		}
	}
	return out
}

func newTestSharedChild() (*sharedChild, *fakeRuns) {
	f := &fakeRuns{}
	c := newSharedChild([]string{"/app"}, time.Second, fakeProcs{f}, slog.New(slog.DiscardHandler))
	c.settle = 0
	return c, f
}

// TestSharedChildRestartsWithTheSet: the command runs with exactly the
// shards whose terms run, restarted on every change; a shard's stop
// returns only when no run has it.
func TestSharedChildRestartsWithTheSet(t *testing.T) {
	c, f := newTestSharedChild()
	h3, _ := c.forShard(3).start(nil, []string{tokenEnv(1042)}, nil)
	h7, _ := c.forShard(7).start(nil, []string{tokenEnv(1051)}, nil)
	c.apply()
	live := f.liveRuns()
	if len(live) != 1 || live[0].shards() != "LEADER_ELECTOR_SHARDS=3,7 LEADER_ELECTOR_SHARD_TOKENS=3:1042,7:1051" {
		t.Fatalf("runs after two starts: %d, env %q", len(live), live[0].shards())
	}
	if err := h3.stop(time.Second); err != nil {
		t.Fatal(err)
	}
	if live := f.liveRuns(); len(live) != 0 {
		t.Fatalf("after shard 3's stop returned, a run with it still lives: %q", live[0].shards())
	}
	c.apply()
	live = f.liveRuns()
	if len(live) != 1 || live[0].shards() != "LEADER_ELECTOR_SHARDS=7 LEADER_ELECTOR_SHARD_TOKENS=7:1051" {
		t.Fatalf("after shard 3 left: %d runs", len(live))
	}
	c.apply() // nothing changed: no restart
	if n := len(f.runs); n != 2 {
		t.Errorf("%d runs, want 2: a restart without a change", n)
	}
	if err := h7.stop(time.Second); err != nil {
		t.Fatal(err)
	}
	c.apply()
	if live := f.liveRuns(); len(live) != 0 {
		t.Errorf("the command runs with no shard")
	}
}

// TestSharedChildStopBeforeStart: a shard stopped before the restarter
// got to it is never in a run.
func TestSharedChildStopBeforeStart(t *testing.T) {
	c, f := newTestSharedChild()
	h, _ := c.forShard(1).start(nil, []string{tokenEnv(5)}, nil)
	if err := h.stop(time.Second); err != nil {
		t.Fatal(err)
	}
	c.apply()
	if len(f.runs) != 0 {
		t.Errorf("a run started with a shard already stopped: %q", f.runs[0].shards())
	}
}

// TestSharedChildExitEndsEveryShardOfTheRun: a command that exits on its
// own ends the terms of all the shards it had, with its code; a stop of
// ours is no such news.
func TestSharedChildExitEndsEveryShardOfTheRun(t *testing.T) {
	c, f := newTestSharedChild()
	h1, _ := c.forShard(1).start(nil, nil, nil)
	c.apply()
	h2, _ := c.forShard(2).start(nil, nil, nil)
	c.apply() // a restart: the first run was stopped by us
	if len(f.runs) != 2 {
		t.Fatalf("%d runs, want 2", len(f.runs))
	}
	select {
	case <-h1.(*shardProcess).exited:
		t.Fatal("our own restart was reported as the command's exit")
	case <-time.After(50 * time.Millisecond):
	}
	f.runs[1].exit(3)
	for _, h := range []process{h1, h2} {
		if code, exited := h.wait(); !exited || code != 3 {
			t.Errorf("wait = %d, %v; want 3, true", code, exited)
		}
	}
}

// TestSharedChildStopThatFails: a run that would not die fails the stop of
// every shard it had, so none of them releases.
func TestSharedChildStopThatFails(t *testing.T) {
	c, f := newTestSharedChild()
	h1, _ := c.forShard(1).start(nil, nil, nil)
	h2, _ := c.forShard(2).start(nil, nil, nil)
	c.apply()
	f.mu.Lock()
	f.stopFail = true
	f.mu.Unlock()
	if err := h1.stop(time.Second); err == nil || !strings.Contains(err.Error(), "shards 1,2 would not stop") {
		t.Fatalf("stop = %v, want the run's failure", err)
	}
	if err := h2.stop(time.Second); err == nil {
		t.Error("the other shard of the run that would not die stopped cleanly")
	}
	if _, exited := h2.wait(); exited {
		t.Error("wait says exited for a run that would not die")
	}
	if got := slices.Collect(func(yield func(int) bool) {
		for i := range c.want {
			yield(i)
		}
	}); len(got) != 0 {
		t.Errorf("shards still wanted: %v", got)
	}
}

// TestSharedChildWaitEndsWithTheStop: the driver waits for every task on
// exit, the child's watcher included, so a shard's wait must end with its
// stop, whether or not a run had the shard.
func TestSharedChildWaitEndsWithTheStop(t *testing.T) {
	c, _ := newTestSharedChild()
	h1, _ := c.forShard(1).start(nil, nil, nil)
	c.apply()
	h2, _ := c.forShard(2).start(nil, nil, nil) // no run has it yet
	for _, h := range []process{h1, h2} {
		waited := make(chan bool)
		go func() { _, exited := h.wait(); waited <- exited }()
		if err := h.stop(time.Second); err != nil {
			t.Fatal(err)
		}
		select {
		case exited := <-waited:
			if exited {
				t.Error("our own stop reported as the command's exit")
			}
		case <-time.After(5 * time.Second):
			t.Fatal("wait did not return after the shard's stop")
		}
	}
}
