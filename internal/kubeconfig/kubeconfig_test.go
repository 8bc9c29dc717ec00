package kubeconfig

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

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
