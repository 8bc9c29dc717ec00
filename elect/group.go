package elect

import (
	"context"
	"errors"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	"k8s.io/apimachinery/pkg/watch"

	"github.com/leader-elector/leader-elector/elect/endpoints"
	"github.com/leader-elector/leader-elector/elect/leadership"
	"github.com/leader-elector/leader-elector/elect/shards"
	"github.com/leader-elector/leader-elector/internal/leasewatch"
	"github.com/leader-elector/leader-elector/internal/shardgroup"
)

// A shard group (--shards, docs/shards.md) is the promise of one Lease M
// times: each shard has its own Lease, and its own leadership machine and
// driver in every replica, exactly as a single Lease has. What the group
// adds is which shards a replica competes for. Each replica keeps a member
// Lease while it runs; one watch follows every Lease of the group; from
// who is alive and who holds what, shards.View plans the owner of every
// shard on this replica's own clock, and each shard's machine is told
// (leadership.Owner). A machine takes its shard only when it is the
// planned owner, and hands it over with the release protocol when the plan
// moves it away. No replica coordinates the others: they see the same
// Leases and compute the same plan.

// shardRun is one shard's machine with its driver and loop.
type shardRun struct {
	d  *driver
	rt *procHost
}

// group runs a replica's part of a shard group.
type group struct {
	cfg   Config
	log   *slog.Logger
	api   API
	start time.Time // the origin of the view's clock
	runs  []shardRun
	state *groupState
	child *sharedChild // exec mode's one command; nil without one
	// labels are --lease-labels, stamped on the member Lease too.
	labels map[string]string

	// The view has one owner, the group's loop; the watch hands it what
	// it sees on seen.
	view  *shards.View
	seen  chan groupSeen
	known map[string]memberSeen // member Leases in the view
	gc    memberGC
}

// memberSeen is a member Lease as last seen: its version, and when its
// record last changed on the view's clock.
type memberSeen struct {
	holder, rv, version string
	since               time.Duration
}

// groupSeen is one thing the group's watch saw: a whole list, or one
// change.
type groupSeen struct {
	list  []*coordinationv1.Lease // after a list: every Lease of the group
	rv    string
	typ   watch.EventType // after a change
	lease *coordinationv1.Lease
}

func newGroup(cfg Config, log *slog.Logger, api API, out *serverSink, labels map[string]string) *group {
	g := &group{
		cfg: cfg, log: log, api: api, start: time.Now(),
		view:   shards.NewView(cfg.Shards, cfg.Identity, cfg.RetryPeriod),
		seen:   make(chan groupSeen, 64),
		known:  map[string]memberSeen{},
		labels: labels,
		state:  &groupState{out: out, identity: cfg.Identity, owned: map[int]uint64{}, terms: map[int]uint64{}, changed: make(chan struct{}, 1)},
	}
	ann := map[string]string{shardgroup.GroupAnnotation: cfg.LeaseName}
	if len(cfg.Command) > 0 {
		g.child = newSharedChild(cfg.Command, cfg.Grace, osProcesses{}, log)
	}
	for i := range cfg.Shards {
		scfg := cfg.shard(i)
		rt := newProcHost()
		p := ports{out: &shardSink{i: i, lease: scfg.LeaseName, g: g.state, srv: out}}
		if g.child != nil {
			p.procs = g.child.forShard(i)
		}
		d := newDriver(scfg, log.With("shard", i), rt, api, p)
		d.fed = true
		d.content = func(token uint64) []byte { return shardContent(i, cfg.Identity, token) }
		d.api.labels = merge(maps.Clone(labels), shardgroup.ShardLabels(cfg.LeaseName, i, cfg.Shards))
		d.api.annotations = ann
		g.runs = append(g.runs, shardRun{d: d, rt: rt})
	}
	return g
}

// mono is the view's clock.
func (g *group) mono() time.Duration { return time.Since(g.start) }

// run runs every shard's loop, the member Lease and the watch until ctx
// ends and every shard has shut down (each releasing what it held). A
// shard that exits on its own (an identity collision, say) stops the rest.
func (g *group) run(ctx context.Context) error {
	shardCtx, stopShards := context.WithCancel(ctx)
	defer stopShards()
	bg, stopBg := context.WithCancel(context.WithoutCancel(ctx))
	defer stopBg()

	var wg sync.WaitGroup
	member := &memberLease{cfg: g.cfg, api: g.api, log: g.log, labels: g.labels, idle: g.state.idle, changed: g.state.changed}
	wg.Go(func() { member.keep(shardCtx) })
	wg.Go(func() { g.follow(bg) })
	if g.child != nil {
		wg.Go(func() { g.child.run(bg) })
	}
	loopDone := make(chan struct{})
	go func() { defer close(loopDone); g.loop(bg) }()

	errs := make([]error, len(g.runs))
	var shardsWg sync.WaitGroup
	for i, r := range g.runs {
		shardsWg.Go(func() {
			errs[i] = r.d.run(shardCtx, r.rt)
			stopShards() // one ends, all end (a no-op on a shutdown)
		})
	}
	shardsWg.Wait()
	stopBg()
	wg.Wait()
	<-loopDone
	return errors.Join(errs...)
}

// follow lists and watches every Lease of the group, handing what it sees
// to the loop.
func (g *group) follow(ctx context.Context) {
	a := g.runs[0].d.api // any shard's: the list is by label, not by name
	leasewatch.Run(ctx, boundedList{a}, groupFollowed{g: g, ctx: ctx}, leasewatch.Options{
		LabelSelector: shardgroup.Selector(g.cfg.LeaseName),
		RetryWait:     g.cfg.RetryPeriod,
	})
}

type groupFollowed struct {
	g   *group
	ctx context.Context
}

func (f groupFollowed) send(s groupSeen) {
	select {
	case f.g.seen <- s:
	case <-f.ctx.Done():
	}
}

func (f groupFollowed) Replace(leases []*coordinationv1.Lease, rv string) {
	f.send(groupSeen{list: leases, rv: rv})
}

func (f groupFollowed) Apply(typ watch.EventType, obj *coordinationv1.Lease) {
	f.send(groupSeen{typ: typ, lease: obj})
}

func (f groupFollowed) Connection(err error) {
	if err != nil {
		f.g.log.Warn("watch of the shard group interrupted; following it again", "err", err)
	}
	f.g.state.out.reachable(err)
}

// loop owns the view: it takes what the watch saw, passes each shard's
// Lease on to its machine, and tells the machines every change of plan,
// also when a member or a holder expires with nothing seen.
func (g *group) loop(ctx context.Context) {
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case s := <-g.seen:
			g.take(s)
		case <-timer.C:
		}
		now := g.mono()
		g.collect(ctx, now)
		for _, c := range g.view.Changes(now) {
			g.log.Info("shard plan", "shard", c.Shard, "owner", c.Owner)
			g.runs[c.Shard].rt.report(leadership.Owner{Identity: c.Owner})
		}
		timer.Stop()
		next := g.view.NextExpiry(now)
		if gc := g.nextCollect(); gc > now && (next == 0 || gc < next) {
			next = gc
		}
		if next > 0 {
			timer.Reset(next - now)
		}
	}
}

// take puts what the watch saw into the view and hands each shard's
// Lease to its machine.
func (g *group) take(s groupSeen) {
	now := g.mono()
	if s.lease != nil {
		obj := s.lease
		if s.typ == watch.Deleted {
			obj = nil
		}
		g.see(now, s.lease.Name, obj, s.lease.ResourceVersion)
		return
	}
	byName := make(map[string]*coordinationv1.Lease, len(s.list))
	for _, l := range s.list {
		byName[l.Name] = l
	}
	for i := range g.runs {
		name := shardgroup.ShardLease(g.cfg.LeaseName, i)
		g.see(now, name, byName[name], s.rv)
		delete(byName, name)
	}
	for name := range g.known {
		if byName[name] == nil {
			g.see(now, name, nil, s.rv)
		}
	}
	for name, l := range byName {
		g.see(now, name, l, s.rv)
	}
}

// see takes one Lease of the group (nil: not there, as of rv).
func (g *group) see(now time.Duration, name string, obj *coordinationv1.Lease, rv string) {
	l := leadership.Lease{RV: rv}
	if obj != nil {
		l = toLease(obj)
	}
	r := l.Record
	version := r.Holder + "/" + r.RenewTime.String()
	ld := time.Duration(r.LeaseDurationSeconds) * time.Second
	if i, ok := shardgroup.ShardOfName(g.cfg.LeaseName, name); ok {
		if i < len(g.runs) {
			g.view.Shard(now, i, r.Holder, version, ld)
			g.runs[i].rt.report(leadership.Observed{Lease: l})
		}
		return
	}
	if obj != nil && !shardgroup.Parse(obj.Labels, obj.Annotations).Member {
		return // a shard Lease of a larger M, or not ours
	}
	if obj == nil {
		delete(g.known, name)
	} else if prev, ok := g.known[name]; !ok || prev.version != version || prev.holder != r.Holder {
		g.known[name] = memberSeen{holder: r.Holder, rv: l.RV, version: version, since: now}
	} else {
		prev.rv = l.RV
		g.known[name] = prev
	}
	var age time.Duration
	if !r.RenewTime.IsZero() {
		age = time.Since(r.RenewTime)
	}
	g.view.Member(now, name, r.Holder, version, ld, age)
}

// groupState is what /leader and /metrics show of the group: the shards
// this replica acts for now.
type groupState struct {
	out      *serverSink
	identity string

	mu    sync.Mutex
	owned map[int]uint64 // shard -> its term's fencing token
	terms map[int]uint64 // shard -> the last term it published
	term  uint64         // shard terms begun, for the endpoints' order

	// changed is poked when the replica starts or stops acting for any
	// shard: the member Lease is renewed only while it acts for none.
	changed chan struct{}
}

// idle says whether this replica acts for no shard.
func (s *groupState) idle() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.owned) == 0
}

// publish takes one shard's state. Holding the lock while publishing
// keeps the endpoints' states in the order they were made.
func (s *groupState) publish(i int, p leadership.Publish) {
	s.mu.Lock()
	defer s.mu.Unlock()
	wasIdle := len(s.owned) == 0
	defer func() {
		if wasIdle != (len(s.owned) == 0) {
			select {
			case s.changed <- struct{}{}:
			default:
			}
		}
	}()
	if p.Leading {
		if s.terms[i] != p.Term {
			s.term++
		}
		s.owned[i] = p.Token
	} else {
		delete(s.owned, i)
	}
	s.terms[i] = p.Term
	if s.out.srv == nil {
		return
	}
	owned := slices.Sorted(maps.Keys(s.owned))
	s.out.srv.Publish(endpoints.LeaderInfo{
		Term:     s.term,
		Identity: s.identity,
		IsLeader: len(owned) > 0,
		Sharded:  true,
		Shards:   owned,
	})
}

// shardSink is one shard's sink: its state goes to the group's, the rest
// to the replica's.
type shardSink struct {
	i     int
	lease string
	g     *groupState
	srv   *serverSink
}

func (s *shardSink) publish(p leadership.Publish) { s.g.publish(s.i, p) }
func (s *shardSink) count(name leadership.MetricName, at time.Time) {
	s.srv.count(name, at)
}
func (s *shardSink) reachable(err error) { s.srv.reachable(err) }
func (s *shardSink) event(warning bool, reason, message string) {
	s.srv.eventFor(s.lease, warning, reason, message)
}

// healthz fails when any shard's loop is stuck in one step.
func (g *group) healthz() error {
	for _, r := range g.runs {
		if err := r.d.healthz(); err != nil {
			return err
		}
	}
	return nil
}
