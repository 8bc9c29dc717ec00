package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/leader-elector/leader-elector/internal/benchkit"
	"github.com/leader-elector/leader-elector/internal/proc"
	"github.com/leader-elector/leader-elector/internal/replica"
	"github.com/leader-elector/leader-elector/internal/reqcount"
)

// timings are the three durations every elector of a run gets.
type timings struct {
	name       string
	ld, rd, rp time.Duration
}

func (t timings) String() string {
	return fmt.Sprintf("%s %s/%s/%s", t.name, secsText(t.ld), secsText(t.rd), secsText(t.rp))
}

func secsText(d time.Duration) string { return strconv.FormatFloat(d.Seconds(), 'f', -1, 64) + "s" }

var (
	fast     = timings{"fast", 3 * time.Second, 2 * time.Second, 500 * time.Millisecond}
	defaults = timings{"defaults", 15 * time.Second, 10 * time.Second, 2 * time.Second}
)

// group is one shard group: replicas of `elect --shards M` sharing a
// LEASE_NAME in a namespace of their own.
type group struct {
	b    *bench
	ns   string
	m    int
	t    timings
	reps []*shardRep // running, killed ones excluded
	gone []*shardRep // ended: their requests still count
	next int
}

// shardRep is one replica: its process, status directory and counters.
type shardRep struct {
	*replica.Replica
	id, dir string
	proxy   *reqcount.Proxy
	member  *memberCounter
}

// shards lists the shards whose file is in the replica's directory.
func (r *shardRep) shards() []int {
	var out []int
	entries, _ := os.ReadDir(r.dir)
	for _, e := range entries {
		if n, ok := strings.CutPrefix(e.Name(), "shard-"); ok {
			if i, err := strconv.Atoi(n); err == nil {
				out = append(out, i)
			}
		}
	}
	slices.Sort(out)
	return out
}

// newNamespace creates a namespace of its own for one measurement.
func (b *bench) newNamespace(what string) (string, error) {
	ns := fmt.Sprintf("%s-%04x", what, rand.IntN(1<<16))
	_, err := b.Admin.CoreV1().Namespaces().Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{})
	if err != nil {
		return "", fmt.Errorf("creating namespace %s: %w", ns, err)
	}
	return ns, nil
}

// startGroup starts n replicas of an m-shard group; on an error the ones
// started are stopped.
func (b *bench) startGroup(what string, n, m int, t timings) (*group, error) {
	ns, err := b.newNamespace(what)
	if err != nil {
		return nil, err
	}
	g := &group{b: b, ns: ns, m: m, t: t}
	for range n {
		if _, err := g.add(); err != nil {
			g.stop()
			return nil, err
		}
	}
	return g, nil
}

// add starts one more replica, behind its own counting proxies.
func (g *group) add() (*shardRep, error) {
	id := fmt.Sprintf("r-%d", g.next)
	g.next++
	dir := filepath.Join(g.b.dir, g.ns, id)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	proxy, member, kc, err := g.b.counted(dir, g.ns)
	if err != nil {
		return nil, err
	}
	status := filepath.Join(dir, "shards")
	args := replica.Elect{
		Kubeconfig: kc, Namespace: g.ns, Lease: "app", Identity: id,
		LeaseDuration: g.t.ld, RenewDeadline: g.t.rd, RetryPeriod: g.t.rp,
		Extra: []string{"--shards", strconv.Itoa(g.m), "--status-dir", status},
	}.Args()
	r := &shardRep{id: id, dir: status, proxy: proxy, member: member}
	r.Replica = replica.New(replica.Spec{
		ID:               id,
		Command:          proc.Options{Path: g.b.ours, Args: args, LogPath: filepath.Join(dir, "log")},
		OnUnexpectedExit: g.b.fail,
	})
	if err := r.Start(); err != nil {
		proxy.Close()
		member.close()
		return nil, err
	}
	go func() {
		<-r.Process().Done()
		member.close()
		proxy.Close()
	}()
	g.reps = append(g.reps, r)
	return r, nil
}

// counted starts a reqcount proxy and a member counter in front of it, and
// writes a kubeconfig in dir that talks through both.
func (b *bench) counted(dir, ns string) (*reqcount.Proxy, *memberCounter, string, error) {
	p, err := reqcount.Start(b.Target, b.Transport)
	if err != nil {
		return nil, nil, "", fmt.Errorf("starting a counting proxy: %w", err)
	}
	mc, err := startMemberCounter(p.Addr())
	if err != nil {
		p.Close()
		return nil, nil, "", fmt.Errorf("starting a member counter: %w", err)
	}
	kc := filepath.Join(dir, "kubeconfig")
	if err := benchkit.WriteKubeconfig(kc, mc.addr, ns); err != nil {
		p.Close()
		mc.close()
		return nil, nil, "", err
	}
	return p, mc, kc, nil
}

// remove takes r out of the running replicas.
func (g *group) remove(r *shardRep) {
	g.reps = slices.DeleteFunc(g.reps, func(x *shardRep) bool { return x == r })
	g.gone = append(g.gone, r)
}

// view reads the directories of the given replicas.
func viewOf(reps []*shardRep) view {
	v := view{}
	for _, r := range reps {
		v[r.id] = r.shards()
	}
	return v
}

func ids(reps []*shardRep) []string {
	var out []string
	for _, r := range reps {
		out = append(out, r.id)
	}
	return out
}

// waitBalanced polls the running replicas' directories until they show a
// balanced group.
func (g *group) waitBalanced(timeout time.Duration) (view, error) {
	deadline := time.Now().Add(timeout)
	for {
		v := viewOf(g.reps)
		if v.balanced(g.m) {
			return v, nil
		}
		if err := g.b.failed(); err != nil {
			return nil, err
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("%s: not balanced within %s: %v", g.ns, timeout, v)
		}
		time.Sleep(pollEvery)
	}
}

// pollEvery is how often the harness reads the status directories.
const pollEvery = 5 * time.Millisecond

// stop ends every replica with SIGTERM, as a rollout would.
func (g *group) stop() {
	var wg sync.WaitGroup
	for _, r := range g.reps {
		wg.Go(func() { r.Stop(syscall.SIGTERM, 30*time.Second) })
	}
	wg.Wait()
	g.gone = append(g.gone, g.reps...)
	g.reps = nil
}
