package main

import (
	"io"
	"log/slog"

	"github.com/leader-elector/leader-elector/internal/exitcode"
	"github.com/leader-elector/leader-elector/internal/kubeconfig"
	"github.com/leader-elector/leader-elector/internal/logging"
)

// Globals are the flags every mode shares. They may be given before or after
// the mode's name.
type Globals struct {
	Kubeconfig string `help:"Kubeconfig file (default: in-cluster for elect, then $KUBECONFIG, which may list several files, then ~/.kube/config)." type:"path" placeholder:"FILE"`
	LogFormat  string `help:"Log format: ${enum}." enum:"text,json" default:"text" env:"LOG_FORMAT" placeholder:"FORMAT"`
	Verbose    bool   `short:"v" help:"Log debug lines, client-go's included."`

	// Context may be repeated: watch follows several clusters at once,
	// elect one (kube refuses more).
	Context []string `help:"Kubeconfig context to use (default: its current-context); watch takes several (repeat the flag)." placeholder:"NAME" sep:"none"`
}

// kube resolves the API server from the global flags: one context.
func (g *Globals) kube(inCluster bool) (*kubeconfig.Target, error) {
	if len(g.Context) > 1 {
		return nil, exitcode.Configf("--context given %d times: only watch follows several contexts; give it once", len(g.Context))
	}
	var name string
	if len(g.Context) == 1 {
		name = g.Context[0]
	}
	return kubeconfig.Load(kubeconfig.Options{Kubeconfig: g.Kubeconfig, Context: name, InCluster: inCluster})
}

// logger builds the process logger writing to w; klog goes the same way.
func (g *Globals) logger(w io.Writer) (*slog.Logger, error) {
	level := slog.LevelInfo
	if g.Verbose {
		level = slog.LevelDebug
	}
	return logging.New(w, g.LogFormat, level)
}
