// Command watchload measures `leader-elector watch -A -o json` against
// `kubectl get lease -w -A -o name` on the same stream of Lease renewals
// from a real API server: a generator creates N Leases and renews them at
// R per second, and both watchers run side by side while the harness reads
// their CPU time and memory from /proc.
//
//	go run ./bench/watchload               # N=5000, R=500, 60s (starts its own control plane)
//	go run ./bench/watchload -short        # N=500, R=100, 10s: a smoke run for CI
//	go run ./bench/watchload -kubeconfig ~/.kube/config   # an existing cluster (creates namespace watchload-*)
//	go run ./bench/watchload -contexts 2   # two control planes, N Leases and R/s each: one context vs both
//
// With -contexts 2 the harness starts two control planes, loads each the
// same way, and measures `watch -A -o json` following one of them against
// `watch -A -o json --context one --context two` following both, in the
// same run (kubectl, which follows one context, is left out).
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
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/leader-elector/leader-elector/internal/controlplane"
	"github.com/leader-elector/leader-elector/internal/replica"
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
	contexts   int
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
	flag.IntVar(&c.contexts, "contexts", 1, "1: leader-elector vs kubectl on one cluster; 2: two clusters, leader-elector on one context vs on both")
	flag.Parse()
	if c.contexts != 1 && c.contexts != 2 || c.contexts == 2 && c.kubeconfig != "" {
		fmt.Fprintln(os.Stderr, "watchload: -contexts is 1 or 2, and 2 starts its own control planes (no -kubeconfig)")
		os.Exit(2)
	}
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
		if err := replica.Build(ctx, replica.BuildOptions{Package: "./cmd/leader-elector", Out: c.bin, Release: true}); err != nil {
			return err
		}
	}

	var gens []*generator
	var cfgs []*rest.Config
	var kubeconfig string
	for i := range c.contexts {
		cfg, path, cleanup, err := cluster(ctx, c.kubeconfig, filepath.Join(tmp, fmt.Sprint(i)))
		if err != nil {
			return err
		}
		defer cleanup()
		gen, err := newGenerator(cfg, c.workers, c.rate)
		if err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "watchload: creating %d Leases in %s on %s\n", c.leases, gen.namespace, cfg.Host)
		if err := gen.create(ctx, c.leases); err != nil {
			return err
		}
		gens, cfgs, kubeconfig = append(gens, gen), append(cfgs, cfg), path
	}
	ourArgs := [][]string{{"watch", "-A", "-o", "json", "--kubeconfig", kubeconfig}}
	ourNames := []string{"leader-elector watch -A -o json"}
	if c.contexts == 2 {
		kubeconfig = filepath.Join(tmp, "kubeconfig-two")
		if err := writeTwoContexts(kubeconfig, cfgs); err != nil {
			return err
		}
		ourArgs = [][]string{
			{"watch", "-A", "-o", "json", "--kubeconfig", kubeconfig, "--context", "one"},
			{"watch", "-A", "-o", "json", "--kubeconfig", kubeconfig, "--context", "one", "--context", "two"},
		}
		ourNames = []string{"watch -A -o json, context one", "watch -A -o json, contexts one + two"}
	}
	var watchers []*watcherProc
	for i, args := range ourArgs {
		// One synced line per context followed.
		ours := &watcherProc{name: ourNames[i], syncedMarker: `"type":"synced"`, syncedMarkers: max(1, strings.Count(strings.Join(args, " "), "--context "))}
		ours.cmd = exec.CommandContext(ctx, c.bin, args...)
		if c.oursEnv != "" {
			ours.cmd.Env = append(os.Environ(), strings.Split(c.oursEnv, ",")...)
			ours.name += " (" + c.oursEnv + ")"
		}
		if c.oursStderr != "" && i == len(ourArgs)-1 {
			f, err := os.Create(c.oursStderr)
			if err != nil {
				return err
			}
			defer f.Close()
			ours.stderrCopy = f
		}
		watchers = append(watchers, ours)
	}
	if kubectl, err := exec.LookPath("kubectl"); err != nil {
		fmt.Fprintln(os.Stderr, "watchload: kubectl not found: measuring leader-elector alone")
	} else if c.contexts == 1 {
		k := &watcherProc{name: "kubectl get lease -w -A -o name", syncedLines: c.leases}
		k.cmd = exec.CommandContext(ctx, kubectl, "get", "lease", "-w", "-A", "-o", "name", "--kubeconfig", kubeconfig)
		watchers = append(watchers, k)
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
	genDone := make(chan error, len(gens))
	for _, gen := range gens {
		go func() { genDone <- gen.renew(genCtx) }()
	}
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
	genBefore, renewedBefore := selfCPU(), renewedSum(gens)
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
	genCPU, renewed := selfCPU()-genBefore, renewedSum(gens)-renewedBefore
	stopGen()
	for range gens {
		if err := <-genDone; err != nil {
			return err
		}
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}

	fmt.Printf("watchload: %d cluster(s) x %d Leases, %d renewals/s asked of each, %d achieved in all (%.0f/s) over %s; %d CPUs (%s/%s)\n",
		c.contexts, c.leases, c.rate, renewed, float64(renewed)/elapsed.Seconds(), elapsed.Round(time.Millisecond), runtime.NumCPU(), runtime.GOOS, runtime.GOARCH)
	ratio := "ratio leader-elector / kubectl"
	if c.contexts == 2 {
		ratio = "ratio two contexts / one"
	}
	printTable(os.Stdout, watchers, before, after, elapsed, ratio)
	var genErrors int64
	for _, gen := range gens {
		genErrors += gen.errors.Load()
	}
	fmt.Printf("generator (this harness, %d clients per cluster): %.2f CPU s per 1,000 renewals, %.1f%% of a core; errors: %d\n",
		c.workers, 1000*genCPU.Seconds()/max(float64(renewed), 1), 100*genCPU.Seconds()/elapsed.Seconds(), genErrors)
	return nil
}

func renewedSum(gens []*generator) int64 {
	var n int64
	for _, g := range gens {
		n += g.renewed.Load()
	}
	return n
}

// writeTwoContexts writes a kubeconfig with contexts "one" and "two".
func writeTwoContexts(path string, cfgs []*rest.Config) error {
	kc := clientcmdapi.NewConfig()
	for i, name := range []string{"one", "two"} {
		cfg := cfgs[i]
		kc.Clusters[name] = &clientcmdapi.Cluster{Server: cfg.Host, CertificateAuthorityData: cfg.CAData}
		kc.AuthInfos[name] = &clientcmdapi.AuthInfo{Token: cfg.BearerToken, ClientCertificateData: cfg.CertData, ClientKeyData: cfg.KeyData}
		kc.Contexts[name] = &clientcmdapi.Context{Cluster: name, AuthInfo: name, Namespace: "default"}
	}
	kc.CurrentContext = "one"
	return clientcmd.WriteToFile(*kc, path)
}

// cluster returns a client config and a kubeconfig path: the given one, or
// a fresh test control plane's (its files under dir).
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
	if err := os.MkdirAll(tmp, 0o700); err != nil {
		return nil, "", nil, err
	}
	path := filepath.Join(tmp, "kubeconfig")
	if err := controlplane.WriteKubeconfig(path, cp.Admin, "default"); err != nil {
		cp.Stop()
		return nil, "", nil, err
	}
	fmt.Fprintf(os.Stderr, "watchload: control plane %s at %s\n", controlplane.Version, cp.Host)
	return cp.Admin, path, cp.Stop, nil
}
