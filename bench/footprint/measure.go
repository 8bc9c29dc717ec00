package main

import (
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/leader-elector/leader-elector/internal/proc"
	"github.com/leader-elector/leader-elector/internal/procstat"
	"github.com/leader-elector/leader-elector/internal/replica"
)

// elector is one implementation under measurement.
type elector = replica.Elector

// oursElector runs the sidecar as deployed: endpoints on (a port of its own
// per replica), everything else at its defaults.
func oursElector(bin string) elector { return replica.Ours("leader-elector", bin) }

func baselineElector(bin string) elector { return replica.Baseline("client-go", bin) }

// figures are one elector's medians over the trials.
type figures struct {
	elector                              string
	binMiB                               float64
	leaderRSS, followerRSS               float64 // MiB, after settle
	leaderCPU, followerCPU               float64 // CPU milliseconds per idle minute
	startToLeading                       time.Duration
	leaderRSSes, followerRSSes           []float64
	leaderCPUs, followerCPUs, toLeadings []float64
}

// start starts one replica of e on lease, with its endpoints on a free port.
func start(e elector, dir, lease, id, kubeconfig string) (*replica.Replica, error) {
	addr, err := replica.FreeAddr()
	if err != nil {
		return nil, err
	}
	spec := replica.Elect{Kubeconfig: kubeconfig, Namespace: "default", Lease: lease, Identity: id,
		StatusFile: filepath.Join(dir, id+".status"), HTTPAddr: addr}
	r := replica.New(replica.Spec{
		ID: id, StatusFile: spec.StatusFile,
		Command: proc.Options{Path: e.Bin, Args: e.Args(spec), LogPath: filepath.Join(dir, id+".log")},
	})
	if err := r.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", id, err)
	}
	return r, nil
}

// stop ends a replica as Kubernetes does: SIGTERM, then SIGKILL.
func stop(r *replica.Replica) { r.Stop(syscall.SIGTERM, 20*time.Second) }

// measure starts trials leader+follower pairs of e, one pair at a time, each
// on a Lease of its own.
func measure(e elector, dir, kubeconfig string, trials int, settle, window time.Duration) (figures, error) {
	f := figures{elector: e.Name}
	st, err := os.Stat(e.Bin)
	if err != nil {
		return f, err
	}
	f.binMiB = float64(st.Size()) / (1 << 20)
	for i := range trials {
		if err := f.trial(e, dir, kubeconfig, fmt.Sprintf("footprint-%s-%d", e.Name, i), settle, window); err != nil {
			return f, err
		}
	}
	f.leaderRSS, f.followerRSS = median(f.leaderRSSes), median(f.followerRSSes)
	f.leaderCPU, f.followerCPU = median(f.leaderCPUs), median(f.followerCPUs)
	f.startToLeading = time.Duration(median(f.toLeadings) * float64(time.Second))
	return f, nil
}

func (f *figures) trial(e elector, dir, kubeconfig, lease string, settle, window time.Duration) error {
	progress("%s: %s: leader, then a follower; memory after %s, CPU over %s", e.Name, lease, settle, window)
	began := time.Now()
	leader, err := start(e, dir, lease, lease+"-a", kubeconfig)
	if err != nil {
		return err
	}
	defer stop(leader)
	for !leader.HasStatusFile() {
		if !leader.Running() || time.Since(began) > time.Minute {
			return fmt.Errorf("%s has no status file %s after start (running: %v); its log:\n%s",
				leader.ID(), time.Since(began).Round(time.Millisecond), leader.Running(), proc.TailFile(filepath.Join(dir, leader.ID()+".log"), 10))
		}
		time.Sleep(2 * time.Millisecond)
	}
	f.toLeadings = append(f.toLeadings, time.Since(began).Seconds())
	follower, err := start(e, dir, lease, lease+"-b", kubeconfig)
	if err != nil {
		return err
	}
	defer stop(follower)
	time.Sleep(settle)
	for _, r := range []*replica.Replica{leader, follower} {
		if !r.Running() {
			return fmt.Errorf("%s exited while idle; its log:\n%s", r.ID(), proc.TailFile(filepath.Join(dir, r.ID()+".log"), 10))
		}
	}
	if follower.HasStatusFile() {
		return fmt.Errorf("the follower %s holds a status file too", follower.ID())
	}
	lp, fp := leader.Process().Pid(), follower.Process().Pid()
	lr, err := procstat.RSSMiB(lp)
	if err != nil {
		return err
	}
	fr, err := procstat.RSSMiB(fp)
	if err != nil {
		return err
	}
	f.leaderRSSes, f.followerRSSes = append(f.leaderRSSes, lr), append(f.followerRSSes, fr)
	l0, err1 := procstat.CPUSeconds(lp)
	f0, err2 := procstat.CPUSeconds(fp)
	time.Sleep(window)
	l1, err3 := procstat.CPUSeconds(lp)
	f1, err4 := procstat.CPUSeconds(fp)
	for _, err := range []error{err1, err2, err3, err4} {
		if err != nil {
			return err
		}
	}
	perMinute := 1000 / window.Minutes()
	f.leaderCPUs = append(f.leaderCPUs, (l1-l0)*perMinute)
	f.followerCPUs = append(f.followerCPUs, (f1-f0)*perMinute)
	return nil
}
