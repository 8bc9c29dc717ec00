package elect

import (
	"context"

	authorizationv1 "k8s.io/api/authorization/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/leader-elector/leader-elector/internal/kubeclient"
	"github.com/leader-elector/leader-elector/internal/leasewatch"
)

// API is every client Run calls, each already scoped to the Lease's
// namespace. It names only the calls the sidecar makes, so a caller need not
// link client-go's clientset (every API group) to satisfy it;
// internal/kubeclient provides them all.
type API struct {
	// Leases makes every request on the Lease but the watch; each is
	// bounded by RequestTimeout.
	Leases LeaseClient
	// Watches follows the Lease. It must not carry an overall request
	// timeout, which would end every watch after it.
	Watches LeaseWatcher
	// Reviews asks SelfSubjectAccessReviews for the preflight.
	Reviews AccessReviewer
	// Events records leadership Events on the Lease.
	Events EventCreator
	// Pods labels the leader's Pod; needed only with --leader-label.
	Pods PodClient
	// Deletes removes this replica's member Lease when it stops (--shards
	// only); nil releases it instead, which leaves the object behind.
	Deletes LeaseDeleter
	// Version reads the API server's version once at start, to log which
	// guarantee the fencing tokens carry; nil skips it.
	Version VersionReader
}

// LeaseClient is the part of a Lease client elect calls.
type LeaseClient interface {
	Get(ctx context.Context, name string, opts metav1.GetOptions) (*coordinationv1.Lease, error)
	List(ctx context.Context, opts metav1.ListOptions) (*coordinationv1.LeaseList, error)
	Create(ctx context.Context, lease *coordinationv1.Lease, opts metav1.CreateOptions) (*coordinationv1.Lease, error)
	Update(ctx context.Context, lease *coordinationv1.Lease, opts metav1.UpdateOptions) (*coordinationv1.Lease, error)
}

// LeaseDeleter deletes a Lease.
type LeaseDeleter interface {
	Delete(ctx context.Context, name string, opts metav1.DeleteOptions) error
}

// LeaseWatcher lists the Lease and streams its changes, each event decoded
// in the caller's goroutine; leasewatch.Kube makes one of internal/kubeclient's
// Lease client.
type LeaseWatcher = leasewatch.Client

// AccessReviewer asks the API server whether we may do something.
type AccessReviewer interface {
	Create(ctx context.Context, review *authorizationv1.SelfSubjectAccessReview, opts metav1.CreateOptions) (*authorizationv1.SelfSubjectAccessReview, error)
}

// EventCreator posts Events.
type EventCreator interface {
	Create(ctx context.Context, event *kubeclient.Event) error
}

// PodClient is the part of a metadata client of Pods the leader label uses:
// names and labels are all it reads.
type PodClient interface {
	Get(ctx context.Context, name string, opts metav1.GetOptions, subresources ...string) (*metav1.PartialObjectMetadata, error)
	List(ctx context.Context, opts metav1.ListOptions) (*metav1.PartialObjectMetadataList, error)
	Patch(ctx context.Context, name string, pt types.PatchType, data []byte, opts metav1.PatchOptions, subresources ...string) (*metav1.PartialObjectMetadata, error)
}
