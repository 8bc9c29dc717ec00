package elect

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	rl "k8s.io/client-go/tools/leaderelection/resourcelock"
	"k8s.io/client-go/tools/record"
)

// newLock builds the inner lock on the Lease. It is the one place that
// chooses the lock: the watch-based fast lock (elect/leaselock) replaces
// client-go's polling LeaseLock here.
func newLock(client kubernetes.Interface, cfg Config, recorder record.EventRecorder) rl.Interface {
	return &rl.LeaseLock{
		LeaseMeta:  metav1.ObjectMeta{Namespace: cfg.Namespace, Name: cfg.LeaseName},
		Client:     client.CoordinationV1(),
		LockConfig: rl.ResourceLockConfig{Identity: cfg.Identity, EventRecorder: recorder},
	}
}
