// Package kubeclient builds the few typed API clients leader-elector calls,
// on a scheme that holds only the types it decodes.
//
// client-go's clientset (kubernetes.NewForConfig, or any of its typed
// group clients) imports k8s.io/client-go/kubernetes/scheme, which links and
// registers every built-in API group at start: in a sidecar that reads one
// Lease that was half the binary and much of its idle memory. Resource makes
// the same requests as the clientset's typed clients, over a scheme of our
// choosing.
package kubeclient

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"

	authorizationv1 "k8s.io/api/authorization/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	coordinationv1beta1 "k8s.io/api/coordination/v1beta1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/apimachinery/pkg/version"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/util/flowcontrol"
)

// Protobuf is the wire format asked for: every type here supports it, and it
// decodes at a fraction of JSON's cost. JSON stays acceptable for servers
// (or proxies) that answer nothing else.
const (
	protobuf = "application/vnd.kubernetes.protobuf"
	accept   = protobuf + ",application/json"
)

// Clients are the typed clients of one API server. Every request is bounded
// by the rest.Config's Timeout, except through Unbounded.
type Clients struct {
	coordination     *rest.RESTClient // coordination.k8s.io/v1
	coordinationBeta *rest.RESTClient // coordination.k8s.io/v1beta1
	core             *rest.RESTClient // v1
	authorization    *rest.RESTClient // authorization.k8s.io/v1
	params           runtime.ParameterCodec

	config     *rest.Config
	httpClient *http.Client
	codecs     serializer.CodecFactory
}

// newScheme registers only the types leader-elector decodes, and the meta
// types (Status, WatchEvent, list options) every group answers with. The
// core group is not among them: its Go package links all of its kinds
// (1.8 MB of code) once imported, so Pods are read as metadata (Pods) and
// Events are sent as JSON (Event).
func newScheme() *runtime.Scheme {
	s := runtime.NewScheme()
	for gv, types := range map[schema.GroupVersion][]runtime.Object{
		coordinationv1.SchemeGroupVersion:      {&coordinationv1.Lease{}, &coordinationv1.LeaseList{}},
		coordinationv1beta1.SchemeGroupVersion: {&coordinationv1beta1.LeaseCandidate{}, &coordinationv1beta1.LeaseCandidateList{}},
		authorizationv1.SchemeGroupVersion:     {&authorizationv1.SelfSubjectAccessReview{}},
	} {
		s.AddKnownTypes(gv, types...)
		metav1.AddToGroupVersion(s, gv)
	}
	metav1.AddToGroupVersion(s, schema.GroupVersion{Version: "v1"})
	return s
}

// New returns the clients for cfg, speaking protobuf.
func New(cfg *rest.Config) (*Clients, error) {
	s := newScheme()
	c := &Clients{
		config: rest.CopyConfig(cfg),
		params: runtime.NewParameterCodec(s),
		codecs: serializer.NewCodecFactory(s),
	}
	var err error
	c.config.ContentType = protobuf
	c.config.AcceptContentTypes = accept
	if c.config.RateLimiter == nil && c.config.QPS > 0 {
		// One budget for all groups, as the clientset shares one.
		burst := c.config.Burst
		if burst <= 0 {
			burst = rest.DefaultBurst
		}
		c.config.RateLimiter = flowcontrol.NewTokenBucketRateLimiter(c.config.QPS, burst)
	}
	if c.httpClient, err = rest.HTTPClientFor(c.config); err != nil {
		return nil, fmt.Errorf("building the HTTP client for %s: %w", cfg.Host, err)
	}
	if err := c.build(); err != nil {
		return nil, err
	}
	return c, nil
}

// Unbounded returns clients on the same transport (TLS, credentials, user
// agent, rate limit) without the overall Timeout. client-go applies a
// rest.Config Timeout to the whole of every request, a watch's stream
// included, so a bounded watch would end every Timeout and open again:
// requests, and a gap in which a change goes unseen. The server bounds each
// watch itself (timeoutSeconds).
func (c *Clients) Unbounded() (*Clients, error) {
	if c.httpClient.Timeout == 0 {
		return c, nil
	}
	u := *c
	u.httpClient = &http.Client{Transport: c.httpClient.Transport, CheckRedirect: c.httpClient.CheckRedirect, Jar: c.httpClient.Jar}
	if err := u.build(); err != nil {
		return nil, err
	}
	return &u, nil
}

func (c *Clients) build() error {
	var err error
	for _, g := range []struct {
		into    **rest.RESTClient
		gv      schema.GroupVersion
		apiPath string
	}{
		{&c.coordination, coordinationv1.SchemeGroupVersion, "/apis"},
		{&c.coordinationBeta, coordinationv1beta1.SchemeGroupVersion, "/apis"},
		{&c.core, schema.GroupVersion{Version: "v1"}, "/api"},
		{&c.authorization, authorizationv1.SchemeGroupVersion, "/apis"},
	} {
		cfg := rest.CopyConfig(c.config)
		gv := g.gv
		cfg.GroupVersion = &gv
		cfg.APIPath = g.apiPath
		cfg.NegotiatedSerializer = c.codecs.WithoutConversion()
		if cfg.UserAgent == "" {
			cfg.UserAgent = rest.DefaultKubernetesUserAgent()
		}
		if *g.into, err = rest.RESTClientForConfigAndClient(cfg, c.httpClient); err != nil {
			return fmt.Errorf("building the %s client for %s: %w", gv, cfg.Host, err)
		}
	}
	return nil
}

// Leases is the coordination.k8s.io/v1 Lease client of namespace ("" = all).
func (c *Clients) Leases(namespace string) *Resource[*coordinationv1.Lease, *coordinationv1.LeaseList] {
	return &Resource[*coordinationv1.Lease, *coordinationv1.LeaseList]{client: c.coordination, params: c.params, codecs: c.codecs, resource: "leases", namespace: namespace,
		newObject: func() *coordinationv1.Lease { return &coordinationv1.Lease{} },
		newList:   func() *coordinationv1.LeaseList { return &coordinationv1.LeaseList{} }}
}

// LeaseCandidates is the coordination.k8s.io/v1beta1 LeaseCandidate client.
func (c *Clients) LeaseCandidates(namespace string) *Resource[*coordinationv1beta1.LeaseCandidate, *coordinationv1beta1.LeaseCandidateList] {
	return &Resource[*coordinationv1beta1.LeaseCandidate, *coordinationv1beta1.LeaseCandidateList]{client: c.coordinationBeta, params: c.params, codecs: c.codecs, resource: "leasecandidates", namespace: namespace,
		newObject: func() *coordinationv1beta1.LeaseCandidate { return &coordinationv1beta1.LeaseCandidate{} },
		newList:   func() *coordinationv1beta1.LeaseCandidateList { return &coordinationv1beta1.LeaseCandidateList{} }}
}

// Metadata is the client that reads any resource as metadata only
// (PartialObjectMetadata), on the same transport as the typed clients.
func (c *Clients) Metadata() (metadata.Interface, error) {
	m, err := metadata.NewForConfigAndClient(c.config, c.httpClient)
	if err != nil {
		return nil, fmt.Errorf("building the metadata client for %s: %w", c.config.Host, err)
	}
	return m, nil
}

// Pods is the Pod client of namespace, reading metadata only: a Pod's name
// and labels are all we read, and the full Pod type would link most of the
// core group.
func (c *Clients) Pods(namespace string) (metadata.ResourceInterface, error) {
	m, err := c.Metadata()
	if err != nil {
		return nil, err
	}
	return m.Resource(schema.GroupVersionResource{Version: "v1", Resource: "pods"}).Namespace(namespace), nil
}

// SelfSubjectAccessReviews is the authorization.k8s.io/v1 client that asks
// "may I?". Reviews are only ever created, never listed: the list type is a
// placeholder that List would never be asked to fill.
func (c *Clients) SelfSubjectAccessReviews() *Resource[*authorizationv1.SelfSubjectAccessReview, *metav1.Status] {
	return &Resource[*authorizationv1.SelfSubjectAccessReview, *metav1.Status]{client: c.authorization, params: c.params, codecs: c.codecs, resource: "selfsubjectaccessreviews",
		newObject: func() *authorizationv1.SelfSubjectAccessReview { return &authorizationv1.SelfSubjectAccessReview{} },
		newList:   func() *metav1.Status { return &metav1.Status{} }}
}

// Serves reports whether the API server serves resource in gv, from the
// group version's discovery document. It stands in for the discovery
// client, which links the OpenAPI models.
func (c *Clients) Serves(ctx context.Context, gv schema.GroupVersion, resource string) (bool, error) {
	raw, err := c.core.Get().AbsPath("/apis", gv.Group, gv.Version).SetHeader("Accept", "application/json").DoRaw(ctx)
	if err != nil {
		return false, fmt.Errorf("discovering %s: %w", gv, err)
	}
	var list metav1.APIResourceList
	if err := json.Unmarshal(raw, &list); err != nil {
		return false, fmt.Errorf("decoding the discovery of %s: %w", gv, err)
	}
	for _, r := range list.APIResources {
		if r.Name == resource {
			return true, nil
		}
	}
	return false, nil
}

// ServerVersion asks the API server for its version (GET /version), as the
// discovery client's ServerVersion does, without linking that client.
func (c *Clients) ServerVersion(ctx context.Context) (*version.Info, error) {
	raw, err := c.core.Get().AbsPath("/version").SetHeader("Accept", "application/json").DoRaw(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading the API server's version: %w", err)
	}
	var info version.Info
	if err := json.Unmarshal(raw, &info); err != nil {
		return nil, fmt.Errorf("decoding the API server's version: %w", err)
	}
	return &info, nil
}
