package main

import (
	"context"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"github.com/leader-elector/leader-elector/internal/replica"
)

// failover moves leadership every interval, in turn: SIGTERM to the leader
// (it removes its status file, waits its release delay, the margin, then
// releases the Lease, and the next leader takes over at once), a planned
// hand-over to a named follower (`leader-elector handover --to`: the same
// release protocol, and nothing restarts), and SIGKILL (a crash: the Lease
// stays held until it expires). A stopped replica is restarted under the
// same identity, as Kubernetes restarts a container. It returns when ctx
// ends.
func (d *demo) failover(ctx context.Context) {
	for round := 0; ; round++ {
		select {
		case <-ctx.Done():
			return
		case <-time.After(d.opts.Interval):
		}
		d.rollWorker(ctx, round)
		leader := d.waitForLeader(ctx, nil, leaseDuration)
		if leader == nil {
			if ctx.Err() != nil {
				return
			}
			d.say.printf("no replica leads right now; trying again in %v", d.opts.Interval)
			continue
		}
		if round%3 == 1 {
			d.plannedHandover(ctx, leader)
			continue
		}
		sig, how := syscall.SIGTERM, "SIGTERM: it removes its status file, waits the release delay (the margin an app polling the file needs), then releases the Lease"
		if round%3 == 2 {
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

// plannedHandover asks leader, with the handover command, to hand the
// Lease to a follower, and reports how long it took.
func (d *demo) plannedHandover(ctx context.Context, leader *replica.Replica) {
	var to *replica.Replica
	for _, r := range d.replicas {
		if r != leader {
			to = r
			break
		}
	}
	if to == nil {
		return
	}
	d.say.printf("asking %s for a planned hand-over to %s: leader-elector handover %s/%s --to %s", leader.ID(), to.ID(), namespace, leaseName, to.ID())
	cctx, cancel := context.WithTimeout(ctx, 3*leaseDuration)
	defer cancel()
	asked := time.Now()
	out, err := exec.CommandContext(cctx, d.bin, "handover", "--kubeconfig", d.kubeconfig, namespace+"/"+leaseName, "--to", to.ID(), "--force").CombinedOutput()
	switch {
	case ctx.Err() != nil:
	case err != nil:
		d.say.printf("the planned hand-over failed: %v: %s", err, strings.TrimSpace(string(out)))
	default:
		if d.waitForLeader(ctx, leader, leaseDuration) == to {
			d.say.printf("%s took over %v after the request, by a planned hand-over (its release delay, then the release; nothing restarted)", to.ID(), time.Since(asked).Round(time.Millisecond))
		}
	}
}
