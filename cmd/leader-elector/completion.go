package main

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/alecthomas/kong"
	"github.com/posener/complete"
	"github.com/willabides/kongplete"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/leader-elector/leader-elector/internal/kubeclient"
	"github.com/leader-elector/leader-elector/internal/kubeconfig"
)

// completionCmd prints the shell glue that makes the shell call us back for
// completions. The completions themselves come from the Kong model through
// kongplete (posener/complete's COMP_LINE protocol), so they cannot drift
// from the flags; values come from the kubeconfig and, for namespaces,
// from the API server. The glue names the command, not this binary's
// path, so it survives an upgrade that moves the binary.
type completionCmd struct {
	Shell string `arg:"" enum:"bash,zsh,fish" help:"The shell: ${enum}. For bash: source <(leader-elector completion bash)."`
}

var completionScripts = map[string]string{
	"bash": "complete -o default -C {cmd} {cmd}\n",
	"zsh": `(( $+functions[compdef] )) || { autoload -U +X compinit && compinit }
autoload -U +X bashcompinit && bashcompinit
complete -o default -C {cmd} {cmd}
`,
	"fish": `function __complete_{cmd}
    set -lx COMP_LINE (commandline -cp)
    test -z (commandline -ct)
    and set COMP_LINE "$COMP_LINE "
    {cmd}
end
complete -f -c {cmd} -a "(__complete_{cmd})"
`,
}

// Run prints the script for the shell.
func (c *completionCmd) Run(env *runEnv) error {
	script := strings.ReplaceAll(completionScripts[c.Shell], "{cmd}", "leader-elector")
	_, err := fmt.Fprint(env.Stdout, script)
	return err
}

// outputFormats are watch's -o values, completed: the live ones and
// kubectl get's for --once.
var outputFormats = []string{"auto", "tui", "json", "wide", "yaml", "name",
	"jsonpath=", "jsonpath-file=", "go-template=", "go-template-file=", "custom-columns=", "custom-columns-file="}

// completionTimeout bounds a question to the API server while the user
// waits at a TAB.
const completionTimeout = 2 * time.Second

// predictors are the value completions the flags' predictor tags name.
func predictors() []kongplete.Option {
	return []kongplete.Option{
		kongplete.WithPredictor("output", complete.PredictSet(outputFormats...)),
		kongplete.WithPredictor("file", complete.PredictFiles("*")),
		kongplete.WithPredictor("context", kubeconfigPredictor(contextNames)),
		kongplete.WithPredictor("cluster", kubeconfigPredictor(clusterNames)),
		kongplete.WithPredictor("user", kubeconfigPredictor(userNames)),
		kongplete.WithPredictor("namespace", complete.PredictFunc(namespaces)),
		kongplete.WithPredictor("lease", complete.PredictFunc(leaseNames)),
	}
}

// flagValue is the value of the last of the flags names given in words
// (--flag value or --flag=value), "" when none is.
func flagValue(words []string, names ...string) string {
	v := ""
	for i, w := range words {
		for _, n := range names {
			if rest, ok := strings.CutPrefix(w, n+"="); ok {
				v = rest
			} else if w == n && i+1 < len(words) {
				v = words[i+1]
			}
		}
	}
	return v
}

// kubeconfigPredictor completes names from the kubeconfig that the
// command line being completed names (its --kubeconfig, else KUBECONFIG,
// else ~/.kube/config); nothing when it cannot be read.
func kubeconfigPredictor(names func(*clientcmdapi.Config) []string) complete.Predictor {
	return complete.PredictFunc(func(a complete.Args) []string {
		cfg, err := kubeconfig.Raw(flagValue(a.All, "--kubeconfig"))
		if err != nil {
			return nil
		}
		return names(cfg)
	})
}

func contextNames(c *clientcmdapi.Config) []string { return slices.Sorted(maps.Keys(c.Contexts)) }
func clusterNames(c *clientcmdapi.Config) []string { return slices.Sorted(maps.Keys(c.Clusters)) }
func userNames(c *clientcmdapi.Config) []string    { return slices.Sorted(maps.Keys(c.AuthInfos)) }

// namespaces asks the API server the command line points at for its
// namespaces, within completionTimeout; nothing when it does not answer in
// time.
func namespaces(a complete.Args) []string {
	return apiNames(a, schema.GroupVersionResource{Version: "v1", Resource: "namespaces"}, false)
}

// leaseNames asks it for the Leases of the line's namespace (-n, else the
// context's).
func leaseNames(a complete.Args) []string {
	return apiNames(a, schema.GroupVersionResource{Group: "coordination.k8s.io", Version: "v1", Resource: "leases"}, true)
}

// apiNames lists the names of a resource (through the metadata client:
// names only) from the API server the line's flags point at.
func apiNames(a complete.Args, gvr schema.GroupVersionResource, namespaced bool) []string {
	g := Globals{
		Kubeconfig: flagValue(a.All, "--kubeconfig"), Cluster: flagValue(a.All, "--cluster"), User: flagValue(a.All, "--user"),
		Server: flagValue(a.All, "--server", "-s"), Token: flagValue(a.All, "--token"),
		CertificateAuthority: flagValue(a.All, "--certificate-authority"), TLSServerName: flagValue(a.All, "--tls-server-name"),
		InsecureSkipTLSVerify: slices.Contains(a.All, "--insecure-skip-tls-verify"),
		As:                    flagValue(a.All, "--as"),
	}
	target, err := kubeconfig.Load(g.options(flagValue(a.All, "--context"), false, slog.New(slog.DiscardHandler)))
	if err != nil {
		return nil
	}
	cfg := target.Config
	cfg.Timeout = completionTimeout
	clients, err := kubeclient.New(cfg)
	if err != nil {
		return nil
	}
	meta, err := clients.Metadata()
	if err != nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), completionTimeout)
	defer cancel()
	var list *metav1.PartialObjectMetadataList
	if namespaced {
		ns := cmp.Or(flagValue(a.All, "--namespace", "-n"), target.Namespace)
		list, err = meta.Resource(gvr).Namespace(ns).List(ctx, metav1.ListOptions{})
	} else {
		list, err = meta.Resource(gvr).List(ctx, metav1.ListOptions{})
	}
	if err != nil {
		return nil
	}
	names := make([]string, 0, len(list.Items))
	for i := range list.Items {
		names = append(names, list.Items[i].Name)
	}
	return names
}

// Cobra's completion directives, which kubectl's plugin completion reads.
const (
	cobraNoSpace    = 2
	cobraNoFileComp = 4
)

// cobraComplete answers kubectl's plugin completion: for
// `kubectl leases ARGS<TAB>`, kubectl (1.26 and later) runs
// `kubectl_complete-leases __complete ARGS...`, the last argument being
// the word under the cursor, and reads Cobra's format: one candidate a
// line, then ":DIRECTIVE". The candidates are those of the Kong model, as
// for the shells.
func cobraComplete(parser *kong.Kong, words []string, stdout io.Writer) error {
	cmd, err := kongplete.Command(parser, predictors()...)
	if err != nil {
		return fmt.Errorf("building the completions: %w", err)
	}
	if len(words) == 0 {
		words = []string{""}
	}
	all := slices.Clone(words)
	prefix := ""
	last := all[len(all)-1]
	if name, value, ok := strings.Cut(last, "="); ok && strings.HasPrefix(name, "-") {
		// --output=ya: complete the value, and answer with the whole word.
		all = append(all[:len(all)-1], name, value)
		prefix, last = name+"=", value
	}
	completed := all[:len(all)-1]
	args := complete.Args{All: all, Completed: completed, Last: last}
	if len(completed) > 0 {
		args.LastCompleted = completed[len(completed)-1]
	}
	directive := cobraNoFileComp
	var b strings.Builder
	for _, option := range cmd.Predict(args) {
		if !strings.HasPrefix(option, last) {
			continue
		}
		if strings.HasSuffix(option, "/") || strings.HasSuffix(option, "=") {
			directive |= cobraNoSpace
		}
		b.WriteString(prefix + option + "\n")
	}
	fmt.Fprintf(&b, ":%d\n", directive)
	_, err = io.WriteString(stdout, b.String())
	return err
}
