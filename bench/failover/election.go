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

	"github.com/leader-elector/leader-elector/internal/reqcount"
)

// election is one Lease and the replicas competing for it.
type election struct {
	b        *bench
	im       impl
	ns       string
	lease    string
	replicas []*member
	gone     []*member // removed replicas: their requests still count
	next     int
}

// retryPeriod is the default retry period both electors run with here.
const retryPeriod = 2 * time.Second

// countSettle is how long after a new leader's status file the requests
// of a hand-over are still counted: two retry periods, so a loser's read
// after a lost race, or a loop of them, falls inside.
const countSettle = 2 * retryPeriod

// requests sums the requests of every replica this election ever had.
func (e *election) requests() reqcount.Counts {
	out := reqcount.Counts{}
	for _, r := range append(e.gone, e.replicas...) {
		out.Add(r.proxy.Snapshot())
	}
	return out
}

func (b *bench) newElection(im impl, what string) (*election, error) {
	ns := fmt.Sprintf("%s-%s-%04x", what, im.Name, rand.IntN(1<<16))
	_, err := b.Admin.CoreV1().Namespaces().Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{})
	if err != nil {
		return nil, fmt.Errorf("creating namespace %s: %w", ns, err)
	}
	return &election{b: b, im: im, ns: ns, lease: "bench"}, nil
}

// startElection starts n replicas of im on a new Lease in its own
// namespace. The caller stops them (stop) when done; on an error the ones
// started are stopped here.
func (b *bench) startElection(im impl, what string, n int) (*election, error) {
	e, err := b.newElection(im, what)
	if err != nil {
		return nil, err
	}
	for range n {
		if err := e.add(); err != nil {
			e.stop()
			return nil, err
		}
	}
	return e, nil
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

// trialResult is what n hand-overs of one kind measured.
type trialResult struct {
	took     []time.Duration // from the signal until another replica's status file existed
	overlaps int             // polls that saw two status files (the killed leader's stale file aside)
	// requests are every replica's, from just before each signal until
	// countSettle after the new leader's status file, summed over the
	// trials; the replacement replica starts after.
	requests reqcount.Counts
}

// trials runs n hand-overs of the given kind ("graceful": SIGTERM to the
// leader; "crash": SIGKILL) among 3 replicas, each replaced by a new one
// afterwards.
func (b *bench) trials(im impl, kind string, n int) (trialResult, error) {
	res := trialResult{requests: reqcount.Counts{}}
	e, err := b.startElection(im, kind, 3)
	if err != nil {
		return res, err
	}
	defer e.stop()
	sig := syscall.SIGTERM
	if kind == "crash" {
		sig = syscall.SIGKILL
	}
	for i := range n {
		old, err := e.waitLeader(time.Minute)
		if err != nil {
			return res, err
		}
		// Settle, then a random part of a RetryPeriod, so the signal lands
		// at any phase of the leader's renewal cycle.
		time.Sleep(b.settle + rand.N(retryPeriod))
		before := e.requests()
		start := time.Now()
		if err := old.Signal(sig); err != nil {
			return res, fmt.Errorf("signalling %s: %w", old.ID(), err)
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
				res.overlaps++
			}
			if time.Since(start) > 2*time.Minute {
				return res, fmt.Errorf("%s trial %d: no new leader within 2 minutes", kind, i)
			}
			time.Sleep(time.Millisecond)
		}
		res.took = append(res.took, took)
		if err := old.wait(30 * time.Second); err != nil {
			return res, err
		}
		time.Sleep(max(0, countSettle-time.Since(start.Add(took))))
		reqs := e.requests().Sub(before)
		res.requests.Add(reqs)
		progress("%s: %s trial %d: %s, Lease requests %s", im.Name, kind, i+1, took.Round(time.Millisecond), leaseSummary(reqs))
		if sig == syscall.SIGKILL {
			os.Remove(old.StatusFile()) // its pod is gone, and the file with it
		}
		e.remove(old)
		if err := e.add(); err != nil {
			return res, err
		}
	}
	return res, nil
}

func (e *election) remove(gone *member) {
	for i, r := range e.replicas {
		if r == gone {
			e.replicas = append(e.replicas[:i], e.replicas[i+1:]...)
			e.gone = append(e.gone, gone)
			return
		}
	}
}
