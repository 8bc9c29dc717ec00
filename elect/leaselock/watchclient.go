package leaselock

import (
	"net/http"
	"strings"

	coordinationv1 "k8s.io/api/coordination/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	coordinationv1client "k8s.io/client-go/kubernetes/typed/coordination/v1"
	"k8s.io/client-go/rest"
)

// unboundedLeases returns the Lease client for the watch. client-go applies a
// rest.Config Timeout to the whole of every request, a watch included, so a
// client built with one (elect bounds requests by half the renew deadline)
// would end its watch every Timeout and open it again: requests, and a gap
// in which a release goes unseen. Then the watch gets a client on the same
// transport (TLS, credentials, user agent) without that Timeout; the
// reflector bounds each watch itself (timeoutSeconds, 5-10 minutes).
func unboundedLeases(client kubernetes.Interface, namespace string) coordinationv1client.LeaseInterface {
	same := client.CoordinationV1().Leases(namespace)
	rc, ok := client.CoordinationV1().RESTClient().(*rest.RESTClient)
	if !ok || rc == nil || rc.Client == nil || rc.Client.Timeout == 0 {
		return same
	}
	u := rc.Get().URL() // the API server's URL, any path prefix, then /apis/coordination.k8s.io/v1
	prefix, found := strings.CutSuffix(strings.TrimSuffix(u.Path, "/"), "/apis/"+coordinationv1.SchemeGroupVersion.String())
	if !found {
		return same
	}
	cfg := &rest.Config{
		Host:    u.Scheme + "://" + u.Host + prefix,
		APIPath: "/apis",
		ContentConfig: rest.ContentConfig{
			GroupVersion:         &coordinationv1.SchemeGroupVersion,
			NegotiatedSerializer: scheme.Codecs.WithoutConversion(),
		},
	}
	unbounded, err := rest.RESTClientForConfigAndClient(cfg, &http.Client{Transport: rc.Client.Transport})
	if err != nil {
		return same
	}
	return coordinationv1client.New(unbounded).Leases(namespace)
}
