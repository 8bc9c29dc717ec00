package elect

import (
	"path/filepath"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/leader-elector/leader-elector/elect/leadership"

	"github.com/leader-elector/leader-elector/internal/exitcode"
)

// Defaults, as the original sidecar hard-coded them (and client-go's core
// components use).
const (
	DefaultLeaseDuration = 15 * time.Second
	DefaultRenewDeadline = 10 * time.Second
	DefaultRetryPeriod   = 2 * time.Second
	DefaultGrace         = 5 * time.Second
	DefaultStatusFile    = "/tmp/leader_status"
	DefaultStatusDir     = "/tmp/leader_shards"
)

// Config is what the sidecar needs to know. It has no CLI tags: the command
// line maps onto it, tests build it directly.
type Config struct {
	// LeaseName and Namespace name the coordination.k8s.io/v1 Lease.
	LeaseName string
	Namespace string
	// Identity is this candidate's holderIdentity (the pod name by default).
	// At most MaxIdentityLen bytes of UTF-8 without control characters.
	Identity string

	// StatusFile exists exactly while this replica leads and holds Identity.
	StatusFile string
	// LeaderFile, when set, holds the current leader's identity on every
	// replica (removed while nobody holds the Lease).
	LeaderFile string
	// TokenFile, when set, holds the term's fencing token in decimal and a
	// newline while this replica leads: it appears before the status file
	// and goes after it (docs/fencing.md). Put it beside the status file.
	TokenFile string

	// LeaseDuration, RenewDeadline and RetryPeriod are client-go's timings.
	// LeaseDuration must be whole seconds: the Lease stores seconds, and
	// followers judge expiry by what it stores.
	LeaseDuration time.Duration
	RenewDeadline time.Duration
	RetryPeriod   time.Duration

	// Command, when set, runs only while leading (exec mode); Grace is how
	// long it gets between SIGTERM and SIGKILL.
	Command []string
	Grace   time.Duration

	// ReleaseDelay is how long after the status file disappears on shutdown
	// the Lease is released, so an app that polls the file has stopped
	// before another replica can lead. nil means the default: Margin()
	// without a command, 0 in exec mode (the release waits for the child's
	// whole process tree to be gone instead). 0 releases at once: right for
	// a native sidecar, which the kubelet stops after the app.
	ReleaseDelay *time.Duration

	// LeaderLabel, when set (KEY=VALUE), is on this replica's Pod exactly
	// while it leads, so a Service whose selector includes it routes to the
	// leader alone. PodName names that Pod, in Namespace (POD_NAME, from the
	// downward API).
	LeaderLabel string
	PodName     string

	// LeaseLabels ("KEY=VALUE,KEY2=VALUE2") are stamped on the Lease when
	// this replica creates it and on each of its writes, as client-go's
	// resourcelock.NewWithLabels does, so `kubectl get lease -l` and
	// `watch -l` find an app's Leases. Labels others set stay.
	LeaseLabels string

	// Priority makes this replica preferred: a follower whose priority is
	// strictly higher than the holder's asks for a planned hand-over to
	// itself (docs/handover.md). The holder publishes its own on the Lease.
	Priority int32

	// Shards, when set (1 to shardgroup.MaxShards), makes LeaseName a
	// group of that many shards that the replicas share, each with its own
	// Lease (docs/shards.md). StatusDir then replaces StatusFile: it holds
	// one file per shard this replica acts for.
	Shards    int
	StatusDir string

	// HTTPAddr serves /healthz, /readyz, /leader, / and /metrics; empty
	// disables them.
	HTTPAddr string

	// LogDropped, if set, counts the log lines the process's log queue
	// dropped, for /metrics (see endpoints.Options.LogDropped).
	LogDropped func() uint64
}

// MaxIdentityLen bounds Identity: a Pod name (a DNS-1123 subdomain) is at
// most 253 characters, and the status file stays small enough that anything
// bigger at its path cannot be ours.
const MaxIdentityLen = 253

// Validate checks c before any API call. Its errors are configuration errors
// (exit 2) whose one line names the problem and the fix. It reads, never
// changes, the status file's path.
func (c Config) Validate() error { return c.validate(true) }

// ValidateBeforeNamespace is Validate for a Config whose Namespace may still
// be empty: a command line checks its flags before it reads the kubeconfig
// that gives the default namespace, so that a bad flag is not hidden by a
// kubeconfig problem. A Namespace that is set is checked as Validate checks
// it; Run still calls Validate on the completed Config.
func (c Config) ValidateBeforeNamespace() error { return c.validate(false) }

func (c Config) validate(needNamespace bool) error {
	if c.LeaseName == "" {
		return exitcode.Configf("LEASE_NAME is not set: set the LEASE_NAME environment variable or pass --lease-name")
	}
	if errs := validation.IsDNS1123Subdomain(c.LeaseName); len(errs) > 0 {
		return exitcode.Configf("invalid lease name %q: %s; use lower-case letters, digits, '-' and '.' (--lease-name / LEASE_NAME)", c.LeaseName, errs[0])
	}
	if c.Namespace == "" && needNamespace {
		return exitcode.Configf("namespace is not set: set NAMESPACE or pass --namespace")
	}
	if errs := validation.IsDNS1123Label(c.Namespace); c.Namespace != "" && len(errs) > 0 {
		return exitcode.Configf("invalid namespace %q: %s; use a DNS-1123 label (--namespace / NAMESPACE)", c.Namespace, errs[0])
	}
	if err := checkIdentity(c.Identity); err != nil {
		return exitcode.Configf("invalid identity %q: %w; pass --identity or set POD_NAME (fieldRef metadata.name)", truncate(c.Identity, 40), err)
	}
	if err := c.validateTimings(); err != nil {
		return err
	}
	if c.Shards != 0 {
		if err := c.validateShards(); err != nil {
			return err
		}
	} else {
		if c.StatusFile == "" {
			return exitcode.Configf("the status file path is empty: pass --status-file or set LEADER_ELECTOR_STATUS_FILE (default %s)", DefaultStatusFile)
		}
		if err := checkPath(c.StatusFile, "--status-file", identityContent); err != nil {
			return err
		}
	}
	if c.LeaderFile != "" {
		if c.LeaderFile == c.StatusFile {
			return exitcode.Configf("--leader-file and --status-file are the same path %q; give the leader file its own name", c.LeaderFile)
		}
		if err := checkPath(c.LeaderFile, "--leader-file", identityContent); err != nil {
			return err
		}
	}
	if c.TokenFile != "" {
		if err := c.validateTokenFile(); err != nil {
			return err
		}
	}
	if c.LeaderLabel != "" {
		if err := c.validateLabel(); err != nil {
			return err
		}
	}
	if _, err := c.LeaseLabelMap(); err != nil {
		return err
	}
	if len(c.Command) > 0 && c.Command[0] == "" {
		return exitcode.Configf("the command after -- is empty; write it as: leader-elector elect [flags] -- CMD ARGS...")
	}
	return nil
}

// validateTokenFile checks the token file's path as the status file's is
// checked: its own name, and nothing at it that is not a token file of ours.
func (c Config) validateTokenFile() error {
	for _, o := range []struct{ flag, path string }{{"--status-file", c.StatusFile}, {"--leader-file", c.LeaderFile}} {
		if o.path != "" && filepath.Clean(o.path) == filepath.Clean(c.TokenFile) {
			return exitcode.Configf("--token-file and %s are the same path %q; give the token file its own name beside the status file, e.g. %s", o.flag, c.TokenFile, filepath.Join(filepath.Dir(c.StatusFile), "token"))
		}
	}
	return checkPath(c.TokenFile, "--token-file", tokenContent)
}

// LeaseLabelMap parses LeaseLabels; nil when empty. Its error is a
// configuration error naming the bad label.
func (c Config) LeaseLabelMap() (map[string]string, error) {
	if c.LeaseLabels == "" {
		return nil, nil
	}
	out := map[string]string{}
	for _, kv := range strings.Split(c.LeaseLabels, ",") {
		key, value, ok := strings.Cut(kv, "=")
		if !ok || key == "" {
			return nil, exitcode.Configf("invalid --lease-labels %q: write KEY=VALUE pairs separated by commas, e.g. app.kubernetes.io/name=myapp (--lease-labels / LEADER_ELECTOR_LEASE_LABELS)", truncate(c.LeaseLabels, 80))
		}
		if errs := validation.IsQualifiedName(key); len(errs) > 0 {
			return nil, exitcode.Configf("invalid --lease-labels key %q: %s; use a label key such as app.kubernetes.io/name", truncate(key, 80), errs[0])
		}
		if errs := validation.IsValidLabelValue(value); len(errs) > 0 {
			return nil, exitcode.Configf("invalid --lease-labels value %q for %s: %s", truncate(value, 80), key, errs[0])
		}
		if _, dup := out[key]; dup {
			return nil, exitcode.Configf("--lease-labels sets %s twice; give each key once", key)
		}
		out[key] = value
	}
	return out, nil
}

// LabelKV splits LeaderLabel into its key and value; ok is false when it
// has no "=".
func (c Config) LabelKV() (key, value string, ok bool) {
	return strings.Cut(c.LeaderLabel, "=")
}

func (c Config) validateLabel() error {
	key, value, ok := c.LabelKV()
	if !ok {
		return exitcode.Configf("invalid --leader-label %q: write it as KEY=VALUE, e.g. leader-elector.io/role=leader (--leader-label / LEADER_ELECTOR_LEADER_LABEL)", truncate(c.LeaderLabel, 80))
	}
	if errs := validation.IsQualifiedName(key); len(errs) > 0 {
		return exitcode.Configf("invalid --leader-label key %q: %s; use a label key such as leader-elector.io/role", truncate(key, 80), errs[0])
	}
	if value == "" {
		return exitcode.Configf("--leader-label %q has an empty value; write it as KEY=VALUE, e.g. %s=leader", c.LeaderLabel, key)
	}
	if errs := validation.IsValidLabelValue(value); len(errs) > 0 {
		return exitcode.Configf("invalid --leader-label value %q: %s", truncate(value, 80), errs[0])
	}
	if c.PodName == "" {
		return exitcode.Configf("--leader-label needs this replica's Pod name: set POD_NAME from the downward API (env valueFrom fieldRef metadata.name)")
	}
	if errs := validation.IsDNS1123Subdomain(c.PodName); len(errs) > 0 {
		return exitcode.Configf("invalid Pod name %q in POD_NAME: %s; set POD_NAME from the downward API (fieldRef metadata.name)", truncate(c.PodName, 80), errs[0])
	}
	return nil
}

// validateTimings applies client-go's rules and ours (see the README's
// safety section for why each holds).
func (c Config) validateTimings() error {
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"--lease-duration", c.LeaseDuration}, {"--renew-deadline", c.RenewDeadline}, {"--retry-period", c.RetryPeriod}} {
		if d.v <= 0 {
			return exitcode.Configf("%s is %v; it must be greater than zero", d.name, d.v)
		}
	}
	if c.LeaseDuration%time.Second != 0 {
		return exitcode.Configf("--lease-duration %v is not whole seconds; the Lease stores seconds, so use e.g. %v", c.LeaseDuration, c.LeaseDuration.Truncate(time.Second)+time.Second)
	}
	if c.LeaseDuration <= c.RenewDeadline {
		return exitcode.Configf("--lease-duration %v must be greater than --renew-deadline %v; raise the lease duration or lower the deadline", c.LeaseDuration, c.RenewDeadline)
	}
	if c.RenewDeadline <= time.Duration(1.2*float64(c.RetryPeriod)) {
		return exitcode.Configf("--renew-deadline %v must be greater than 1.2 x --retry-period %v (client-go's rule); lower the retry period", c.RenewDeadline, c.RetryPeriod)
	}
	// Written as a difference: the sum of two huge durations overflows.
	if c.LeaseDuration-c.RenewDeadline <= c.RetryPeriod {
		return exitcode.Configf("--lease-duration %v must be greater than --renew-deadline %v + --retry-period %v: a leader may act until its last renewal + both; raise the lease duration", c.LeaseDuration, c.RenewDeadline, c.RetryPeriod)
	}
	if d := c.ReleaseDelay; d != nil && (*d < 0 || *d > c.LeaseDuration-c.RenewDeadline) {
		return exitcode.Configf("--release-delay %v must be between 0 and --lease-duration - --renew-deadline = %v (beyond that the Lease expires first); the default is %v", *d, c.LeaseDuration-c.RenewDeadline, c.Margin())
	}
	if len(c.Command) > 0 {
		if c.Grace <= 0 {
			return exitcode.Configf("--grace is %v; it must be greater than zero (the child's time between SIGTERM and SIGKILL)", c.Grace)
		}
		if max := c.RenewDeadline - c.RetryPeriod - c.RetryPeriod; c.Grace > max {
			return exitcode.Configf("--grace %v does not fit: the child's stop begins at renew deadline - grace, which must leave two retry periods to renew (at most %v = --renew-deadline - 2 x --retry-period); lower --grace or raise --renew-deadline", c.Grace, max)
		}
	}
	return nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

// Margin is the safety margin an application polling the status file must
// poll well within: after the status file of a leader that stopped renewing
// disappears, no other replica can acquire the Lease for at least this long.
func (c Config) Margin() time.Duration {
	return c.LeaseDuration - c.RenewDeadline - c.RetryPeriod
}

// EffectiveReleaseDelay is ReleaseDelay with its default applied.
func (c Config) EffectiveReleaseDelay() time.Duration {
	switch {
	case c.ReleaseDelay != nil:
		return *c.ReleaseDelay
	case len(c.Command) > 0:
		return 0
	}
	return c.Margin()
}

// machine is what the leadership machine decides with.
func (c Config) machine() leadership.Config {
	m := leadership.Config{
		Identity:      c.Identity,
		LeaseDuration: c.LeaseDuration,
		RenewDeadline: c.RenewDeadline,
		RetryPeriod:   c.RetryPeriod,
		ReleaseDelay:  c.EffectiveReleaseDelay(),
		Label:         c.LeaderLabel != "",
		Priority:      c.Priority,
		Sharded:       c.Shards > 0,
	}
	if len(c.Command) > 0 {
		m.Exec, m.Grace = true, c.Grace
	}
	return m
}
