package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"strings"
	"time"

	"golang.org/x/term"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/rest"

	"github.com/leader-elector/leader-elector/handover"
	"github.com/leader-elector/leader-elector/internal/exitcode"
	"github.com/leader-elector/leader-elector/internal/kubeclient"
	"github.com/leader-elector/leader-elector/internal/kubeconfig"
	"github.com/leader-elector/leader-elector/tui"
	"github.com/leader-elector/leader-elector/watch"
)

// watchCmd is the dashboard and JSON-lines mode. Flag names follow kubectl.
type watchCmd struct {
	Namespace      string        `short:"n" help:"Namespace to watch (default: the kubeconfig context's)." placeholder:"NS" predictor:"namespace"`
	AllNamespaces  bool          `short:"A" name:"all-namespaces" help:"Watch the Leases of every namespace."`
	AllContexts    bool          `name:"all-contexts" help:"Watch every context of the kubeconfig at once (see also --context, which may be repeated)."`
	Selector       string        `short:"l" help:"Label selector for the Leases, as kubectl's (app=x,tier!=y)." placeholder:"SELECTOR"`
	Output         string        `short:"o" help:"Output: tui (the dashboard), json (JSON lines: one object per event, as it happens), or auto: tui on a terminal, else json. With --once, every format of kubectl get: the table (auto, tui), wide, json and yaml (a List), name, jsonpath=, jsonpath-file=, go-template=, go-template-file=, custom-columns=, custom-columns-file=." default:"auto" placeholder:"FORMAT" predictor:"output"`
	Once           bool          `help:"Print the Leases once, as kubectl get leases does, and exit."`
	NoHeaders      bool          `name:"no-headers" help:"With --once: the table without its header."`
	SortBy         string        `name:"sort-by" help:"With --once: sort by this JSONPath of the Lease, e.g. .spec.renewTime." placeholder:"JSONPATH"`
	LabelColumns   []string      `short:"L" name:"label-columns" help:"With --once: a column for each of these labels (comma-separated, or repeat the flag)." placeholder:"KEY"`
	ShowLabels     bool          `name:"show-labels" help:"With --once: a LABELS column."`
	Record         string        `help:"Also write the events to FILE as JSON lines after a header (version, contexts, namespace, start time), for --replay. FILE must not exist." type:"path" placeholder:"FILE" predictor:"file"`
	Replay         string        `help:"Replay a recording (from --record or -o json) instead of watching the API: on the dashboard, or as JSON lines with -o json." type:"path" placeholder:"FILE" predictor:"file"`
	Speed          *float64      `help:"With --replay: times real speed; 0 is as fast as possible (default: 1 on the dashboard, 0 with -o json)." placeholder:"N"`
	ConnectTimeout time.Duration `help:"With -o json or --once, give up (exit 1) when the API server cannot be reached at start for this long; the dashboard keeps retrying." default:"30s"`
	LogFile        string        `help:"Write logs here (default: stderr with -o json; a new file in the temp directory, named on exit, while the dashboard owns the terminal)." type:"path" placeholder:"FILE" predictor:"file"`
	FlapThreshold  int           `help:"A Lease is flapping after more than this many holder changes within --flap-window (0: never)." default:"3"`
	FlapWindow     time.Duration `help:"The window for --flap-threshold." default:"5m"`
	Names          []string      `arg:"" optional:"" name:"name" help:"Only these Leases, as kubectl get leases NAME... (needs one namespace, not -A)." predictor:"lease"`
	ShowNodeLeases bool          `help:"Dashboard: show kube-node-lease's Leases under -A (hidden by default; the n key toggles). JSON shows all."`
}

// watchExamples are watch's, as `kubectl leases` or as the subcommand.
const watchExamples = `Examples:
  # The Leases of the context's namespace: the dashboard on a terminal, JSON lines in a pipe
  {cmd}

  # Every namespace, once, as kubectl get prints them
  {cmd} -A --once
  {cmd} -A --once -o wide --sort-by .spec.renewTime
  {cmd} -n kube-system --once -o jsonpath='{.items[*].spec.holderIdentity}'

  # Every change of holder, as it happens
  {cmd} -A -o json | jq 'select(.type=="transition")'

  # Several clusters at once, recorded, then replayed
  {cmd} --context prod-eu --context prod-us --record incident.jsonl
  {cmd} --replay incident.jsonl`

// Help is shown under watch's usage.
func (c *watchCmd) Help() string {
	return strings.ReplaceAll(watchExamples, "{cmd}", "leader-elector watch")
}

// Run is watch's complete, validate, run, as stern's commands are: the
// flags resolve against the terminal, are checked in one place (validate),
// and only then is the kubeconfig read and the watch (package watch) run,
// its events shown on the dashboard (package tui) or written as JSON lines.
func (c *watchCmd) Run(env *runEnv) error {
	mode := c.complete(isTerminal(env.Stdout))
	if err := c.validate(env.Globals); err != nil {
		return err
	}
	if c.Replay != "" {
		return c.runReplay(env, mode)
	}

	logOut, logPath, closeLog, err := c.openLog(env.Stderr, mode.tui)
	if err != nil {
		return err
	}
	defer closeLog()
	logger, logQueue, err := env.Globals.logger(logOut)
	if err != nil {
		return err
	}
	defer flushLog(logQueue) // before closeLog closes the file
	tuneRuntime(logger, watchRuntime)

	conns, shownNS, err := c.connect(env.Globals, logger, mode)
	if err != nil {
		return err
	}
	if c.Once {
		return c.runOnce(env, conns)
	}
	watchers := make([]*watch.Watcher, len(conns))
	for i, cn := range conns {
		watchers[i] = watch.New(cn.api, cn.opts)
	}
	names := make([]string, len(watchers))
	for i, w := range watchers {
		names[i] = w.Context()
	}
	run := watch.RunOptions{Stdout: env.Stdout}
	if c.Record != "" {
		rec, err := watch.CreateRecording(c.Record, watch.RecordingHeader{
			Version: version, Contexts: names, Namespace: shownNS, AllNamespaces: c.AllNamespaces,
			Selector: c.Selector, Start: time.Now(),
		})
		if err != nil {
			return err
		}
		defer rec.Close()
		run.Recording = rec
	}
	if mode.tui {
		opts := tui.Options{
			Context: names[0], Contexts: names, Namespace: shownNS,
			AllNamespaces: c.AllNamespaces, ShowNodeLeases: c.ShowNodeLeases,
			Handover: dashboardHandover(conns),
		}
		run.Show = func(ctx context.Context, events <-chan watch.Event) error { return tui.Run(ctx, events, opts) }
	}
	err = watch.Run(env.Ctx, watch.NewFleet(watchers...), run)
	if mode.tui {
		if logPath != "" {
			fmt.Fprintf(env.Stderr, "leader-elector: logs are in %s\n", logPath)
		}
		if err == nil && c.Record != "" {
			fmt.Fprintf(env.Stderr, "leader-elector: recorded to %s; replay it with: leader-elector watch --replay %s\n", c.Record, c.Record)
		}
	}
	return err
}

// conn is one context to watch: its clients and the watch's options, and
// its configuration for the dashboard's one write (the H key).
type conn struct {
	api  watch.API
	opts watch.Options
	cfg  *rest.Config
}

// connect builds the clients of every context, and the namespace the
// status line and the recording name: the one every context watches, or
// "(each context's)".
func (c *watchCmd) connect(g *Globals, logger *slog.Logger, mode watchMode) ([]conn, string, error) {
	targets, err := c.targets(g, logger)
	if err != nil {
		return nil, "", err
	}
	conns := make([]conn, len(targets))
	namespaces := map[string]bool{}
	shownNS := ""
	for i, target := range targets {
		opts := c.watchOptions(target, mode)
		namespaces[opts.Namespace] = true
		shownNS = opts.Namespace
		skew := &watch.SkewRecorder{}
		client, meta, err := watchClients(target.Config, opts.Namespace, skew)
		if err != nil {
			return nil, "", err
		}
		opts.Logger = logger.With("context", target.Context)
		opts.Skew = skew.Estimate
		opts.Metadata = meta
		conns[i] = conn{api: client, opts: opts, cfg: target.Config}
	}
	if len(namespaces) > 1 {
		shownNS = "(each context's)"
	}
	return conns, shownNS, nil
}

// validate checks the flags, which needs no kubeconfig: one line naming the
// fix (exit 2). Unexported, as elect's, so Kong does not call it.
func (c *watchCmd) validate(g *Globals) error {
	switch {
	case c.AllNamespaces && c.Namespace != "":
		return exitcode.Configf("-n %s and -A both given: use one", c.Namespace)
	case c.AllNamespaces && len(c.Names) > 0:
		return exitcode.Configf("a Lease cannot be named across all namespaces (%s): drop -A and give -n NAMESPACE", c.Names[0])
	case c.FlapThreshold < 0 || c.FlapWindow < 0 || c.ConnectTimeout < 0:
		return exitcode.Configf("--flap-threshold, --flap-window and --connect-timeout must not be negative")
	case c.AllContexts && len(g.Context) > 0:
		return exitcode.Configf("--all-contexts and --context both given: use one")
	case c.Output == "wide" && !c.Once:
		return exitcode.Configf("-o wide is a table for --once: add --once, or use -o tui or -o json")
	case !c.Once && c.Output != "auto" && c.Output != "tui" && c.Output != "json":
		if err := tui.ValidateOutput(c.Output); err != nil {
			return exitcode.Configf("%w", err)
		}
		return exitcode.Configf("-o %s is kubectl get's output, for --once: add --once, or use -o json (JSON lines as events happen) or -o tui", c.Output)
	case !c.Once && (c.NoHeaders || c.ShowLabels || c.SortBy != "" || len(c.LabelColumns) > 0):
		return exitcode.Configf("--no-headers, --show-labels, --sort-by and -L shape --once's output: add --once")
	case c.Once && (c.Record != "" || c.Replay != ""):
		return exitcode.Configf("--once prints the Leases as they are now: it cannot be combined with --record or --replay")
	case c.Replay != "" && (c.Record != "" || c.AllContexts || len(g.Context) > 0 || c.Namespace != "" || c.AllNamespaces || c.Selector != "" || len(c.Names) > 0):
		return exitcode.Configf("--replay shows what the recording holds: drop --record, --context, --all-contexts, -n, -A, -l and the Lease names")
	case c.Speed != nil && c.Replay == "":
		return exitcode.Configf("--speed paces a replay: add --replay FILE")
	case c.Speed != nil && (*c.Speed < 0 || math.IsNaN(*c.Speed) || math.IsInf(*c.Speed, 0)):
		return exitcode.Configf("--speed %v: give a speed of 0 (as fast as possible) or more, e.g. --speed 10", *c.Speed)
	}
	if c.Once {
		if err := c.getOptions().Validate(); err != nil {
			return exitcode.Configf("%w", err)
		}
	}
	if _, err := labels.Parse(c.Selector); err != nil {
		return exitcode.Configf("invalid --selector %q: %w; use kubectl's syntax, e.g. app=x,tier!=y", c.Selector, err)
	}
	return nil
}

// watchMode is what watch's flags resolve to once the terminal is known.
type watchMode struct {
	tui   bool    // the dashboard; else JSON lines, or with --once a table
	speed float64 // --replay's pace: times real speed, 0 as fast as possible
}

// complete fills in the defaults that depend on where the output goes: -o
// auto is the dashboard on a terminal, and a replay's pace is real time on
// the dashboard, as fast as possible as JSON.
func (c *watchCmd) complete(terminal bool) watchMode {
	m := watchMode{tui: !c.Once && (c.Output == "tui" || c.Output == "auto" && terminal)}
	switch {
	case c.Speed != nil:
		m.speed = *c.Speed
	case m.tui:
		m.speed = 1
	}
	return m
}

// watchOptions maps the flags onto the watch of one context, whose default
// namespace the kubeconfig gave; Run adds the clients and the logger.
func (c *watchCmd) watchOptions(target *kubeconfig.Target, m watchMode) watch.Options {
	opts := watch.Options{
		Context:       target.Context,
		Namespace:     c.Namespace,
		Selector:      c.Selector,
		Names:         c.Names,
		FlapThreshold: c.FlapThreshold,
		FlapWindow:    c.FlapWindow,
	}
	switch {
	case c.AllNamespaces:
		opts.Namespace = ""
	case opts.Namespace == "":
		opts.Namespace = target.Namespace
	}
	if !m.tui { // the dashboard keeps retrying, showing why
		opts.ConnectTimeout = c.ConnectTimeout
		// A script is told at once that nothing answers, as by kubectl.
		opts.FailFast = true
	}
	return opts
}

// targets resolves the contexts to watch: --all-contexts, each --context
// (in the order given, repeats ignored), or the current one.
func (c *watchCmd) targets(g *Globals, logger *slog.Logger) ([]*kubeconfig.Target, error) {
	names := g.Context
	if c.AllContexts {
		all, err := kubeconfig.ContextNames(kubeconfig.Options{Kubeconfig: g.Kubeconfig})
		if err != nil {
			return nil, err
		}
		names = all
	}
	if len(names) == 0 {
		names = []string{""} // the kubeconfig's current context
	}
	var targets []*kubeconfig.Target
	seen := map[string]bool{}
	for _, name := range names {
		if seen[name] {
			continue
		}
		seen[name] = true
		target, err := kubeconfig.Load(g.options(name, false, logger))
		if err != nil {
			return nil, err
		}
		targets = append(targets, target)
	}
	return targets, nil
}

// getOptions are --once's output flags for kubectl's printers: auto and
// tui are the table.
func (c *watchCmd) getOptions() tui.GetOptions {
	o := tui.GetOptions{Output: c.Output, NoHeaders: c.NoHeaders, ShowLabels: c.ShowLabels, SortBy: c.SortBy}
	for _, l := range c.LabelColumns {
		for k := range strings.SplitSeq(l, ",") {
			if k = strings.TrimSpace(k); k != "" {
				o.LabelColumns = append(o.LabelColumns, k)
			}
		}
	}
	if o.Output == "auto" || o.Output == "tui" {
		o.Output = ""
	}
	return o
}

// runOnce lists every context's Leases with one request each, as kubectl
// get does, and prints them in any of its formats. A context that fails
// is reported and the others are printed; the exit code is then the
// failure's, as the live watch would have given. Nothing is printed on
// stdout unless an API server answered, and an empty table is kubectl's
// "No resources found" on stderr.
func (c *watchCmd) runOnce(env *runEnv, conns []conn) error {
	targets := make([]watch.ListTarget, len(conns))
	namespaces := map[string]bool{}
	for i, cn := range conns {
		targets[i] = watch.ListTarget{Context: cn.opts.Context, API: cn.api, Timeout: c.ConnectTimeout,
			Options: watch.ListOptions{Namespace: cn.opts.Namespace, Selector: c.Selector, Names: c.Names, Skew: cn.opts.Skew, Candidates: c.Output == "wide"}}
		namespaces[cn.opts.Namespace] = true
	}
	rows, answered, err := watch.ListAll(env.Ctx, targets)
	if env.Ctx.Err() != nil {
		return env.Ctx.Err()
	}
	if answered == 0 {
		return err
	}
	opts := c.getOptions()
	opts.Contexts = len(conns) > 1
	// One Lease asked for by name prints as itself, not in a List, as
	// kubectl get lease NAME -o json does.
	opts.Single = len(c.Names) == 1 && len(conns) == 1
	opts.Namespaces = len(namespaces) > 1 || namespaces[""]
	if len(rows) == 0 && opts.IsTable() {
		where := ""
		if ns := conns[0].opts.Namespace; len(namespaces) == 1 && ns != "" {
			where = " in " + ns + " namespace"
		}
		fmt.Fprintf(env.Stderr, "No resources found%s.\n", where)
		return err
	}
	if werr := tui.WriteLeases(env.Stdout, rows, time.Now(), opts); werr != nil {
		return fmt.Errorf("writing the output: %w", werr)
	}
	return err
}

// runReplay plays a recording on the dashboard or as JSON lines.
func (c *watchCmd) runReplay(env *runEnv, mode watchMode) error {
	rec, err := watch.OpenRecording(c.Replay)
	if err != nil {
		return err
	}
	if !mode.tui {
		return watch.ReplayJSON(env.Ctx, env.Stdout, rec, mode.speed)
	}
	contexts := rec.Contexts()
	opts := tui.Options{Contexts: contexts, Namespace: rec.Header.Namespace, AllNamespaces: rec.Header.AllNamespaces,
		ShowNodeLeases: c.ShowNodeLeases, Replay: &tui.Replay{Events: rec.Events, Start: rec.Header.Start, Speed: mode.speed}}
	if len(contexts) > 0 {
		opts.Context = contexts[0]
	}
	if !rec.HasHeader {
		opts.AllNamespaces = true // unknown: show every namespace's column
	}
	if d := rec.Damage; d != nil {
		opts.Replay.Damage = fmt.Sprintf("the recording is damaged at line %d (%v): the replay stops there", d.Line, d.Err)
	}
	if err := tui.Run(env.Ctx, nil, opts); err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return rec.DamageErr()
}

// openLog picks where logs go: --log-file, else stderr for JSON, else a
// temp file, since nothing may write on the dashboard's screen.
func (c *watchCmd) openLog(stderr io.Writer, useTUI bool) (io.Writer, string, func(), error) {
	var f *os.File
	var err error
	switch {
	case c.LogFile != "":
		f, err = os.OpenFile(c.LogFile, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	case useTUI:
		f, err = os.CreateTemp("", "leader-elector-watch-*.log")
	default:
		return stderr, "", func() {}, nil
	}
	if err != nil {
		return nil, "", nil, exitcode.Configf("cannot open the log file: %w; pass --log-file with a writable path", err)
	}
	return f, f.Name(), func() { _ = f.Close() }, nil
}

// watchClients builds the typed clients (protobuf: a third of JSON's
// decoding cost at hundreds of updates a second) and the metadata client for
// Pods, on one transport that records the API server's Date for the skew
// estimate.
func watchClients(base *rest.Config, namespace string, skew *watch.SkewRecorder) (watch.API, metadata.Interface, error) {
	cfg := rest.CopyConfig(base)
	cfg.UserAgent = "leader-elector-watch"
	cfg.Wrap(skew.Wrap)
	c, err := kubeclient.New(cfg)
	if err != nil {
		return watch.API{}, nil, exitcode.Configf("cannot build a client from the kubeconfig: %w; fix the kubeconfig", err)
	}
	meta, err := c.Metadata()
	if err != nil {
		return watch.API{}, nil, exitcode.Configf("cannot build a client from the kubeconfig: %w; fix the kubeconfig", err)
	}
	return watch.NewAPI(c, namespace), meta, nil
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// dashboardHandover is what the dashboard's H key runs: handover.Run on the
// context of the Lease ("" is the only one), with a client built only
// then. Watching needs no write; a hand-over needs patch on leases, which
// the API server judges when it is asked.
func dashboardHandover(conns []conn) tui.HandoverFunc {
	return func(ctx context.Context, contextName, namespace, name string, progress func(handover.Progress)) (handover.Result, error) {
		cn := conns[0]
		for _, c := range conns {
			if c.opts.Context == contextName {
				cn = c
			}
		}
		cfg := rest.CopyConfig(cn.cfg)
		cfg.UserAgent = "leader-elector-handover"
		kc, err := kubeclient.New(cfg)
		if err != nil {
			return handover.Result{}, fmt.Errorf("building a client: %w", err)
		}
		clients, err := handover.KubeClients(kc, namespace)
		if err != nil {
			return handover.Result{}, fmt.Errorf("building a client: %w", err)
		}
		return handover.Run(ctx, clients, handover.Options{Namespace: namespace, Name: name,
			By: asker("leader-elector watch"), Progress: progress})
	}
}
