package elect

import (
	"flag"
	"hash/fnv"
	"strings"
	"testing"
	"time"

	"github.com/leader-elector/leader-elector/elect/leadership"
)

// The long run (docs/safety.md has its figures):
//
//	go test ./elect -run 'TestSimulation$' -count=1 -timeout 3h -sim.seeds=10000 -sim.duration=3m
var (
	simSeeds    = flag.Int("sim.seeds", 40, "seeds to run")
	simFirst    = flag.Int64("sim.seed", 1, "first seed")
	simDuration = flag.Duration("sim.duration", 3*time.Minute, "simulated time per seed")
)

// simConfig is the e2e tests' timings (3s > 2s + 0.5s) with the leader
// label: the simulation models it.
var simConfig = leadership.Config{LeaseDuration: 3 * time.Second, RenewDeadline: 2 * time.Second, RetryPeriod: 500 * time.Millisecond, Grace: 500 * time.Millisecond, Label: true}

// simDefaults: four replicas, every other one in exec mode, all of them
// labelling their Pod, clocks that drift 2%, every fault; odd seeds draw
// their own timings.
func simDefaults(seed int64) simParams {
	return simParams{
		seed:          seed,
		replicas:      4,
		duration:      *simDuration,
		base:          simConfig,
		randomTimings: seed%2 == 1,
		execEach:      2,
		drift:         0.02,
		timeout:       time.Second,
		chaos:         20 * time.Second,
		foreign:       true,
		ioFailure:     0.2,
		laggingReads:  0.2,
		handovers:     seed%3 == 0,
		priorities:    seed%3 == 1,
	}
}

// TestSimulation drives replicas of the real driver and machine through
// faults from many seeds and checks the promise at every step: at most one
// replica acts (outside the overlap a foreign write forces, which must end
// within the deadline), nothing becomes visible past its deadline, the
// margin after a file disappears, someone leads after every quiet period,
// no zombie holder, no release and no exit while anything of ours acts.
func TestSimulation(t *testing.T) {
	total := simStats{}
	steps := 0
	// The digest of every run's trace: a change that claims not to alter
	// behaviour must leave it as it was for the same seeds.
	digest := fnv.New64a()
	for i := 0; i < *simSeeds; i++ {
		seed := *simFirst + int64(i)
		w := newWorld(simDefaults(seed))
		if v := w.run(); len(v) > 0 {
			t.Fatalf("seed %d (timings %v/%v/%v, grace %v): %s\nreplay: go test ./elect -run 'TestSimulation$' -sim.seed=%d -sim.seeds=1 -sim.duration=%v\nlast events:\n%s",
				seed, w.p.base.LeaseDuration, w.p.base.RenewDeadline, w.p.base.RetryPeriod, w.p.base.Grace, v[0], seed, *simDuration, w.trace.Text())
		}
		steps += w.steps
		total.add(w.stats)
		digest.Write(w.trace.Sum())
	}
	t.Logf("%d seeds x %v simulated: %d steps, trace digest %016x; %s", *simSeeds, *simDuration, steps, digest.Sum64(), total)
	// A replay of one seed need not meet every fault; a run of many must.
	if *simSeeds >= 20 && (total.terms == 0 || total.crashes == 0 || total.shutdowns == 0 || total.partitions == 0 ||
		total.loopStalls == 0 || total.ioFaults == 0 || total.failedIO == 0 || total.laggingReads == 0 || total.logDropped == 0 ||
		total.handoversDone == 0 || total.asks == 0) {
		t.Fatalf("the simulation exercised too little: %s", total)
	}
}

// TestSimulationCatches shows the checks have teeth: each row breaks one
// assumption the promise rests on, and the simulation must find the
// violation that follows within a few seeds. (Breaking the driver's or the
// machine's own guards is `make mutate`'s job.)
func TestSimulationCatches(t *testing.T) {
	tests := []struct {
		name   string
		breaks func(*simParams)
		want   string
	}{
		{"no release delay for an app that polls the file", func(p *simParams) {
			p.execEach = 0
			p.releaseDelay = new(time.Duration)
		}, "within the margin"},
		{"a renew deadline as long as the lease", func(p *simParams) {
			p.base.RenewDeadline = p.base.LeaseDuration + time.Second
		}, "two replicas act at once"},
		{"pauses longer than the margin", func(p *simParams) { p.maxPause = 3 * time.Second }, "act"},
		{"clocks that drift 40%", func(p *simParams) { p.drift = 0.4 }, "act"},
		{"removals that stall for a lease duration", func(p *simParams) { p.maxRemoveStall = p.base.LeaseDuration }, "act"},
		{"a loop that falls behind by a lease duration", func(p *simParams) { p.maxLoopStall = p.base.LeaseDuration }, "act"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for seed := int64(2); seed <= 300; seed += 2 {
				p := simDefaults(seed)
				p.duration = 3 * time.Minute
				// Each row looks for the violation its break leads to; a
				// planned hand-over slowed by it would be found first.
				p.handovers, p.priorities = false, false
				tt.breaks(&p)
				v := newWorld(p).run()
				if len(v) > 0 {
					if !strings.Contains(v[0], tt.want) {
						t.Fatalf("seed %d found %q, want a violation saying %q", seed, v[0], tt.want)
					}
					t.Logf("seed %d: %s", seed, v[0])
					return
				}
			}
			t.Fatalf("150 seeds found no violation")
		})
	}
}
