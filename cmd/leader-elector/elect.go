package main

import (
	"fmt"
	"os"
	"time"

	"k8s.io/client-go/rest"

	"github.com/leader-elector/leader-elector/elect"
	"github.com/leader-elector/leader-elector/internal/exitcode"
	"github.com/leader-elector/leader-elector/internal/kubeclient"
	"github.com/leader-elector/leader-elector/internal/leasewatch"
)

// electCmd is the sidecar mode; its flags map onto elect.Config. Only
// LEASE_NAME, NAMESPACE and POD_NAME are unprefixed (see Globals).
type electCmd struct {
	LeaseName  string  `name:"lease-name" env:"LEASE_NAME" help:"Name of the coordination.k8s.io/v1 Lease to compete for (required)." placeholder:"NAME"`
	Namespace  string  `env:"NAMESPACE" help:"Namespace of the Lease (default: the pod's service-account namespace in a cluster, else the kubeconfig context's)." placeholder:"NS"`
	Identity   *string `env:"POD_NAME" help:"This replica's identity in the Lease (default: the hostname, i.e. the pod name; an empty value is an error). Must be unique per replica." placeholder:"ID"`
	StatusFile string  `env:"LEADER_ELECTOR_STATUS_FILE" default:"/tmp/leader_status" help:"File that exists, holding the identity, exactly while this replica leads. Put it on an emptyDir mounted as a directory in both containers."`
	LeaderFile string  `env:"LEADER_ELECTOR_LEADER_FILE" help:"Optional file holding the current leader's identity, on every replica." placeholder:"PATH"`
	TokenFile  string  `name:"token-file" env:"LEADER_ELECTOR_TOKEN_FILE" help:"Optional file holding the term's fencing token (decimal, newline) while this replica leads: written before the status file appears, removed after it goes. Put it beside the status file (docs/fencing.md)." placeholder:"PATH"`

	LeaseDuration time.Duration  `env:"LEADER_ELECTOR_LEASE_DURATION" default:"15s" help:"How long followers wait, from the last renewal they saw, before taking the Lease (whole seconds)."`
	RenewDeadline time.Duration  `env:"LEADER_ELECTOR_RENEW_DEADLINE" default:"10s" help:"The leader stops acting (file removed, command stopped) this long after the start of its last successful renewal."`
	RetryPeriod   time.Duration  `env:"LEADER_ELECTOR_RETRY_PERIOD" default:"2s" help:"Time between attempts to acquire or renew."`
	Grace         time.Duration  `env:"LEADER_ELECTOR_GRACE" default:"5s" help:"Exec mode: time between SIGTERM and SIGKILL when stopping the command; it must fit in renew-deadline - 2 x retry-period."`
	ReleaseDelay  *time.Duration `name:"release-delay" env:"LEADER_ELECTOR_RELEASE_DELAY" help:"On shutdown, how long to wait after the status file is gone before releasing the Lease, so an app polling the file has stopped before another replica leads (default: lease-duration - renew-deadline - retry-period; 0 in exec mode, where the release waits for the command's whole process tree). Use 0 for a native sidecar, which the kubelet stops after the app." placeholder:"DURATION"`
	LeaderLabel   string         `name:"leader-label" env:"LEADER_ELECTOR_LEADER_LABEL" help:"While this replica leads, its own Pod (POD_NAME, from the downward API) carries this label, so a Service selecting it routes to the leader alone; a new leader first removes it from every other Pod. A routing hint, not a fence (docs/leader-label.md). Needs Pods get, list, patch." placeholder:"KEY=VALUE"`
	LeaseLabels   string         `name:"lease-labels" env:"LEADER_ELECTOR_LEASE_LABELS" help:"Labels for the Lease, set when this replica creates it and kept on each of its writes (labels others set stay), so kubectl get lease -l and watch -l find an app's Leases." placeholder:"KEY=VALUE,..."`
	Priority      int32          `env:"LEADER_ELECTOR_PRIORITY" default:"0" help:"Preference for leading: a follower whose priority is strictly higher than the holder's asks it for a planned hand-over, at most once a lease duration; equal priorities never move leadership (docs/handover.md)." placeholder:"N"`
	Shards        int            `env:"LEADER_ELECTOR_SHARDS" default:"0" help:"Share LEASE_NAME as a group of this many shards (1-1024) among every replica run with the same name and number: each shard has its own Lease, and the replicas spread them evenly, moving only what must move (docs/shards.md). 0: one leadership." placeholder:"M"`
	StatusDir     string         `name:"status-dir" env:"LEADER_ELECTOR_STATUS_DIR" default:"/tmp/leader_shards" help:"With --shards: directory holding one file, shard-N, for each shard this replica acts for (lines shard=, identity=, token=). It must hold nothing else." placeholder:"DIR"`
	HTTPAddr      string         `name:"http-addr" env:"LEADER_ELECTOR_HTTP_ADDR" default:":4040" help:"Address for /healthz, /readyz, /leader, / and /metrics; empty disables them."`

	Command []string `arg:"" name:"cmd" optional:"" passthrough:"partial" help:"Exec mode (Linux): run this command only while leading, e.g. -- /app/server --flag." placeholder:"-- CMD ARGS"`
}

// Help is shown under the elect command's usage.
func (c *electCmd) Help() string {
	return `The status file exists exactly while this replica leads, so the original sidecar's shell loop (if [ -f /tmp/leader_status ]) keeps working. On SIGTERM the file is removed and the command stopped first; the Lease is released --release-delay later (in exec mode once the command's whole process tree is gone), so no other replica leads while the app may still act. Exit codes: 0 clean shutdown, 2 bad configuration or missing RBAC (before the election starts), 1 runtime failure, the command's own code in exec mode.

In a pod, elect uses the pod's service account unless --kubeconfig, --context, --cluster, --user or --server says otherwise, and bounds each request by half the renew deadline (--request-timeout may only shorten it).

Examples:
  # As a native sidecar: LEASE_NAME, NAMESPACE and POD_NAME from the Pod spec
  leader-elector elect --status-file /var/run/leader/status

  # Run the app only while this replica leads (Linux)
  leader-elector elect --lease-name myapp-lock -- /app/server --port 8080`
}

// complete maps the flags onto the elect.Config they describe and fills in
// what they leave to the environment: the identity from the hostname when
// neither --identity nor POD_NAME is given, and the Pod to label from
// POD_NAME. The namespace stays empty when not given: it is the
// kubeconfig's, which Run reads after validate.
//
// complete and validate are unexported so that Kong, which calls a
// command's Validate() during parsing, does not report their errors as
// usage errors.
func (c *electCmd) complete(hostname func() (string, error)) (elect.Config, error) {
	cfg := elect.Config{
		LeaseName:     c.LeaseName,
		Namespace:     c.Namespace,
		StatusFile:    c.StatusFile,
		LeaderFile:    c.LeaderFile,
		TokenFile:     c.TokenFile,
		LeaseDuration: c.LeaseDuration,
		RenewDeadline: c.RenewDeadline,
		RetryPeriod:   c.RetryPeriod,
		Grace:         c.Grace,
		ReleaseDelay:  c.ReleaseDelay,
		HTTPAddr:      c.HTTPAddr,
		Command:       c.Command,
		LeaderLabel:   c.LeaderLabel,
		LeaseLabels:   c.LeaseLabels,
		Priority:      c.Priority,
		Shards:        c.Shards,
		// The Pod to label is this one, whatever --identity says.
		PodName: os.Getenv("POD_NAME"),
	}
	if c.Shards != 0 {
		cfg.StatusDir = c.StatusDir // the status file's place, with shards
	}
	// Kong keeps the "--" that starts a passthrough argument list.
	if len(cfg.Command) > 0 && cfg.Command[0] == "--" {
		cfg.Command = cfg.Command[1:]
	}
	if len(cfg.Command) == 0 {
		cfg.Command = nil
	}
	if c.Identity != nil {
		cfg.Identity = *c.Identity // validate refuses it empty
		return cfg, nil
	}
	host, err := hostname()
	if err != nil {
		return elect.Config{}, exitcode.Configf("cannot read the hostname for the default identity: %w; pass --identity or set POD_NAME", err)
	}
	cfg.Identity = host
	return cfg, nil
}

// validate checks what needs no kubeconfig: cfg (from complete) and the
// flags it cannot show. Its errors are one line naming the fix (exit 2).
func (c *electCmd) validate(cfg elect.Config, g *Globals) error {
	// Given but empty is an error, not the hostname: pods on hostNetwork
	// share their node's hostname, so falling back would let two replicas
	// share one identity, and both would believe they lead (the original's
	// defect 7).
	if c.Identity != nil && *c.Identity == "" {
		return exitcode.Configf("the identity is empty (--identity= or POD_NAME set to \"\"); set POD_NAME from the downward API (fieldRef metadata.name), pass a unique --identity, or leave both unset to use the hostname")
	}
	if err := cfg.ValidateBeforeNamespace(); err != nil {
		return err
	}
	if len(g.Context) > 1 {
		return exitcode.Configf("--context given %d times: only watch follows several contexts; give it once", len(g.Context))
	}
	return nil
}

// Run is elect's complete, validate, run: the flags become an elect.Config,
// which is checked before the kubeconfig is read, so that a bad flag is
// neither hidden by a kubeconfig problem nor waits for it; only then does
// the kubeconfig give the API server and the default namespace.
func (c *electCmd) Run(env *runEnv) error {
	logger, logQueue, err := env.Globals.logger(env.Stderr)
	if err != nil {
		return err
	}
	defer flushLog(logQueue)
	cfg, err := c.complete(os.Hostname)
	if err != nil {
		return err
	}
	if err := c.validate(cfg, env.Globals); err != nil {
		return err
	}
	tuneRuntime(logger, electRuntime)
	target, err := env.Globals.kube(true, logger)
	if err != nil {
		return err
	}
	if c.Namespace == "" {
		cfg.Namespace = target.Namespace
	}
	api, err := newElectClient(target.Config, cfg)
	if err != nil {
		return err
	}
	cfg.LogDropped = logQueue.Dropped
	return elect.Run(env.Ctx, api, cfg, logger)
}

// newElectClient bounds every request so one hung request cannot use up the
// renew deadline (client-go's own heuristic: half of it, at least 1s); the
// watch alone goes without the bound, on the same transport.
func newElectClient(cfg *rest.Config, ecfg elect.Config) (elect.API, error) {
	namespace := ecfg.Namespace
	c := rest.CopyConfig(cfg)
	bound := elect.RequestTimeout(ecfg.RenewDeadline)
	if c.QPS == 0 && c.RateLimiter == nil {
		c.QPS, c.Burst = ecfg.ClientRate()
	}
	if c.Timeout <= 0 || c.Timeout > bound { // --request-timeout may only shorten it
		c.Timeout = bound
	}
	c.UserAgent = fmt.Sprintf("leader-elector/%s", version)
	fail := func(err error) (elect.API, error) {
		return elect.API{}, exitcode.Configf("building the API client for %s: %w; check the kubeconfig", c.Host, err)
	}
	clients, err := kubeclient.New(c)
	if err != nil {
		return fail(err)
	}
	watches, err := clients.Unbounded()
	if err != nil {
		return fail(err)
	}
	pods, err := clients.Pods(namespace)
	if err != nil {
		return fail(err)
	}
	return elect.API{
		Leases:  clients.Leases(namespace),
		Deletes: clients.Leases(namespace),
		Watches: leasewatch.Kube(watches.Leases(namespace)),
		Reviews: clients.SelfSubjectAccessReviews(),
		Events:  clients.Events(namespace),
		Pods:    pods,
		Version: clients,
	}, nil
}
