// Command watchload measures `leader-elector watch -A -o json` against
// `kubectl get lease -w -A -o name` on the same stream of Lease renewals
// from a real API server: a generator creates N Leases and renews them at
// R per second, and both watchers run side by side while the harness reads
// their CPU time and memory from /proc.
//
//	go run ./bench/watchload               # N=5000, R=500, 60s (starts its own control plane)
//	go run ./bench/watchload -short        # N=500, R=100, 10s: a smoke run for CI
//	go run ./bench/watchload -kubeconfig ~/.kube/config   # an existing cluster (creates namespace watchload-*)
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/leader-elector/leader-elector/controlplane"
)

type config struct {
	leases     int
	rate       int
	duration   time.Duration
	warmup     time.Duration
	workers    int
	kubeconfig string
	bin        string
	oursEnv    string
	oursStderr string
}

func main() {
	var c config
	short := flag.Bool("short", false, "a quick run: N=500, R=100, 10s")
	flag.IntVar(&c.leases, "leases", 5000, "Leases to create (N)")
	flag.IntVar(&c.rate, "rate", 500, "renewals per second across all Leases (R)")
	flag.DurationVar(&c.duration, "duration", 60*time.Second, "measuring window")
	flag.DurationVar(&c.warmup, "warmup", 5*time.Second, "renewing before the window opens")
	flag.IntVar(&c.workers, "workers", 32, "generator clients renewing in parallel (each waits for its update to return)")
	flag.StringVar(&c.kubeconfig, "kubeconfig", "", "use this cluster instead of starting the test control plane")
	flag.StringVar(&c.bin, "bin", "", "leader-elector binary (default: build ./cmd/leader-elector as releases are)")
	flag.StringVar(&c.oursStderr, "ours-stderr", "", "also copy leader-elector's stderr to this file (e.g. with -ours-env GODEBUG=gctrace=1)")
	flag.StringVar(&c.oursEnv, "ours-env", "", "extra environment for leader-elector only, comma-separated (e.g. GOGC=50), to try runtime settings")
	flag.Parse()
	if *short {
		c.leases, c.rate, c.duration, c.warmup = 500, 100, 10*time.Second, 3*time.Second
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, c); err != nil {
		fmt.Fprintf(os.Stderr, "watchload: %v\n", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, c config) error {
	tmp, err := os.MkdirTemp("", "watchload-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)

	if c.bin == "" {
		c.bin = filepath.Join(tmp, "leader-elector")
		// Built as releases are (goreleaser.yaml): what users run is what
		// is measured.
		build := exec.CommandContext(ctx, "go", "build", "-trimpath", "-ldflags", "-s -w", "-o", c.bin, "./cmd/leader-elector")
		build.Env = append(os.Environ(), "CGO_ENABLED=0")
		build.Stdout, build.Stderr = os.Stderr, os.Stderr
		if err := build.Run(); err != nil {
			return fmt.Errorf("building leader-elector (run from the repository root): %w", err)
		}
	}

	cfg, kubeconfig, cleanup, err := cluster(ctx, c.kubeconfig, tmp)
	if err != nil {
		return err
	}
	defer cleanup()

	gen, err := newGenerator(cfg, c.workers, c.rate)
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "watchload: creating %d Leases in %s\n", c.leases, gen.namespace)
	if err := gen.create(ctx, c.leases); err != nil {
		return err
	}

	ours := &watcherProc{name: "leader-elector watch -A -o json", syncedMarker: `"type":"synced"`}
	ours.cmd = exec.CommandContext(ctx, c.bin, "watch", "-A", "-o", "json", "--kubeconfig", kubeconfig)
	if c.oursEnv != "" {
		ours.cmd.Env = append(os.Environ(), strings.Split(c.oursEnv, ",")...)
		ours.name += " (" + c.oursEnv + ")"
	}
	if c.oursStderr != "" {
		f, err := os.Create(c.oursStderr)
		if err != nil {
			return err
		}
		defer f.Close()
		ours.stderrCopy = f
	}
	watchers := []*watcherProc{ours}
	if kubectl, err := exec.LookPath("kubectl"); err == nil {
		k := &watcherProc{name: "kubectl get lease -w -A -o name", syncedLines: c.leases}
		k.cmd = exec.CommandContext(ctx, kubectl, "get", "lease", "-w", "-A", "-o", "name", "--kubeconfig", kubeconfig)
		watchers = append(watchers, k)
	} else {
		fmt.Fprintln(os.Stderr, "watchload: kubectl not found: measuring leader-elector alone")
	}
	for _, w := range watchers {
		if err := w.start(); err != nil {
			return err
		}
		defer w.stop()
	}
	for _, w := range watchers {
		if err := w.waitSynced(ctx, 2*time.Minute); err != nil {
			return err
		}
	}

	fmt.Fprintf(os.Stderr, "watchload: renewing at %d/s; warming up %s, measuring %s\n", c.rate, c.warmup, c.duration)
	genCtx, stopGen := context.WithCancel(ctx)
	genDone := make(chan error, 1)
	go func() { genDone <- gen.renew(genCtx) }()
	select {
	case <-time.After(c.warmup):
	case <-ctx.Done():
		stopGen()
		return ctx.Err()
	}

	before := make([]sample, len(watchers))
	for i, w := range watchers {
		before[i] = w.sample()
	}
	genBefore, renewedBefore := selfCPU(), gen.renewed.Load()
	began := time.Now()
	select {
	case <-time.After(c.duration):
	case <-ctx.Done():
	}
	elapsed := time.Since(began)
	after := make([]sample, len(watchers))
	for i, w := range watchers {
		after[i] = w.sample()
	}
	genCPU, renewed := selfCPU()-genBefore, gen.renewed.Load()-renewedBefore
	stopGen()
	if err := <-genDone; err != nil {
		return err
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}

	fmt.Printf("watchload: %d Leases, %d renewals/s asked, %d achieved (%.0f/s) over %s; %d CPUs (%s/%s)\n",
		c.leases, c.rate, renewed, float64(renewed)/elapsed.Seconds(), elapsed.Round(time.Millisecond), runtime.NumCPU(), runtime.GOOS, runtime.GOARCH)
	printTable(os.Stdout, watchers, before, after, elapsed)
	fmt.Printf("generator (this harness, %d clients): %.2f CPU s per 1,000 renewals, %.1f%% of a core; errors: %d\n",
		c.workers, 1000*genCPU.Seconds()/max(float64(renewed), 1), 100*genCPU.Seconds()/elapsed.Seconds(), gen.errors.Load())
	return nil
}

// cluster returns a client config and a kubeconfig path: the given one, or
// a fresh test control plane's.
func cluster(ctx context.Context, kubeconfig, tmp string) (*rest.Config, string, func(), error) {
	if kubeconfig != "" {
		cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
		if err != nil {
			return nil, "", nil, fmt.Errorf("loading %s: %w", kubeconfig, err)
		}
		return cfg, kubeconfig, func() {}, nil
	}
	sctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	cp, err := controlplane.Start(sctx, controlplane.Options{})
	if err != nil {
		return nil, "", nil, fmt.Errorf("starting the control plane: %w", err)
	}
	path := filepath.Join(tmp, "kubeconfig")
	if err := controlplane.WriteKubeconfig(path, cp.Admin, "default"); err != nil {
		cp.Stop()
		return nil, "", nil, err
	}
	fmt.Fprintf(os.Stderr, "watchload: control plane %s at %s\n", controlplane.Version, cp.Host)
	return cp.Admin, path, cp.Stop, nil
}
