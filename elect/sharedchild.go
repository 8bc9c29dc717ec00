package elect

import (
	"context"
	"errors"
	"log/slog"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Exec mode of a shard group: one command for all the shards this replica
// acts for, told which in its environment, and restarted whenever that
// set changes (docs/shards.md).
//
// Each shard's machine runs in exec mode as with one Lease: StartChild
// when its term begins, StopChild (and wait for ChildStopped) before it
// may release. sharedChild is the processes port of every shard's driver.
// A shard's start only adds the shard to the set wanted, quickly, as the
// child gate requires; a restarter then stops the running command and
// starts it again with the new set. A shard's stop removes it from the set
// first, so no later start includes it, then stops the running command if
// it has the shard, and returns only once that command's whole process
// tree is gone: the app has provably stopped working on the shard before
// its machine releases the Lease.
type sharedChild struct {
	argv    []string
	grace   time.Duration
	procs   processes
	log     *slog.Logger
	settle  time.Duration // how long a restart waits for more changes
	restart chan struct{} // cap 1: the wanted set changed

	setMu sync.Mutex
	want  map[int]*shardProcess // shards whose term started and did not stop

	procMu sync.Mutex // held while starting or stopping the command
	cur    *runningChild
}

// runningChild is one run of the command and the shards it was given.
type runningChild struct {
	p       process
	set     map[int]*shardProcess
	stopped bool // we stopped it: its exit is no news
}

// shardProcess is what one shard's driver sees as its child.
type shardProcess struct {
	c      *sharedChild
	shard  int
	token  uint64
	exited chan int      // cap 1: the code of a run that had the shard and exited on its own
	gaveUp chan struct{} // closed when the shard's stop returned, or could not confirm a run with it gone
	once   sync.Once
	failed error // set under procMu with gaveUp
}

// Environment of the shared command.
const (
	// ShardsEnv lists the shards the command acts for, in order:
	// "3,7" (empty: none; the command does not run with none).
	ShardsEnv = "LEADER_ELECTOR_SHARDS"
	// ShardTokensEnv gives each of those shards' fencing token:
	// "3:1042,7:1051".
	ShardTokensEnv = "LEADER_ELECTOR_SHARD_TOKENS"
)

func newSharedChild(argv []string, grace time.Duration, procs processes, log *slog.Logger) *sharedChild {
	return &sharedChild{argv: argv, grace: grace, procs: procs, log: log, settle: 100 * time.Millisecond,
		restart: make(chan struct{}, 1), want: map[int]*shardProcess{}}
}

// forShard is shard i's processes port.
func (c *sharedChild) forShard(i int) processes { return shardProcs{c: c, shard: i} }

type shardProcs struct {
	c     *sharedChild
	shard int
}

// start adds the shard to the set wanted; the restarter starts the
// command with it soon after. env carries the term's token (TokenEnv).
func (s shardProcs) start(_, env []string, _ *slog.Logger) (process, error) {
	h := &shardProcess{c: s.c, shard: s.shard, exited: make(chan int, 1), gaveUp: make(chan struct{})}
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, TokenEnv+"="); ok {
			h.token, _ = strconv.ParseUint(v, 10, 64)
		}
	}
	s.c.setMu.Lock()
	s.c.want[s.shard] = h
	s.c.setMu.Unlock()
	s.c.poke()
	return h, nil
}

func (c *sharedChild) poke() {
	select {
	case c.restart <- struct{}{}:
	default:
	}
}

// wait returns when a run that had the shard exits on its own, or the
// shard's stop returned: then no run has it, or one that would not die
// does, and either way nobody need wait any longer (exited false: nothing
// to report).
func (h *shardProcess) wait() (int, bool) {
	select {
	case code := <-h.exited:
		return code, true
	case <-h.gaveUp:
		return 0, false
	}
}

// stop takes the shard out of the set, then stops the run that has it, if
// any, and returns once its process tree is gone.
func (h *shardProcess) stop(time.Duration) error {
	c := h.c
	c.setMu.Lock()
	if c.want[h.shard] == h {
		delete(c.want, h.shard)
	}
	c.setMu.Unlock()

	defer h.once.Do(func() { close(h.gaveUp) })
	c.procMu.Lock()
	defer c.procMu.Unlock()
	if h.failed != nil {
		return h.failed
	}
	if c.cur != nil && c.cur.set[h.shard] == h {
		if err := c.stopCurrent(); err != nil {
			return err
		}
	}
	c.poke() // the others run on without it
	return nil
}

// run restarts the command whenever the wanted set changes, until ctx
// ends. Changes that come together are taken together.
func (c *sharedChild) run(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-c.restart:
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(c.settle):
		}
		c.apply()
	}
}

// apply brings the running command in line with the wanted set.
func (c *sharedChild) apply() {
	c.procMu.Lock()
	defer c.procMu.Unlock()
	c.setMu.Lock()
	want := maps.Clone(c.want)
	c.setMu.Unlock()
	if c.cur != nil && maps.Equal(c.cur.set, want) {
		return
	}
	if c.cur != nil {
		if err := c.stopCurrent(); err != nil {
			c.log.Error("stopping the command to restart it with other shards", "err", err)
			return
		}
	}
	if len(want) == 0 {
		return
	}
	shards := slices.Sorted(maps.Keys(want))
	ids, tokens := make([]string, len(shards)), make([]string, len(shards))
	for k, i := range shards {
		ids[k] = strconv.Itoa(i)
		tokens[k] = ids[k] + ":" + strconv.FormatUint(want[i].token, 10)
	}
	env := []string{ShardsEnv + "=" + strings.Join(ids, ","), ShardTokensEnv + "=" + strings.Join(tokens, ",")}
	c.log.Info("starting the command for its shards", "shards", strings.Join(ids, ","))
	p, err := c.procs.start(c.argv, env, c.log.With("child", c.argv[0]))
	if err != nil {
		// As a command that exits at once: every shard of the set ends its
		// term (127, the shell's "could not run").
		c.log.Error("starting the command", "err", err)
		for _, h := range want {
			h.exited <- 127
		}
		return
	}
	r := &runningChild{p: p, set: want}
	c.cur = r
	go c.watch(r)
}

// watch waits for a run to end; one that ended on its own ends the term of
// every shard it had.
func (c *sharedChild) watch(r *runningChild) {
	code, exited := r.p.wait()
	c.procMu.Lock()
	stopped := r.stopped
	if c.cur == r && !stopped {
		c.cur = nil
	}
	c.procMu.Unlock()
	if !exited || stopped {
		return
	}
	for _, h := range r.set {
		select {
		case h.exited <- code:
		default:
		}
	}
}

// stopCurrent stops the running command (procMu held). When it cannot be
// confirmed gone, every shard it had is told so: their stops fail, and
// their machines do not release.
func (c *sharedChild) stopCurrent() error {
	r := c.cur
	r.stopped = true
	c.cur = nil
	err := r.p.stop(c.grace)
	if err != nil {
		err = errors.Join(errors.New("the command for shards "+setString(r.set)+" would not stop"), err)
		for _, h := range r.set {
			h.failed = err
			h.once.Do(func() { close(h.gaveUp) })
		}
	}
	return err
}

func setString(set map[int]*shardProcess) string {
	var ids []string
	for _, i := range slices.Sorted(maps.Keys(set)) {
		ids = append(ids, strconv.Itoa(i))
	}
	return strings.Join(ids, ",")
}
