// Command leader-elector competes for a Kubernetes Lease as a sidecar
// (elect) or shows who leads, live (watch). main only wires: each mode lives
// in its own package, and this file maps their errors to exit codes.
package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/alecthomas/kong"
	"github.com/willabides/kongplete"

	"github.com/leader-elector/leader-elector/internal/exitcode"
)

// Set by goreleaser through -ldflags "-X main.version=...".
var (
	version = "dev"
	commit  = "none"
	date    = "unknown"
)

type cli struct {
	Globals

	VersionFlag kong.VersionFlag `name:"version" help:"Print the version and exit."`

	Elect      electCmd      `cmd:"" help:"Compete for a Lease as a sidecar; the leader's status file holds its identity."`
	Watch      watchCmd      `cmd:"" help:"Show the Leases of a namespace live: holders, renewals, expiry, transitions."`
	Version    versionCmd    `cmd:"" help:"Print the version and exit."`
	Completion completionCmd `cmd:"" help:"Print a shell's completion script: bash, zsh or fish."`
}

// pluginCLI is the command line when the binary is installed as the kubectl
// plugin kubectl-leases: watch's flags at the top, so that
// `kubectl leases -A` reads as `kubectl get leases -A` does.
type pluginCLI struct {
	Globals

	VersionFlag kong.VersionFlag `name:"version" help:"Print the version and exit."`

	Watch watchCmd `embed:""`
}

// Run is watch's.
func (p *pluginCLI) Run(env *runEnv) error { return p.Watch.Run(env) }

// pluginName is the executable's name that kubectl runs for `kubectl leases`.
const pluginName = "kubectl-leases"

func main() {
	os.Exit(runAs(os.Args[0], os.Args[1:], os.Stdout, os.Stderr))
}

// run parses args and runs the chosen mode; it returns the process exit code.
func run(args []string, stdout, stderr io.Writer) int {
	return runAs("leader-elector", args, stdout, stderr)
}

// runAs is run for a binary invoked as argv0: as kubectl-leases it is the
// kubectl plugin, which is watch.
func runAs(argv0 string, args []string, stdout, stderr io.Writer) int {
	// Catch SIGTERM before anything else, so a signal that lands while we
	// parse flags ends in a clean exit rather than the runtime's default kill.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	plugin := isPlugin(argv0)
	var parser *kong.Kong
	var globals *Globals
	var err error
	if plugin {
		var p pluginCLI
		globals = &p.Globals
		parser, err = newParser(&p, "kubectl leases", pluginDescription, stdout, stderr)
	} else {
		var c cli
		globals = &c.Globals
		parser, err = newParser(&c, "leader-elector", description, stdout, stderr)
	}
	if err != nil {
		fmt.Fprintf(stderr, "leader-elector: internal error building the command line: %v\n", err)
		return exitcode.Runtime
	}
	exitCode := -1
	parser.Exit = func(code int) { exitCode = code } // --help and --version end here.
	if !plugin {
		// A shell asking for completions sets COMP_LINE and gets them on
		// stdout; otherwise this does nothing.
		kongplete.Complete(parser,
			kongplete.WithExitFunc(parser.Exit),
			kongplete.WithErrorHandler(func(err error) {
				fmt.Fprintf(stderr, "leader-elector: completion: %v\n", err)
			}))
		if exitCode >= 0 {
			return exitCode
		}
	}
	kctx, err := parser.Parse(args)
	if exitCode >= 0 {
		return exitCode
	}
	if err != nil {
		return exitCodeFor(err, stderr) // a *kong.ParseError: exit 2
	}

	env := &runEnv{Ctx: ctx, Stdout: stdout, Stderr: stderr, Globals: globals}
	err = kctx.Run(env)
	// The mode has flushed its log (with a bound); the last line gets one
	// too, so a stderr nobody reads cannot keep the process from exiting.
	return exitCodeFor(err, boundedWriter{w: stderr, wait: logFlushWait})
}

// boundedWriter gives up on a write that has not returned after wait,
// leaving it to finish, or not, in a goroutine of its own.
type boundedWriter struct {
	w    io.Writer
	wait time.Duration
}

func (b boundedWriter) Write(p []byte) (int, error) {
	p = bytes.Clone(p) // the caller may reuse p once we return
	type result struct {
		n   int
		err error
	}
	done := make(chan result, 1)
	go func() {
		n, err := b.w.Write(p)
		done <- result{n, err}
	}()
	timer := time.NewTimer(b.wait)
	defer timer.Stop()
	select {
	case r := <-done:
		return r.n, r.err
	case <-timer.C:
		return 0, fmt.Errorf("writing to stderr: nothing read it for %v", b.wait)
	}
}

const (
	description       = "Leader election for Kubernetes: a sidecar that holds a Lease and a dashboard that shows who leads."
	pluginDescription = "Show the Leases of a namespace live: holders, renewals, expiry, transitions (leader-elector watch, as a kubectl plugin)."
)

// newParser builds the command line for model, a *cli or a *pluginCLI.
func newParser(model any, name, desc string, stdout, stderr io.Writer) (*kong.Kong, error) {
	return kong.New(model,
		kong.Name(name),
		kong.Description(desc),
		kong.Writers(stdout, stderr),
		kong.ConfigureHelp(kong.HelpOptions{Compact: true}),
		kong.Vars{"version": versionLine()},
	)
}

// isPlugin tells whether argv0 names the kubectl plugin (kubectl runs it by
// its path, with backslashes on Windows, where it also ends in .exe).
func isPlugin(argv0 string) bool {
	base := argv0[strings.LastIndexAny(argv0, `/\`)+1:]
	return strings.TrimSuffix(base, ".exe") == pluginName
}

// exitCodeFor prints err as one line and returns the exit code it maps to
// (the codes are internal/exitcode's). A mode's error may carry its own code
// by implementing ExitCode() int (exec mode passes on its child's).
func exitCodeFor(err error, stderr io.Writer) int {
	if err == nil {
		return exitcode.OK
	}
	var parseErr *kong.ParseError
	if errors.As(err, &parseErr) {
		fmt.Fprintf(stderr, "leader-elector: %s; see --help\n", oneLine(err.Error()))
		return exitcode.Config
	}
	var coded interface{ ExitCode() int }
	if errors.As(err, &coded) {
		if msg := err.Error(); msg != "" {
			fmt.Fprintf(stderr, "leader-elector: %s\n", oneLine(msg))
		}
		return coded.ExitCode()
	}
	if errors.Is(err, context.Canceled) {
		return exitcode.Interrupt
	}
	fmt.Fprintf(stderr, "leader-elector: %s\n", oneLine(err.Error()))
	return exitcode.Runtime
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
	_, err := fmt.Fprintln(env.Stdout, versionLine())
	return err
}
