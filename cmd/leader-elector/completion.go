package main

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/posener/complete"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/leader-elector/leader-elector/internal/kubeconfig"
)

// completionCmd prints the shell glue that makes the shell call us back for
// completions. The completions themselves come from the Kong model through
// kongplete.Complete in runAs (posener/complete's COMP_LINE protocol), so
// they cannot drift from the flags. The glue is kongplete's own, which it
// only writes after guessing the login shell; here the user names it.
type completionCmd struct {
	Shell string `arg:"" enum:"bash,zsh,fish" help:"The shell: ${enum}. For bash: source <(leader-elector completion bash)."`
}

// outputFormats are watch's -o values, completed: the live ones and
// kubectl get's for --once.
var outputFormats = []string{"auto", "tui", "json", "wide", "yaml", "name",
	"jsonpath=", "jsonpath-file=", "go-template=", "go-template-file=", "custom-columns=", "custom-columns-file="}

// kubeconfigPredictor completes names from the kubeconfig that the
// command line being completed names (its --kubeconfig, else KUBECONFIG,
// else ~/.kube/config); nothing when it cannot be read.
func kubeconfigPredictor(names func(*clientcmdapi.Config) []string) complete.Predictor {
	return complete.PredictFunc(func(a complete.Args) []string {
		path := ""
		for i, w := range a.All {
			if v, ok := strings.CutPrefix(w, "--kubeconfig="); ok {
				path = v
			} else if w == "--kubeconfig" && i+1 < len(a.All) {
				path = a.All[i+1]
			}
		}
		cfg, err := kubeconfig.Raw(path)
		if err != nil {
			return nil
		}
		return names(cfg)
	})
}

func contextNames(c *clientcmdapi.Config) []string { return slices.Sorted(maps.Keys(c.Contexts)) }
func clusterNames(c *clientcmdapi.Config) []string { return slices.Sorted(maps.Keys(c.Clusters)) }
func userNames(c *clientcmdapi.Config) []string    { return slices.Sorted(maps.Keys(c.AuthInfos)) }

var completionScripts = map[string]string{
	"bash": "complete -C {bin} {cmd}\n",
	"zsh": `autoload -U +X bashcompinit && bashcompinit
complete -C {bin} {cmd}
`,
	"fish": `function __complete_{cmd}
    set -lx COMP_LINE (commandline -cp)
    test -z (commandline -ct)
    and set COMP_LINE "$COMP_LINE "
    {bin}
end
complete -f -c {cmd} -a "(__complete_{cmd})"
`,
}

func (c *completionCmd) Run(env *runEnv) error {
	bin, err := os.Executable()
	if err != nil {
		return fmt.Errorf("finding this executable's path for the completion script: %w", err)
	}
	if bin, err = filepath.Abs(bin); err != nil {
		return fmt.Errorf("finding this executable's path for the completion script: %w", err)
	}
	script := strings.NewReplacer("{bin}", shellQuote(bin), "{cmd}", "leader-elector").Replace(completionScripts[c.Shell])
	_, err = fmt.Fprint(env.Stdout, script)
	return err
}

// shellQuote quotes s for bash, zsh and fish alike (single quotes; a single
// quote inside ends the quote, escapes itself and reopens it).
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/._-+") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
