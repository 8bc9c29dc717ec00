// Command footprint measures, side by side in one run against one real
// control plane, what a replica of our `leader-elector elect` costs next to
// client-go's plain elector (bench/baseline): the stripped static binary,
// the resident memory of an idle leader and an idle follower some time
// after start, the time from process start to the status file on a free
// Lease, and the idle CPU per minute. Issue 12's goals are printed as MET or
// MISSED.
//
//	go run ./bench/footprint [-trials 3] [-settle 30s] [-window 60s] [-short]
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/leader-elector/leader-elector/internal/benchkit"
	"github.com/leader-elector/leader-elector/internal/controlplane"
	"github.com/leader-elector/leader-elector/internal/replica"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintf(os.Stderr, "footprint: %v\n", err)
		os.Exit(1)
	}
}

func run() error {
	trials := flag.Int("trials", 3, "leader+follower pairs started per elector (the table shows medians)")
	settle := flag.Duration("settle", 30*time.Second, "idle time after start before memory is read")
	window := flag.Duration("window", time.Minute, "idle window over which CPU is measured")
	short := flag.Bool("short", false, "a quick check that the harness works (1 trial, 5s settle, 5s window); memory figures are meaningful, CPU ones barely")
	flag.Parse()
	if *short {
		*trials, *settle, *window = 1, 5*time.Second, 5*time.Second
	}

	dir, err := os.MkdirTemp("", "footprint-bench-")
	if err != nil {
		return fmt.Errorf("creating the work directory: %w", err)
	}
	defer os.RemoveAll(dir)

	progress("building both electors as releases are built (CGO_ENABLED=0 -trimpath -ldflags \"-s -w\")")
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	ours, base, err := benchkit.Build(ctx, dir, replica.BuildOptions{Release: true})
	cancel()
	if err != nil {
		return err
	}
	progress("starting the control plane")
	cp, err := benchkit.StartControlPlane()
	if err != nil {
		return err
	}
	defer cp.Stop()
	kubeconfig := filepath.Join(dir, "kubeconfig")
	if err := controlplane.WriteKubeconfig(kubeconfig, cp.Admin, "default"); err != nil {
		return err
	}

	electors := []elector{oursElector(ours), baselineElector(base)}
	res := make([]figures, len(electors))
	// The two electors run at once: they are idle nearly all the time, and
	// the start-to-leading times are short enough to rarely meet.
	var wg sync.WaitGroup
	errs := make([]error, len(electors))
	for i, e := range electors {
		wg.Go(func() {
			res[i], errs[i] = measure(e, dir, kubeconfig, *trials, *settle, *window)
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			return fmt.Errorf("%s: %w", electors[i].Name, err)
		}
	}
	printTable(os.Stdout, res[0], res[1], *trials, *settle, *window)
	return nil
}

func progress(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "footprint: "+format+"\n", args...)
}

// median of xs (the lower middle for an even count).
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[(len(s)-1)/2]
}
