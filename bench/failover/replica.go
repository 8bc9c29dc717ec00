package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/leader-elector/leader-elector/internal/benchkit"
	"github.com/leader-elector/leader-elector/internal/proc"
	"github.com/leader-elector/leader-elector/internal/procstat"
	"github.com/leader-elector/leader-elector/internal/replica"
	"github.com/leader-elector/leader-elector/internal/reqcount"
)

// impl is one elector under test: how to start a replica of it.
type impl = replica.Elector

// oursImpl runs our elector with its endpoints off, so many replicas share
// the machine.
func oursImpl(bin string) impl { return replica.Ours("ours", bin) }

func baselineImpl(bin string) impl { return replica.Baseline("baseline", bin) }

// member is one running elector process behind its own counting proxy.
type member struct {
	*replica.Replica
	proxy *reqcount.Proxy
}

// wait waits for the process to end, up to timeout, and kills it then.
func (m *member) wait(timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	_ = m.Wait(ctx) // how it ended is the trial's business, not the wait's
	if m.Running() {
		m.Stop(syscall.SIGKILL, 0)
		return fmt.Errorf("replica %s did not exit within %s", m.ID(), timeout)
	}
	return nil
}

// cpuSeconds returns the process's user+system CPU time.
func (m *member) cpuSeconds() (float64, error) { return procstat.CPUSeconds(m.Process().Pid()) }

// rssMiB returns the process's resident set size.
func (m *member) rssMiB() (float64, error) { return procstat.RSSMiB(m.Process().Pid()) }

// startMember starts one replica of im in its own directory, talking to the
// API server through a new counting proxy, closed when the replica ends.
func (b *bench) startMember(im impl, ns, lease, id string) (*member, error) {
	dir := filepath.Join(b.dir, im.Name, ns, id)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	p, err := reqcount.Start(b.Target, b.Transport)
	if err != nil {
		return nil, fmt.Errorf("starting the proxy for %s: %w", id, err)
	}
	kc := filepath.Join(dir, "kubeconfig")
	if err := benchkit.WriteKubeconfig(kc, p.Addr(), ns); err != nil {
		p.Close()
		return nil, err
	}
	status := filepath.Join(dir, "status")
	args := im.Args(replica.Elect{Kubeconfig: kc, Namespace: ns, Lease: lease, Identity: id, StatusFile: status})
	r := replica.New(replica.Spec{
		ID: id, StatusFile: status,
		Command: proc.Options{Path: im.Bin, Args: args, LogPath: filepath.Join(dir, "log")},
	})
	if err := r.Start(); err != nil {
		p.Close()
		return nil, err
	}
	go func() {
		<-r.Process().Done()
		p.Close()
	}()
	return &member{Replica: r, proxy: p}, nil
}
