package elect

import (
	"context"
	"fmt"
	"log/slog"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/leaderelection"
	rl "k8s.io/client-go/tools/leaderelection/resourcelock"
	"k8s.io/utils/clock"

	"github.com/leader-elector/leader-elector/elect/child"
	"github.com/leader-elector/leader-elector/elect/endpoints"
)

// Run competes for the Lease until ctx ends, keeping the status file (and
// the child, in exec mode) in step with leadership. Configuration problems,
// a busy --http-addr and missing RBAC are reported before the election
// starts as exit-2 errors. On ctx's end the status file is removed and the
// child stopped before the Lease is released; it then returns nil. In exec
// mode a child that exits while leading ends Run with the child's exit code
// (after the release).
func Run(ctx context.Context, client kubernetes.Interface, cfg Config, logger *slog.Logger) error {
	return run(ctx, client, cfg, deps{log: logger, clock: clock.RealClock{}})
}

// deps are what tests replace.
type deps struct {
	log   *slog.Logger
	clock clock.WithDelayedExecution
}

func run(ctx context.Context, client kubernetes.Interface, cfg Config, d deps) error {
	if d.log == nil {
		d.log = slog.New(slog.DiscardHandler)
	}
	if err := cfg.Validate(); err != nil {
		return err
	}
	if len(cfg.Command) > 0 {
		if err := child.Validate(cfg.Command); err != nil {
			return err
		}
	}
	if err := prepareFile(cfg.StatusFile, "--status-file", d.log); err != nil {
		return err
	}
	if cfg.LeaderFile != "" {
		if err := prepareFile(cfg.LeaderFile, "--leader-file", d.log); err != nil {
			return err
		}
	}
	log := d.log.With("lease", cfg.Namespace+"/"+cfg.LeaseName, "identity", cfg.Identity)

	// Background work (endpoints, reaper) outlives ctx until Run returns,
	// so /healthz answers during the shutdown.
	bgCtx, stopBg := context.WithCancel(context.WithoutCancel(ctx))
	defer stopBg()
	healthz := leaderelection.NewLeaderHealthzAdaptor(cfg.LeaseDuration)
	rep := &reporter{identity: cfg.Identity}
	if cfg.HTTPAddr != "" {
		ln, err := endpoints.Listen(cfg.HTTPAddr)
		if err != nil {
			return err
		}
		rep.srv = endpoints.New(endpoints.Options{
			Healthz:   func() error { return healthz.Check(nil) },
			Logger:    log,
			LeaseName: cfg.LeaseName,
			Identity:  cfg.Identity, // so /leader names us before the first observation
			Clock:     d.clock,
		})
		served := make(chan struct{})
		go func() {
			defer close(served)
			if err := rep.srv.ServeListener(bgCtx, ln); err != nil {
				log.Error("endpoints stopped", "err", err)
			}
		}()
		defer func() { stopBg(); <-served }()
	}
	go child.ReapZombies(bgCtx)

	if err := preflight(ctx, client, cfg, log); err != nil {
		if ctx.Err() != nil {
			log.Info("stopped before the election started")
			return nil
		}
		return err
	}
	rep.setReady(true, "")

	recorder, stopEvents := newRecorder(client, cfg)
	defer stopEvents()

	e := &election{cfg: cfg, log: log, clock: d.clock, healthz: healthz, rep: rep}
	var newActor func() actor
	if len(cfg.Command) > 0 {
		newActor = func() actor {
			return &childActor{argv: cfg.Command, grace: cfg.Grace, log: log.With("child", cfg.Command[0])}
		}
	}
	e.owner = newTermOwner(d.clock, log, cfg, newActor, ownerHooks{
		stopElector: e.stopRun,
		childExited: e.childExited,
		failed:      func(err error) { e.finish(fmt.Errorf("leading: %w", err)) },
		leading:     rep.setLeading,
		observed:    rep.observed,
	})
	e.lock = &guardLock{
		inner: newLock(client, cfg, recorder, log),
		clock: d.clock,
		log:   log,
		owner: e.owner,
		collision: func(rec rl.LeaderElectionRecord, loud bool) {
			if m := rep.metrics(); m != nil {
				m.Collision()
			}
			if loud {
				recorder.Eventf(leaseRef(cfg), corev1.EventTypeWarning, "IdentityCollision",
					"another live process writes this Lease under the identity %q; give each replica a unique identity", cfg.Identity)
			}
		},
		renewFail: func() {
			if m := rep.metrics(); m != nil {
				m.RenewFailed()
			}
		},
	}
	e.lock.renewed = func() {
		if m := rep.metrics(); m != nil {
			m.RenewSucceeded(d.clock.Now())
		}
	}
	return e.loop(ctx)
}
