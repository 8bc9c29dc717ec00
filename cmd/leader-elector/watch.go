package main

import (
	"bufio"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"sync"
	"time"

	"golang.org/x/term"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/rest"

	"github.com/leader-elector/leader-elector/internal/exitcode"
	"github.com/leader-elector/leader-elector/internal/kubeclient"
	"github.com/leader-elector/leader-elector/internal/kubeconfig"
	"github.com/leader-elector/leader-elector/record"
	"github.com/leader-elector/leader-elector/tui"
	"github.com/leader-elector/leader-elector/watch"
)

// watchCmd is the dashboard and JSON-lines mode. Flag names follow kubectl.
type watchCmd struct {
	Namespace      string        `short:"n" help:"Namespace to watch (default: the kubeconfig context's)." placeholder:"NS"`
	AllNamespaces  bool          `short:"A" name:"all-namespaces" help:"Watch the Leases of every namespace."`
	AllContexts    bool          `name:"all-contexts" help:"Watch every context of the kubeconfig at once (see also --context, which may be repeated)."`
	Selector       string        `short:"l" help:"Label selector for the Leases, as kubectl's (app=x,tier!=y)." placeholder:"SELECTOR"`
	Output         string        `short:"o" help:"Output: tui (the dashboard), json (one JSON object per line per event), or auto: tui on a terminal, else json. With --once: a table (auto, tui), wide (more columns) or json (one object per Lease)." enum:"auto,tui,json,wide" default:"auto"`
	Once           bool          `help:"Print the Leases once, as a table like kubectl get, and exit."`
	Record         string        `help:"Also write the events to FILE as JSON lines after a header (version, contexts, namespace, start time), for --replay. FILE must not exist." type:"path" placeholder:"FILE"`
	Replay         string        `help:"Replay a recording (from --record or -o json) instead of watching the API: on the dashboard, or as JSON lines with -o json." type:"path" placeholder:"FILE"`
	Speed          *float64      `help:"With --replay: times real speed; 0 is as fast as possible (default: 1 on the dashboard, 0 with -o json)." placeholder:"N"`
	ConnectTimeout time.Duration `help:"With -o json or --once, give up (exit 1) when the API server cannot be reached at start for this long; the dashboard keeps retrying." default:"30s"`
	LogFile        string        `help:"Write logs here (default: stderr with -o json; a new file in the temp directory, named on exit, while the dashboard owns the terminal)." type:"path" placeholder:"FILE"`
	FlapThreshold  int           `help:"A Lease is flapping after more than this many holder changes within --flap-window (0: never)." default:"3"`
	FlapWindow     time.Duration `help:"The window for --flap-threshold." default:"5m"`
	ShowNodeLeases bool          `help:"Dashboard: show kube-node-lease's Leases under -A (hidden by default; the n key toggles). JSON shows all."`
}

// Run is watch's validate, complete, run: the flags are checked first, then
// completed from the terminal and the kubeconfig (contexts, each one's
// default namespace), then the Leases are watched or a recording replayed.
func (c *watchCmd) Run(env *runEnv) error {
	if err := c.validate(env.Globals); err != nil {
		return err
	}
	mode := c.complete(isTerminal(env.Stdout))
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

	targets, err := c.targets(env.Globals, logger)
	if err != nil {
		return err
	}
	watchers := make([]*watch.Watcher, len(targets))
	names := make([]string, len(targets))
	namespaces := map[string]bool{}
	for i, target := range targets {
		opts := c.watchOptions(target, mode)
		namespaces[opts.Namespace] = true
		skew := &watch.SkewRecorder{}
		client, meta, err := watchClients(target.Config, opts.Namespace, skew)
		if err != nil {
			return err
		}
		opts.Logger = logger.With("context", target.Context)
		opts.Skew = skew.Estimate
		if !c.Once { // a snapshot does not wait for the Pods to judge orphans
			opts.Metadata = meta
		}
		watchers[i] = watch.New(client, opts)
		names[i] = target.Context
	}
	// The status line and the recording name one namespace when every
	// context watches the same one.
	shownNS := ""
	for ns := range namespaces {
		shownNS = ns
	}
	if len(namespaces) > 1 {
		shownNS = "(each context's)"
	}
	if c.Once {
		return c.runOnce(env, watchers)
	}

	fleet := watch.NewFleet(watchers...)
	ctx, cancel := context.WithCancel(env.Ctx)
	defer cancel()
	events := fleet.Events()
	var recErr <-chan error
	if c.Record != "" {
		rw, closeRec, err := c.openRecording(record.Header{
			Version: version, Contexts: names, Namespace: shownNS, AllNamespaces: c.AllNamespaces,
			Selector: c.Selector, Start: time.Now(),
		})
		if err != nil {
			return err
		}
		defer closeRec()
		events, recErr = record.Tee(ctx, events, rw)
	}
	if !mode.tui {
		err = runJSON(ctx, env.Stdout, fleet.Run, events)
	} else {
		err = runDashboard(ctx, fleet.Run, events, tui.Options{
			Context: names[0], Contexts: names, Namespace: shownNS,
			AllNamespaces: c.AllNamespaces, ShowNodeLeases: c.ShowNodeLeases,
		})
		if logPath != "" {
			fmt.Fprintf(env.Stderr, "leader-elector: logs are in %s\n", logPath)
		}
	}
	if recErr != nil {
		// Let the recorder write and flush its last lines before the file
		// is closed.
		cancel()
		var rerr error
		for e := range recErr {
			rerr = cmp.Or(rerr, e)
		}
		switch {
		case err != nil:
		case rerr != nil:
			return fmt.Errorf("the recording %s is incomplete: %w; check the disk", c.Record, rerr)
		case mode.tui:
			fmt.Fprintf(env.Stderr, "leader-elector: recorded to %s; replay it with: leader-elector watch --replay %s\n", c.Record, c.Record)
		}
	}
	return err
}

// validate checks the flags, which needs no kubeconfig: one line naming the
// fix (exit 2). Unexported, as elect's, so Kong does not call it.
func (c *watchCmd) validate(g *Globals) error {
	switch {
	case c.AllNamespaces && c.Namespace != "":
		return exitcode.Configf("-n %s and -A both given: use one", c.Namespace)
	case c.FlapThreshold < 0 || c.FlapWindow < 0 || c.ConnectTimeout < 0:
		return exitcode.Configf("--flap-threshold, --flap-window and --connect-timeout must not be negative")
	case c.AllContexts && len(g.Context) > 0:
		return exitcode.Configf("--all-contexts and --context both given: use one")
	case c.Output == "wide" && !c.Once:
		return exitcode.Configf("-o wide is a table for --once: add --once, or use -o tui or -o json")
	case c.Once && (c.Record != "" || c.Replay != ""):
		return exitcode.Configf("--once prints the Leases as they are now: it cannot be combined with --record or --replay")
	case c.Replay != "" && (c.Record != "" || c.AllContexts || len(g.Context) > 0 || c.Namespace != "" || c.AllNamespaces || c.Selector != ""):
		return exitcode.Configf("--replay shows what the recording holds: drop --record, --context, --all-contexts, -n, -A and -l")
	case c.Speed != nil && c.Replay == "":
		return exitcode.Configf("--speed paces a replay: add --replay FILE")
	case c.Speed != nil && (*c.Speed < 0 || math.IsNaN(*c.Speed) || math.IsInf(*c.Speed, 0)):
		return exitcode.Configf("--speed %v: give a speed of 0 (as fast as possible) or more, e.g. --speed 10", *c.Speed)
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

// openRecording creates --record's file (never one that exists: it is
// not ours to overwrite) and writes the header.
func (c *watchCmd) openRecording(h record.Header) (*record.Writer, func(), error) {
	f, err := os.OpenFile(c.Record, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		if errors.Is(err, os.ErrExist) {
			return nil, nil, exitcode.Configf("--record %s: the file exists; choose a new name (a recording never overwrites a file)", c.Record)
		}
		return nil, nil, exitcode.Configf("cannot create the recording: %w; pass --record with a writable path", err)
	}
	w, err := record.NewWriter(f, h)
	if err != nil {
		_ = f.Close()
		return nil, nil, err
	}
	return w, func() { _ = f.Close() }, nil
}

// runOnce lists every context's Leases once and prints them as a table
// (or one JSON object per Lease). A context that fails is reported and
// the others are printed; the exit code is then the failure's, as the
// live watch would have given.
func (c *watchCmd) runOnce(env *runEnv, watchers []*watch.Watcher) error {
	results := make([][]watch.LeaseState, len(watchers))
	errs := make([]error, len(watchers))
	var wg sync.WaitGroup
	for i, w := range watchers {
		wg.Go(func() { results[i], errs[i] = w.Snapshot(env.Ctx) })
	}
	wg.Wait()
	if env.Ctx.Err() != nil {
		return env.Ctx.Err()
	}
	var rows []tui.TableRow
	for i, states := range results {
		for _, s := range states {
			rows = append(rows, tui.TableRow{Context: watchers[i].Context(), Lease: s})
		}
	}
	var err error
	if c.Output == "json" {
		err = writeLeasesJSON(env.Stdout, rows)
	} else {
		err = tui.WriteTable(env.Stdout, rows, time.Now(), tui.TableOptions{Wide: c.Output == "wide", Contexts: len(watchers) > 1})
	}
	if err != nil {
		return fmt.Errorf("writing the table: %w", err)
	}
	var failed []error
	for i, e := range errs {
		if e != nil {
			if len(watchers) > 1 {
				e = watch.ContextError(watchers[i].Context(), e)
			}
			failed = append(failed, e)
		}
	}
	return errors.Join(failed...)
}

// writeLeasesJSON prints one JSON object per Lease, its context first.
func writeLeasesJSON(w io.Writer, rows []tui.TableRow) error {
	bw := bufio.NewWriter(w)
	var line []byte
	for i := range rows {
		line = append(rows[i].Lease.AppendJSONIn(line[:0], rows[i].Context), '\n')
		if _, err := bw.Write(line); err != nil {
			return err
		}
	}
	return bw.Flush()
}

// runReplay plays a recording on the dashboard or as JSON lines.
func (c *watchCmd) runReplay(env *runEnv, mode watchMode) error {
	f, err := os.Open(c.Replay)
	if err != nil {
		return exitcode.Configf("cannot open the recording: %w; pass --replay with a file written by --record (or by -o json)", unwrapPath(err))
	}
	defer f.Close()
	rec, err := record.Read(f)
	if err != nil {
		return err
	}
	if len(rec.Events) == 0 && rec.Damage != nil && (rec.Damage.Line == 1 || rec.HasHeader && rec.Damage.Line == 2) {
		return exitcode.Configf("%s is not a recording (%w); pass a file written by --record or by -o json", c.Replay, rec.Damage)
	}
	var damage error
	if d := rec.Damage; d != nil {
		damage = fmt.Errorf("the recording %s is damaged: replay stopped at line %d (%w); the events before it were replayed", c.Replay, d.Line, d.Err)
	}
	if !mode.tui {
		err := watch.WriteJSONLines(env.Ctx, env.Stdout, record.Play(env.Ctx, rec.Events, mode.speed))
		if err != nil && !errors.Is(err, context.Canceled) {
			return err
		}
		if env.Ctx.Err() != nil {
			return nil // stopped by a signal: a clean end
		}
		return damage
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
	if damage != nil {
		opts.Replay.Damage = fmt.Sprintf("the recording is damaged at line %d (%v): the replay stops there", rec.Damage.Line, rec.Damage.Err)
	}
	if err := tui.Run(env.Ctx, nil, opts); err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return damage
}

// unwrapPath drops the *PathError prefix, which repeats the path.
func unwrapPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// runJSON streams events as JSON lines until the watch ends or ctx is done.
func runJSON(ctx context.Context, stdout io.Writer, run func(context.Context) error, events <-chan watch.Event) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	runErr := make(chan error, 1)
	go func() { runErr <- run(ctx) }()
	werr := watch.WriteJSONLines(ctx, stdout, events)
	cancel()
	err := <-runErr
	if err != nil {
		return err // the watch's own failure explains the end best
	}
	if werr != nil && !errors.Is(werr, context.Canceled) {
		return werr
	}
	return nil // stopped by a signal after start: a clean end
}

// runDashboard hands the events to the dashboard. A watch that fails (RBAC
// at start; with several contexts, all of them) closes the dashboard so its
// error reaches the terminal.
func runDashboard(ctx context.Context, run func(context.Context) error, events <-chan watch.Event, opts tui.Options) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	runErr := make(chan error, 1)
	go func() {
		err := run(ctx)
		if err != nil {
			cancel()
		}
		runErr <- err
	}()
	terr := tui.Run(ctx, events, opts)
	cancel()
	if err := <-runErr; err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	if terr != nil && !errors.Is(terr, context.Canceled) {
		return terr
	}
	return nil
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
