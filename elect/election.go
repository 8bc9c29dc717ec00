package elect

import (
	"context"
	"fmt"
	"log/slog"
	"sync"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/leaderelection"
	rl "k8s.io/client-go/tools/leaderelection/resourcelock"
	"k8s.io/utils/clock"

	"github.com/leader-elector/leader-elector/internal/exitcode"
)

// election runs client-go's elector again and again: after a lost
// leadership the sidecar keeps competing (the original exited). Each run
// has its own context, which only election cancels: on shutdown the owner
// removes the file and stops the child first, and only then is the run
// cancelled, which makes client-go send the release.
type election struct {
	cfg     Config
	log     *slog.Logger
	clock   clock.WithDelayedExecution
	owner   *termOwner
	lock    *guardLock
	healthz *leaderelection.HealthzAdaptor
	rep     *reporter

	mu        sync.Mutex
	run       uint64
	cancelRun context.CancelFunc
	done      bool  // no further run: shutting down or finished
	result    error // what Run returns
}

func (e *election) loop(ctx context.Context) error {
	stopWatching := make(chan struct{})
	defer close(stopWatching)
	go func() {
		select {
		case <-ctx.Done():
			e.log.Info("shutting down: removing the status file and stopping the command before releasing the Lease")
			e.owner.shutdown()
			e.finish(nil)
		case <-stopWatching:
		}
	}()

	for {
		e.mu.Lock()
		if e.done {
			e.mu.Unlock()
			break
		}
		run := e.owner.newRun()
		runCtx, cancel := context.WithCancel(context.Background())
		e.run, e.cancelRun = run, cancel
		e.mu.Unlock()

		// A lock that remembers what it told the last elector (the fast
		// lock) must forget it: the new elector has seen nothing.
		if f, ok := e.lock.inner.(interface{ Forget() }); ok {
			f.Forget()
		}
		le, err := leaderelection.NewLeaderElector(e.electorConfig(run))
		if err != nil {
			cancel()
			return fmt.Errorf("starting the elector: %w", err)
		}
		e.healthz.SetLeaderElection(le)
		le.Run(runCtx)
		cancel()
		e.owner.endTerm("the elector stopped")

		if e.isDone() {
			if le.IsLeader() {
				// client-go's release failed: try once more, then say so.
				if err := e.release(); err != nil {
					e.setResult(exitcode.WithCode(exitcode.Runtime, fmt.Errorf("could not release the Lease on exit: %w; it stays held until it expires, %v after the last renewal", err, e.cfg.LeaseDuration)))
				}
			}
			break
		}
		e.log.Info("not leading; competing for the Lease again")
	}
	e.owner.removeLeaderFile()
	if s, ok := e.lock.inner.(interface{ Stop() }); ok {
		s.Stop() // the fast lock's watch
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.result
}

func (e *election) electorConfig(run uint64) leaderelection.LeaderElectionConfig {
	return leaderelection.LeaderElectionConfig{
		Lock:            e.lock,
		LeaseDuration:   e.cfg.LeaseDuration,
		RenewDeadline:   e.cfg.RenewDeadline,
		RetryPeriod:     e.cfg.RetryPeriod,
		ReleaseOnCancel: true,
		Name:            e.cfg.LeaseName,
		Callbacks: leaderelection.LeaderCallbacks{
			// client-go starts this on its own goroutine; the owner drops
			// it if the run ended (ctx done) or its deadline passed.
			OnStartedLeading: func(ctx context.Context) { e.owner.startTerm(ctx, run) },
			OnStoppedLeading: func() { e.owner.endTerm("stopped leading") },
			// Only logged: the leader file and the endpoints follow the
			// lock's own ordered observations, and no "someone else leads"
			// ever touches the status file.
			OnNewLeader: func(id string) { e.log.Info("leader observed", "leader", id) },
		},
	}
}

// stopRun cancels run's elector if it is still the current one.
func (e *election) stopRun(run uint64, reason string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if run == e.run && e.cancelRun != nil {
		e.log.Info("stopping the elector", "reason", reason)
		e.cancelRun()
	}
}

// finish ends the election with result (the first result wins) and stops
// the current run, which releases the Lease if it is held.
func (e *election) finish(result error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if !e.done {
		e.done, e.result = true, result
	}
	if e.cancelRun != nil {
		e.cancelRun()
	}
}

func (e *election) setResult(err error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.result == nil {
		e.result = err
	}
}

func (e *election) isDone() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.done
}

// childExited ends Run with the child's exit code once the Lease is
// released, so the pod's restart policy applies.
func (e *election) childExited(code int) {
	var err error
	if code != 0 {
		err = exitcode.WithCode(code, fmt.Errorf("the command exited with code %d while leading; the Lease was released", code))
	}
	e.finish(err)
}

// release clears the Lease as client-go's release does, if it is still ours.
func (e *election) release() error {
	ctx, cancel := context.WithTimeout(context.Background(), e.cfg.RenewDeadline)
	defer cancel()
	rec, _, err := e.lock.Get(ctx)
	if err != nil {
		return fmt.Errorf("reading lease %s: %w", e.lock.Describe(), err)
	}
	if rec.HolderIdentity != e.cfg.Identity {
		return nil
	}
	now := metav1.NewTime(e.clock.Now())
	err = e.lock.Update(ctx, rl.LeaderElectionRecord{LeaderTransitions: rec.LeaderTransitions, LeaseDurationSeconds: 1, RenewTime: now, AcquireTime: now})
	if err != nil {
		return fmt.Errorf("releasing lease %s: %w", e.lock.Describe(), err)
	}
	return nil
}
