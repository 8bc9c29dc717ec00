// Command failover measures, side by side in one run against a real control
// plane, our `leader-elector elect` and a baseline elector built from plain
// client-go leaderelection (bench/baseline): graceful hand-over and crash
// failover latency, the Lease requests each hand-over costs (by verb), API
// requests per minute in steady state, and an idle replica's memory, CPU and
// binary size. It prints a table: ours, baseline, ratio.
//
// It then runs each mode of ours (exec mode, --release-delay 0, the default
// release delay) and the baseline through a rolling update's rhythm (see
// rolling.go) and prints their hand-overs with issue 11's goals, and the
// Lease requests per hand-over in that rhythm. Last, planned hand-overs
// (issue 23), with the release delay at 0 and at its default (planned.go).
//
//	go run ./bench/failover [-trials 20] [-rolling 20] [-replicas 3,10] [-window 60s] [-planned 10] [-short]
package main

import (
	"context"
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
	dir    string
	settle time.Duration
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintf(os.Stderr, "failover: %v\n", err)
		os.Exit(1)
	}
}

func run() error {
	trials := flag.Int("trials", 20, "graceful and crash trials per elector")
	rollingN := flag.Int("rolling", 20, "hand-overs per mode in the rolling-update rhythm")
	replicaList := flag.String("replicas", "3,10", "replica counts for the steady-state request measurement")
	window := flag.Duration("window", time.Minute, "steady-state measurement window")
	settle := flag.Duration("settle", 10*time.Second, "wait after each change before the next trial or measurement")
	short := flag.Bool("short", false, "a quick check that the harness works (2 trials, 4 rolling hand-overs, 10s window, 6s settle); figures are not meaningful")
	keep := flag.Bool("keep", false, "keep the work directory (replica logs) after the run")
	plannedN := flag.Int("planned", 10, "planned hand-overs per release delay (0 skips them)")
	plannedOnly := flag.Bool("planned-only", false, "measure only the planned hand-overs")
	flag.Parse()
	if *short {
		*trials, *rollingN, *window, *settle, *plannedN = 2, 4, 10*time.Second, 6*time.Second, 2
	}
	var counts []int
	for _, s := range strings.Split(*replicaList, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 2 {
			return fmt.Errorf("-replicas %q: want a comma-separated list of counts of at least 2", *replicaList)
		}
		counts = append(counts, n)
	}

	dir, err := os.MkdirTemp("", "failover-bench-")
	if err != nil {
		return fmt.Errorf("creating the work directory: %w", err)
	}
	if *keep {
		progress("work directory %s", dir)
	} else {
		defer os.RemoveAll(dir)
	}

	progress("building the binaries")
	// Stripped (-s -w) as releases are, so the binary sizes compare what
	// users install.
	ours, base, err := benchkit.Build(context.Background(), dir, replica.BuildOptions{Stripped: true})
	if err != nil {
		return err
	}
	progress("starting the control plane")
	cp, err := benchkit.StartControlPlane()
	if err != nil {
		return err
	}
	defer cp.Stop()
	conn, err := benchkit.Connect(cp.Admin)
	if err != nil {
		return err
	}
	b := &bench{Conn: conn, dir: dir, settle: *settle}
	if *plannedOnly {
		return b.runPlanned(ours, *plannedN)
	}
	// Side by side with client-go's ReleaseOnCancel, which releases at once,
	// ours releases at once too; what the default release delay costs is in
	// the rolling-update table.
	impls := []impl{oursWith(ours, "ours", "--release-delay=0"), baselineImpl(base)}

	res := map[string]*results{}
	for _, im := range impls {
		res[im.Name] = &results{}
	}
	// The two electors run at once, in their own namespaces: they are idle
	// nearly all the time, and this halves the run.
	err = both(impls, func(im impl) error {
		r := res[im.Name]
		var err error // each elector's own: both run at once
		if r.binMiB, err = fileMiB(im.Bin); err != nil {
			return err
		}
		progress("%s: %d graceful hand-overs", im.Name, *trials)
		if r.graceful, err = b.trials(im, "graceful", *trials); err != nil {
			return err
		}
		progress("%s: %d crash failovers", im.Name, *trials)
		if r.crash, err = b.trials(im, "crash", *trials); err != nil {
			return err
		}
		for _, n := range counts {
			progress("%s: steady state with %d replicas for %s", im.Name, n, *window)
			s, err := b.steady(im, n, *window)
			if err != nil {
				return err
			}
			r.steady = append(r.steady, s)
		}
		return nil
	})
	if err != nil {
		return err
	}
	printTable(os.Stdout, res["ours"], res["baseline"], *trials, *window)

	// One mode at a time: hand-overs are latencies, and two elections
	// sharing two cores would measure each other.
	var rolled []rollingResult
	for _, m := range rollingModes(ours, base) {
		if m.na != "" {
			rolled = append(rolled, rollingResult{mode: m})
			continue
		}
		progress("%s: %d hand-overs in a rolling update's rhythm", m.im.Name, *rollingN)
		r, err := b.rolling(m, *rollingN)
		if err != nil {
			return fmt.Errorf("%s: %w", m.im.Name, err)
		}
		rolled = append(rolled, r)
	}
	printRolling(os.Stdout, rolled, *rollingN)

	if *plannedN > 0 {
		return b.runPlanned(ours, *plannedN)
	}
	return nil
}

// both runs f for each elector concurrently and returns the first error.
func both(impls []impl, f func(impl) error) error {
	var wg sync.WaitGroup
	errs := make([]error, len(impls))
	for i, im := range impls {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = f(im)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			return fmt.Errorf("%s: %w", impls[i].Name, err)
		}
	}
	return nil
}

func fileMiB(path string) (float64, error) {
	st, err := os.Stat(path)
	if err != nil {
		return 0, err
	}
	return float64(st.Size()) / (1 << 20), nil
}

var progress = benchkit.Progress
