package watch

import (
	"context"

	authorizationv1 "k8s.io/api/authorization/v1"
	coordinationv1beta1 "k8s.io/api/coordination/v1beta1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	apiwatch "k8s.io/apimachinery/pkg/watch"

	"github.com/leader-elector/leader-elector/internal/kubeclient"
	"github.com/leader-elector/leader-elector/internal/leasewatch"
)

// API is every client a Watcher calls, each scoped to the namespace it
// watches ("" = all). It names only the calls made, so the dashboard need
// not link client-go's clientset (every API group); NewAPI fills it from
// internal/kubeclient.
type API struct {
	Leases     LeaseClient
	Candidates CandidateClient
	Reviews    AccessReviewer
	Discovery  Discoverer
}

// LeaseClient lists Leases and streams their changes (Stream opens a watch
// whose events are read by calling Decode).
type LeaseClient = leasewatch.Client

// EventStream is an open watch, read in the caller's goroutine; io.EOF from
// Decode means the server ended the watch (its timeout).
type EventStream = leasewatch.Stream

// CandidateClient lists and watches LeaseCandidates.
type CandidateClient interface {
	List(ctx context.Context, opts metav1.ListOptions) (*coordinationv1beta1.LeaseCandidateList, error)
	Watch(ctx context.Context, opts metav1.ListOptions) (apiwatch.Interface, error)
}

// AccessReviewer asks the API server whether we may do something.
type AccessReviewer interface {
	Create(ctx context.Context, review *authorizationv1.SelfSubjectAccessReview, opts metav1.CreateOptions) (*authorizationv1.SelfSubjectAccessReview, error)
}

// Discoverer says whether the API server serves a resource.
type Discoverer interface {
	Serves(ctx context.Context, gv schema.GroupVersion, resource string) (bool, error)
}

// NewAPI returns the clients of namespace ("" = all) from c.
func NewAPI(c *kubeclient.Clients, namespace string) API {
	return API{
		Leases:     leasewatch.Kube(c.Leases(namespace)),
		Candidates: c.LeaseCandidates(namespace),
		Reviews:    c.SelfSubjectAccessReviews(),
		Discovery:  c,
	}
}
