package kubeconfig

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"k8s.io/client-go/rest"

	"github.com/leader-elector/leader-elector/internal/exitcode"
)

const validKubeconfig = `apiVersion: v1
kind: Config
clusters:
- name: c1
  cluster: {server: "https://127.0.0.1:6443"}
- name: c2
  cluster: {server: "https://127.0.0.2:6443"}
users:
- name: u
  user: {token: t}
contexts:
- name: one
  context: {cluster: c1, user: u, namespace: team-a}
- name: two
  context: {cluster: c2, user: u}
current-context: one
`

const secondFile = `apiVersion: v1
kind: Config
clusters:
- name: c3
  cluster: {server: "https://127.0.0.3:6443"}
users:
- name: u3
  user: {token: t3}
contexts:
- name: three
  context: {cluster: c3, user: u3, namespace: team-c}
`

func write(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoad(t *testing.T) {
	good := write(t, "config", validKubeconfig)
	second := write(t, "second", secondFile)
	regular := write(t, "regular", "x")
	tests := []struct {
		name       string
		opts       Options
		kubeconfig string // $KUBECONFIG
		wantHost   string
		wantNS     string
		wantErr    string // substring; the error must be a config error
	}{
		{name: "explicit file, current context", opts: Options{Kubeconfig: good}, wantHost: "https://127.0.0.1:6443", wantNS: "team-a"},
		{name: "context override, no namespace", opts: Options{Kubeconfig: good, Context: "two"}, wantHost: "https://127.0.0.2:6443", wantNS: "default"},
		{name: "KUBECONFIG list merges files", opts: Options{Context: "three"}, kubeconfig: good + string(os.PathListSeparator) + second, wantHost: "https://127.0.0.3:6443", wantNS: "team-c"},
		{name: "in-cluster falls back to KUBECONFIG outside a pod", opts: Options{InCluster: true}, kubeconfig: good, wantHost: "https://127.0.0.1:6443", wantNS: "team-a"},
		{name: "missing file", opts: Options{Kubeconfig: "/nonexistent/config"}, wantErr: `cannot read kubeconfig "/nonexistent/config": no such file or directory; pass --kubeconfig with an existing file`},
		{name: "path under a regular file", opts: Options{Kubeconfig: filepath.Join(regular, "config")}, wantErr: "not a directory"},
		{name: "invalid YAML", opts: Options{Kubeconfig: write(t, "bad", "clusters: [unclosed")}, wantErr: "fix the file or pass --kubeconfig"},
		{name: "missing context", opts: Options{Kubeconfig: good, Context: "nope"}, wantErr: `context "nope" not found in kubeconfig ` + good + "; pick one of one, two with --context"},
		{name: "empty config", opts: Options{Kubeconfig: write(t, "empty", "")}, wantErr: "pass --kubeconfig or set KUBECONFIG"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("KUBECONFIG", tt.kubeconfig)
			t.Setenv("KUBERNETES_SERVICE_HOST", "") // never in a cluster here
			got, err := Load(tt.opts)
			if tt.wantErr != "" {
				var coded *exitcode.Error
				if !errors.As(err, &coded) || coded.Code != exitcode.Config {
					t.Fatalf("err = %v, want a config error (exit 2)", err)
				}
				if !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %q, want it to contain %q", err, tt.wantErr)
				}
				if strings.Contains(err.Error(), "\n") {
					t.Errorf("err spans lines: %q", err)
				}
				if tt.name == "missing file" && !errors.Is(err, fs.ErrNotExist) {
					t.Errorf("err = %v: errors.Is does not find fs.ErrNotExist through it", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.Config.Host != tt.wantHost || got.Namespace != tt.wantNS {
				t.Errorf("got host %s ns %s, want %s %s", got.Config.Host, got.Namespace, tt.wantHost, tt.wantNS)
			}
		})
	}
}

// TestKubectlFlags checks that kubectl's connection flags change what
// kubectl would change: the cluster and user entries used, impersonation,
// the per-request timeout, and where warnings go.
func TestKubectlFlags(t *testing.T) {
	path := write(t, "config", strings.Replace(validKubeconfig, "users:\n- name: u\n  user: {token: t}\n",
		"users:\n- name: u\n  user: {token: t}\n- name: admin\n  user: {token: admin-token}\n", 1))
	warn := rest.NoWarnings{}
	tests := []struct {
		name    string
		opts    Options
		check   func(t *testing.T, c *rest.Config)
		wantErr string
	}{{
		name: "--cluster replaces the context's cluster",
		opts: Options{Kubeconfig: path, Cluster: "c2"},
		check: func(t *testing.T, c *rest.Config) {
			if c.Host != "https://127.0.0.2:6443" {
				t.Errorf("host %s, want c2's https://127.0.0.2:6443", c.Host)
			}
		},
	}, {
		name: "--user replaces the context's user",
		opts: Options{Kubeconfig: path, User: "admin"},
		check: func(t *testing.T, c *rest.Config) {
			if c.BearerToken != "admin-token" {
				t.Errorf("token %q, want admin's", c.BearerToken)
			}
		},
	}, {
		name: "--as and --as-group impersonate",
		opts: Options{Kubeconfig: path, As: "jane", AsGroups: []string{"viewers", "ops"}},
		check: func(t *testing.T, c *rest.Config) {
			if c.Impersonate.UserName != "jane" || strings.Join(c.Impersonate.Groups, ",") != "viewers,ops" {
				t.Errorf("impersonate %+v, want jane in viewers,ops", c.Impersonate)
			}
		},
	}, {
		name: "--request-timeout bounds each request",
		opts: Options{Kubeconfig: path, RequestTimeout: 1500 * time.Millisecond},
		check: func(t *testing.T, c *rest.Config) {
			if c.Timeout != 1500*time.Millisecond {
				t.Errorf("timeout %s, want 1.5s", c.Timeout)
			}
		},
	}, {
		name: "no flags: no impersonation, no timeout",
		opts: Options{Kubeconfig: path},
		check: func(t *testing.T, c *rest.Config) {
			if c.Impersonate.UserName != "" || len(c.Impersonate.Groups) != 0 || c.Timeout != 0 {
				t.Errorf("impersonate %+v timeout %s, want none", c.Impersonate, c.Timeout)
			}
		},
	}, {
		name: "the warning handler is set",
		opts: Options{Kubeconfig: path, Warnings: warn},
		check: func(t *testing.T, c *rest.Config) {
			if c.WarningHandler != warn {
				t.Errorf("warning handler %v, want the one given", c.WarningHandler)
			}
		},
	}, {
		name:    "unknown --cluster",
		opts:    Options{Kubeconfig: path, Cluster: "nope"},
		wantErr: `cluster "nope" not found in kubeconfig ` + path + "; pick one of c1, c2 with --cluster",
	}, {
		name:    "unknown --user",
		opts:    Options{Kubeconfig: path, User: "nope"},
		wantErr: `user "nope" not found in kubeconfig ` + path + "; pick one of admin, u with --user",
	}, {
		name:    "negative --request-timeout",
		opts:    Options{Kubeconfig: path, RequestTimeout: -time.Second},
		wantErr: "--request-timeout -1s is negative",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("KUBECONFIG", "")
			t.Setenv("KUBERNETES_SERVICE_HOST", "")
			got, err := Load(tt.opts)
			if tt.wantErr != "" {
				var coded *exitcode.Error
				if !errors.As(err, &coded) || coded.Code != exitcode.Config || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want a config error containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, got.Config)
		})
	}
}

func TestContextNames(t *testing.T) {
	good := write(t, "config", validKubeconfig)
	second := write(t, "second", secondFile)
	tests := []struct {
		name       string
		opts       Options
		kubeconfig string // $KUBECONFIG
		want       string
		wantErr    string
	}{
		{name: "explicit file", opts: Options{Kubeconfig: good}, want: "one,two"},
		{name: "KUBECONFIG list merges files", kubeconfig: second + string(os.PathListSeparator) + good, want: "one,three,two"},
		{name: "missing file", opts: Options{Kubeconfig: "/nonexistent/config"}, wantErr: "pass --kubeconfig with an existing file"},
		{name: "no contexts", opts: Options{Kubeconfig: write(t, "empty", "apiVersion: v1\nkind: Config\n")}, wantErr: "no contexts in kubeconfig"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("KUBECONFIG", tt.kubeconfig)
			got, err := ContextNames(tt.opts)
			if tt.wantErr != "" {
				var coded *exitcode.Error
				if !errors.As(err, &coded) || coded.Code != exitcode.Config || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want a config error containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || strings.Join(got, ",") != tt.want {
				t.Errorf("got %v, %v; want %s", got, err, tt.want)
			}
		})
	}
}
