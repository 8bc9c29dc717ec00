package kubeclient

import (
	"context"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/rest"
)

// Object is an API object of a typed client.
type Object interface {
	runtime.Object
	GetName() string
}

// Resource is the typed client of one resource in one namespace ("" = all,
// or cluster-scoped), with the calls leader-elector makes: the same requests
// as client-go's generated clients (gentype), which this stands in for
// because gentype links client-go's fake-client machinery (server-side
// apply, strategic merge, the OpenAPI models) into every binary.
type Resource[T Object, L runtime.Object] struct {
	client    rest.Interface
	params    runtime.ParameterCodec
	resource  string
	namespace string
	newObject func() T
	newList   func() L
}

func (c *Resource[T, L]) request(r *rest.Request) *rest.Request {
	return r.NamespaceIfScoped(c.namespace, c.namespace != "").Resource(c.resource)
}

// Get returns the object called name.
func (c *Resource[T, L]) Get(ctx context.Context, name string, opts metav1.GetOptions) (T, error) {
	out := c.newObject()
	err := c.request(c.client.Get()).Name(name).VersionedParams(&opts, c.params).Do(ctx).Into(out)
	return out, err
}

// List returns the objects that opts select.
func (c *Resource[T, L]) List(ctx context.Context, opts metav1.ListOptions) (L, error) {
	out := c.newList()
	err := c.request(c.client.Get()).VersionedParams(&opts, c.params).Timeout(seconds(opts.TimeoutSeconds)).Do(ctx).Into(out)
	return out, err
}

// Watch streams the changes to the objects that opts select.
func (c *Resource[T, L]) Watch(ctx context.Context, opts metav1.ListOptions) (watch.Interface, error) {
	opts.Watch = true
	return c.request(c.client.Get()).VersionedParams(&opts, c.params).Timeout(seconds(opts.TimeoutSeconds)).Watch(ctx)
}

// Create creates obj and returns what the server stored.
func (c *Resource[T, L]) Create(ctx context.Context, obj T, opts metav1.CreateOptions) (T, error) {
	out := c.newObject()
	err := c.request(c.client.Post()).VersionedParams(&opts, c.params).Body(obj).Do(ctx).Into(out)
	return out, err
}

// Update replaces obj (failing with a conflict if its resourceVersion is
// not the stored one) and returns what the server stored.
func (c *Resource[T, L]) Update(ctx context.Context, obj T, opts metav1.UpdateOptions) (T, error) {
	out := c.newObject()
	err := c.request(c.client.Put()).Name(obj.GetName()).VersionedParams(&opts, c.params).Body(obj).Do(ctx).Into(out)
	return out, err
}

// Patch applies a patch of type pt to the object called name.
func (c *Resource[T, L]) Patch(ctx context.Context, name string, pt types.PatchType, data []byte, opts metav1.PatchOptions, subresources ...string) (T, error) {
	out := c.newObject()
	err := c.request(c.client.Patch(pt)).Name(name).SubResource(subresources...).VersionedParams(&opts, c.params).Body(data).Do(ctx).Into(out)
	return out, err
}

func seconds(s *int64) time.Duration {
	if s == nil {
		return 0
	}
	return time.Duration(*s) * time.Second
}
