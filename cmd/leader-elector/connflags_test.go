package main

import (
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"testing"
	"time"

	"k8s.io/client-go/rest"

	"github.com/leader-elector/leader-elector/internal/kubeconfig"
)

// TestConnectionFlags: each of kubectl's connection flags, given to any
// command, changes the rest.Config it resolves to as kubectl's does, for
// every context watch follows.
func TestConnectionFlags(t *testing.T) {
	dir := t.TempDir()
	kc := filepath.Join(dir, "kubeconfig")
	const twoContexts = `apiVersion: v1
kind: Config
clusters:
- name: c
  cluster: {server: "https://kube.example:6443", certificate-authority-data: "` + "Y2E=" + `"}
users:
- name: u
  user: {token: from-kubeconfig}
contexts:
- name: a
  context: {cluster: c, user: u, namespace: team-a}
- name: b
  context: {cluster: c, user: u, namespace: team-b}
current-context: a
`
	if err := os.WriteFile(kc, []byte(twoContexts), 0o600); err != nil {
		t.Fatal(err)
	}
	// clientcmd reads the files it is given: they must exist.
	ca, crt, key := filepath.Join(dir, "ca.pem"), filepath.Join(dir, "me.crt"), filepath.Join(dir, "me.key")
	for _, f := range []string{ca, crt, key} {
		if err := os.WriteFile(f, []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name  string
		args  []string
		check func(c *rest.Config) bool
	}{
		{"no flag: the kubeconfig's", nil, func(c *rest.Config) bool {
			return c.Host == "https://kube.example:6443" && c.BearerToken == "from-kubeconfig" && string(c.CAData) == "ca" && !c.Insecure && c.Timeout == 0
		}},
		{"-s", []string{"-s", "https://other:443"}, func(c *rest.Config) bool { return c.Host == "https://other:443" }},
		{"--server", []string{"--server=https://other:443"}, func(c *rest.Config) bool { return c.Host == "https://other:443" }},
		{"--token", []string{"--token", "t0k"}, func(c *rest.Config) bool { return c.BearerToken == "t0k" }},
		{"--insecure-skip-tls-verify drops the CA, as kubectl's", []string{"--insecure-skip-tls-verify"}, func(c *rest.Config) bool {
			return c.Insecure && len(c.CAData) == 0 && c.CAFile == ""
		}},
		{"--certificate-authority", []string{"--certificate-authority", ca}, func(c *rest.Config) bool { return c.CAFile == ca && len(c.CAData) == 0 }},
		{"--client-certificate and --client-key", []string{"--client-certificate", crt, "--client-key", key}, func(c *rest.Config) bool {
			return c.CertFile == crt && c.KeyFile == key
		}},
		{"--tls-server-name", []string{"--tls-server-name", "kubernetes.default"}, func(c *rest.Config) bool { return c.ServerName == "kubernetes.default" }},
		{"--as, --as-group, --as-uid", []string{"--as", "jane", "--as-group", "g1", "--as-group", "g2", "--as-uid", "1234"}, func(c *rest.Config) bool {
			return c.Impersonate.UserName == "jane" && slices.Equal(c.Impersonate.Groups, []string{"g1", "g2"}) && c.Impersonate.UID == "1234"
		}},
		{"--request-timeout in bare seconds, as kubectl takes it", []string{"--request-timeout", "5"}, func(c *rest.Config) bool { return c.Timeout == 5*time.Second }},
		{"--request-timeout as a duration", []string{"--request-timeout=2m"}, func(c *rest.Config) bool { return c.Timeout == 2*time.Minute }},
		{"--request-timeout 0: no bound", []string{"--request-timeout", "0"}, func(c *rest.Config) bool { return c.Timeout == 0 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, cmd := range [][]string{{"watch", "--context", "a", "--context", "b"}, {"elect"}} {
				c := parseCLI(t, nil, slices.Concat(cmd, tt.args, []string{"--kubeconfig", kc})...)
				contexts := c.Context
				if len(contexts) == 0 {
					contexts = []string{""}
				}
				for _, name := range contexts {
					target, err := kubeconfig.Load(c.Globals.options(name, false, slog.New(slog.DiscardHandler)))
					if err != nil {
						t.Fatalf("%q: %v", cmd, err)
					}
					if !tt.check(target.Config) {
						t.Errorf("%q %q, context %q: rest.Config %+v", cmd, tt.args, name, target.Config)
					}
				}
			}
		})
	}
}

// TestServerWithoutKubeconfig: --server and --token reach an API server
// with no kubeconfig at all, as with kubectl.
func TestServerWithoutKubeconfig(t *testing.T) {
	t.Setenv("KUBECONFIG", filepath.Join(t.TempDir(), "none"))
	t.Setenv("HOME", t.TempDir())
	c := parseCLI(t, nil, "watch", "-s", "https://10.0.0.1:6443", "--token", "t", "--insecure-skip-tls-verify")
	target, err := kubeconfig.Load(c.Globals.options("", false, slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	if target.Config.Host != "https://10.0.0.1:6443" || target.Config.BearerToken != "t" || target.Namespace != "default" {
		t.Errorf("got %+v in namespace %q", target.Config, target.Namespace)
	}
}

// TestKubectlSpellings: what kubectl users type for -v and
// --request-timeout parses; what it refuses is one line naming the fix.
func TestKubectlSpellings(t *testing.T) {
	for _, tc := range []struct {
		args    []string
		verbose bool
		timeout time.Duration
	}{
		{[]string{"watch"}, false, 0},
		{[]string{"watch", "-v"}, true, 0},
		{[]string{"watch", "-v=4"}, true, 0},
		{[]string{"watch", "-v4"}, true, 0},
		{[]string{"watch", "-v=0"}, false, 0},
		{[]string{"-v=6", "watch", "--request-timeout=30"}, true, 30 * time.Second},
		{[]string{"watch", "--verbose=2"}, true, 0},
	} {
		c := parseCLI(t, nil, kubectlSpelling(tc.args)...)
		if bool(c.Verbose) != tc.verbose || time.Duration(c.RequestTimeout) != tc.timeout {
			t.Errorf("%q: verbose %v, timeout %s; want %v, %s", tc.args, c.Verbose, time.Duration(c.RequestTimeout), tc.verbose, tc.timeout)
		}
	}
	if got := kubectlSpelling([]string{"elect", "--", "/app", "-v=3"}); !reflect.DeepEqual(got, []string{"elect", "--", "/app", "-v=3"}) {
		t.Errorf("the command after -- was rewritten: %q", got)
	}
	for _, args := range [][]string{{"watch", "--request-timeout", "-5"}, {"watch", "--request-timeout", "soon"}, {"watch", "-v=loud"}} {
		_, errOut, code := runCaptured("leader-elector", args...)
		if code != 2 {
			t.Errorf("%q: exit %d, stderr %q; want 2", args, code, errOut)
		}
	}
}
