// Command shards measures a shard group (`elect --shards M`, issue 22)
// against a real control plane: how long after a replica leaves, joins or
// crashes the replicas' status directories show every shard once and
// balanced within one; how many shards move per membership change against
// the fewest any balanced plan needs (shards.MinMoves); and the API
// requests per replica and per shard in steady state, beside the naive
// alternative of one plain client-go elector (bench/baseline) per shard
// Lease in every replica, counted the same way in the same run.
//
//	go run ./bench/shards [-cycles 6] [-shards 16,8] [-default-cycles 3] [-window 60s] [-short] [-keep]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/leader-elector/leader-elector/internal/benchkit"
	"github.com/leader-elector/leader-elector/internal/replica"
)

// bench holds what every measurement shares.
type bench struct {
	benchkit.Conn
	dir        string
	ours, base string

	mu  sync.Mutex
	err error // the first replica that exited on its own
}

// replicas is the group size throughout: N=4.
const replicas = 4

func main() {
	if err := run(); err != nil {
		fmt.Fprintf(os.Stderr, "shards: %v\n", err)
		os.Exit(1)
	}
}

func run() error {
	cycles := flag.Int("cycles", 6, "cycles of leave, join, crash, join per M with the fast timings")
	shardList := flag.String("shards", "16,8", "group sizes M for the membership changes (N=4 replicas)")
	defaultCycles := flag.Int("default-cycles", 3, "cycles with the default timings 15s/10s/2s, M=16 (0 skips them)")
	window := flag.Duration("window", time.Minute, "steady-state window")
	steadyDefaults := flag.Bool("steady-defaults", true, "also measure steady state with the default timings")
	settle := flag.Duration("settle", 10*time.Second, "wait after the group balanced before the steady window")
	short := flag.Bool("short", false, "a quick check that the harness works (1 cycle, M=16, fast timings only, 20s window); figures are not meaningful")
	keep := flag.Bool("keep", false, "keep the work directory (replica logs) after the run")
	flag.Parse()
	if *short {
		*cycles, *shardList, *defaultCycles, *window, *steadyDefaults, *settle = 1, "16", 0, 20*time.Second, false, 3*time.Second
	}
	var ms []int
	for _, s := range strings.Split(*shardList, ",") {
		m, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || m < replicas {
			return fmt.Errorf("-shards %q: want a comma-separated list of group sizes of at least %d", *shardList, replicas)
		}
		ms = append(ms, m)
	}

	dir, err := os.MkdirTemp("", "shards-bench-")
	if err != nil {
		return fmt.Errorf("creating the work directory: %w", err)
	}
	if *keep {
		progress("work directory %s", dir)
	} else {
		defer os.RemoveAll(dir)
	}
	b := &bench{dir: dir}
	progress("building the binaries")
	if b.ours, b.base, err = benchkit.Build(context.Background(), dir, replica.BuildOptions{}); err != nil {
		return err
	}
	progress("starting the control plane")
	cp, err := benchkit.StartControlPlane()
	if err != nil {
		return err
	}
	defer cp.Stop()
	if b.Conn, err = benchkit.Connect(cp.Admin); err != nil {
		return err
	}

	var sets []changeSet
	for _, m := range ms {
		progress("M=%d, fast timings: %d cycles of leave, join, crash, join", m, *cycles)
		chs, err := b.cycles(m, fast, *cycles)
		if err != nil {
			return err
		}
		sets = append(sets, changeSet{m: m, t: fast, changes: chs})
	}
	if *defaultCycles > 0 {
		progress("M=16, default timings: %d cycles", *defaultCycles)
		chs, err := b.cycles(16, defaults, *defaultCycles)
		if err != nil {
			return err
		}
		sets = append(sets, changeSet{m: 16, t: defaults, changes: chs})
	}

	steadyTimings := []timings{fast}
	if *steadyDefaults {
		steadyTimings = append(steadyTimings, defaults)
	}
	var steadies []steadyPair
	for _, t := range steadyTimings {
		progress("steady state, %s, ours: N=%d, M=16, %s window", t, replicas, *window)
		o, err := b.steadyOurs(replicas, 16, t, *window, *settle)
		if err != nil {
			return err
		}
		progress("steady state, %s, baseline: %d client-go electors, %s window", t, replicas*16, *window)
		bs, err := b.steadyBaseline(replicas, 16, t, *window, *settle)
		if err != nil {
			return err
		}
		steadies = append(steadies, steadyPair{t: t, ours: o, base: bs})
	}

	printHeader(os.Stdout, *cycles, *defaultCycles, *window)
	printChanges(os.Stdout, sets)
	printMoves(os.Stdout, sets)
	printSteady(os.Stdout, steadies)
	return nil
}

// fail records a replica that exited on its own: the run stops at the
// next check.
func (b *bench) fail(err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.err = errors.Join(b.err, err)
}

func (b *bench) failed() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.err
}

var progress = benchkit.Progress
