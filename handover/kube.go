package handover

import (
	"context"

	coordinationv1 "k8s.io/api/coordination/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/leader-elector/leader-elector/internal/kubeclient"
	"github.com/leader-elector/leader-elector/internal/leasewatch"
)

// KubeClients are Run's clients of namespace, from internal/kubeclient's.
func KubeClients(c *kubeclient.Clients, namespace string) (Clients, error) {
	pods, err := c.Pods(namespace)
	if err != nil {
		return Clients{}, err
	}
	return Clients{
		Leases:     kubeLeases{c.Leases(namespace)},
		Pods:       pods,
		Candidates: c.LeaseCandidates(namespace),
		Discovery:  c,
	}, nil
}

// kubeLeases is kubeclient's Lease client, its Stream a leasewatch.Stream.
type kubeLeases struct {
	*kubeclient.Resource[*coordinationv1.Lease, *coordinationv1.LeaseList]
}

func (k kubeLeases) Stream(ctx context.Context, opts metav1.ListOptions) (leasewatch.Stream, error) {
	d, err := k.Resource.Stream(ctx, opts)
	if err != nil {
		return nil, err // not a nil *WatchDecoder in a non-nil Stream
	}
	return d, nil
}
