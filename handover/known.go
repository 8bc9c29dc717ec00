package handover

import (
	"context"
	"fmt"

	coordinationv1beta1 "k8s.io/api/coordination/v1beta1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"

	"github.com/leader-elector/leader-elector/internal/exitcode"
)

// checkKnown refuses a To that names neither a Pod of the namespace (an
// identity is the Pod's name by default) nor a LeaseCandidate of the
// Lease. When it cannot tell (Pods may not be listed), it warns and lets
// the request go.
func checkKnown(ctx context.Context, c Clients, o Options) error {
	ref := o.Namespace + "/" + o.Name
	var unsure []string
	if c.Pods != nil {
		pods, err := c.Pods.List(ctx, metav1.ListOptions{FieldSelector: fields.OneTermEqualSelector("metadata.name", o.To).String()})
		switch {
		case err == nil && len(pods.Items) > 0:
			return nil
		case apierrors.IsForbidden(err):
			unsure = append(unsure, fmt.Sprintf("may not list pods in namespace %s", o.Namespace))
		case err != nil:
			unsure = append(unsure, fmt.Sprintf("listing pods: %v", err))
		}
	} else {
		unsure = append(unsure, "pods are not checked")
	}
	if c.Candidates != nil && c.Discovery != nil {
		if served, err := c.Discovery.Serves(ctx, coordinationv1beta1.SchemeGroupVersion, "leasecandidates"); err == nil && served {
			list, err := c.Candidates.List(ctx, metav1.ListOptions{})
			switch {
			case err == nil:
				for _, lc := range list.Items {
					if lc.Name == o.To && lc.Spec.LeaseName == o.Name {
						return nil
					}
				}
			case !apierrors.IsForbidden(err):
				unsure = append(unsure, fmt.Sprintf("listing LeaseCandidates: %v", err))
			}
		}
	}
	if len(unsure) > 0 {
		o.Progress(Progress{Step: StepWarning, Lease: ref,
			Message: fmt.Sprintf("cannot check that %s is a replica (%s); asking anyway", Safe(o.To), unsure[0])})
		return nil
	}
	return exitcode.Configf("--to %s: no Pod of that name in namespace %s and no LeaseCandidate of Lease %s names it; give a replica's identity (its Pod name by default), or --force",
		Safe(o.To), o.Namespace, ref)
}
