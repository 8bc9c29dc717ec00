package main

import (
	"bytes"
	"maps"
	"path/filepath"
	"regexp"
	"runtime/debug"
	"slices"
	"strings"
	"testing"
)

func runCaptured(argv0 string, args ...string) (stdout, stderr string, code int) {
	var o, e bytes.Buffer
	code = runAs(argv0, args, &o, &e)
	return o.String(), e.String(), code
}

func TestVersionFlag(t *testing.T) {
	cmdOut, _, cmdCode := runCaptured("leader-elector", "version")
	for _, args := range [][]string{{"--version"}, {"watch", "--version"}} {
		out, errOut, code := runCaptured("leader-elector", args...)
		if code != 0 || errOut != "" {
			t.Errorf("%v: exit %d, stderr %q; want 0 and nothing", args, code, errOut)
		}
		if out != cmdOut || cmdCode != 0 {
			t.Errorf("%v prints %q, `version` prints %q (exit %d): want the same", args, out, cmdOut, cmdCode)
		}
	}
	if !strings.HasPrefix(cmdOut, "leader-elector ") {
		t.Errorf("version prints %q", cmdOut)
	}
	if out, _, code := runCaptured("/usr/local/bin/kubectl-leases", "--version"); code != 0 || out != cmdOut {
		t.Errorf("kubectl leases --version: exit %d, %q; want 0 and %q", code, out, cmdOut)
	}
}

func TestResolveVersion(t *testing.T) {
	settings := func(kv ...string) []debug.BuildSetting {
		var s []debug.BuildSetting
		for i := 0; i < len(kv); i += 2 {
			s = append(s, debug.BuildSetting{Key: kv[i], Value: kv[i+1]})
		}
		return s
	}
	tests := []struct {
		name             string
		v, c, d          string
		info             *debug.BuildInfo
		wantV, wantC, wD string
	}{{
		name: "goreleaser's ldflags win",
		v:    "v1.2.3", c: "abc", d: "2026-01-01",
		info:  &debug.BuildInfo{Main: debug.Module{Version: "v9.9.9"}},
		wantV: "v1.2.3", wantC: "abc", wD: "2026-01-01",
	}, {
		name: "go install module@version: the module's version",
		v:    "dev", c: "none", d: "unknown",
		info:  &debug.BuildInfo{Main: debug.Module{Version: "v1.4.0"}},
		wantV: "v1.4.0", wantC: "none", wD: "unknown",
	}, {
		name: "a checkout with VCS stamping: the commit and its time",
		v:    "dev", c: "none", d: "unknown",
		info:  &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: settings("vcs.revision", "f8d57da", "vcs.time", "2026-11-29T13:00:00Z", "vcs.modified", "true")},
		wantV: "dev", wantC: "f8d57da-dirty", wD: "2026-11-29T13:00:00Z",
	}, {
		name: "no build info",
		v:    "dev", c: "none", d: "unknown",
		wantV: "dev", wantC: "none", wD: "unknown",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, c, d := resolveVersion(tt.v, tt.c, tt.d, tt.info)
			if v != tt.wantV || c != tt.wantC || d != tt.wD {
				t.Errorf("got %s %s %s, want %s %s %s", v, c, d, tt.wantV, tt.wantC, tt.wD)
			}
		})
	}
}

// TestCompletion checks both halves: the script each shell sources, and the
// answers a shell then gets when it calls us back with COMP_LINE.
func TestCompletion(t *testing.T) {
	// The scripts name the command, never this binary's path, which goes
	// stale when an upgrade (Homebrew's, say) moves the binary.
	for shell, want := range map[string]string{
		"bash": "complete -o default -C leader-elector leader-elector\n",
		"zsh":  "bashcompinit\ncomplete -o default -C leader-elector leader-elector\n",
		"fish": "complete -f -c leader-elector -a \"(__complete_leader-elector)\"\n",
	} {
		out, errOut, code := runCaptured("leader-elector", "completion", shell)
		if code != 0 || !strings.Contains(out, want) {
			t.Errorf("completion %s: exit %d, stdout %q, stderr %q; want it to contain %q", shell, code, out, errOut, want)
		}
	}
	if _, errOut, code := runCaptured("leader-elector", "completion", "powershell"); code != 2 || !strings.Contains(errOut, `must be one of "bash","zsh","fish"`) {
		t.Errorf("completion powershell: exit %d, stderr %q; want 2 naming the shells", code, errOut)
	}

	tests := []struct {
		line string
		want []string
	}{
		{"leader-elector ", []string{"completion", "elect", "handover", "help", "version", "watch"}},
		{"leader-elector handover --ti", []string{"--timeout"}},
		{"leader-elector wa", []string{"watch"}},
		{"leader-elector watch -o ", []string{"auto", "custom-columns-file=", "custom-columns=", "go-template-file=", "go-template=", "json", "jsonpath-file=", "jsonpath=", "name", "tui", "wide", "yaml"}},
		{"leader-elector watch -o y", []string{"yaml"}},
		{"leader-elector watch --all-n", []string{"--all-namespaces"}},
		{"leader-elector elect --lease-d", []string{"--lease-duration"}},
		{"leader-elector --log-format ", []string{"json", "text"}},
		{"leader-elector completion ", []string{"bash", "fish", "zsh"}},
		{"leader-elector --as-g", []string{"--as-group"}},
	}
	for _, tt := range tests {
		t.Run(tt.line, func(t *testing.T) {
			t.Setenv("COMP_LINE", tt.line)
			t.Setenv("COMP_POINT", "")
			out, errOut, code := runCaptured("leader-elector", "ignored-by-completion")
			if code != 0 {
				t.Fatalf("exit %d, stderr %q", code, errOut)
			}
			got := strings.Fields(out)
			slices.Sort(got)
			if !slices.Equal(got, tt.want) {
				t.Errorf("completions %q, want %q", got, tt.want)
			}
		})
	}
}

// TestKubectlPlugin runs the command line as kubectl runs the plugin: by a
// path ending in kubectl-leases, with watch's flags at the top. The API
// server side is in e2e (TestKubectlLeasesPlugin).
func TestKubectlPlugin(t *testing.T) {
	kc := unreachableKubeconfig(t)
	tests := []struct {
		argv0      string
		args       []string
		wantCode   int
		wantStdout string
		wantStderr string
	}{{
		argv0: "/home/u/.krew/bin/kubectl-leases", args: []string{"--help"},
		wantStdout: "Usage: kubectl leases [<name> ...] [flags]",
	}, {
		argv0: `C:\krew\bin\kubectl-leases.exe`, args: []string{"--help"},
		wantStdout: "--all-namespaces",
	}, {
		argv0: "kubectl-leases", args: []string{"-n", "a", "-A", "--kubeconfig", kc},
		wantCode: 2, wantStderr: "-n a and -A both given: use one",
	}, {
		argv0: "kubectl-leases", args: []string{"-o", "json", "--connect-timeout", "1s", "--kubeconfig", kc, "--context", "x", "--as", "jane", "--as-group", "g", "--request-timeout", "5s"},
		wantCode: 1, wantStderr: "cannot reach the API server",
	}, {
		// No subcommands: a word is a Lease's name, as for kubectl get leases.
		argv0: "kubectl-leases", args: []string{"watch", "-A"},
		wantCode: 2, wantStderr: `a Lease cannot be named across all namespaces (watch): drop -A and give -n NAMESPACE`,
	}, {
		// handover NS/LEASE is the hand-over command (a name has no "/").
		argv0: "kubectl-leases", args: []string{"handover", "ns/lock", "--kubeconfig", kc},
		wantCode: 1, wantStderr: "cannot reach the API server",
	}, {
		argv0: "kubectl-leases", args: []string{"handover", "ns/lock", "--to", "x", "--timeout", "-1s"},
		wantCode: 2, wantStderr: "--timeout",
	}, {
		argv0: "kubectl-leases", args: []string{"--kubeconfig", kc, "--user", "nobody"},
		wantCode: 2, wantStderr: `user "nobody" not found`,
	}, {
		// Under any other name, the full command line.
		argv0: "/usr/bin/leader-elector", args: []string{"--help"},
		wantStdout: "Usage: leader-elector <command> [flags]",
	}}
	for _, tt := range tests {
		t.Run(strings.Join(append([]string{filepath.Base(tt.argv0)}, tt.args...), " "), func(t *testing.T) {
			out, errOut, code := runCaptured(tt.argv0, tt.args...)
			if code != tt.wantCode || !strings.Contains(out, tt.wantStdout) || !strings.Contains(errOut, tt.wantStderr) {
				t.Errorf("exit %d, stdout:\n%s\nstderr:\n%s\nwant exit %d, stdout with %q, stderr with %q", code, out, errOut, tt.wantCode, tt.wantStdout, tt.wantStderr)
			}
		})
	}
}

// TestEnvIsolation parses the real command line with an app's own settings in
// the environment, as a sidecar sharing an env block (or an exec-mode
// child's parent) sees them: none may change the sidecar's, and the
// LEADER_ELECTOR_ names must.
func TestEnvIsolation(t *testing.T) {
	appEnv := map[string]string{
		"HTTP_ADDR":      ":8080",
		"LOG_FORMAT":     "logfmt", // not even valid for us
		"GRACE":          "forever",
		"LEASE_DURATION": "1h",
		"RENEW_DEADLINE": "59m",
		"RETRY_PERIOD":   "1m",
		"STATUS_FILE":    "/app/status",
		"LEADER_FILE":    "/app/leader",
	}
	t.Run("the app's names do not reach the sidecar", func(t *testing.T) {
		c := parseCLI(t, appEnv, "elect", "--lease-name", "l")
		e := c.Elect
		got := map[string]string{
			"HTTP_ADDR": e.HTTPAddr, "LOG_FORMAT": c.LogFormat, "GRACE": e.Grace.String(),
			"LEASE_DURATION": e.LeaseDuration.String(), "RENEW_DEADLINE": e.RenewDeadline.String(),
			"RETRY_PERIOD": e.RetryPeriod.String(), "STATUS_FILE": e.StatusFile, "LEADER_FILE": e.LeaderFile,
		}
		want := map[string]string{
			"HTTP_ADDR": ":4040", "LOG_FORMAT": "text", "GRACE": "5s",
			"LEASE_DURATION": "15s", "RENEW_DEADLINE": "10s",
			"RETRY_PERIOD": "2s", "STATUS_FILE": "/tmp/leader_status", "LEADER_FILE": "",
		}
		for k := range want {
			if got[k] != want[k] {
				t.Errorf("the app's %s=%s reached the sidecar: its setting is %q, want the default %q", k, appEnv[k], got[k], want[k])
			}
		}
	})

	t.Run("LEADER_ELECTOR_ names do", func(t *testing.T) {
		set := map[string]string{
			"LEADER_ELECTOR_HTTP_ADDR": ":9090", "LEADER_ELECTOR_LOG_FORMAT": "json", "LEADER_ELECTOR_GRACE": "3s",
			"LEADER_ELECTOR_LEASE_DURATION": "20s", "LEADER_ELECTOR_RENEW_DEADLINE": "12s",
			"LEADER_ELECTOR_RETRY_PERIOD": "3s", "LEADER_ELECTOR_STATUS_FILE": "/run/l/status", "LEADER_ELECTOR_LEADER_FILE": "/run/l/leader",
		}
		env := maps.Clone(appEnv)
		maps.Copy(env, set)
		c := parseCLI(t, env, "elect", "--lease-name", "l")
		e := c.Elect
		got := map[string]string{
			"LEADER_ELECTOR_HTTP_ADDR": e.HTTPAddr, "LEADER_ELECTOR_LOG_FORMAT": c.LogFormat, "LEADER_ELECTOR_GRACE": e.Grace.String(),
			"LEADER_ELECTOR_LEASE_DURATION": e.LeaseDuration.String(), "LEADER_ELECTOR_RENEW_DEADLINE": e.RenewDeadline.String(),
			"LEADER_ELECTOR_RETRY_PERIOD": e.RetryPeriod.String(), "LEADER_ELECTOR_STATUS_FILE": e.StatusFile, "LEADER_ELECTOR_LEADER_FILE": e.LeaderFile,
		}
		for k, v := range set {
			if got[k] != v {
				t.Errorf("%s=%s: the sidecar's setting is %q", k, v, got[k])
			}
		}
	})

	t.Run("only the original's names and POD_NAME are unprefixed", func(t *testing.T) {
		var c cli
		parser, err := newParser(&c, "leader-elector", description, &bytes.Buffer{}, &bytes.Buffer{})
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range allFlags(parser.Model.Node) {
			for _, env := range f.Envs {
				if !strings.HasPrefix(env, "LEADER_ELECTOR_") && !slices.Contains([]string{"LEASE_NAME", "NAMESPACE", "POD_NAME"}, env) {
					t.Errorf("--%s reads $%s: only LEASE_NAME, NAMESPACE and POD_NAME may be unprefixed", f.Name, env)
				}
			}
		}
	})
}

// TestEmptyIdentity: given but empty is an error that names the fix (two
// hostNetwork pods share a hostname), on one line with exit 2. That missing
// keeps the hostname is in TestElectFlagMapping.
func TestEmptyIdentity(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		env  map[string]string
	}{
		{"--identity=", []string{"elect", "--lease-name", "l", "--identity="}, nil},
		{"POD_NAME empty", []string{"elect", "--lease-name", "l"}, map[string]string{"POD_NAME": ""}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			out, errOut, code := runCaptured("leader-elector", append(tc.args, "--kubeconfig", unreachableKubeconfig(t))...)
			if code != 2 || out != "" {
				t.Errorf("exit %d, stdout %q; want 2 and nothing", code, out)
			}
			for _, want := range []string{"the identity is empty", "set POD_NAME from the downward API (fieldRef metadata.name)", "pass a unique --identity"} {
				if !strings.Contains(errOut, want) {
					t.Errorf("stderr %q does not say %q", errOut, want)
				}
			}
			if strings.Count(strings.TrimSpace(errOut), "\n") != 0 {
				t.Errorf("stderr is more than one line: %q", errOut)
			}
		})
	}
}

// TestHelp: help as kubectl and stern write it: a command's own flags,
// examples, a help command, and usage errors in one line naming the fix.
func TestHelp(t *testing.T) {
	for _, args := range [][]string{{"help"}, {"help", "watch"}, {"watch", "--help"}, {"version", "--help"}} {
		out, errOut, code := runCaptured("leader-elector", args...)
		if code != 0 || errOut != "" || !strings.HasPrefix(out, "Usage: leader-elector") {
			t.Errorf("%q: exit %d, stderr %q, stdout %q", args, code, errOut, out)
		}
	}
	if out, _, _ := runCaptured("leader-elector", "version", "--help"); strings.Count(out, "\n") > 10 || strings.Contains(out, "--kubeconfig") {
		t.Errorf("version --help is %d lines, listing the global flags:\n%s", strings.Count(out, "\n"), out)
	}
	helpWatch, _, _ := runCaptured("leader-elector", "help", "watch")
	watchHelp, _, _ := runCaptured("leader-elector", "watch", "--help")
	if helpWatch != watchHelp {
		t.Errorf("help watch and watch --help differ")
	}
	for _, c := range []struct{ argv0, want string }{{"leader-elector", "leader-elector watch -A --once"}, {"kubectl-leases", "kubectl leases -A --once"}} {
		args := []string{"watch", "--help"}
		if c.argv0 == "kubectl-leases" {
			args = []string{"--help"}
		}
		out, _, _ := runCaptured(c.argv0, args...)
		if !strings.Contains(out, "Examples:") || !strings.Contains(out, c.want) || regexp.MustCompile(`\belect\b`).MatchString(out) {
			t.Errorf("%s %q has no examples with %q, or mentions elect:\n%s", c.argv0, args, c.want, out)
		}
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"watch", "-o"}, "leader-elector: --output needs a value, as in --output=VALUE; see --help\n"},
		{[]string{"watch", "--context"}, "leader-elector: --context needs a value, as in --context=VALUE; see --help\n"},
		{[]string{"help", "nope"}, "leader-elector: unexpected argument nope; see --help\n"},
	} {
		if _, errOut, code := runCaptured("leader-elector", c.args...); code != 2 || errOut != c.want {
			t.Errorf("%q: exit %d, stderr %q; want 2, %q", c.args, code, errOut, c.want)
		}
	}
}
