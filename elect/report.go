package elect

import (
	"sync"

	rl "k8s.io/client-go/tools/leaderelection/resourcelock"

	"github.com/leader-elector/leader-elector/elect/endpoints"
)

// reporter feeds the endpoints (when enabled) with what the owner and the
// lock observe. A nil server makes every method a no-op.
type reporter struct {
	srv      *endpoints.Server
	identity string

	mu      sync.Mutex
	rec     rl.LeaderElectionRecord
	leading bool
}

func (r *reporter) observed(rec rl.LeaderElectionRecord) {
	if r.srv == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.rec = rec
	r.publishLocked()
}

func (r *reporter) setLeading(leading bool) {
	if r.srv == nil {
		return
	}
	r.srv.Metrics().SetLeader(leading)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.leading = leading
	r.publishLocked()
}

func (r *reporter) publishLocked() {
	r.srv.Publish(endpoints.LeaderInfo{
		Leader:           r.rec.HolderIdentity,
		Identity:         r.identity,
		IsLeader:         r.leading,
		LeaseTransitions: int32(r.rec.LeaderTransitions),
		AcquireTime:      r.rec.AcquireTime.Time,
		RenewTime:        r.rec.RenewTime.Time,
	})
}

func (r *reporter) setReady(ready bool, why string) {
	if r.srv == nil {
		return
	}
	if ready {
		r.srv.SetReady(true)
	} else {
		r.srv.SetNotReady(why)
	}
}

func (r *reporter) metrics() *endpoints.Metrics {
	if r.srv == nil {
		return nil
	}
	return r.srv.Metrics()
}
