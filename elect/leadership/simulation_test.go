package leadership

import (
	"flag"
	"strings"
	"testing"
	"time"
)

// The long run (docs/design-and-safety.md has its figures):
//
//	go test ./elect/leadership -run TestSimulation -count=1 -timeout 2h -sim.seeds=2000 -sim.duration=10m
var (
	simSeeds    = flag.Int("sim.seeds", 40, "seeds to run")
	simFirst    = flag.Int64("sim.seed", 1, "first seed")
	simDuration = flag.Duration("sim.duration", 3*time.Minute, "simulated time per seed")
)

// fastConfig is the e2e tests' timings: 3s > 2s + 0.5s.
var fastConfig = Config{LeaseDuration: 3 * time.Second, RenewDeadline: 2 * time.Second, RetryPeriod: 500 * time.Millisecond, Grace: 500 * time.Millisecond}

// simConfig is fastConfig with the leader label: the simulation models it.
var simConfig = func() Config { c := fastConfig; c.Label = true; return c }()

func simDefaults(seed int64) simParams {
	return simParams{
		seed:     seed,
		replicas: 4,
		duration: *simDuration,
		base:     simConfig,
		execEach: 2,
		drift:    0.02,
		// Within the margin: a leader paused past its deadline keeps its
		// file for the pause (docs/design-and-safety.md).
		maxPause: 350 * time.Millisecond,
		timeout:  time.Second,
		chaos:    20 * time.Second,
		foreign:  true,
	}
}

// TestSimulation drives replicas' machines through faults from many seeds
// and checks the promise at every step: at most one replica acts (outside
// the overlap a foreign write forces, which must end within the deadline),
// the margin after a file disappears, someone leads after every quiet
// period, no zombie holder, nothing shown after exit.
func TestSimulation(t *testing.T) {
	total := simStats{}
	steps := 0
	for i := 0; i < *simSeeds; i++ {
		seed := *simFirst + int64(i)
		w := newWorld(simDefaults(seed))
		if v := w.run(); len(v) > 0 {
			t.Fatalf("seed %d: %s\nreplay: go test ./elect/leadership -run TestSimulation -sim.seed=%d -sim.seeds=1 -sim.duration=%v\nlast events:\n%s",
				seed, v[0], seed, *simDuration, w.traceText())
		}
		steps += w.steps
		total.terms += w.stats.terms
		total.conflicts += w.stats.conflicts
		total.crashes += w.stats.crashes
		total.shutdowns += w.stats.shutdowns
		total.pauses += w.stats.pauses
		total.partitions += w.stats.partitions
		total.foreign += w.stats.foreign
		total.overlapsExcused += w.stats.overlapsExcused
		total.maxGap = max(total.maxGap, w.stats.maxGap)
	}
	t.Logf("%d seeds x %v simulated: %d steps, %d terms, %d conflicts, %d crashes, %d shutdowns, %d pauses, %d partitions, %d foreign writes (%d excused overlaps), longest gap between terms %v",
		*simSeeds, *simDuration, steps, total.terms, total.conflicts, total.crashes, total.shutdowns, total.pauses, total.partitions, total.foreign, total.overlapsExcused, total.maxGap)
	if total.terms == 0 || total.crashes == 0 || total.shutdowns == 0 || total.partitions == 0 {
		t.Fatalf("the simulation exercised too little: %+v", total)
	}
}

// TestSimulationCatches shows the checks have teeth: each row breaks one
// assumption the promise rests on, and the simulation must find the
// violation that follows within a few seeds.
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
		{"no deadline check before a slowly written file becomes visible", func(p *simParams) { p.noGate = true }, "act"},
		{"pauses longer than the margin", func(p *simParams) { p.maxPause = 3 * time.Second }, "two replicas act at once"},
		{"clocks that drift 40%", func(p *simParams) { p.drift = 0.4 }, "act"},
		{"a new leader labels without clearing other Pods", func(p *simParams) { p.labelBreak = "no-clear" }, "two Pods carry the leader label"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for seed := int64(1); seed <= 50; seed++ {
				p := simDefaults(seed)
				p.duration = 3 * time.Minute
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
			t.Fatalf("50 seeds found no violation")
		})
	}
}
