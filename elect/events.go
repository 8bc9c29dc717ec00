package elect

import (
	"sync/atomic"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/tools/record"
)

// eventFlushWait bounds how long shutdown waits for Events still in flight
// (the last "stopped leading"); the correlator may drop some, so it cannot
// wait for all.
const eventFlushWait = time.Second

// newRecorder records Events on the Lease in its namespace (client-go's
// "<identity> became leader" / "stopped leading", and our collision
// warnings). stop waits briefly for Events in flight, then ends the
// broadcaster: Events are sent asynchronously, and the one a shutdown
// produces would otherwise die with the process.
func newRecorder(client kubernetes.Interface, cfg Config) (rec *countingRecorder, stop func()) {
	b := record.NewBroadcaster()
	sink := &countingSink{EventSink: &typedcorev1.EventSinkImpl{Interface: client.CoreV1().Events(cfg.Namespace)}}
	b.StartRecordingToSink(sink)
	rec = &countingRecorder{r: b.NewRecorder(scheme.Scheme, corev1.EventSource{Component: "leader-elector"})}
	return rec, func() {
		for end := time.Now().Add(eventFlushWait); sink.handled.Load() < rec.sent.Load() && time.Now().Before(end); {
			time.Sleep(10 * time.Millisecond)
		}
		b.Shutdown()
	}
}

// countingRecorder counts the Events handed to the broadcaster.
type countingRecorder struct {
	r    record.EventRecorder
	sent atomic.Int64
}

// Eventf records an Event (the only method resourcelock uses).
func (c *countingRecorder) Eventf(obj runtime.Object, eventType, reason, messageFmt string, args ...any) {
	c.sent.Add(1)
	c.r.Eventf(obj, eventType, reason, messageFmt, args...)
}

// Event records an Event.
func (c *countingRecorder) Event(obj runtime.Object, eventType, reason, message string) {
	c.sent.Add(1)
	c.r.Event(obj, eventType, reason, message)
}

// AnnotatedEventf records an Event with annotations.
func (c *countingRecorder) AnnotatedEventf(obj runtime.Object, annotations map[string]string, eventType, reason, messageFmt string, args ...any) {
	c.sent.Add(1)
	c.r.AnnotatedEventf(obj, annotations, eventType, reason, messageFmt, args...)
}

var _ record.EventRecorder = (*countingRecorder)(nil)

// countingSink counts the Events that reached the API server (or failed to).
type countingSink struct {
	record.EventSink
	handled atomic.Int64
}

func (s *countingSink) Create(e *corev1.Event) (*corev1.Event, error) {
	defer s.handled.Add(1)
	return s.EventSink.Create(e)
}

func (s *countingSink) Update(e *corev1.Event) (*corev1.Event, error) {
	defer s.handled.Add(1)
	return s.EventSink.Update(e)
}

func (s *countingSink) Patch(old *corev1.Event, data []byte) (*corev1.Event, error) {
	defer s.handled.Add(1)
	return s.EventSink.Patch(old, data)
}

// leaseRef is the Lease as an Event's involved object.
func leaseRef(cfg Config) *coordinationv1.Lease {
	return &coordinationv1.Lease{
		TypeMeta:   metav1.TypeMeta{Kind: "Lease", APIVersion: coordinationv1.SchemeGroupVersion.String()},
		ObjectMeta: metav1.ObjectMeta{Namespace: cfg.Namespace, Name: cfg.LeaseName},
	}
}
