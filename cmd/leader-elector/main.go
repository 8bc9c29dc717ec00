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
	"regexp"
	"slices"
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
	Handover   handoverCmd   `cmd:"" help:"Ask a Lease's holder to hand it over (to --to), and wait until a new holder takes it."`
	Version    versionCmd    `cmd:"" help:"Print the version and exit."`
	Completion completionCmd `cmd:"" help:"Print a shell's completion script: bash, zsh or fish."`
	Help       helpCmd       `cmd:"" help:"Show the help of a command: leader-elector help watch."`
}

// helpCmd is `leader-elector help [COMMAND]`, as kubectl's and stern's.
type helpCmd struct {
	Command []string `arg:"" optional:"" help:"The command to explain (default: all of them)." placeholder:"COMMAND"`
}

// Run prints the command's --help.
func (h *helpCmd) Run(env *runEnv) error { return env.Help(h.Command) }

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

// Help is shown under the plugin's usage.
func (p *pluginCLI) Help() string {
	return strings.ReplaceAll(watchExamples, "{cmd}", "kubectl leases")
}

// pluginName is the executable's name that kubectl runs for `kubectl
// leases`, and pluginCompletionName the one it runs to complete it.
const (
	pluginName           = "kubectl-leases"
	pluginCompletionName = "kubectl_complete-leases"
)

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
	if isPluginCompletion(argv0) { // kubectl_complete-leases ARGS = kubectl-leases __complete ARGS
		plugin, args = true, append([]string{"__complete"}, args...)
		if len(args) > 1 && args[1] == "__complete" {
			args = args[1:]
		}
	}
	if plugin && isPluginHandover(args) {
		plugin = false // kubectl leases handover NS/LEASE: the full command line's handover
	}
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
		kongplete.Complete(parser, append(predictors(),
			kongplete.WithExitFunc(parser.Exit),
			kongplete.WithErrorHandler(func(err error) {
				fmt.Fprintf(stderr, "leader-elector: completion: %v\n", err)
			}))...)
		if exitCode >= 0 {
			return exitCode
		}
	}
	if plugin && len(args) > 0 && args[0] == "__complete" {
		return exitCodeFor(cobraComplete(parser, args[1:], stdout), stderr)
	}
	kctx, err := parser.Parse(kubectlSpelling(args))
	if exitCode >= 0 {
		return exitCode
	}
	if err != nil {
		return exitCodeFor(err, stderr) // a *kong.ParseError: exit 2
	}

	env := &runEnv{Ctx: ctx, Stdout: stdout, Stderr: stderr, Globals: globals,
		Help: func(command []string) error {
			_, err := parser.Parse(append(slices.Clone(command), "--help"))
			if exitCode >= 0 { // the help was printed
				return nil
			}
			return err
		}}
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
		kong.Help(conciseHelp),
		kong.Vars{"version": versionLine()},
	)
}

// conciseHelp is Kong's help, less the global flags under a command: they
// are the same for every command, so a command's --help lists its own
// flags and says where the others are, as kubectl's and stern's do.
func conciseHelp(options kong.HelpOptions, ctx *kong.Context) error {
	selected := ctx.Selected()
	if selected == nil {
		return kong.DefaultHelpPrinter(options, ctx)
	}
	var hidden []*kong.Flag
	for _, f := range ctx.Model.Flags {
		if !f.Hidden && f.Name != "help" {
			f.Hidden = true
			hidden = append(hidden, f)
		}
	}
	err := kong.DefaultHelpPrinter(options, ctx)
	for _, f := range hidden {
		f.Hidden = false
	}
	if err == nil && len(hidden) > 0 {
		_, err = fmt.Fprintf(ctx.Stdout, "\nGlobal flags (kubeconfig, connection, logging) apply to every command: %s --help.\n", ctx.Model.Name)
	}
	return err
}

// isPlugin tells whether argv0 names the kubectl plugin (kubectl runs it by
// its path, with backslashes on Windows, where it also ends in .exe).
func isPlugin(argv0 string) bool { return baseName(argv0) == pluginName }

// isPluginHandover tells whether the plugin's args ask for a hand-over:
// `kubectl leases handover NS/LEASE ...`. The plugin is watch, whose words
// are Leases' names, and a name has no "/": so "handover" followed at once
// by an NS/LEASE is the command, and `kubectl leases handover` alone still
// watches a Lease named handover.
func isPluginHandover(args []string) bool {
	return len(args) >= 2 && args[0] == "handover" && strings.Contains(args[1], "/") && !strings.HasPrefix(args[1], "-")
}

// isPluginCompletion tells whether argv0 names the plugin's completion.
func isPluginCompletion(argv0 string) bool { return baseName(argv0) == pluginCompletionName }

func baseName(argv0 string) string {
	return strings.TrimSuffix(argv0[strings.LastIndexAny(argv0, `/\`)+1:], ".exe")
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
		fmt.Fprintf(stderr, "leader-elector: %s; see --help\n", usageLine(oneLine(err.Error())))
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

// missingValue is how Kong reports a flag given last without its value.
// Kong has no typed error for it, so its text is read here, in the one
// place that words usage errors.
var missingValue = regexp.MustCompile(`^(--[a-z0-9-]+): (?:expected \w+ value but got "EOL" \(<EOL>\)|missing value, expecting "<arg>")$`)

// usageLine words Kong's usage errors for people: "--output: expected
// string value but got "EOL" (<EOL>)" becomes "--output needs a value".
func usageLine(msg string) string {
	if m := missingValue.FindStringSubmatch(msg); m != nil {
		return fmt.Sprintf("%s needs a value, as in %s=VALUE", m[1], m[1])
	}
	return msg
}

// runEnv is what every mode's Run receives: the signal-bound context, the
// output streams and the global flags.
type runEnv struct {
	Ctx     context.Context
	Stdout  io.Writer
	Stderr  io.Writer
	Globals *Globals
	// Help prints the --help of a command (nil: the whole program's).
	Help func(command []string) error
}

type versionCmd struct{}

func (versionCmd) Run(env *runEnv) error {
	_, err := fmt.Fprintln(env.Stdout, versionLine())
	return err
}
