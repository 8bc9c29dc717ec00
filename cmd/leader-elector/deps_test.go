package main

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// The binary links what its two modes use and nothing else (issue 12):
// heavy packages that crept in once are named, and every module must be on
// the list below, each with why it is there. A new module fails this test
// until someone writes down why the binary needs it.
func TestBinaryLinksOnlyWhatItNeeds(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}} {{with .Module}}{{.Path}}{{end}}", ".").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	modules := map[string]bool{}
	for line := range strings.SplitSeq(strings.TrimSpace(string(out)), "\n") {
		pkg, mod, _ := strings.Cut(line, " ")
		for _, banned := range []string{
			"k8s.io/client-go/kubernetes",   // the clientset: every API group (internal/kubeclient instead)
			"k8s.io/client-go/discovery",    // links the OpenAPI models (kubeclient.Serves instead)
			"k8s.io/client-go/gentype",      // imports client-go/testing, server-side apply (kubeclient.Resource instead)
			"k8s.io/client-go/tools/record", // needs the clientset's scheme (elect's eventSender instead)
			"k8s.io/api/core/v1",            // links every core kind once imported (metadata for Pods, JSON for Events)
		} {
			if pkg == banned || strings.HasPrefix(pkg, banned+"/") {
				t.Errorf("the binary links %s", pkg)
			}
		}
		if mod != "" && mod != "github.com/leader-elector/leader-elector" {
			modules[mod] = true
		}
	}
	needed := map[string]string{
		"github.com/alecthomas/kong":            "the command line",
		"github.com/willabides/kongplete":       "shell completion",
		"github.com/posener/complete":           "shell completion (kongplete)",
		"github.com/hashicorp/go-multierror":    "shell completion (complete's installer)",
		"github.com/hashicorp/errwrap":          "shell completion (go-multierror)",
		"github.com/riywo/loginshell":           "shell completion (kongplete)",
		"github.com/charmbracelet/bubbletea":    "the dashboard",
		"github.com/charmbracelet/bubbles":      "the dashboard",
		"github.com/charmbracelet/lipgloss":     "the dashboard",
		"github.com/charmbracelet/colorprofile": "the dashboard (lipgloss)",
		"github.com/charmbracelet/x/ansi":       "the dashboard (lipgloss)",
		"github.com/charmbracelet/x/cellbuf":    "the dashboard (lipgloss)",
		"github.com/charmbracelet/x/term":       "the dashboard (lipgloss)",
		"github.com/clipperhouse/displaywidth":  "the dashboard (x/ansi)",
		"github.com/clipperhouse/uax29/v2":      "the dashboard (x/ansi)",
		"github.com/atotto/clipboard":           "the dashboard (bubbles' text input, the filter)",
		"github.com/aymanbagabas/go-osc52/v2":   "the dashboard (termenv)",
		"github.com/lucasb-eyer/go-colorful":    "the dashboard (termenv)",
		"github.com/mattn/go-isatty":            "the dashboard (termenv)",
		"github.com/mattn/go-runewidth":         "the dashboard (x/ansi)",
		"github.com/muesli/ansi":                "the dashboard (bubbletea)",
		"github.com/muesli/cancelreader":        "the dashboard (bubbletea)",
		"github.com/muesli/termenv":             "the dashboard (lipgloss)",
		"github.com/rivo/uniseg":                "the dashboard (termenv)",
		"github.com/xo/terminfo":                "the dashboard (colorprofile)",
		"golang.org/x/term":                     "the terminal check; client-go's exec credentials",
		"golang.org/x/sys":                      "the child's process tree (subreaper)",
		"k8s.io/api":                            "Lease, LeaseCandidate, SelfSubjectAccessReview types",
		"k8s.io/apimachinery":                   "API machinery: metadata, decoding, errors",
		"k8s.io/client-go":                      "REST, kubeconfig, watch and reflector",
		"k8s.io/klog/v2":                        "client-go's logging",
		"k8s.io/utils":                          "clocks",
		"k8s.io/kube-openapi":                   "apimachinery's runtime (one small util package)",
		"github.com/go-logr/logr":               "client-go's logging, routed to slog",
		"github.com/fxamacker/cbor/v2":          "apimachinery's serializers",
		"github.com/x448/float16":               "apimachinery's serializers (cbor)",
		"github.com/json-iterator/go":           "apimachinery's runtime (structured-merge-diff)",
		"github.com/modern-go/concurrent":       "apimachinery's runtime (json-iterator)",
		"github.com/modern-go/reflect2":         "apimachinery's runtime (json-iterator)",
		"sigs.k8s.io/structured-merge-diff/v6":  "apimachinery's runtime",
		"sigs.k8s.io/json":                      "apimachinery's JSON",
		"sigs.k8s.io/yaml":                      "kubeconfig files",
		"go.yaml.in/yaml/v2":                    "kubeconfig files (sigs.k8s.io/yaml)",
		"sigs.k8s.io/randfill":                  "apimachinery's meta types",
		"gopkg.in/inf.v0":                       "apimachinery's quantities",
		"github.com/davecgh/go-spew":            "apimachinery (k8s.io/utils/dump)",
		"github.com/pmezard/go-difflib":         "apimachinery (util/diff)",
		"github.com/munnerz/goautoneg":          "client-go's content negotiation",
		"github.com/spf13/pflag":                "client-go's kubeconfig loading",
		"golang.org/x/net":                      "HTTP/2 to the API server",
		"golang.org/x/text":                     "HTTP/2 host names (x/net/idna)",
		"golang.org/x/oauth2":                   "client-go's token credentials",
		"golang.org/x/time":                     "client-go's rate limits; the Event spam limit",
		"k8s.io/cli-runtime":                    "watch --once prints with kubectl's own printers (-o yaml, name, jsonpath, go-template, the table)",
		"github.com/liggitt/tabwriter":          "kubectl's table printer (cli-runtime)",
		"github.com/moby/term":                  "kubectl's printers: the terminal check (cli-runtime)",
		"go.yaml.in/yaml/v3":                    "kubectl's YAML printer (sigs.k8s.io/yaml's kyaml, via cli-runtime)",
	}
	var unexplained []string
	for m := range modules {
		if _, ok := needed[m]; !ok {
			unexplained = append(unexplained, m)
		}
	}
	slices.Sort(unexplained)
	for _, m := range unexplained {
		t.Errorf("the binary links module %s, which is not on the list of what it needs: drop it or say why it is needed", m)
	}
	for m := range needed {
		if !modules[m] {
			t.Errorf("module %s is on the list but no longer linked: take it off", m)
		}
	}
}
