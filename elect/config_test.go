package elect

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/leader-elector/leader-elector/internal/exitcode"
)

func validConfig(t *testing.T) Config {
	return Config{
		LeaseName: "my-app", Namespace: "default", Identity: "pod-0",
		StatusFile:    filepath.Join(t.TempDir(), "status"),
		LeaseDuration: DefaultLeaseDuration, RenewDeadline: DefaultRenewDeadline, RetryPeriod: DefaultRetryPeriod,
		Grace: DefaultGrace,
	}
}

// checkConfigError fails t unless err is what want says: nil for "",
// else a one-line configuration error (exit 2) containing want.
func checkConfigError(t *testing.T, err error, want string) {
	t.Helper()
	if want == "" {
		if err != nil {
			t.Fatalf("Validate() = %v, want nil", err)
		}
		return
	}
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("Validate() = %v, want an error containing %q", err, want)
	}
	var coded interface{ ExitCode() int }
	if !errors.As(err, &coded) || coded.ExitCode() != exitcode.Config {
		t.Errorf("error %v does not carry exit code %d", err, exitcode.Config)
	}
	if strings.Contains(err.Error(), "\n") {
		t.Errorf("error is not one line: %q", err)
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		change func(*Config)
		want   string // substring of the error; "" = valid
	}{
		{"defaults", func(*Config) {}, ""},
		{"exec mode with defaults", func(c *Config) { c.Command = []string{"sleep", "1"} }, ""},
		{"missing lease name names the env var", func(c *Config) { c.LeaseName = "" }, "LEASE_NAME is not set"},
		{"upper-case lease name", func(c *Config) { c.LeaseName = "MyApp" }, "invalid lease name"},
		{"lease name with slash", func(c *Config) { c.LeaseName = "a/b" }, "invalid lease name"},
		{"lease name too long", func(c *Config) { c.LeaseName = strings.Repeat("a", 254) }, "invalid lease name"},
		{"missing namespace", func(c *Config) { c.Namespace = "" }, "namespace is not set"},
		{"namespace with dot", func(c *Config) { c.Namespace = "a.b" }, "invalid namespace"},
		{"empty identity", func(c *Config) { c.Identity = "" }, "it is empty"},
		{"identity too long", func(c *Config) { c.Identity = strings.Repeat("x", MaxIdentityLen+1) }, "more than 253"},
		{"identity at the bound", func(c *Config) { c.Identity = strings.Repeat("x", MaxIdentityLen) }, ""},
		{"identity with newline", func(c *Config) { c.Identity = "a\nb" }, "control character"},
		{"identity with escape", func(c *Config) { c.Identity = "a\x1b[2J" }, "control character"},
		{"identity not UTF-8", func(c *Config) { c.Identity = "a\xffb" }, "not valid UTF-8"},
		{"identity with U+FFFD (kong's stand-in for invalid bytes)", func(c *Config) { c.Identity = "pod-\uFFFD" }, "U+FFFD"},
		{"zero lease duration", func(c *Config) { c.LeaseDuration = 0 }, "--lease-duration is 0s"},
		{"negative renew deadline", func(c *Config) { c.RenewDeadline = -time.Second }, "--renew-deadline is -1s"},
		{"zero retry period", func(c *Config) { c.RetryPeriod = 0 }, "--retry-period is 0s"},
		{"fractional lease duration", func(c *Config) { c.LeaseDuration = 15500 * time.Millisecond }, "not whole seconds"},
		{"lease not above deadline", func(c *Config) { c.LeaseDuration = 10 * time.Second }, "must be greater than --renew-deadline"},
		{"deadline not above 1.2 retry", func(c *Config) { c.RetryPeriod = 9 * time.Second }, "1.2 x --retry-period"},
		{"lease not above deadline + retry", func(c *Config) { c.LeaseDuration = 12 * time.Second; c.RetryPeriod = 2 * time.Second }, "must be greater than --renew-deadline 10s + --retry-period 2s"},
		{"lease just above deadline + retry", func(c *Config) { c.LeaseDuration = 13 * time.Second }, ""},
		{"grace too long for the margin", func(c *Config) { c.Command = []string{"x"}; c.Grace = 7 * time.Second }, "--grace 7s does not fit"},
		{"zero grace in exec mode", func(c *Config) { c.Command = []string{"x"}; c.Grace = 0 }, "--grace is 0s"},
		{"grace ignored without a command", func(c *Config) { c.Grace = time.Hour }, ""},
		{"empty command", func(c *Config) { c.Command = []string{""} }, "the command after -- is empty"},
		{"empty status file", func(c *Config) { c.StatusFile = "" }, "status file path is empty"},
		{"leader file equals status file", func(c *Config) { c.LeaderFile = c.StatusFile }, "same path"},
		{"leader label", func(c *Config) { c.LeaderLabel, c.PodName = "leader-elector.io/role=leader", "pod-0" }, ""},
		{"lease labels", func(c *Config) { c.LeaseLabels = "app.kubernetes.io/name=shop,tier=web" }, ""},
		{"lease label with an empty value", func(c *Config) { c.LeaseLabels = "app=" }, ""},
		{"lease labels without =", func(c *Config) { c.LeaseLabels = "app" }, "write KEY=VALUE pairs"},
		{"lease labels with an empty pair", func(c *Config) { c.LeaseLabels = "app=x," }, "write KEY=VALUE pairs"},
		{"lease label with a bad key", func(c *Config) { c.LeaseLabels = "-app=x" }, "invalid --lease-labels key"},
		{"lease label with a bad value", func(c *Config) { c.LeaseLabels = "app=a b" }, "invalid --lease-labels value"},
		{"lease label given twice", func(c *Config) { c.LeaseLabels = "app=x,app=y" }, "sets app twice"},
		{"leader label without POD_NAME", func(c *Config) { c.LeaderLabel = "role=leader" }, "set POD_NAME from the downward API"},
		{"leader label without =", func(c *Config) { c.LeaderLabel, c.PodName = "role", "pod-0" }, "write it as KEY=VALUE"},
		{"leader label with a bad key", func(c *Config) { c.LeaderLabel, c.PodName = "a b=leader", "pod-0" }, "invalid --leader-label key"},
		{"leader label with an empty value", func(c *Config) { c.LeaderLabel, c.PodName = "role=", "pod-0" }, "empty value"},
		{"leader label with a bad value", func(c *Config) { c.LeaderLabel, c.PodName = "role=a b", "pod-0" }, "invalid --leader-label value"},
		{"leader label with a bad Pod name", func(c *Config) { c.LeaderLabel, c.PodName = "role=leader", "Pod_0" }, "invalid Pod name"},
		{"POD_NAME alone needs no label", func(c *Config) { c.PodName = "Pod_0" }, ""},
		{"status file in a missing directory", func(c *Config) { c.StatusFile = filepath.Join(t.TempDir(), "no", "status") }, "does not exist"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := validConfig(t)
			tt.change(&c)
			checkConfigError(t, c.Validate(), tt.want)
		})
	}
}

// Validate only looks: a stale file stays until Run prepares the path.
func TestValidateDoesNotTouchFiles(t *testing.T) {
	c := validConfig(t)
	os.WriteFile(c.StatusFile, []byte("pod-0"), 0o644)
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(c.StatusFile); err != nil {
		t.Errorf("Validate removed the stale file: %v", err)
	}
}

// TestValidateBeforeNamespace: the command line's check before the
// kubeconfig gives the namespace lets only an empty namespace through.
func TestValidateBeforeNamespace(t *testing.T) {
	tests := []struct {
		name   string
		change func(*Config)
		want   string // substring of the error; "" = valid
	}{
		{"no namespace yet", func(c *Config) { c.Namespace = "" }, ""},
		{"a namespace given", func(*Config) {}, ""},
		{"a bad namespace given", func(c *Config) { c.Namespace = "team/prod" }, `invalid namespace "team/prod"`},
		{"no namespace and no lease name", func(c *Config) { c.Namespace, c.LeaseName = "", "" }, "LEASE_NAME is not set"},
		{"no namespace and bad timings", func(c *Config) { c.Namespace, c.LeaseDuration = "", 4500*time.Millisecond }, "not whole seconds"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := validConfig(t)
			tt.change(&c)
			err := c.ValidateBeforeNamespace()
			if tt.want == "" {
				if err != nil {
					t.Fatalf("ValidateBeforeNamespace() = %v, want nil", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("ValidateBeforeNamespace() = %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

// TestValidateKeepsTheCause: an invalid identity's config error wraps the
// reason (%w), not only its text.
func TestValidateKeepsTheCause(t *testing.T) {
	c := validConfig(t)
	c.Identity = ""
	err := c.Validate()
	var coded *exitcode.Error
	if !errors.As(err, &coded) || coded.Code != exitcode.Config {
		t.Fatalf("Validate() = %v: want a config error", err)
	}
	if reason := errors.Unwrap(coded.Err); reason == nil || reason.Error() != "it is empty" {
		t.Errorf("the config error %q wraps %v; want the reason %q", err, reason, "it is empty")
	}
}

func TestLeaseLabelMap(t *testing.T) {
	c := Config{LeaseLabels: "app.kubernetes.io/name=shop,tier=web,empty="}
	got, err := c.LeaseLabelMap()
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"app.kubernetes.io/name": "shop", "tier": "web", "empty": ""}
	if len(got) != len(want) {
		t.Fatalf("LeaseLabelMap() = %v, want %v", got, want)
	}
	for k, v := range want {
		if g, ok := got[k]; !ok || g != v {
			t.Errorf("LeaseLabelMap()[%q] = %q (set %v), want %q", k, g, ok, v)
		}
	}
	if m, err := (Config{}).LeaseLabelMap(); m != nil || err != nil {
		t.Errorf("no labels: %v, %v; want nil, nil", m, err)
	}
}
