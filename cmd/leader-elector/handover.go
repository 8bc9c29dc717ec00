package main

import (
	"fmt"
	"os"
	"time"

	"github.com/leader-elector/leader-elector/handover"
	"github.com/leader-elector/leader-elector/internal/exitcode"
	"github.com/leader-elector/leader-elector/internal/kubeclient"
)

// handoverCmd asks a Lease's holder to hand it over (package handover).
type handoverCmd struct {
	Target  string        `arg:"" name:"namespace/lease" help:"The Lease, as NAMESPACE/NAME." placeholder:"NS/LEASE"`
	To      string        `help:"The identity that should take the Lease (default: any other replica); it must name a Pod of the namespace or a LeaseCandidate of the Lease, unless --force." placeholder:"IDENTITY"`
	Force   bool          `help:"Do not check that --to names a Pod or a LeaseCandidate."`
	Timeout time.Duration `help:"How long to wait for the new holder (default: 2 x the Lease's duration + 10s)." placeholder:"DURATION"`
}

// Help is shown under handover's usage.
func (c *handoverCmd) Help() string {
	return `Sets the leader-elector.io/handover annotation on the Lease; a holder that is leader-elector's elect ends its term cleanly (status file or command first, the release delay, then the release), and the replica named by --to takes the Lease. Progress goes to stderr, the new holder to stdout. Exit codes: 0 handed over (or --to already holds it), 1 not handed over (no answer in time: client-go's elector and the original sidecar do not understand the request; or another replica took it), 2 refused before asking (bad NS/LEASE, no such Lease, no holder, unknown --to, missing RBAC), 130 interrupted. Unless the hand-over happened, the request is removed again (only if it is still ours). See docs/handover.md.

Examples:
  leader-elector handover default/my-controller
  leader-elector handover default/my-controller --to my-controller-7d9f-x2x4k`
}

// Run is handover's complete, validate, run, as watch's.
func (c *handoverCmd) Run(env *runEnv) error {
	opts, err := c.complete()
	if err != nil {
		return err
	}
	if err := c.validate(env.Globals); err != nil {
		return err
	}
	logger, logQueue, err := env.Globals.logger(env.Stderr)
	if err != nil {
		return err
	}
	defer flushLog(logQueue)
	target, err := env.Globals.kube(false, logger)
	if err != nil {
		return err
	}
	cfg := target.Config
	cfg.UserAgent = "leader-elector-handover"
	kc, err := kubeclient.New(cfg)
	if err != nil {
		return exitcode.Configf("cannot build a client from the kubeconfig: %w; fix the kubeconfig", err)
	}
	clients, err := handover.KubeClients(kc, opts.Namespace)
	if err != nil {
		return exitcode.Configf("cannot build a client from the kubeconfig: %w; fix the kubeconfig", err)
	}
	opts.Progress = func(p handover.Progress) { fmt.Fprintf(env.Stderr, "leader-elector: %s\n", p) }
	res, err := handover.Run(env.Ctx, clients, opts)
	if err != nil {
		return err
	}
	if res.Already {
		fmt.Fprintf(env.Stderr, "leader-elector: %s already holds %s/%s\n", handover.Safe(res.Holder), opts.Namespace, opts.Name)
	}
	_, err = fmt.Fprintln(env.Stdout, handover.Safe(res.Holder))
	return err
}

// complete reads NS/LEASE and fills in who asks.
func (c *handoverCmd) complete() (handover.Options, error) {
	ns, name, err := handover.ParseTarget(c.Target)
	if err != nil {
		return handover.Options{}, err
	}
	return handover.Options{Namespace: ns, Name: name, To: c.To, Force: c.Force, Timeout: c.Timeout, By: asker("leader-elector handover")}, nil
}

// validate checks the flags: one line naming the fix (exit 2).
func (c *handoverCmd) validate(g *Globals) error {
	switch {
	case c.Timeout < 0:
		return exitcode.Configf("--timeout %v must not be negative: give a duration such as 1m, or leave it out for the default", c.Timeout)
	case len(g.Context) > 1:
		return exitcode.Configf("handover talks to one cluster: give one --context")
	case c.Force && c.To == "":
		return exitcode.Configf("--force skips the check of --to: give --to IDENTITY, or drop --force")
	}
	return nil
}

// asker says who asks for a hand-over, for people reading the annotation:
// the tool, the user and the machine.
func asker(tool string) string {
	who := os.Getenv("USER")
	if host, err := os.Hostname(); err == nil {
		who += "@" + host
	}
	if who == "" {
		return tool
	}
	return tool + " (" + who + ")"
}
