package elect

import (
	"log/slog"

	"k8s.io/client-go/kubernetes"
	rl "k8s.io/client-go/tools/leaderelection/resourcelock"
	"k8s.io/client-go/tools/record"

	"github.com/leader-elector/leader-elector/elect/leaselock"
)

// newLock builds the inner lock on the Lease. It is the one place that
// chooses the lock: the watch-based fast lock (elect/leaselock) replaces
// client-go's polling LeaseLock here.
func newLock(client kubernetes.Interface, cfg Config, recorder record.EventRecorder, log *slog.Logger) rl.Interface {
	return leaselock.New(client, cfg.Namespace, cfg.LeaseName, rl.ResourceLockConfig{Identity: cfg.Identity, EventRecorder: recorder}, leaselock.Options{Logger: log.With("lock", "lease")})
}
