// Command demo runs a live leader election on this machine with nothing but
// Go installed: it builds and starts a local etcd + kube-apiserver (the test
// control plane), starts three `leader-elector elect` replicas as real
// processes, each with its own status file, and opens `leader-elector watch`
// on their namespace, with three workers sharing the six shards of a shard
// group beside them. Every few seconds it rolls one worker and moves
// leadership, in turn by SIGTERM (a clean hand-over: the Lease is
// released), a planned hand-over and SIGKILL (a crash: the others wait out
// the lease), and restarts a stopped replica once another has taken over,
// so every hand-over shows on the dashboard.
//
//	make demo                              # the dashboard; q quits
//	go run ./demo -duration 30s -o json    # JSON events, then exit
//
// Quitting stops every process it started and removes its temp directory.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"golang.org/x/term"
)

// options are the demo's flags.
type options struct {
	Duration     time.Duration
	Output       string // auto, tui or json
	Interval     time.Duration
	Replicas     int
	Bin          string
	ControlPlane string
}

func parseFlags(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.DurationVar(&o.Duration, "duration", 0, "stop after this long (0: run until q, ctrl+c or SIGTERM)")
	fs.StringVar(&o.Output, "o", "auto", "output: tui (the dashboard), json (JSON lines on stdout), auto (tui on a terminal, else json)")
	fs.DurationVar(&o.Interval, "interval", 15*time.Second, "stop the current leader this often")
	fs.IntVar(&o.Replicas, "replicas", 3, "number of elect replicas")
	fs.StringVar(&o.Bin, "bin", "", "a built leader-elector binary (default: build ./cmd/leader-elector)")
	fs.StringVar(&o.ControlPlane, "controlplane", "", "directory holding etcd and kube-apiserver (default: build or reuse them with internal/controlplane/build.sh)")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	switch {
	case fs.NArg() > 0:
		return o, fmt.Errorf("unexpected argument %q; flags only, see -h", fs.Arg(0))
	case o.Output != "auto" && o.Output != "tui" && o.Output != "json":
		return o, fmt.Errorf("-o %q: use tui, json or auto", o.Output)
	case o.Replicas < 2:
		return o, fmt.Errorf("-replicas %d: a failover needs at least 2", o.Replicas)
	case o.Interval < time.Second:
		return o, fmt.Errorf("-interval %v: use at least 1s", o.Interval)
	case o.Duration < 0:
		return o, fmt.Errorf("-duration %v: use 0 (until quit) or more", o.Duration)
	}
	return o, nil
}

func main() {
	opts, err := parseFlags(os.Args[1:], os.Stderr)
	if err == flag.ErrHelp {
		os.Exit(0)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "demo: %v\n", err)
		os.Exit(2)
	}
	if opts.Output == "auto" {
		opts.Output = "json"
		if term.IsTerminal(int(os.Stdout.Fd())) && term.IsTerminal(int(os.Stdin.Fd())) {
			opts.Output = "tui"
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err = run(ctx, opts, os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintf(os.Stderr, "demo: %v\n", err)
		os.Exit(1)
	}
}
