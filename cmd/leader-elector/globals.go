package main

import (
	"context"
	"io"
	"log/slog"
	"time"

	"github.com/leader-elector/leader-elector/internal/exitcode"
	"github.com/leader-elector/leader-elector/internal/kubeconfig"
	"github.com/leader-elector/leader-elector/internal/logging"
)

// Globals are the flags every mode shares. They may be given before or after
// the mode's name. The connection flags are kubectl's, with kubectl's
// meaning, so `kubectl leases` takes what `kubectl get` takes.
//
// Environment: only LEASE_NAME, NAMESPACE (the original sidecar's) and
// POD_NAME (the downward API's) are read unprefixed; every other setting
// reads LEADER_ELECTOR_*, so an app's own HTTP_ADDR or LOG_FORMAT, shared
// with the sidecar in exec mode or by a copied env block, cannot reach it.
type Globals struct {
	Kubeconfig     string        `help:"Kubeconfig file (default: in-cluster for elect, then $KUBECONFIG, which may list several files, then ~/.kube/config)." type:"path" placeholder:"FILE"`
	Cluster        string        `help:"Kubeconfig cluster to use instead of the context's, as kubectl --cluster." placeholder:"NAME"`
	User           string        `help:"Kubeconfig user to use instead of the context's, as kubectl --user." placeholder:"NAME"`
	As             string        `help:"Impersonate this user, as kubectl --as." placeholder:"USER"`
	AsGroup        []string      `name:"as-group" sep:"none" help:"Impersonate this group, as kubectl --as-group; repeat for several." placeholder:"GROUP"`
	RequestTimeout time.Duration `help:"Give up on any one request after this long, watches included, as kubectl --request-timeout (0: no bound; elect bounds its requests by half the renew deadline in any case)." default:"0" placeholder:"DURATION"`
	LogFormat      string        `help:"Log format: ${enum}." enum:"text,json" default:"text" env:"LEADER_ELECTOR_LOG_FORMAT" placeholder:"FORMAT"`
	Verbose        bool          `short:"v" help:"Log debug lines, client-go's and the API server's warnings included."`

	// Context may be repeated: watch follows several clusters at once,
	// elect one (kube refuses more).
	Context []string `help:"Kubeconfig context to use (default: its current-context); watch takes several (repeat the flag)." placeholder:"NAME" sep:"none"`
}

// kube resolves the API server from the global flags: one context (elect's
// validate refuses several).
func (g *Globals) kube(inCluster bool, logger *slog.Logger) (*kubeconfig.Target, error) {
	return kubeconfig.Load(g.options(first(g.Context), inCluster, logger))
}

// options are the kubeconfig options for one context ("" for the
// kubeconfig's current one): the same kubectl flags apply to every context
// watch follows. The API server's warnings go to logger at debug level,
// once each.
func (g *Globals) options(context string, inCluster bool, logger *slog.Logger) kubeconfig.Options {
	return kubeconfig.Options{
		Kubeconfig:     g.Kubeconfig,
		Context:        context,
		InCluster:      inCluster,
		Cluster:        g.Cluster,
		User:           g.User,
		As:             g.As,
		AsGroups:       g.AsGroup,
		RequestTimeout: g.RequestTimeout,
		Warnings:       logging.NewWarnings(logger),
	}
}

// logger builds the process logger writing to w through a bounded queue, so
// nothing that logs ever waits for w; klog goes the same way. Pass the queue
// to flushLog on the way out. Its error is a configuration error (exit 2):
// a bad --log-format.
func (g *Globals) logger(w io.Writer) (*slog.Logger, *logging.Queue, error) {
	level := slog.LevelInfo
	if g.Verbose {
		level = slog.LevelDebug
	}
	logger, q, err := logging.New(w, g.LogFormat, level)
	if err != nil {
		return nil, nil, exitcode.WithCode(exitcode.Config, err)
	}
	return logger, q, nil
}

// logFlushWait bounds how long the process, on its way out, waits for its
// queued log lines (and then for its one-line error) to be written: a
// stderr nobody reads must not keep it from exiting. As long as the wait
// for the last Events, for the same reason.
const logFlushWait = time.Second

// flushLog writes what the log queue holds, waiting at most logFlushWait.
func flushLog(q *logging.Queue) {
	ctx, cancel := context.WithTimeout(context.Background(), logFlushWait)
	defer cancel()
	_ = q.Close(ctx) // a log that cannot be written has nowhere to say so
}

// first is the first of names, or "" (the kubeconfig's current context).
func first(names []string) string {
	if len(names) == 0 {
		return ""
	}
	return names[0]
}
