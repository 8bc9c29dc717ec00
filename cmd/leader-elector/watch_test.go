package main

import (
	"bytes"
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"slices"
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

// silentKubeconfig points at a server that accepts connections and never
// answers.
func silentKubeconfig(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			t.Cleanup(func() { _ = c.Close() })
		}
	}()
	path := unreachableKubeconfig(t)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return writeFile(t, strings.Replace(string(b), "127.0.0.1:1", ln.Addr().String(), 1))
}

func writeFile(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestWatchCommandErrors(t *testing.T) {
	kc := unreachableKubeconfig(t)
	silent := silentKubeconfig(t)
	tests := []struct {
		name       string
		args       []string
		wantCode   int
		wantStderr string
		minTime    time.Duration
		maxTime    time.Duration
	}{{
		name:       "a silent API server in json mode: give up after --connect-timeout",
		args:       []string{"watch", "-o", "json", "--connect-timeout", "1s", "--kubeconfig", silent},
		wantCode:   1,
		wantStderr: "cannot reach the API server within the connect timeout (1s)",
		minTime:    time.Second,
	}, {
		name:       "a refused connection in json mode fails at once, as kubectl",
		args:       []string{"watch", "-o", "json", "--kubeconfig", kc},
		wantCode:   1,
		wantStderr: "cannot reach the API server: ",
		maxTime:    5 * time.Second,
	}, {
		name:       "a refused connection with --once fails at once, nothing on stdout",
		args:       []string{"watch", "--once", "--kubeconfig", kc},
		wantCode:   1,
		wantStderr: "connection refused; check the server address",
		maxTime:    5 * time.Second,
	}, {
		name:       "a silent API server with --once: give up after --connect-timeout",
		args:       []string{"watch", "--once", "--connect-timeout", "1s", "--kubeconfig", silent},
		wantCode:   1,
		wantStderr: "cannot reach the API server within the connect timeout (1s)",
		minTime:    time.Second,
	}, {
		name:       "-o yaml without --once",
		args:       []string{"watch", "-o", "yaml", "--kubeconfig", kc},
		wantCode:   2,
		wantStderr: "-o yaml is kubectl get's output, for --once: add --once",
	}, {
		name:       "a bad JSONPath",
		args:       []string{"watch", "--once", "-o", "jsonpath={.items[", "--kubeconfig", kc},
		wantCode:   2,
		wantStderr: "-o jsonpath: unterminated array",
	}, {
		name:       "a bad --sort-by",
		args:       []string{"watch", "--once", "--sort-by", "{.spec[", "--kubeconfig", kc},
		wantCode:   2,
		wantStderr: "--sort-by",
	}, {
		name:       "--no-headers without --once",
		args:       []string{"watch", "--no-headers", "--kubeconfig", kc},
		wantCode:   2,
		wantStderr: "shape --once's output: add --once",
	}, {
		name:       "an empty recording",
		args:       []string{"watch", "--replay", writeFile(t, "")},
		wantCode:   2,
		wantStderr: "holds no events",
	}, {
		name:       "a recording with only its header",
		args:       []string{"watch", "--replay", writeFile(t, `{"type": "header", "format": 1, "contexts": ["x"], "start": "2026-11-25T03:12:00Z"}`+"\n")},
		wantCode:   2,
		wantStderr: "holds no events",
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
		name:       "--all-contexts and --context together",
		args:       []string{"watch", "--all-contexts", "--context", "x", "--kubeconfig", kc},
		wantCode:   2,
		wantStderr: "--all-contexts and --context both given: use one",
	}, {
		name:       "-o wide without --once",
		args:       []string{"watch", "-o", "wide", "--kubeconfig", kc},
		wantCode:   2,
		wantStderr: "-o wide is a table for --once",
	}, {
		name:       "--once with --record",
		args:       []string{"watch", "--once", "--record", "x.jsonl", "--kubeconfig", kc},
		wantCode:   2,
		wantStderr: "cannot be combined with --record or --replay",
	}, {
		name:       "--replay with a namespace",
		args:       []string{"watch", "--replay", "x.jsonl", "-n", "a"},
		wantCode:   2,
		wantStderr: "--replay shows what the recording holds",
	}, {
		name:       "--speed without --replay",
		args:       []string{"watch", "--speed", "2", "--kubeconfig", kc},
		wantCode:   2,
		wantStderr: "--speed paces a replay: add --replay FILE",
	}, {
		name:       "negative --speed",
		args:       []string{"watch", "--replay", "x.jsonl", "--speed=-1"},
		wantCode:   2,
		wantStderr: "give a speed of 0 (as fast as possible) or more",
	}, {
		name:       "--replay of a missing file",
		args:       []string{"watch", "--replay", filepath.Join(filepath.Dir(kc), "nope.jsonl")},
		wantCode:   2,
		wantStderr: "cannot open the recording: no such file or directory",
	}, {
		name:       "--record into a file that exists",
		args:       []string{"watch", "-o", "json", "--record", kc, "--kubeconfig", kc},
		wantCode:   2,
		wantStderr: "the file exists; choose a new name",
	}, {
		name:       "a context named twice for elect",
		args:       []string{"elect", "--lease-name", "x", "--namespace", "ns", "--context", "x", "--context", "y", "--kubeconfig", kc, "--http-addr", ""},
		wantCode:   2,
		wantStderr: "--context given 2 times: only watch follows several contexts",
	}, {
		name:       "a context the kubeconfig lacks, among several",
		args:       []string{"watch", "-o", "json", "--context", "x", "--context", "y", "--kubeconfig", kc},
		wantCode:   2,
		wantStderr: `context "y" not found`,
	}, {
		name:       "unknown output",
		args:       []string{"watch", "-o", "yml", "--kubeconfig", kc},
		wantCode:   2,
		wantStderr: `unknown -o "yml": use one of json, yaml`,
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
			if tc.maxTime > 0 && took > tc.maxTime {
				t.Errorf("ended after %s, later than %s", took, tc.maxTime)
			}
			if slices.Contains(tc.args, "--once") && stdout.Len() > 0 {
				t.Errorf("--once printed on stdout with no answer from an API server: %q", stdout.String())
			}
			if tc.wantCode == 2 && stdout.Len() > 0 {
				t.Errorf("a usage error printed on stdout: %q", stdout.String())
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

// TestReplayJSON: --replay -o json re-emits a recording's events exactly
// as recorded (so it can be filtered and tested), a damaged one up to the
// damage with the line named, and a file that is no recording is refused.
func TestReplayJSON(t *testing.T) {
	dir := t.TempDir()
	const header = `{"type":"header","format":1,"version":"dev","contexts":["prod-eu","prod-us"],"namespace":"kube-system","start":"2026-11-25T03:11:59Z"}`
	events := []string{
		`{"type":"added","time":"2026-11-25T03:12:00Z","context":"prod-eu","lease":{"namespace":"kube-system","name":"kube-scheduler","holder":"cp-1","renewTime":"2026-11-25T03:11:59Z","leaseDurationSeconds":15,"leaseTransitions":4,"observed":"2026-11-25T03:12:00Z","expiresAt":"2026-11-25T03:12:14Z","status":"held"}}`,
		`{"type":"synced","time":"2026-11-25T03:12:00Z","context":"prod-eu"}`,
		`{"type":"error","time":"2026-11-25T03:12:01Z","context":"prod-us","message":"cannot reach the API server","connection":"lost"}`,
		`{"type":"transition","time":"2026-11-25T03:12:30.25Z","context":"prod-eu","lease":{"namespace":"kube-system","name":"kube-scheduler","holder":"cp-2","acquireTime":"2026-11-25T03:12:30Z","renewTime":"2026-11-25T03:12:30Z","leaseDurationSeconds":15,"leaseTransitions":5,"observed":"2026-11-25T03:12:30.25Z","expiresAt":"2026-11-25T03:12:45.25Z","status":"held"},"from":"cp-1","to":"cp-2","gapSeconds":31,"gapFrom":"renewal"}`,
	}
	write := func(name, body string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	whole := strings.Join(append([]string{header}, events...), "\n") + "\n"
	tests := []struct {
		name       string
		file       string
		wantCode   int
		wantStdout string
		wantStderr string
	}{
		{"whole", write("whole.jsonl", whole), 0, strings.Join(events, "\n") + "\n", ""},
		{"plain -o json output", write("plain.jsonl", strings.Join(events, "\n")+"\n"), 0, strings.Join(events, "\n") + "\n", ""},
		{"cut short", write("cut.jsonl", whole[:len(whole)-40]), 1, strings.Join(events[:3], "\n") + "\n",
			"replay stopped at line 5 (cut short"},
		{"corrupt in the middle", write("corrupt.jsonl", header+"\n"+events[0]+"\n"+"\x00\x01garbage\n"+events[1]+"\n"), 1, events[0] + "\n",
			"replay stopped at line 3"},
		{"no recording", write("notes.txt", "meeting notes\n"), 2, "", "is not a recording (line 1:"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run([]string{"watch", "--replay", tc.file, "-o", "json"}, &stdout, &stderr)
			if code != tc.wantCode {
				t.Fatalf("exit %d, want %d; stderr %q", code, tc.wantCode, stderr.String())
			}
			if stdout.String() != tc.wantStdout {
				t.Errorf("stdout:\n%s\nwant:\n%s", stdout.String(), tc.wantStdout)
			}
			if !strings.Contains(stderr.String(), tc.wantStderr) || tc.wantStderr == "" && stderr.Len() > 0 {
				t.Errorf("stderr %q, want it to contain %q", stderr.String(), tc.wantStderr)
			}
		})
	}
}
