package main

import (
	"context"
	"syscall"
	"time"

	"github.com/leader-elector/leader-elector/internal/replica"
)

// failover stops the current leader every interval, alternately with SIGTERM
// (it removes its status file, waits its release delay, the margin, then
// releases the Lease, and the next leader takes over at once) and SIGKILL (a crash: the Lease stays held
// until it expires), waits for another replica to take over, then restarts
// the stopped one under the same identity, as Kubernetes restarts a
// container. It returns when ctx ends.
func (d *demo) failover(ctx context.Context) {
	for round := 0; ; round++ {
		select {
		case <-ctx.Done():
			return
		case <-time.After(d.opts.Interval):
		}
		leader := d.waitForLeader(ctx, nil, leaseDuration)
		if leader == nil {
			if ctx.Err() != nil {
				return
			}
			d.say.printf("no replica leads right now; trying again in %v", d.opts.Interval)
			continue
		}
		sig, how := syscall.SIGTERM, "SIGTERM: it removes its status file, waits the release delay (the margin an app polling the file needs), then releases the Lease"
		if round%2 == 1 {
			sig, how = syscall.SIGKILL, "SIGKILL: a crash, the others must wait for the Lease to expire ("+leaseDuration.String()+")"
		}
		d.say.printf("stopping the leader %s with %s", leader.ID(), how)
		stopped := time.Now()
		leader.Stop(sig, stopGrace)
		next := d.waitForLeader(ctx, leader, 3*leaseDuration)
		switch {
		case next != nil:
			d.say.printf("%s took over %v after %s was stopped", next.ID(), time.Since(stopped).Round(time.Millisecond), leader.ID())
		case ctx.Err() != nil:
			return
		default:
			d.say.printf("no replica took over within %v", 3*leaseDuration)
		}
		if ctx.Err() != nil {
			return
		}
		if len(d.failed) > 0 {
			return // run is stopping the demo with that failure
		}
		if err := leader.Start(); err != nil {
			d.fail(err)
			return
		}
		if sig == syscall.SIGKILL {
			d.say.printf("%s restarted as a follower (it first removes the status file its crashed predecessor left)", leader.ID())
		} else {
			d.say.printf("%s restarted as a follower", leader.ID())
		}
	}
}

// waitForLeader polls the replicas' status files until one other than
// except leads, and returns it; nil if timeout or ctx ends first, or a
// replica has failed (the caller's select on d.failed reports it).
func (d *demo) waitForLeader(ctx context.Context, except *replica.Replica, timeout time.Duration) *replica.Replica {
	deadline := time.Now().Add(timeout)
	for {
		for _, r := range d.replicas {
			if r != except && r.Leads() {
				return r
			}
		}
		if time.Now().After(deadline) || len(d.failed) > 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(50 * time.Millisecond):
		}
	}
}
