package elect

import (
	"context"
	"log/slog"
	"runtime/debug"
	"time"

	"github.com/leader-elector/leader-elector/elect/child"
	"github.com/leader-elector/leader-elector/elect/endpoints"
)

// Run competes for the Lease until ctx ends, keeping the status file (and
// the child, in exec mode) in step with leadership. Configuration problems,
// a busy --http-addr and missing RBAC are reported before the election
// starts as exit-2 errors. On ctx's end the status file is removed and the
// child stopped, then after the release delay the Lease is released; it
// then returns nil. In exec mode a child that exits while leading ends Run
// with the child's exit code (after the release).
func Run(ctx context.Context, api API, cfg Config, logger *slog.Logger) error {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if err := cfg.Validate(); err != nil {
		return err
	}
	if len(cfg.Command) > 0 {
		if err := child.Validate(cfg.Command); err != nil {
			return err
		}
	}
	if cfg.Shards > 0 {
		if err := prepareStatusDir(cfg.StatusDir, logger); err != nil {
			return err
		}
	} else if err := prepareFile(cfg.StatusFile, "--status-file", identityContent, logger); err != nil {
		return err
	}
	if cfg.LeaderFile != "" {
		if err := prepareFile(cfg.LeaderFile, "--leader-file", identityContent, logger); err != nil {
			return err
		}
	}
	if cfg.TokenFile != "" {
		// After the status file: a token file never outlasts it.
		if err := prepareFile(cfg.TokenFile, "--token-file", tokenContent, logger); err != nil {
			return err
		}
	}
	log := logger.With("lease", cfg.Namespace+"/"+cfg.LeaseName, "identity", cfg.Identity)
	leaseLabels, err := cfg.LeaseLabelMap()
	if err != nil {
		return err
	}

	out := &serverSink{cfg: cfg}
	var (
		rt      *procHost
		d       *driver
		g       *group
		healthz func() error
	)
	if cfg.Shards > 0 {
		g = newGroup(cfg, log, api, out, leaseLabels)
		healthz = g.healthz
	} else {
		rt = newProcHost()
		d = newDriver(cfg, log, rt, api, ports{out: out})
		d.api.labels = leaseLabels
		healthz = d.healthz
	}

	// Background work (endpoints, reaper) outlives ctx until Run returns,
	// so /healthz answers during the shutdown.
	bgCtx, stopBg := context.WithCancel(context.WithoutCancel(ctx))
	defer stopBg()
	if cfg.HTTPAddr != "" {
		ln, err := endpoints.Listen(cfg.HTTPAddr)
		if err != nil {
			return err
		}
		out.srv = endpoints.New(endpoints.Options{
			Healthz:   healthz,
			Logger:    log,
			LeaseName: cfg.LeaseName,
			Identity:  cfg.Identity, // so /leader names us before the first observation

			LogDropped: cfg.LogDropped,
		})
		served := make(chan struct{})
		go func() {
			defer close(served)
			if err := out.srv.ServeListener(bgCtx, ln); err != nil {
				log.Error("endpoints stopped", "err", err)
			}
		}()
		defer func() { stopBg(); <-served }()
		if g != nil {
			out.srv.Publish(endpoints.LeaderInfo{Identity: cfg.Identity, Sharded: true, Shards: []int{}})
		}
	}
	if len(cfg.Command) > 0 {
		// Descendants that leave the command's process group (setsid,
		// start_new_session) are reparented to us, so Stop can find them.
		if err := child.BecomeSubreaper(); err != nil {
			log.Warn("could not become a child subreaper; descendants that leave the command's session may outlive it", "err", err)
		}
	}
	go child.ReapZombies(bgCtx)
	// As PID 1, stop whatever is left in the container on the way out.
	defer child.StopAll(context.Background(), cfg.Grace, 0)

	if err := preflight(ctx, api, cfg, log); err != nil {
		if ctx.Err() != nil {
			log.Info("stopped before the election started")
			return nil
		}
		return err
	}
	if out.srv != nil {
		out.srv.SetReady(true)
	}
	// Which guarantee the fencing tokens carry: one request, on its own
	// goroutine, so the election never waits for it.
	versionLogged := make(chan struct{})
	go func() {
		defer close(versionLogged)
		vctx, cancel := context.WithTimeout(ctx, RequestTimeout(cfg.RenewDeadline))
		defer cancel()
		logTokenGuarantee(vctx, api.Version, log)
	}()
	defer func() { <-versionLogged }()
	out.events = newEventSender(api.Events, cfg, log)
	defer out.events.stop()
	// Start-up (flags, kubeconfig, TLS, the preflight) leaves a few MB of
	// garbage in pages the runtime would hand back only slowly; a sidecar
	// then idles for days, so give them back now, once.
	debug.FreeOSMemory()
	if g != nil {
		return g.run(ctx)
	}
	return d.run(ctx, rt)
}

// RequestTimeout bounds every request but the watch, so one hung request
// cannot use up the renew deadline (client-go's own heuristic: half of it,
// at least 1s).
func RequestTimeout(renewDeadline time.Duration) time.Duration {
	return max(renewDeadline/2, time.Second)
}
