// Package kubeconfig finds the API server the way kubectl does, shared by
// both modes so --kubeconfig, --context and KUBECONFIG mean the same in each.
package kubeconfig

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/leader-elector/leader-elector/internal/exitcode"
)

// Options selects where the client configuration comes from.
type Options struct {
	// Kubeconfig is an explicit file; when set it wins over everything.
	Kubeconfig string
	// Context overrides the kubeconfig's current-context.
	Context string
	// InCluster tries the pod's service account before KUBECONFIG and
	// ~/.kube/config, as the original sidecar did. Used by elect only.
	InCluster bool

	// The rest are kubectl's flags of the same names, which clientcmd
	// already understands, so `kubectl leases --as jane` means what
	// `kubectl get leases --as jane` means.

	// Cluster and User replace the context's cluster and user by the
	// kubeconfig entries of these names.
	Cluster, User string
	// As and AsGroups impersonate a user and its groups.
	As       string
	AsGroups []string
	AsUID    string
	// Server, Token, CAFile, CertFile, KeyFile, TLSServerName and Insecure
	// replace the kubeconfig's server and credentials: kubectl's --server,
	// --token, --certificate-authority, --client-certificate,
	// --client-key, --tls-server-name and --insecure-skip-tls-verify.
	Server, Token             string
	CAFile, CertFile, KeyFile string
	TLSServerName             string
	Insecure                  bool
	// RequestTimeout bounds each request, as kubectl's --request-timeout
	// (0: no bound).
	RequestTimeout time.Duration

	// Warnings receives the API server's warning headers (a deprecated API,
	// say). Nil keeps client-go's default, which logs them through klog.
	Warnings rest.WarningHandler
}

// Target is the resolved connection.
type Target struct {
	Config *rest.Config
	// Namespace is the default namespace: the pod's in a cluster, else the
	// kubeconfig context's, else "default".
	Namespace string
	// Context names the kubeconfig context used ("in-cluster" otherwise).
	Context string
}

// saNamespaceFile is where a pod's service-account namespace is mounted.
var saNamespaceFile = "/var/run/secrets/kubernetes.io/serviceaccount/namespace"

// Load resolves opts. Its errors are configuration errors (exit 2) whose
// message names the fix.
func Load(opts Options) (*Target, error) {
	if opts.RequestTimeout < 0 {
		return nil, exitcode.Configf("--request-timeout %s is negative; pass 0 for no bound or a duration such as 30s", opts.RequestTimeout)
	}
	// --cluster and --user name kubeconfig entries, so they rule out the
	// in-cluster service account, as --kubeconfig and --context do.
	if opts.Kubeconfig == "" && opts.Context == "" && opts.Cluster == "" && opts.User == "" && opts.Server == "" && opts.InCluster {
		if cfg, err := rest.InClusterConfig(); err == nil {
			ns := "default"
			if b, err := os.ReadFile(saNamespaceFile); err == nil && strings.TrimSpace(string(b)) != "" {
				ns = strings.TrimSpace(string(b))
			}
			cfg.Impersonate.UserName = opts.As
			cfg.Impersonate.Groups = opts.AsGroups
			cfg.Impersonate.UID = opts.AsUID
			if opts.Token != "" {
				cfg.BearerToken, cfg.BearerTokenFile = opts.Token, ""
			}
			if opts.CertFile != "" || opts.KeyFile != "" {
				cfg.CertFile, cfg.KeyFile = opts.CertFile, opts.KeyFile
			}
			if opts.CAFile != "" {
				cfg.CAFile, cfg.CAData = opts.CAFile, nil
			}
			if opts.TLSServerName != "" {
				cfg.ServerName = opts.TLSServerName
			}
			if opts.Insecure {
				cfg.Insecure, cfg.CAFile, cfg.CAData = true, "", nil
			}
			cfg.Timeout = opts.RequestTimeout
			cfg.WarningHandler = opts.Warnings
			return &Target{Config: cfg, Namespace: ns, Context: "in-cluster"}, nil
		} else if !errors.Is(err, rest.ErrNotInCluster) {
			return nil, exitcode.Configf("cannot use the in-cluster service account: %w; mount the service-account token or pass --kubeconfig", err)
		}
	}

	rules, err := loadingRules(opts.Kubeconfig)
	if err != nil {
		return nil, err
	}
	overrides := &clientcmd.ConfigOverrides{CurrentContext: opts.Context}
	overrides.Context.Cluster = opts.Cluster
	overrides.Context.AuthInfo = opts.User
	overrides.AuthInfo.Impersonate = opts.As
	overrides.AuthInfo.ImpersonateGroups = opts.AsGroups
	overrides.AuthInfo.ImpersonateUID = opts.AsUID
	overrides.AuthInfo.Token = opts.Token
	overrides.AuthInfo.ClientCertificate = opts.CertFile
	overrides.AuthInfo.ClientKey = opts.KeyFile
	overrides.ClusterInfo.Server = opts.Server
	overrides.ClusterInfo.CertificateAuthority = opts.CAFile
	overrides.ClusterInfo.TLSServerName = opts.TLSServerName
	overrides.ClusterInfo.InsecureSkipTLSVerify = opts.Insecure
	if opts.RequestTimeout > 0 {
		overrides.Timeout = opts.RequestTimeout.String()
	}
	cc := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, overrides)

	raw, err := cc.RawConfig()
	if err != nil {
		return nil, exitcode.Configf("cannot load kubeconfig %s: %w; fix the file or pass --kubeconfig with a valid one", describe(rules), err)
	}
	// Checked here because clientcmd would quietly use no credentials for
	// a user it does not know.
	if opts.Cluster != "" && raw.Clusters[opts.Cluster] == nil {
		return nil, exitcode.Configf("cluster %q not found in kubeconfig %s; pick one of %s with --cluster", opts.Cluster, describe(rules), entryNames(raw.Clusters, "clusters"))
	}
	if opts.User != "" && raw.AuthInfos[opts.User] == nil {
		return nil, exitcode.Configf("user %q not found in kubeconfig %s; pick one of %s with --user", opts.User, describe(rules), entryNames(raw.AuthInfos, "users"))
	}
	cfg, err := cc.ClientConfig()
	if err != nil {
		switch {
		case clientcmd.IsEmptyConfig(err):
			return nil, exitcode.Configf("no kubeconfig found (looked in %s) and not running in a cluster; pass --kubeconfig or set KUBECONFIG", describe(rules))
		case opts.Context != "" && raw.Contexts[opts.Context] == nil:
			return nil, exitcode.Configf("context %q not found in kubeconfig %s; pick one of %s with --context", opts.Context, describe(rules), entryNames(raw.Contexts, "contexts"))

		default:
			return nil, exitcode.Configf("invalid kubeconfig %s: %w; fix the file or pass --kubeconfig with a valid one", describe(rules), err)
		}
	}
	cfg.WarningHandler = opts.Warnings
	ns, _, err := cc.Namespace()
	if err != nil || ns == "" {
		ns = "default"
	}
	name := opts.Context
	if name == "" {
		name = raw.CurrentContext
	}
	return &Target{Config: cfg, Namespace: ns, Context: name}, nil
}

// loadingRules are kubectl's, with an explicit file when one is given.
func loadingRules(kubeconfig string) (*clientcmd.ClientConfigLoadingRules, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	if kubeconfig != "" {
		if _, err := os.Stat(kubeconfig); err != nil {
			return nil, exitcode.Configf("cannot read kubeconfig %q: %w; pass --kubeconfig with an existing file", kubeconfig, unwrapPath(err))
		}
		rules.ExplicitPath = kubeconfig
	}
	return rules, nil
}

// ContextNames lists the contexts of the kubeconfig (opts.Kubeconfig, else
// KUBECONFIG, else ~/.kube/config), sorted, for watch --all-contexts.
func ContextNames(opts Options) ([]string, error) {
	rules, err := loadingRules(opts.Kubeconfig)
	if err != nil {
		return nil, err
	}
	raw, err := rules.Load()
	if err != nil {
		return nil, exitcode.Configf("cannot load kubeconfig %s: %w; fix the file or pass --kubeconfig with a valid one", describe(rules), err)
	}
	if len(raw.Contexts) == 0 {
		return nil, exitcode.Configf("no contexts in kubeconfig %s; add one or pass --kubeconfig with another file", describe(rules))
	}
	names := make([]string, 0, len(raw.Contexts))
	for n := range raw.Contexts {
		names = append(names, n)
	}
	slices.Sort(names)
	return names, nil
}

// Raw loads the kubeconfig (path, else KUBECONFIG, else ~/.kube/config)
// as it is written, for completing its contexts, clusters and users.
func Raw(path string) (*clientcmdapi.Config, error) {
	rules, err := loadingRules(path)
	if err != nil {
		return nil, err
	}
	return rules.Load()
}

// describe names the files the loading rules read, for error messages.
func describe(rules *clientcmd.ClientConfigLoadingRules) string {
	if rules.ExplicitPath != "" {
		return rules.ExplicitPath
	}
	if env := os.Getenv(clientcmd.RecommendedConfigPathEnvVar); env != "" {
		return "$KUBECONFIG (" + env + ")"
	}
	return clientcmd.RecommendedHomeFile
}

// entryNames lists the names of a kubeconfig section (what, e.g.
// "contexts") for an error message.
func entryNames[V any](m map[string]V, what string) string {
	if len(m) == 0 {
		return "none (the file has no " + what + ")"
	}
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	slices.Sort(names)
	return strings.Join(names, ", ")
}

// unwrapPath drops the *PathError prefix, which repeats the path.
func unwrapPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return fmt.Errorf("%w", err)
}
