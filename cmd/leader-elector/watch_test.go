package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// unreachableKubeconfig points at a port nothing listens on.
func unreachableKubeconfig(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "kubeconfig")
	const kc = `apiVersion: v1
kind: Config
clusters:
- name: c
  cluster: {server: "https://127.0.0.1:1", insecure-skip-tls-verify: true}
users:
- name: u
  user: {token: t}
contexts:
- name: x
  context: {cluster: c, user: u, namespace: ns}
current-context: x
`
	if err := os.WriteFile(path, []byte(kc), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestWatchCommandErrors(t *testing.T) {
	kc := unreachableKubeconfig(t)
	tests := []struct {
		name       string
		args       []string
		wantCode   int
		wantStderr string
		minTime    time.Duration
	}{{
		name:       "unreachable API server in json mode gives up after --connect-timeout",
		args:       []string{"watch", "-o", "json", "--connect-timeout", "1s", "--kubeconfig", kc},
		wantCode:   1,
		wantStderr: "cannot reach the API server within the connect timeout (1s)",
		minTime:    time.Second,
	}, {
		name:       "-n and -A together",
		args:       []string{"watch", "-n", "a", "-A", "--kubeconfig", kc},
		wantCode:   2,
		wantStderr: "-n a and -A both given: use one",
	}, {
		name:       "bad selector",
		args:       []string{"watch", "-l", "a=b=c", "--kubeconfig", kc},
		wantCode:   2,
		wantStderr: "invalid --selector",
	}, {
		name:       "unknown output",
		args:       []string{"watch", "-o", "yaml", "--kubeconfig", kc},
		wantCode:   2,
		wantStderr: "see --help",
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			began := time.Now()
			code := run(tc.args, &stdout, &stderr)
			took := time.Since(began)
			if code != tc.wantCode {
				t.Fatalf("exit %d, want %d; stderr %q", code, tc.wantCode, stderr.String())
			}
			lines := strings.Split(strings.TrimSpace(stderr.String()), "\n")
			if !strings.Contains(lines[len(lines)-1], tc.wantStderr) {
				t.Errorf("stderr %q, want its last line to contain %q", stderr.String(), tc.wantStderr)
			}
			if took < tc.minTime {
				t.Errorf("ended after %s, before %s", took, tc.minTime)
			}
			// Whatever reached stdout is JSON lines (the retries, as error events).
			for _, l := range strings.Split(strings.TrimSpace(stdout.String()), "\n") {
				if l == "" {
					continue
				}
				var m map[string]any
				if err := json.Unmarshal([]byte(l), &m); err != nil || m["type"] != "error" {
					t.Errorf("stdout line %q: %v", l, err)
				}
			}
		})
	}
}
