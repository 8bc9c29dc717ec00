package handover

import (
	"context"
	"encoding/json"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/leader-elector/leader-elector/internal/leaseann"
)

// withdrawTries bounds the read-compare-remove rounds lost to other
// writers (each renewal of the holder is one).
const withdrawTries = 10

// Withdraw removes the hand-over request id from the Lease, only if it is
// still the one there: it reads the Lease, compares the request's ID, and
// removes the annotation with a merge patch that carries the
// resourceVersion it read, so the API server refuses it (409 Conflict) if
// anything wrote meanwhile, and then it reads again. Somebody else's
// request is never removed. removed says whether it removed ours.
func Withdraw(ctx context.Context, leases LeaseClient, name, id string) (removed bool, err error) {
	for range withdrawTries {
		l, err := leases.Get(ctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return false, nil
		}
		if err != nil {
			return false, fmt.Errorf("reading the Lease: %w", err)
		}
		if !leaseann.HasRequest(l.Annotations, id) {
			return false, nil // none, or not ours
		}
		patch, _ := json.Marshal(map[string]any{"metadata": map[string]any{
			"resourceVersion": l.ResourceVersion,
			"annotations":     map[string]any{leaseann.HandoverAnnotation: nil},
		}})
		_, err = leases.Patch(ctx, name, types.MergePatchType, patch, metav1.PatchOptions{})
		switch {
		case err == nil:
			return true, nil
		case apierrors.IsConflict(err):
			continue // written meanwhile: compare again
		case apierrors.IsNotFound(err):
			return false, nil
		}
		return false, fmt.Errorf("removing the request: %w", err)
	}
	return false, fmt.Errorf("removing the request: the Lease changed under each of %d tries", withdrawTries)
}
