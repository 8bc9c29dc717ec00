package main

import (
	"fmt"
	"time"

	"github.com/leader-elector/leader-elector/internal/reqcount"
)

// steadyResult is one steady-state window with n replicas.
type steadyResult struct {
	replicas int
	window   time.Duration
	// leader and follower are requests per minute by "resource verb";
	// follower is the mean over followers, followerMax the busiest one's total.
	leader, follower map[string]float64
	followerMax      float64
	followerTotals   []float64 // each follower's requests per minute
	total            float64   // all replicas, per minute
	idleRSS          float64   // MiB, one follower, at the end of the window
	idleCPU          float64   // CPU seconds per minute, the same follower
}

// steady starts n replicas, lets them settle, and counts their requests over
// window; it also samples one follower's memory and CPU time.
func (b *bench) steady(im impl, n int, window time.Duration) (steadyResult, error) {
	res := steadyResult{replicas: n, window: window, leader: map[string]float64{}, follower: map[string]float64{}}
	e, err := b.startElection(im, "steady", n)
	if err != nil {
		return res, err
	}
	defer e.stop()
	leader, err := e.waitLeader(2 * time.Minute)
	if err != nil {
		return res, err
	}
	time.Sleep(b.settle)
	idle := e.replicas[0]
	if idle == leader {
		idle = e.replicas[1]
	}
	before := map[*member]reqcount.Counts{}
	for _, r := range e.replicas {
		before[r] = r.proxy.Snapshot()
	}
	cpu0, err := idle.cpuSeconds()
	if err != nil {
		return res, fmt.Errorf("reading CPU time of %s: %w", idle.ID(), err)
	}
	time.Sleep(window)
	cpu1, err := idle.cpuSeconds()
	if err != nil {
		return res, fmt.Errorf("reading CPU time of %s: %w", idle.ID(), err)
	}
	if res.idleRSS, err = idle.rssMiB(); err != nil {
		return res, err
	}
	minutes := window.Minutes()
	res.idleCPU = (cpu1 - cpu0) / minutes
	if ls := e.leaders(); len(ls) != 1 || ls[0] != leader {
		return res, fmt.Errorf("leadership changed during the steady window")
	}
	for _, r := range e.replicas {
		after := r.proxy.Snapshot()
		var sum float64
		for k, v := range after {
			d := float64(v-before[r][k]) / minutes
			if d == 0 {
				continue
			}
			sum += d
			if r == leader {
				res.leader[k] += d
			} else {
				res.follower[k] += d / float64(n-1)
			}
		}
		res.total += sum
		if r != leader {
			res.followerTotals = append(res.followerTotals, sum)
			res.followerMax = max(res.followerMax, sum)
		}
	}
	return res, nil
}
