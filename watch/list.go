package watch

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	coordinationv1beta1 "k8s.io/api/coordination/v1beta1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/leader-elector/leader-elector/internal/exitcode"
)

// ListOptions select the Leases of one List.
type ListOptions struct {
	// Namespace to list; "" means all namespaces.
	Namespace string
	// Selector is a label selector for the Leases ("" = all).
	Selector string
	// Names, when set, are the only Leases listed; one of them that does
	// not exist is an error (NotFoundError) beside the Leases that do.
	Names []string
	// Candidates also lists the LeaseCandidates, where served.
	Candidates bool
	// Skew returns the cluster's clock minus ours once the API server has
	// answered (see SkewRecorder); nil means 0.
	Skew func() time.Duration
	// Now is our clock; nil means time.Now.
	Now func() time.Time
}

// Listing is the Leases of one List as the API server returned them
// (without managedFields, as kubectl shows them) and as the watch judges
// them, in namespace/name order, one state per Lease at the same index.
type Listing struct {
	Leases []coordinationv1.Lease
	States []LeaseState
}

// List lists the Leases once, with one request, as `kubectl get leases`
// does: no access check first, no retry, so an API server that refuses
// the connection fails at once (watch --once). A denial is a
// configuration error naming the Role to grant (exit 2), anything else a
// *Failure (exit 1).
func List(ctx context.Context, api API, opts ListOptions) (*Listing, error) {
	list, err := api.Leases.List(ctx, metav1.ListOptions{LabelSelector: opts.Selector})
	if err != nil {
		f := failure(ResourceLeases, err)
		switch f.Reason {
		case ReasonForbidden:
			f.Err = forbiddenError(opts.Namespace, []string{"list"})
		case ReasonUnreachable:
			f.Err = fmt.Errorf("cannot reach the API server: %w; check the server address (--server, --context, --kubeconfig) and the network", err)
		default:
			f.Err = fmt.Errorf("listing leases: %w", err)
		}
		return nil, f
	}
	now := time.Now
	if opts.Now != nil {
		now = opts.Now
	}
	var skew time.Duration
	if opts.Skew != nil {
		skew = opts.Skew()
	}
	m := NewModel(skew, 0, 0)
	leases := make([]*coordinationv1.Lease, 0, len(list.Items))
	found := map[string]bool{}
	for i := range list.Items {
		l := &list.Items[i]
		if len(opts.Names) > 0 && !slices.Contains(opts.Names, l.Name) {
			continue
		}
		l.ManagedFields = nil
		leases = append(leases, l)
		found[l.Name] = true
	}
	t := now()
	m.Replace(nil, leases, t)
	if opts.Candidates {
		listCandidates(ctx, api, m, t)
	}
	out := &Listing{}
	for _, l := range leases {
		if s, ok := m.Get(l.Namespace, l.Name); ok {
			out.Leases = append(out.Leases, *l)
			out.States = append(out.States, s)
		}
	}
	var missing []string
	for _, n := range opts.Names {
		if !found[n] && !slices.Contains(missing, n) {
			missing = append(missing, n)
		}
	}
	if len(missing) > 0 {
		return out, &NotFoundError{Namespace: opts.Namespace, Names: missing}
	}
	return out, nil
}

// NotFoundError names the Leases asked for by name that do not exist; the
// Listing beside it holds those that do.
type NotFoundError struct {
	Namespace string
	Names     []string
}

func (e *NotFoundError) Error() string {
	return fmt.Sprintf("leases %s not found in namespace %s; kubectl leases -n %s --once lists those that exist", strings.Join(e.Names, ", "), e.Namespace, e.Namespace)
}

// listCandidates attaches the LeaseCandidates to their Leases in m, where
// the cluster serves them and we may list them: they are detail, so any
// failure leaves them out.
func listCandidates(ctx context.Context, api API, m *Model, now time.Time) {
	served, err := api.Discovery.Serves(ctx, coordinationv1beta1.SchemeGroupVersion, "leasecandidates")
	if err != nil || !served {
		return
	}
	cands, err := api.Candidates.List(ctx, metav1.ListOptions{})
	if err != nil {
		return
	}
	for i := range cands.Items {
		c := &cands.Items[i]
		m.SetCandidate(nil, c.Namespace, c.Spec.LeaseName, candidateOf(c), now)
	}
}

// forbiddenError is the exit-2 error naming the verbs on Leases in
// namespace ("" = all) that we lack, and the fix.
func forbiddenError(namespace string, missing []string) error {
	if namespace == "" {
		return exitcode.Configf("forbidden: this user may not %s leases.coordination.k8s.io in all namespaces; grant it with a ClusterRole (kubectl create clusterrole lease-watcher --verb=list,watch --resource=leases.coordination.k8s.io) and a ClusterRoleBinding, or watch one namespace with -n",
			strings.Join(missing, " or "))
	}
	return exitcode.Configf("forbidden: this user may not %s leases.coordination.k8s.io in namespace %q; grant it with a Role (kubectl create role lease-watcher -n %s --verb=%s --resource=leases.coordination.k8s.io) and a RoleBinding",
		strings.Join(missing, " or "), namespace, namespace, strings.Join(missing, ","))
}
