package main

import (
	"io"
	"log/slog"
	"time"

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
	Context        string        `help:"Kubeconfig context to use (default: its current-context)." placeholder:"NAME"`
	Cluster        string        `help:"Kubeconfig cluster to use instead of the context's, as kubectl --cluster." placeholder:"NAME"`
	User           string        `help:"Kubeconfig user to use instead of the context's, as kubectl --user." placeholder:"NAME"`
	As             string        `help:"Impersonate this user, as kubectl --as." placeholder:"USER"`
	AsGroup        []string      `name:"as-group" sep:"none" help:"Impersonate this group, as kubectl --as-group; repeat for several." placeholder:"GROUP"`
	RequestTimeout time.Duration `help:"Give up on any one request after this long, watches included, as kubectl --request-timeout (0: no bound; elect bounds its requests by half the renew deadline in any case)." default:"0" placeholder:"DURATION"`
	LogFormat      string        `help:"Log format: ${enum}." enum:"text,json" default:"text" env:"LEADER_ELECTOR_LOG_FORMAT" placeholder:"FORMAT"`
	Verbose        bool          `short:"v" help:"Log debug lines, client-go's and the API server's warnings included."`
}

// kube resolves the API server from the global flags; the API server's
// warnings go to logger at debug level, once each.
func (g *Globals) kube(inCluster bool, logger *slog.Logger) (*kubeconfig.Target, error) {
	return kubeconfig.Load(kubeconfig.Options{
		Kubeconfig:     g.Kubeconfig,
		Context:        g.Context,
		InCluster:      inCluster,
		Cluster:        g.Cluster,
		User:           g.User,
		As:             g.As,
		AsGroups:       g.AsGroup,
		RequestTimeout: g.RequestTimeout,
		Warnings:       logging.NewWarnings(logger),
	})
}

// logger builds the process logger writing to w; klog goes the same way.
func (g *Globals) logger(w io.Writer) (*slog.Logger, error) {
	level := slog.LevelInfo
	if g.Verbose {
		level = slog.LevelDebug
	}
	return logging.New(w, g.LogFormat, level)
}
