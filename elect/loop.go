package elect

import (
	"context"

	"github.com/leader-elector/leader-elector/elect/leadership"
)

// run is the process's loop: it steps the machine with what the watch and
// the driver's tasks report, the timer and ctx's end (a shutdown), until
// the machine exits.
func (d *driver) run(ctx context.Context, rt *procHost) error {
	watchCtx, stopWatch := context.WithCancel(context.WithoutCancel(ctx))
	defer func() {
		stopWatch()
		rt.stop()
	}()

	d.step(leadership.Start{})
	if !d.fed {
		d.follow(watchCtx, rt)
	}

	done := ctx.Done()
	for !d.m.Done() {
		select {
		case in := <-rt.inputs:
			d.step(in)
		case <-rt.timer.C:
			d.step(leadership.Tick{})
		case <-done:
			done = nil
			d.step(leadership.Shutdown{})
		}
	}
	return d.result()
}

// follow watches the Lease on a task, reporting what it sees.
func (d *driver) follow(watchCtx context.Context, rt *procHost) {
	rt.spawn(func() {
		d.api.follow(watchCtx, d.cfg.RetryPeriod, func(ev watchEvent) {
			if ev.err != nil {
				d.log.Warn("watch of the Lease interrupted; following it again", "err", ev.err)
				d.out.reachable(ev.err)
				return
			}
			d.out.reachable(nil)
			if ev.answered {
				return
			}
			rt.report(leadership.Observed{Lease: ev.lease})
		})
	})
}
