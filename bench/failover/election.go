package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// election is one Lease and the replicas competing for it.
type election struct {
	b        *bench
	im       impl
	ns       string
	lease    string
	replicas []*member
	next     int
}

func (b *bench) newElection(im impl, what string) (*election, error) {
	ns := fmt.Sprintf("%s-%s-%04x", what, im.Name, rand.IntN(1<<16))
	_, err := b.admin.CoreV1().Namespaces().Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{})
	if err != nil {
		return nil, fmt.Errorf("creating namespace %s: %w", ns, err)
	}
	return &election{b: b, im: im, ns: ns, lease: "bench"}, nil
}

func (e *election) add() error {
	r, err := e.b.startMember(e.im, e.ns, e.lease, fmt.Sprintf("%s-%d", e.im.Name, e.next))
	if err != nil {
		return err
	}
	e.next++
	e.replicas = append(e.replicas, r)
	return nil
}

// stop ends every replica gracefully.
func (e *election) stop() {
	for _, r := range e.replicas {
		_ = r.Signal(syscall.SIGTERM)
	}
	for _, r := range e.replicas {
		_ = r.wait(30 * time.Second)
	}
	e.replicas = nil
}

// leaders returns the replicas whose status file exists.
func (e *election) leaders() []*member {
	var out []*member
	for _, r := range e.replicas {
		if r.HasStatusFile() {
			out = append(out, r)
		}
	}
	return out
}

// waitLeader waits until exactly one replica leads.
func (e *election) waitLeader(timeout time.Duration) (*member, error) {
	deadline := time.Now().Add(timeout)
	for {
		if ls := e.leaders(); len(ls) == 1 {
			return ls[0], nil
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("%s: no single leader within %s (leaders: %d)", e.ns, timeout, len(e.leaders()))
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// trials runs n hand-overs of the given kind ("graceful": SIGTERM to the
// leader; "crash": SIGKILL) among 3 replicas, each replaced by a new one
// afterwards, and returns how long each took from the signal until another
// replica's status file existed, and how often two status files existed at
// once (the killed leader's stale file aside).
func (b *bench) trials(im impl, kind string, n int) ([]time.Duration, int, error) {
	e, err := b.newElection(im, kind)
	if err != nil {
		return nil, 0, err
	}
	defer e.stop()
	for range 3 {
		if err := e.add(); err != nil {
			return nil, 0, err
		}
	}
	sig := syscall.SIGTERM
	if kind == "crash" {
		sig = syscall.SIGKILL
	}
	var out []time.Duration
	overlaps := 0
	for i := range n {
		old, err := e.waitLeader(time.Minute)
		if err != nil {
			return nil, 0, err
		}
		// Settle, then a random part of a RetryPeriod, so the signal lands
		// at any phase of the leader's renewal cycle.
		time.Sleep(b.settle + rand.N(2*time.Second))
		start := time.Now()
		if err := old.Signal(sig); err != nil {
			return nil, 0, fmt.Errorf("signalling %s: %w", old.ID(), err)
		}
		var took time.Duration
		for took == 0 {
			var leading int
			for _, r := range e.replicas {
				if r == old || !r.HasStatusFile() {
					continue
				}
				leading++
				took = time.Since(start)
			}
			if sig == syscall.SIGTERM && old.HasStatusFile() {
				leading++
			}
			if leading > 1 {
				overlaps++
			}
			if time.Since(start) > 2*time.Minute {
				return nil, 0, fmt.Errorf("%s trial %d: no new leader within 2 minutes", kind, i)
			}
			time.Sleep(time.Millisecond)
		}
		out = append(out, took)
		progress("%s: %s trial %d: %s", im.Name, kind, i+1, took.Round(time.Millisecond))
		if err := old.wait(30 * time.Second); err != nil {
			return nil, 0, err
		}
		if sig == syscall.SIGKILL {
			os.Remove(old.StatusFile()) // its pod is gone, and the file with it
		}
		e.remove(old)
		if err := e.add(); err != nil {
			return nil, 0, err
		}
	}
	return out, overlaps, nil
}

func (e *election) remove(gone *member) {
	for i, r := range e.replicas {
		if r == gone {
			e.replicas = append(e.replicas[:i], e.replicas[i+1:]...)
			return
		}
	}
}
