package main

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/leader-elector/leader-elector/internal/benchkit"
	"github.com/leader-elector/leader-elector/internal/proc"
	"github.com/leader-elector/leader-elector/internal/replica"
	"github.com/leader-elector/leader-elector/internal/reqcount"
)

// steadyResult is one elector's requests over a steady window: per
// replica per minute, by "resource verb".
type steadyResult struct {
	replicas, shards int
	window           time.Duration
	perReplica       map[string]float64 // mean over replicas
	member           map[string]float64 // of which for the member Lease (ours)
	totals           []float64          // each replica's requests/min
	changed          bool               // an owner changed during the window
}

func (s steadyResult) total() float64 { return benchkit.Sum(s.perReplica) }

// perShard is all replicas' requests per minute over the shards.
func (s steadyResult) perShard() float64 {
	return s.total() * float64(s.replicas) / float64(s.shards)
}

// steadyOurs counts an n-replica, m-shard group's requests over window,
// after it balanced and settled.
func (b *bench) steadyOurs(n, m int, t timings, window, settle time.Duration) (steadyResult, error) {
	res := steadyResult{replicas: n, shards: m, window: window, perReplica: map[string]float64{}, member: map[string]float64{}}
	g, err := b.startGroup("steady-ours-"+t.name, n, m, t)
	if err != nil {
		return res, err
	}
	defer g.stop()
	before, err := g.waitBalanced(2*time.Minute + 4*t.ld)
	if err != nil {
		return res, err
	}
	time.Sleep(settle)
	if before, err = g.waitBalanced(time.Minute); err != nil {
		return res, err
	}
	counts0 := map[*shardRep][2]reqcount.Counts{}
	for _, r := range g.reps {
		counts0[r] = [2]reqcount.Counts{r.proxy.Snapshot(), r.member.snapshot()}
	}
	time.Sleep(window)
	if err := b.failed(); err != nil {
		return res, err
	}
	after := viewOf(g.reps)
	o0, _ := before.owners(m)
	o1, _ := after.owners(m)
	res.changed = !slices.Equal(o0, o1)
	for _, r := range g.reps {
		all := r.proxy.Snapshot().Sub(counts0[r][0])
		mem := r.member.snapshot().Sub(counts0[r][1])
		res.totals = append(res.totals, perMinute(all, window, 1, nil))
		perMinute(all, window, n, res.perReplica)
		perMinute(mem, window, n, res.member)
	}
	return res, nil
}

// perMinute adds c's requests per minute, divided by n, into into (when
// not nil) and returns c's total per minute.
func perMinute(c reqcount.Counts, window time.Duration, n int, into map[string]float64) float64 {
	var total float64
	for k, v := range c {
		d := float64(v) / window.Minutes()
		total += d
		if into != nil {
			into[k] += d / float64(n)
		}
	}
	return total
}

// steadyBaseline runs the naive alternative: each of n replicas runs one
// plain client-go elector (bench/baseline) per shard Lease, all of a
// replica's electors behind one counting proxy, and counts their requests
// over window once every Lease has a leader and the group settled.
func (b *bench) steadyBaseline(n, m int, t timings, window, settle time.Duration) (steadyResult, error) {
	res := steadyResult{replicas: n, shards: m, window: window, perReplica: map[string]float64{}}
	ns, err := b.newNamespace("steady-baseline-" + t.name)
	if err != nil {
		return res, err
	}
	type pod struct {
		proxy  *reqcount.Proxy
		member *memberCounter
		procs  []*replica.Replica
		dir    string
	}
	var pods []*pod
	defer func() {
		var wg sync.WaitGroup
		for _, p := range pods {
			for _, r := range p.procs {
				wg.Go(func() { r.Stop(syscall.SIGTERM, 30*time.Second) })
			}
		}
		wg.Wait()
		for _, p := range pods {
			p.proxy.Close()
			p.member.close()
		}
	}()
	for k := range n {
		id := fmt.Sprintf("r-%d", k)
		dir := filepath.Join(b.dir, ns, id)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return res, err
		}
		proxy, member, kc, err := b.counted(dir, ns)
		if err != nil {
			return res, err
		}
		p := &pod{proxy: proxy, member: member, dir: dir}
		pods = append(pods, p)
		for i := range m {
			args := replica.Elect{
				Kubeconfig: kc, Namespace: ns, Lease: "app-shard-" + strconv.Itoa(i), Identity: id,
				StatusFile:    filepath.Join(dir, "shard-"+strconv.Itoa(i)),
				LeaseDuration: t.ld, RenewDeadline: t.rd, RetryPeriod: t.rp,
			}.BaselineArgs()
			r := replica.New(replica.Spec{
				ID:               fmt.Sprintf("%s/shard-%d", id, i),
				Command:          proc.Options{Path: b.base, Args: args, LogPath: filepath.Join(dir, fmt.Sprintf("log-%d", i))},
				OnUnexpectedExit: b.fail,
			})
			if err := r.Start(); err != nil {
				return res, err
			}
			p.procs = append(p.procs, r)
		}
	}
	// Every Lease led by exactly one replica.
	led := func() bool {
		for i := range m {
			leaders := 0
			for _, p := range pods {
				if _, err := os.Lstat(filepath.Join(p.dir, "shard-"+strconv.Itoa(i))); err == nil {
					leaders++
				}
			}
			if leaders != 1 {
				return false
			}
		}
		return true
	}
	deadline := time.Now().Add(2*time.Minute + 4*t.ld)
	for !led() {
		if err := b.failed(); err != nil {
			return res, err
		}
		if time.Now().After(deadline) {
			return res, fmt.Errorf("baseline: not every Lease led by one replica within %s", 2*time.Minute+4*t.ld)
		}
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(settle)
	counts0 := map[*pod]reqcount.Counts{}
	for _, p := range pods {
		counts0[p] = p.proxy.Snapshot()
	}
	time.Sleep(window)
	if err := b.failed(); err != nil {
		return res, err
	}
	res.changed = !led()
	for _, p := range pods {
		all := p.proxy.Snapshot().Sub(counts0[p])
		res.totals = append(res.totals, perMinute(all, window, 1, nil))
		perMinute(all, window, n, res.perReplica)
	}
	return res, nil
}
