package main

import (
	"bytes"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/alecthomas/kong"

	"github.com/leader-elector/leader-elector/elect"
	"github.com/leader-elector/leader-elector/internal/exitcode"
	"github.com/leader-elector/leader-elector/internal/kubeconfig"
	"github.com/leader-elector/leader-elector/watch"
)

// allFlags returns the flags of node and of every command under it.
func allFlags(node *kong.Node) []*kong.Flag {
	flags := append([]*kong.Flag(nil), node.Flags...)
	for _, c := range node.Children {
		flags = append(flags, allFlags(c)...)
	}
	return flags
}

// parseCLI parses args as the real command line does, with env as the
// only environment variables any flag reads.
func parseCLI(t *testing.T, env map[string]string, args ...string) *cli {
	t.Helper()
	var c cli
	var out bytes.Buffer
	parser, err := newParser(&c, "leader-elector", description, &out, &out)
	if err != nil {
		t.Fatal(err)
	}
	clearFlagEnv(t, parser)
	for k, v := range env {
		t.Setenv(k, v)
	}
	if _, err := parser.Parse(args); err != nil {
		t.Fatalf("parsing %q: %v", args, err)
	}
	return &c
}

// clearFlagEnv unsets, for the test, every environment variable a flag of
// parser reads, so that the shell's (a LEASE_NAME or POD_NAME) cannot
// change a result.
func clearFlagEnv(t *testing.T, parser *kong.Kong) {
	t.Helper()
	for _, f := range allFlags(parser.Model.Node) {
		for _, name := range f.Envs {
			t.Setenv(name, "") // restores the variable after the test
			os.Unsetenv(name)
		}
	}
}

func hostnameIs(name string) func() (string, error) {
	return func() (string, error) { return name, nil }
}

// TestElectFlagMapping: the elect.Config that elect's flags and environment
// build, before the kubeconfig is read.
func TestElectFlagMapping(t *testing.T) {
	dur := func(d time.Duration) *time.Duration { return &d }
	// What `elect --lease-name l` gives on host node-1.
	defaults := func(change func(*elect.Config)) elect.Config {
		c := elect.Config{
			LeaseName: "l", Identity: "node-1",
			StatusFile:    elect.DefaultStatusFile,
			LeaseDuration: elect.DefaultLeaseDuration, RenewDeadline: elect.DefaultRenewDeadline,
			RetryPeriod: elect.DefaultRetryPeriod, Grace: elect.DefaultGrace,
			HTTPAddr: ":4040",
		}
		change(&c)
		return c
	}
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want elect.Config
	}{{
		name: "defaults: the hostname is the identity; the namespace is left to the kubeconfig",
		args: []string{"elect", "--lease-name", "l"},
		want: defaults(func(*elect.Config) {}),
	}, {
		name: "the original sidecar's environment, and POD_NAME from the downward API",
		env:  map[string]string{"LEASE_NAME": "l", "NAMESPACE": "team", "POD_NAME": "app-0"},
		args: []string{"elect"},
		want: defaults(func(c *elect.Config) { c.Namespace, c.Identity, c.PodName = "team", "app-0", "app-0" }),
	}, {
		name: "flags win over the environment",
		env:  map[string]string{"LEASE_NAME": "env", "NAMESPACE": "env", "LEADER_ELECTOR_HTTP_ADDR": ":1"},
		args: []string{"elect", "--lease-name", "l", "--namespace", "team", "--http-addr", ":2"},
		want: defaults(func(c *elect.Config) { c.Namespace, c.HTTPAddr = "team", ":2" }),
	}, {
		name: "--identity names the replica; the Pod to label is still POD_NAME's",
		env:  map[string]string{"POD_NAME": "app-0"},
		args: []string{"elect", "--lease-name", "l", "--identity", "replica-a", "--leader-label", "role=leader"},
		want: defaults(func(c *elect.Config) { c.Identity, c.PodName, c.LeaderLabel = "replica-a", "app-0", "role=leader" }),
	}, {
		name: "every other flag",
		args: []string{"elect", "--lease-name", "l", "--status-file", "/run/l/status", "--leader-file", "/run/l/leader",
			"--lease-duration", "20s", "--renew-deadline", "12s", "--retry-period", "3s", "--grace", "4s",
			"--release-delay", "1s", "--http-addr", ""},
		want: defaults(func(c *elect.Config) {
			c.StatusFile, c.LeaderFile = "/run/l/status", "/run/l/leader"
			c.LeaseDuration, c.RenewDeadline, c.RetryPeriod, c.Grace = 20*time.Second, 12*time.Second, 3*time.Second, 4*time.Second
			c.ReleaseDelay, c.HTTPAddr = dur(time.Second), ""
		}),
	}, {
		name: "the LEADER_ELECTOR_ environment",
		env: map[string]string{"LEADER_ELECTOR_STATUS_FILE": "/run/l/status", "LEADER_ELECTOR_LEADER_FILE": "/run/l/leader",
			"LEADER_ELECTOR_LEASE_DURATION": "20s", "LEADER_ELECTOR_RENEW_DEADLINE": "12s", "LEADER_ELECTOR_RETRY_PERIOD": "3s",
			"LEADER_ELECTOR_GRACE": "4s", "LEADER_ELECTOR_RELEASE_DELAY": "1s", "LEADER_ELECTOR_HTTP_ADDR": ":9",
			"LEADER_ELECTOR_LEADER_LABEL": "role=leader"},
		args: []string{"elect", "--lease-name", "l"},
		want: defaults(func(c *elect.Config) {
			c.StatusFile, c.LeaderFile = "/run/l/status", "/run/l/leader"
			c.LeaseDuration, c.RenewDeadline, c.RetryPeriod, c.Grace = 20*time.Second, 12*time.Second, 3*time.Second, 4*time.Second
			c.ReleaseDelay, c.HTTPAddr, c.LeaderLabel = dur(time.Second), ":9", "role=leader"
		}),
	}, {
		name: "a release delay of 0 is not the default",
		args: []string{"elect", "--lease-name", "l", "--release-delay", "0s"},
		want: defaults(func(c *elect.Config) { c.ReleaseDelay = dur(0) }),
	}, {
		name: "exec mode: the command after --, without it",
		args: []string{"elect", "--lease-name", "l", "--", "/app/server", "--port", "80"},
		want: defaults(func(c *elect.Config) { c.Command = []string{"/app/server", "--port", "80"} }),
	}, {
		name: "shards: the number and the directory, by flag and by environment",
		env:  map[string]string{"LEADER_ELECTOR_SHARDS": "8"},
		args: []string{"elect", "--lease-name", "l", "--status-dir", "/run/shards"},
		want: defaults(func(c *elect.Config) { c.Shards, c.StatusDir = 8, "/run/shards" }),
	}, {
		name: "shards: the directory's default",
		args: []string{"elect", "--lease-name", "l", "--shards", "3"},
		want: defaults(func(c *elect.Config) { c.Shards, c.StatusDir = 3, elect.DefaultStatusDir }),
	}, {
		name: "a lone -- is no command",
		args: []string{"elect", "--lease-name", "l", "--"},
		want: defaults(func(*elect.Config) {}),
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := parseCLI(t, tt.env, tt.args...)
			got, err := c.Elect.complete(hostnameIs("node-1"))
			if err != nil {
				t.Fatalf("complete: %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("%q builds\n%+v\nwant\n%+v", tt.args, got, tt.want)
			}
		})
	}
}

// TestElectValidate: what elect refuses before reading the kubeconfig, each
// a one-line configuration error (exit 2) naming the fix, and what it lets
// through.
func TestElectValidate(t *testing.T) {
	status := filepath.Join(t.TempDir(), "status")
	tests := []struct {
		name     string
		args     []string
		env      map[string]string
		hostname func() (string, error)
		want     string // substring of the error; "" = valid
	}{
		{name: "valid without a namespace: the kubeconfig gives it later",
			args: []string{"elect", "--lease-name", "l"}},
		{name: "the identity given but empty", env: map[string]string{"POD_NAME": ""},
			args: []string{"elect", "--lease-name", "l"}, want: "the identity is empty"},
		{name: "an empty identity is refused before the other flags", env: map[string]string{"POD_NAME": ""},
			args: []string{"elect"}, want: "the identity is empty"},
		{name: "no identity and no hostname", hostname: func() (string, error) { return "", errors.New("uname failed") },
			args: []string{"elect", "--lease-name", "l"}, want: "cannot read the hostname for the default identity: uname failed; pass --identity or set POD_NAME"},
		{name: "no lease name", args: []string{"elect"}, want: "LEASE_NAME is not set"},
		{name: "a bad namespace given", args: []string{"elect", "--lease-name", "l", "--namespace", "team/prod"}, want: `invalid namespace "team/prod"`},
		{name: "bad timings", args: []string{"elect", "--lease-name", "l", "--lease-duration", "10s"}, want: "must be greater than --renew-deadline"},
		{name: "two contexts", args: []string{"elect", "--lease-name", "l", "--context", "a", "--context", "b"},
			want: "--context given 2 times: only watch follows several contexts; give it once"},
		{name: "a bad flag before two contexts", args: []string{"elect", "--context", "a", "--context", "b"}, want: "LEASE_NAME is not set"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := parseCLI(t, tt.env, append(tt.args, "--status-file", status)...)
			hostname := tt.hostname
			if hostname == nil {
				hostname = hostnameIs("node-1")
			}
			cfg, err := c.Elect.complete(hostname)
			if err == nil {
				err = c.Elect.validate(cfg, &c.Globals)
			}
			if tt.want == "" {
				if err != nil {
					t.Fatalf("got %v, want no error", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("got %v, want one line with %q", err, tt.want)
			}
			if code := exitCodeFor(err, &bytes.Buffer{}); code != exitcode.Config {
				t.Errorf("exit code %d, want %d", code, exitcode.Config)
			}
		})
	}
}

// TestElectChecksFlagsBeforeKubeconfig: a bad flag is reported even when
// the kubeconfig is missing too, and a missing kubeconfig once the flags
// are good.
func TestElectChecksFlagsBeforeKubeconfig(t *testing.T) {
	parser, err := newParser(&cli{}, "leader-elector", description, &bytes.Buffer{}, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	clearFlagEnv(t, parser)
	dir := t.TempDir()
	missing := filepath.Join(dir, "nope.yaml")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"elect", "--lease-name", "My_Lock"}, `invalid lease name "My_Lock"`},
		{[]string{"elect", "--lease-name", "l"}, "cannot read kubeconfig"},
	} {
		args := append(tc.args, "--identity", "pod-0", "--status-file", filepath.Join(dir, "status"), "--http-addr=", "--kubeconfig", missing)
		_, errOut, code := runCaptured("leader-elector", args...)
		if code != exitcode.Config || !strings.Contains(errOut, tc.want) {
			t.Errorf("%q: exit %d, stderr %q; want %d and %q", tc.args, code, errOut, exitcode.Config, tc.want)
		}
	}
}

// TestWatchFlagMapping: what watch's flags resolve to (dashboard or not,
// replay pace) and the watch.Options they build for a context whose
// kubeconfig namespace is "team".
func TestWatchFlagMapping(t *testing.T) {
	target := &kubeconfig.Target{Context: "prod", Namespace: "team"}
	// What `watch -o json` builds for target.
	defaults := func(change func(*watch.Options)) watch.Options {
		o := watch.Options{Context: "prod", Namespace: "team", FlapThreshold: 3, FlapWindow: 5 * time.Minute, ConnectTimeout: 30 * time.Second, FailFast: true}
		change(&o)
		return o
	}
	dashboard := func(o *watch.Options) { o.ConnectTimeout, o.FailFast = 0, false } // it keeps retrying, showing why
	tests := []struct {
		name     string
		args     []string
		terminal bool
		want     watchMode
		wantOpts watch.Options
	}{
		{"auto on a terminal: the dashboard", []string{"watch"}, true, watchMode{tui: true, speed: 1}, defaults(dashboard)},
		{"auto piped: JSON lines", []string{"watch"}, false, watchMode{}, defaults(func(*watch.Options) {})},
		{"-o json on a terminal", []string{"watch", "-o", "json"}, true, watchMode{}, defaults(func(*watch.Options) {})},
		{"-o tui piped", []string{"watch", "-o", "tui"}, false, watchMode{tui: true, speed: 1}, defaults(dashboard)},
		{"--once on a terminal: a table", []string{"watch", "--once"}, true, watchMode{}, defaults(func(*watch.Options) {})},
		{"-n wins over the kubeconfig's namespace", []string{"watch", "-o", "json", "-n", "kube-system"}, false, watchMode{},
			defaults(func(o *watch.Options) { o.Namespace = "kube-system" })},
		{"-A: every namespace", []string{"watch", "-o", "json", "-A", "-l", "app=x,tier!=y"}, false, watchMode{},
			defaults(func(o *watch.Options) { o.Namespace, o.Selector = "", "app=x,tier!=y" })},
		{"flapping and connect timeout", []string{"watch", "-o", "json", "--flap-threshold", "0", "--flap-window", "1m", "--connect-timeout", "5s"}, false, watchMode{},
			defaults(func(o *watch.Options) {
				o.FlapThreshold, o.FlapWindow, o.ConnectTimeout = 0, time.Minute, 5*time.Second
			})},
		{"--replay on the dashboard: real time", []string{"watch", "--replay", "r.jsonl"}, true, watchMode{tui: true, speed: 1}, defaults(dashboard)},
		{"--replay as JSON: as fast as possible", []string{"watch", "--replay", "r.jsonl"}, false, watchMode{}, defaults(func(*watch.Options) {})},
		{"--speed", []string{"watch", "--replay", "r.jsonl", "--speed", "10"}, true, watchMode{tui: true, speed: 10}, defaults(dashboard)},
		{"--speed 0 on the dashboard", []string{"watch", "--replay", "r.jsonl", "--speed", "0"}, true, watchMode{tui: true, speed: 0}, defaults(dashboard)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := parseCLI(t, nil, tt.args...)
			if err := c.Watch.validate(&c.Globals); err != nil {
				t.Fatalf("validate: %v", err)
			}
			got := c.Watch.complete(tt.terminal)
			if got != tt.want {
				t.Errorf("%q on a terminal=%v resolves to %+v, want %+v", tt.args, tt.terminal, got, tt.want)
			}
			if opts := c.Watch.watchOptions(target, got); !reflect.DeepEqual(opts, tt.wantOpts) {
				t.Errorf("%q builds\n%+v\nwant\n%+v", tt.args, opts, tt.wantOpts)
			}
		})
	}
}

// TestWatchTargets: the contexts watch follows, each with the namespace it
// watches, from a kubeconfig file (read, never connected to).
func TestWatchTargets(t *testing.T) {
	kc := filepath.Join(t.TempDir(), "kubeconfig")
	const twoContexts = `apiVersion: v1
kind: Config
clusters:
- name: c
  cluster: {server: "https://127.0.0.1:1"}
users:
- name: u
  user: {token: t}
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
	tests := []struct {
		name string
		args []string
		want []string // context/namespace watched
	}{
		{"the current context", []string{"watch"}, []string{"a/team-a"}},
		{"--context", []string{"watch", "--context", "b"}, []string{"b/team-b"}},
		{"--context repeated: in order, once each", []string{"watch", "--context", "b", "--context", "a", "--context", "b"}, []string{"b/team-b", "a/team-a"}},
		{"--all-contexts with -n", []string{"watch", "--all-contexts", "-n", "x"}, []string{"a/x", "b/x"}},
		{"--all-contexts with -A", []string{"watch", "--all-contexts", "-A"}, []string{"a/", "b/"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := parseCLI(t, nil, append(tt.args, "--kubeconfig", kc)...)
			if err := c.Watch.validate(&c.Globals); err != nil {
				t.Fatalf("validate: %v", err)
			}
			targets, err := c.Watch.targets(&c.Globals, slog.New(slog.DiscardHandler))
			if err != nil {
				t.Fatalf("targets: %v", err)
			}
			var got []string
			for _, target := range targets {
				opts := c.Watch.watchOptions(target, watchMode{})
				got = append(got, opts.Context+"/"+opts.Namespace)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("%q watches %q, want %q", tt.args, got, tt.want)
			}
		})
	}
}
