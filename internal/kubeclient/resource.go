package kubeclient

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/apimachinery/pkg/runtime/serializer/streaming"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/rest"
	restwatch "k8s.io/client-go/rest/watch"
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
	codecs    serializer.CodecFactory
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

// Stream opens the same watch as Watch but hands back its decoder: each
// Decode reads and decodes the next event in the caller's goroutine. Watch
// puts a goroutine and a channel between the socket and the caller (client-go's
// StreamWatcher); at hundreds of events a second those hand-offs, each a
// thread wake-up, cost more CPU than the decoding. Close ends the stream.
func (c *Resource[T, L]) Stream(ctx context.Context, opts metav1.ListOptions) (*WatchDecoder, error) {
	opts.Watch = true
	body, err := c.request(c.client.Get()).VersionedParams(&opts, c.params).Timeout(seconds(opts.TimeoutSeconds)).Stream(ctx)
	if err != nil {
		return nil, err
	}
	return &WatchDecoder{body: body, r: bufio.NewReader(body), codecs: c.codecs, resource: c.resource}, nil
}

// WatchDecoder reads a watch stream's events in the caller's goroutine.
type WatchDecoder struct {
	body     io.ReadCloser
	r        *bufio.Reader
	codecs   serializer.CodecFactory
	resource string
	dec      *restwatch.Decoder // once the first byte told the format
}

// Decode blocks until the next event has arrived and returns it. io.EOF
// means the server ended the stream (its timeoutSeconds).
func (d *WatchDecoder) Decode() (watch.EventType, runtime.Object, error) {
	if d.dec == nil {
		// The server answers in the first type of Accept it can (protobuf)
		// or JSON, and Stream hides the Content-Type; the first byte tells:
		// a JSON stream opens an object, a protobuf frame with its length's
		// high byte, 0 below 16 MiB. It is read here, not in Stream, as a
		// quiet watch may send nothing for minutes.
		first, err := d.r.Peek(1)
		if len(first) == 0 {
			return "", nil, err
		}
		mediaType := protobuf
		if first[0] == '{' {
			mediaType = "application/json"
		}
		info, ok := runtime.SerializerInfoForMediaType(d.codecs.SupportedMediaTypes(), mediaType)
		if !ok || info.StreamSerializer == nil {
			return "", nil, fmt.Errorf("decoding the watch of %s: no stream decoder for %s", d.resource, mediaType)
		}
		frames := info.StreamSerializer.Framer.NewFrameReader(readCloser{d.r, d.body})
		d.dec = restwatch.NewDecoder(streaming.NewDecoder(frames, info.StreamSerializer.Serializer), info.Serializer)
	}
	return d.dec.Decode()
}

// Close ends the stream; a Decode waiting on it returns an error.
func (d *WatchDecoder) Close() error { return d.body.Close() }

// readCloser reads through the buffer that sniffed the stream and closes
// the body under it.
type readCloser struct {
	io.Reader
	io.Closer
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

// Delete deletes the object called name (with opts' preconditions).
func (c *Resource[T, L]) Delete(ctx context.Context, name string, opts metav1.DeleteOptions) error {
	return c.request(c.client.Delete()).Name(name).Body(&opts).Do(ctx).Error()
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
