package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/alecthomas/kong"

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
	Kubeconfig            string         `help:"Kubeconfig file (default: $KUBECONFIG, which may list several files, then ~/.kube/config)." type:"path" placeholder:"FILE" predictor:"file"`
	Context               []string       `help:"Kubeconfig context to use (default: its current-context); watch takes several (repeat the flag)." placeholder:"NAME" sep:"none" predictor:"context"`
	Cluster               string         `help:"Kubeconfig cluster to use instead of the context's." placeholder:"NAME" predictor:"cluster"`
	User                  string         `help:"Kubeconfig user to use instead of the context's." placeholder:"NAME" predictor:"user"`
	Server                string         `short:"s" help:"The API server's address, instead of the kubeconfig's." placeholder:"URL"`
	Token                 string         `help:"Bearer token for the API server." placeholder:"TOKEN"`
	CertificateAuthority  string         `name:"certificate-authority" help:"CA certificate file for the API server." placeholder:"FILE" predictor:"file"`
	ClientCertificate     string         `name:"client-certificate" help:"Client certificate file for TLS." placeholder:"FILE" predictor:"file"`
	ClientKey             string         `name:"client-key" help:"Client key file for TLS." placeholder:"FILE" predictor:"file"`
	TLSServerName         string         `name:"tls-server-name" help:"Server name to check the API server's certificate against, instead of the address's host." placeholder:"NAME"`
	InsecureSkipTLSVerify bool           `name:"insecure-skip-tls-verify" help:"Do not check the API server's certificate (insecure)."`
	As                    string         `help:"Impersonate this user." placeholder:"USER"`
	AsGroup               []string       `name:"as-group" sep:"none" help:"Impersonate this group; repeat for several." placeholder:"GROUP"`
	AsUID                 string         `name:"as-uid" help:"Impersonate this UID." placeholder:"UID"`
	RequestTimeout        requestTimeout `help:"Give up on any one request after this long, watches included: 30s, 2m, or bare seconds (0: no bound)." default:"0" placeholder:"DURATION"`
	LogFormat             string         `help:"Log format: ${enum}." enum:"text,json" default:"text" env:"LEADER_ELECTOR_LOG_FORMAT" placeholder:"FORMAT"`
	Verbose               verbosity      `short:"v" help:"Log debug lines, client-go's and the API server's warnings included (-v, or kubectl's -v=N: any N above 0)." placeholder:"N"`
}

// requestTimeout is kubectl's --request-timeout: a duration, or bare
// seconds ("5").
type requestTimeout time.Duration

// Decode reads a duration or bare seconds; negative is refused.
func (r *requestTimeout) Decode(ctx *kong.DecodeContext) error {
	var s string
	if err := ctx.Scan.PopValueInto("duration", &s); err != nil {
		return err
	}
	d, err := time.ParseDuration(s)
	if n, nerr := strconv.ParseInt(s, 10, 64); nerr == nil {
		d, err = time.Duration(n)*time.Second, nil
	}
	if err != nil || d < 0 {
		return fmt.Errorf("--request-timeout %q: give a duration such as 30s or 2m, bare seconds such as 5, or 0 for no bound", s)
	}
	*r = requestTimeout(d)
	return nil
}

// verbosity is -v: a bool for the log level, that also takes kubectl's
// -v=N (true for any N above 0). runAs spells -v=N as --verbose=N, since
// Kong reads -v=4 as the flags -v, -= and -4.
type verbosity bool

// IsBool lets -v stand alone.
func (v *verbosity) IsBool() bool { return true }

// Decode reads -v, --verbose=N or --verbose=true|false.
func (v *verbosity) Decode(ctx *kong.DecodeContext) error {
	t := ctx.Scan.Peek()
	if t.Type != kong.FlagValueToken {
		*v = true
		return nil
	}
	ctx.Scan.Pop()
	s := fmt.Sprint(t.Value)
	if n, err := strconv.Atoi(s); err == nil {
		*v = n > 0
		return nil
	}
	b, err := strconv.ParseBool(s)
	if err != nil {
		return fmt.Errorf("-v=%s: give a level such as -v=4, or -v alone", s)
	}
	*v = verbosity(b)
	return nil
}

// kubectlSpelling rewrites kubectl's -v=N and -vN as --verbose=N, which
// Kong reads; the rest, and everything after "--", is left as it is.
func kubectlSpelling(args []string) []string {
	out := make([]string, 0, len(args))
	for i, a := range args {
		if a == "--" {
			return append(out, args[i:]...)
		}
		if n, ok := strings.CutPrefix(a, "-v"); ok && n != "" {
			n = strings.TrimPrefix(n, "=")
			if _, err := strconv.Atoi(n); err == nil {
				a = "--verbose=" + n
			}
		}
		out = append(out, a)
	}
	return out
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
		AsUID:          g.AsUID,
		RequestTimeout: time.Duration(g.RequestTimeout),
		Server:         g.Server,
		Token:          g.Token,
		CAFile:         g.CertificateAuthority,
		CertFile:       g.ClientCertificate,
		KeyFile:        g.ClientKey,
		TLSServerName:  g.TLSServerName,
		Insecure:       g.InsecureSkipTLSVerify,
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
