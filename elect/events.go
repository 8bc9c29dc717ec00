package elect

import (
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/tools/record"
)

// newRecorder records Events on the Lease in its namespace (client-go's
// "<identity> became leader" / "stopped leading", and our collision
// warnings). stop flushes what it can and ends the broadcaster.
func newRecorder(client kubernetes.Interface, cfg Config) (rec record.EventRecorder, stop func()) {
	b := record.NewBroadcaster()
	b.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: client.CoreV1().Events(cfg.Namespace)})
	return b.NewRecorder(scheme.Scheme, corev1.EventSource{Component: "leader-elector"}), b.Shutdown
}

// leaseRef is the Lease as an Event's involved object.
func leaseRef(cfg Config) *coordinationv1.Lease {
	return &coordinationv1.Lease{
		TypeMeta:   metav1.TypeMeta{Kind: "Lease", APIVersion: coordinationv1.SchemeGroupVersion.String()},
		ObjectMeta: metav1.ObjectMeta{Namespace: cfg.Namespace, Name: cfg.LeaseName},
	}
}
