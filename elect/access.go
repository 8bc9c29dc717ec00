package elect

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	authorizationv1 "k8s.io/api/authorization/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/leader-elector/leader-elector/internal/exitcode"
)

// AccessRule is one RBAC rule the sidecar needs in the Lease's namespace.
type AccessRule struct {
	// Group is the API group ("" for the core group).
	Group string
	// Resource is the plural resource name.
	Resource string
	// Verbs are the verbs needed.
	Verbs []string
	// ByName says the rule may be limited to the Lease with resourceNames.
	ByName bool
	// Why says what the sidecar does with it (shown in the README).
	Why string
	// LeaderLabel says only --leader-label needs it: the preflight checks it
	// only then.
	LeaderLabel bool
}

// RequiredAccess is the one list of what the sidecar needs. The preflight
// check, the README and the example Role in deploy/ all come from it.
var RequiredAccess = []AccessRule{
	{Group: "coordination.k8s.io", Resource: "leases", Verbs: []string{"get", "update"}, ByName: true,
		Why: "read and renew (or take over, or release) the Lease"},
	{Group: "coordination.k8s.io", Resource: "leases", Verbs: []string{"list", "watch"}, ByName: true,
		Why: "follow the Lease with a watch (field selector metadata.name, so resourceNames applies) instead of polling"},
	{Group: "coordination.k8s.io", Resource: "leases", Verbs: []string{"create"}, ByName: false,
		Why: "create the Lease the first time (Kubernetes cannot limit create by name)"},
	{Group: "", Resource: "events", Verbs: []string{"create"}, ByName: false,
		Why: "record acquired and lost leadership as Events on the Lease"},
	{Group: "", Resource: "pods", Verbs: []string{"get", "list", "patch"}, ByName: false, LeaderLabel: true,
		Why: "with --leader-label only: check this replica's Pod exists, find the Pods an earlier leader left labelled, and patch the one label on and off"},
}

// ShardAccess is what the sidecar needs with --shards instead: the group's
// Leases have M + N names, some not known in advance (one per replica), so
// no rule is limited by name.
var ShardAccess = []AccessRule{
	{Group: "coordination.k8s.io", Resource: "leases", Verbs: []string{"get", "update", "create"},
		Why: "read, renew, take over and release the shard Leases, and keep this replica's member Lease"},
	{Group: "coordination.k8s.io", Resource: "leases", Verbs: []string{"list", "watch"},
		Why: "follow every Lease of the group with one watch (a label selector)"},
	{Group: "coordination.k8s.io", Resource: "leases", Verbs: []string{"delete"},
		Why: "delete this replica's member Lease when it stops, so the others plan without it at once"},
	{Group: "", Resource: "events", Verbs: []string{"create"},
		Why: "record acquired and lost shards as Events on their Leases"},
}

// RoleHint names the example Role to point users at.
const RoleHint = "deploy/base/rbac.yaml"

// ShardRoleHint is RoleHint's with --shards.
const ShardRoleHint = "deploy/shards/rbac.yaml"

// preflight checks RequiredAccess with SelfSubjectAccessReviews before the
// election starts. Missing rights are a configuration error naming every
// missing verb. An unreachable API server is not: it retries with backoff
// until ctx ends (then returns ctx's error).
func preflight(ctx context.Context, api API, cfg Config, log *slog.Logger) error {
	type check struct {
		rule    AccessRule
		verb    string
		allowed bool
		err     error
	}
	var checks []*check
	rules, hint := RequiredAccess, RoleHint
	if cfg.Shards > 0 {
		rules, hint = ShardAccess, ShardRoleHint
	}
	for _, rule := range rules {
		if rule.LeaderLabel && cfg.LeaderLabel == "" {
			continue
		}
		for _, verb := range rule.Verbs {
			checks = append(checks, &check{rule: rule, verb: verb})
		}
	}
	// All at once: asked one after another, the reviews were most of the
	// time from start to leading.
	var wg sync.WaitGroup
	for _, c := range checks {
		attrs := &authorizationv1.ResourceAttributes{
			Namespace: cfg.Namespace, Verb: c.verb, Group: c.rule.Group, Resource: c.rule.Resource,
		}
		if c.rule.ByName {
			attrs.Name = cfg.LeaseName
		}
		wg.Go(func() { c.allowed, c.err = reviewWithRetry(ctx, api.Reviews, attrs, log) })
	}
	wg.Wait()
	var missing []string
	for _, c := range checks {
		if c.err != nil {
			return c.err
		}
		if !c.allowed {
			missing = append(missing, describeAccess(c.rule, c.verb, cfg))
		}
	}
	if len(missing) > 0 {
		return exitcode.Configf("RBAC: not allowed to %s in namespace %s; bind a Role granting them (the example in %s)",
			strings.Join(missing, ", "), cfg.Namespace, hint)
	}
	if cfg.LeaderLabel != "" {
		return checkPod(ctx, api.Pods, cfg, log)
	}
	return nil
}

// checkPod makes sure POD_NAME names a Pod of the namespace before the
// election starts: a wrong name would otherwise show only as a label that
// never goes on. Retries while the API server cannot answer, like the
// reviews.
func checkPod(ctx context.Context, pods PodClient, cfg Config, log *slog.Logger) error {
	backoff := wait.Backoff{Duration: 500 * time.Millisecond, Factor: 2, Jitter: 0.1, Steps: 1 << 30, Cap: 30 * time.Second}
	for {
		_, err := pods.Get(ctx, cfg.PodName, metav1.GetOptions{})
		switch {
		case err == nil:
			return nil
		case apierrors.IsNotFound(err):
			return exitcode.Configf("--leader-label: there is no Pod %q in namespace %s; set POD_NAME from the downward API (fieldRef metadata.name) and run in the Pod's namespace", cfg.PodName, cfg.Namespace)
		case answered(err):
			return exitcode.Configf("--leader-label: reading Pod %s/%s: %w", cfg.Namespace, cfg.PodName, err)
		case ctx.Err() != nil:
			return ctx.Err()
		}
		delay := backoff.Step()
		log.Warn("API server not reachable; retrying", "retryIn", delay.Round(time.Millisecond), "err", err)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(delay):
		}
	}
}

func describeAccess(rule AccessRule, verb string, cfg Config) string {
	res := rule.Resource
	if rule.Group != "" {
		res += "." + rule.Group
	}
	if rule.ByName {
		return fmt.Sprintf("%s %s/%s", verb, res, cfg.LeaseName)
	}
	return verb + " " + res
}

// reviewWithRetry asks whether attrs is allowed, retrying while the API
// server cannot answer. An API server that refuses SelfSubjectAccessReviews
// themselves cannot be asked: that is reported as allowed, with a warning,
// and the election's own errors will say more.
func reviewWithRetry(ctx context.Context, reviews AccessReviewer, attrs *authorizationv1.ResourceAttributes, log *slog.Logger) (bool, error) {
	backoff := wait.Backoff{Duration: 500 * time.Millisecond, Factor: 2, Jitter: 0.1, Steps: 1 << 30, Cap: 30 * time.Second}
	for attempt := 1; ; attempt++ {
		review := &authorizationv1.SelfSubjectAccessReview{Spec: authorizationv1.SelfSubjectAccessReviewSpec{ResourceAttributes: attrs}}
		res, err := reviews.Create(ctx, review, metav1.CreateOptions{})
		switch {
		case err == nil:
			return res.Status.Allowed, nil
		case apierrors.IsForbidden(err):
			log.Warn("cannot check RBAC: SelfSubjectAccessReviews are forbidden; skipping the check", "err", err)
			return true, nil
		case ctx.Err() != nil:
			return false, ctx.Err()
		}
		delay := backoff.Step()
		log.Warn("API server not reachable; retrying", "attempt", attempt, "retryIn", delay.Round(time.Millisecond), "err", err)
		select {
		case <-ctx.Done():
			return false, ctx.Err()
		case <-time.After(delay):
		}
	}
}
