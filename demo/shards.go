package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"syscall"

	"github.com/leader-elector/leader-elector/internal/proc"
	"github.com/leader-elector/leader-elector/internal/replica"
)

// Beside the one Lease, a shard group: three workers share six shards
// (elect --shards, docs/shards.md), two each, so the dashboard shows a group
// as one row. Every failover round one worker rolls (SIGTERM, then a
// restart under the same name): its shards move to the others with the
// release protocol, and as many come back when it rejoins.
const (
	shardGroup   = "jobs"
	shardCount   = 6
	shardWorkers = 3
)

// workerID names the i-th worker (from 1).
func workerID(i int) string { return "worker-" + strconv.Itoa(i) }

func (d *demo) startWorkers() error {
	for i := 1; i <= shardWorkers; i++ {
		id := workerID(i)
		dir := filepath.Join(d.tmp, id)
		if err := os.Mkdir(dir, 0o755); err != nil {
			return fmt.Errorf("creating %s: %w", dir, err)
		}
		shardDir := filepath.Join(dir, "shards")
		args := replica.Elect{
			Kubeconfig: d.kubeconfig, Namespace: namespace, Lease: shardGroup, Identity: id,
			LeaseDuration: leaseDuration, RenewDeadline: renewDeadline, RetryPeriod: retryPeriod,
			Extra: []string{"--shards", strconv.Itoa(shardCount), "--status-dir", shardDir},
		}.Args()
		w := replica.New(replica.Spec{
			ID: id, StatusFile: filepath.Join(shardDir, "shard-0"),
			Command:          proc.Options{Path: d.bin, Args: args, LogPath: filepath.Join(d.tmp, id+".log"), OwnGroup: true},
			OnUnexpectedExit: d.fail,
		})
		d.workers = append(d.workers, w)
		if err := w.Start(); err != nil {
			return err
		}
	}
	d.say.printf("started %d workers sharing the %d shards of group %s/%s (Leases %s-shard-0 ... %s-shard-%d)",
		shardWorkers, shardCount, namespace, shardGroup, shardGroup, shardGroup, shardCount-1)
	return nil
}

// rollWorker restarts the round's worker as a rollout would.
func (d *demo) rollWorker(ctx context.Context, round int) {
	w := d.workers[round%len(d.workers)]
	d.say.printf("rolling %s (SIGTERM, then a restart): its shards of %s move to the other workers, and some come back when it rejoins", w.ID(), shardGroup)
	w.Stop(syscall.SIGTERM, stopGrace)
	if ctx.Err() != nil || len(d.failed) > 0 {
		return
	}
	if err := w.Start(); err != nil {
		d.fail(err)
	}
}
