package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"time"

	"golang.org/x/term"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/rest"

	"github.com/leader-elector/leader-elector/internal/exitcode"
	"github.com/leader-elector/leader-elector/tui"
	"github.com/leader-elector/leader-elector/watch"
)

// watchCmd is the dashboard and JSON-lines mode. Flag names follow kubectl.
type watchCmd struct {
	Namespace      string        `short:"n" help:"Namespace to watch (default: the kubeconfig context's)." placeholder:"NS"`
	AllNamespaces  bool          `short:"A" name:"all-namespaces" help:"Watch the Leases of every namespace."`
	Selector       string        `short:"l" help:"Label selector for the Leases, as kubectl's (app=x,tier!=y)." placeholder:"SELECTOR"`
	Output         string        `short:"o" help:"Output: tui (the dashboard), json (one JSON object per line per event), or auto: tui on a terminal, else json." enum:"auto,tui,json" default:"auto"`
	ConnectTimeout time.Duration `help:"With -o json, give up (exit 1) when the API server cannot be reached at start for this long; the dashboard keeps retrying." default:"30s"`
	LogFile        string        `help:"Write logs here (default: stderr with -o json; a new file in the temp directory, named on exit, while the dashboard owns the terminal)." type:"path" placeholder:"FILE"`
	FlapThreshold  int           `help:"A Lease is flapping after more than this many holder changes within --flap-window (0: never)." default:"3"`
	FlapWindow     time.Duration `help:"The window for --flap-threshold." default:"5m"`
	ShowNodeLeases bool          `help:"Dashboard: show kube-node-lease's Leases under -A (hidden by default; the n key toggles). JSON shows all."`
}

func (c *watchCmd) Run(env *runEnv) error {
	if c.AllNamespaces && c.Namespace != "" {
		return exitcode.Configf("-n %s and -A both given: use one", c.Namespace)
	}
	if c.FlapThreshold < 0 || c.FlapWindow < 0 || c.ConnectTimeout < 0 {
		return exitcode.Configf("--flap-threshold, --flap-window and --connect-timeout must not be negative")
	}
	if _, err := labels.Parse(c.Selector); err != nil {
		return exitcode.Configf("invalid --selector %q: %v; use kubectl's syntax, e.g. app=x,tier!=y", c.Selector, err)
	}
	useTUI := c.Output == "tui" || c.Output == "auto" && isTerminal(env.Stdout)
	if os.Getenv("GOGC") == "" {
		// watch keeps the state of every Lease and little else, so a
		// quarter of Go's default GC headroom costs little CPU and keeps
		// the RSS near kubectl's at 5,000 Leases (bench/watchload: the
		// README has the figures). GOGC still overrides.
		debug.SetGCPercent(25)
	}

	logOut, logPath, closeLog, err := c.openLog(env.Stderr, useTUI)
	if err != nil {
		return err
	}
	defer closeLog()
	logger, err := env.Globals.logger(logOut)
	if err != nil {
		return exitcode.Configf("%v", err)
	}

	target, err := env.Globals.kube(false, logger)
	if err != nil {
		return err
	}
	ns := c.Namespace
	switch {
	case c.AllNamespaces:
		ns = ""
	case ns == "":
		ns = target.Namespace
	}
	skew := &watch.SkewRecorder{}
	client, meta, err := watchClients(target.Config, skew)
	if err != nil {
		return err
	}
	opts := watch.Options{
		Namespace:     ns,
		Selector:      c.Selector,
		Logger:        logger,
		Metadata:      meta,
		Skew:          skew.Estimate,
		FlapThreshold: c.FlapThreshold,
		FlapWindow:    c.FlapWindow,
	}
	if !useTUI {
		opts.ConnectTimeout = c.ConnectTimeout
		return runJSON(env.Ctx, env.Stdout, watch.New(client, opts))
	}
	err = runDashboard(env.Ctx, watch.New(client, opts), tui.Options{
		Context: target.Context, Namespace: ns, AllNamespaces: c.AllNamespaces, ShowNodeLeases: c.ShowNodeLeases,
	})
	if logPath != "" {
		fmt.Fprintf(env.Stderr, "leader-elector: logs are in %s\n", logPath)
	}
	return err
}

// runJSON streams events as JSON lines until the watch ends or ctx is done.
func runJSON(ctx context.Context, stdout io.Writer, w *watch.Watcher) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	runErr := make(chan error, 1)
	go func() { runErr <- w.Run(ctx) }()
	werr := watch.WriteJSONLines(ctx, stdout, w.Events())
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
// at start) closes the dashboard so its error reaches the terminal.
func runDashboard(ctx context.Context, w *watch.Watcher, opts tui.Options) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	runErr := make(chan error, 1)
	go func() {
		err := w.Run(ctx)
		if err != nil {
			cancel()
		}
		runErr <- err
	}()
	terr := tui.Run(ctx, w.Events(), opts)
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
		return nil, "", nil, exitcode.Configf("cannot open the log file: %v; pass --log-file with a writable path", err)
	}
	return f, f.Name(), func() { _ = f.Close() }, nil
}

// watchClients builds the Lease client (protobuf: a third of JSON's
// decoding cost at hundreds of updates a second) and the metadata client
// for Pods, both recording the API server's Date for the skew estimate.
func watchClients(base *rest.Config, skew *watch.SkewRecorder) (kubernetes.Interface, metadata.Interface, error) {
	cfg := rest.CopyConfig(base)
	cfg.UserAgent = "leader-elector-watch"
	cfg.Wrap(skew.Wrap)
	cfg.ContentType = "application/vnd.kubernetes.protobuf"
	cfg.AcceptContentTypes = "application/vnd.kubernetes.protobuf,application/json"
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, nil, exitcode.Configf("cannot build a client from the kubeconfig: %v; fix the kubeconfig", err)
	}
	mcfg := rest.CopyConfig(base)
	mcfg.UserAgent = "leader-elector-watch"
	meta, err := metadata.NewForConfig(mcfg)
	if err != nil {
		return nil, nil, exitcode.Configf("cannot build a client from the kubeconfig: %v; fix the kubeconfig", err)
	}
	return client, meta, nil
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}
