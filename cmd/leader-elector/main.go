// Command leader-elector competes for a Kubernetes Lease as a sidecar
// (elect) or shows who leads, live (watch). main only wires: each mode lives
// in its own package, and this file maps their errors to exit codes.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/alecthomas/kong"
)

// Set by goreleaser through -ldflags "-X main.version=...".
var (
	version = "dev"
	commit  = "none"
	date    = "unknown"
)

// Exit codes, documented in the README. A mode's error may carry its own code
// by implementing ExitCode() int (exec mode passes on its child's).
const (
	exitOK        = 0
	exitRuntime   = 1
	exitUsage     = 2
	exitInterrupt = 130
)

type cli struct {
	Globals

	Elect   electCmd   `cmd:"" help:"Compete for a Lease as a sidecar; the leader's status file holds its identity."`
	Watch   watchCmd   `cmd:"" help:"Show the Leases of a namespace live: holders, renewals, expiry, transitions."`
	Version versionCmd `cmd:"" help:"Print the version and exit."`
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run parses args and runs the chosen mode; it returns the process exit code.
func run(args []string, stdout, stderr io.Writer) int {
	// Catch SIGTERM before anything else, so a signal that lands while we
	// parse flags ends in a clean exit rather than the runtime's default kill.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	var c cli
	parser, err := kong.New(&c,
		kong.Name("leader-elector"),
		kong.Description("Leader election for Kubernetes: a sidecar that holds a Lease and a dashboard that shows who leads."),
		kong.Writers(stdout, stderr),
		kong.ConfigureHelp(kong.HelpOptions{Compact: true}),
		kong.Vars{"version": version},
	)
	if err != nil {
		fmt.Fprintf(stderr, "leader-elector: internal error building the command line: %v\n", err)
		return exitRuntime
	}
	exitCode := -1
	parser.Exit = func(code int) { exitCode = code } // --help and --version end here.
	kctx, err := parser.Parse(args)
	if exitCode >= 0 {
		return exitCode
	}
	if err != nil {
		fmt.Fprintf(stderr, "leader-elector: %s; see --help\n", oneLine(err.Error()))
		return exitUsage
	}

	env := &runEnv{Ctx: ctx, Stdout: stdout, Stderr: stderr, Globals: &c.Globals}
	err = kctx.Run(env)
	return exitCodeFor(err, stderr)
}

// exitCodeFor prints err as one line and returns the code it maps to.
func exitCodeFor(err error, stderr io.Writer) int {
	if err == nil {
		return exitOK
	}
	var parseErr *kong.ParseError
	if errors.As(err, &parseErr) {
		fmt.Fprintf(stderr, "leader-elector: %s; see --help\n", oneLine(err.Error()))
		return exitUsage
	}
	var coded interface{ ExitCode() int }
	if errors.As(err, &coded) {
		if msg := err.Error(); msg != "" {
			fmt.Fprintf(stderr, "leader-elector: %s\n", oneLine(msg))
		}
		return coded.ExitCode()
	}
	if errors.Is(err, context.Canceled) {
		return exitInterrupt
	}
	fmt.Fprintf(stderr, "leader-elector: %s\n", oneLine(err.Error()))
	return exitRuntime
}

// runEnv is what every mode's Run receives: the signal-bound context, the
// output streams and the global flags.
type runEnv struct {
	Ctx     context.Context
	Stdout  io.Writer
	Stderr  io.Writer
	Globals *Globals
}

type versionCmd struct{}

func (versionCmd) Run(env *runEnv) error {
	_, err := fmt.Fprintf(env.Stdout, "leader-elector %s (commit %s, built %s)\n", version, commit, date)
	return err
}
