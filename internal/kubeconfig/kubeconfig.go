// Package kubeconfig finds the API server the way kubectl does, shared by
// both modes so --kubeconfig, --context and KUBECONFIG mean the same in each.
package kubeconfig

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

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
	if opts.Kubeconfig == "" && opts.Context == "" && opts.InCluster {
		if cfg, err := rest.InClusterConfig(); err == nil {
			ns := "default"
			if b, err := os.ReadFile(saNamespaceFile); err == nil && strings.TrimSpace(string(b)) != "" {
				ns = strings.TrimSpace(string(b))
			}
			return &Target{Config: cfg, Namespace: ns, Context: "in-cluster"}, nil
		} else if !errors.Is(err, rest.ErrNotInCluster) {
			return nil, exitcode.Configf("cannot use the in-cluster service account: %v; mount the service-account token or pass --kubeconfig", err)
		}
	}

	rules, err := loadingRules(opts.Kubeconfig)
	if err != nil {
		return nil, err
	}
	overrides := &clientcmd.ConfigOverrides{CurrentContext: opts.Context}
	cc := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, overrides)

	raw, err := cc.RawConfig()
	if err != nil {
		return nil, exitcode.Configf("cannot load kubeconfig %s: %v; fix the file or pass --kubeconfig with a valid one", describe(rules), err)
	}
	cfg, err := cc.ClientConfig()
	if err != nil {
		switch {
		case clientcmd.IsEmptyConfig(err):
			return nil, exitcode.Configf("no kubeconfig found (looked in %s) and not running in a cluster; pass --kubeconfig or set KUBECONFIG", describe(rules))
		case opts.Context != "" && raw.Contexts[opts.Context] == nil:
			return nil, exitcode.Configf("context %q not found in kubeconfig %s; pick one of %s with --context", opts.Context, describe(rules), contextNames(raw.Contexts))
		default:
			return nil, exitcode.Configf("invalid kubeconfig %s: %v; fix the file or pass --kubeconfig with a valid one", describe(rules), err)
		}
	}
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
			return nil, exitcode.Configf("cannot read kubeconfig %q: %v; pass --kubeconfig with an existing file", kubeconfig, unwrapPath(err))
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
		return nil, exitcode.Configf("cannot load kubeconfig %s: %v; fix the file or pass --kubeconfig with a valid one", describe(rules), err)
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

func contextNames[V any](m map[string]V) string {
	if len(m) == 0 {
		return "none (the file has no contexts)"
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
