package main

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"syscall"
	"time"

	"github.com/leader-elector/leader-elector/internal/proc"
	"github.com/leader-elector/leader-elector/internal/replica"
)

// stopGrace is how long a replica may take to end before it is killed, so
// a wedged one cannot hold the demo open.
const stopGrace = 10 * time.Second

func (d *demo) startReplicas() error {
	for i := 1; i <= d.opts.Replicas; i++ {
		id := replicaID(i)
		dir := filepath.Join(d.tmp, id)
		if err := os.Mkdir(dir, 0o755); err != nil {
			return fmt.Errorf("creating %s: %w", dir, err)
		}
		addr, err := replica.FreeAddr()
		if err != nil {
			return err
		}
		statusFile := filepath.Join(dir, "status")
		args := replica.Elect{
			Kubeconfig: d.kubeconfig, Namespace: namespace, Lease: leaseName,
			Identity: id, StatusFile: statusFile, HTTPAddr: addr,
			LeaseDuration: leaseDuration, RenewDeadline: renewDeadline, RetryPeriod: retryPeriod,
		}.Args()
		r := replica.New(replica.Spec{
			ID: id, StatusFile: statusFile,
			// Its own process group: a ctrl+c at the terminal reaches the
			// demo, which stops the replicas itself, not each replica on
			// its own. Restarts append to the same log.
			Command:          proc.Options{Path: d.bin, Args: args, LogPath: filepath.Join(d.tmp, id+".log"), OwnGroup: true},
			OnUnexpectedExit: d.fail,
		})
		d.replicas = append(d.replicas, r)
		if err := r.Start(); err != nil {
			return err
		}
	}
	d.say.printf("started %d replicas competing for Lease %s/%s; their logs: %s/replica-*.log",
		len(d.replicas), namespace, leaseName, d.tmp)
	return nil
}

// replicaID names the i-th replica (from 1).
func replicaID(i int) string { return fmt.Sprintf("replica-%d", i) }

// fail reports a replica that ended without being asked, since elect only
// exits when told to (or on bad configuration); the first failure stops the
// demo, later ones add nothing.
func (d *demo) fail(err error) {
	select {
	case d.failed <- err:
	default:
	}
}

// stopReplicas stops every replica and worker at once with SIGTERM, as a
// rollout would.
func (d *demo) stopReplicas() {
	var wg sync.WaitGroup
	for _, r := range append(slices.Clone(d.replicas), d.workers...) {
		wg.Go(func() { r.Stop(syscall.SIGTERM, stopGrace) })
	}
	wg.Wait()
}

// describeExit turns how a process ended into words.
func describeExit(err error) string {
	if err == nil {
		return "exit code 0"
	}
	return err.Error()
}
