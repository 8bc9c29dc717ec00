package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/leader-elector/leader-elector/internal/controlplane"
	"github.com/leader-elector/leader-elector/internal/exitcode"
	"github.com/leader-elector/leader-elector/internal/replica"
)

// The demo's Lease and its timings. Shorter than the sidecar's defaults
// (15s/10s/2s) so a crashed leader is replaced in about 6s rather than 15s;
// they keep the sidecar's rule LeaseDuration > RenewDeadline + RetryPeriod.
const (
	namespace     = "demo"
	leaseName     = "demo"
	leaseDuration = 6 * time.Second
	renewDeadline = 4 * time.Second
	retryPeriod   = 1 * time.Second
)

// demo is one run: the processes it started and where their files live.
type demo struct {
	opts       options
	tmp        string
	bin        string
	kubeconfig string
	say        *narrator
	replicas   []*replica.Replica
	workers    []*replica.Replica // the shard group's (shards.go)
	// failed receives the error of a replica that ended without being asked.
	failed chan error
}

// run sets everything up, shows the election until the dashboard is quit,
// the duration passes or ctx ends, then stops every process it started and
// removes its temp directory, in that order.
func run(ctx context.Context, o options, stdout, stderr io.Writer) error {
	tmp, err := os.MkdirTemp("", "leader-elector-demo-")
	if err != nil {
		return fmt.Errorf("creating the demo's temp directory: %w", err)
	}
	defer os.RemoveAll(tmp) // runs last: every process using it is gone by then

	d := &demo{opts: o, tmp: tmp, say: newNarrator(stderr), failed: make(chan error, o.Replicas+shardWorkers)}
	cpDir, err := d.build(ctx, stderr)
	if err != nil {
		return err
	}

	d.say.printf("starting etcd and kube-apiserver %s", controlplane.Version)
	cpData := filepath.Join(tmp, "controlplane")
	if err := os.Mkdir(cpData, 0o700); err != nil {
		return fmt.Errorf("creating %s: %w", cpData, err)
	}
	cp, err := controlplane.Start(ctx, controlplane.Options{BinDir: cpDir, Dir: cpData})
	if err != nil {
		return fmt.Errorf("starting the control plane: %w", err)
	}
	defer cp.Stop()
	if err := d.setupCluster(ctx, cp); err != nil {
		return err
	}
	d.say.printf("point kubectl at it while the demo runs: KUBECONFIG=%s kubectl get leases -n %s -w", d.kubeconfig, namespace)

	defer d.stopReplicas()
	if err := d.startReplicas(); err != nil {
		return err
	}
	if err := d.startWorkers(); err != nil {
		return err
	}
	first := d.waitForLeader(ctx, nil, 30*time.Second)
	switch {
	case ctx.Err() != nil:
		d.say.printf("interrupted: stopping")
		return nil
	case first == nil:
		if err := d.firstFailure(); err != nil {
			return err
		}
		return fmt.Errorf("no replica became leader within 30s; their logs are in %s", tmp)
	}
	d.say.printf("%s leads (its status file %s exists)", first.ID(), first.StatusFile())

	w, err := d.startWatch(stdout, stderr)
	if err != nil {
		return err
	}
	defer stopWatch(w)

	var wg sync.WaitGroup
	fctx, stopFailover := context.WithCancel(ctx)
	wg.Add(1)
	go func() {
		defer wg.Done()
		d.failover(fctx)
	}()

	var deadline <-chan time.Time
	if o.Duration > 0 {
		deadline = time.After(o.Duration)
	}
	var runErr error
	select {
	case <-w.Done():
		switch {
		case ctx.Err() != nil: // a terminal's ctrl+c reached the watch too
		case o.Output == "tui" && quitByUser(w.Err()):
			d.say.printf("dashboard closed: stopping")
		default:
			runErr = fmt.Errorf("leader-elector watch ended early: %s", describeExit(w.Err()))
		}
	case <-deadline:
		d.say.printf("%v passed: stopping", o.Duration)
	case <-ctx.Done():
		d.say.printf("interrupted: stopping")
	case runErr = <-d.failed:
	}
	stopFailover()
	wg.Wait() // so no replica is restarted while we stop them
	d.stopReplicas()
	stopWatch(w)
	d.say.resume()
	d.say.printf("replicas and watch stopped; stopping the control plane and removing %s, logs included", tmp)
	return runErr
}

// build finds or builds the control plane's binaries and leader-elector.
func (d *demo) build(ctx context.Context, stderr io.Writer) (cpDir string, err error) {
	var root string
	if d.opts.Bin == "" || d.opts.ControlPlane == "" {
		if root, err = replica.ModuleRoot(); err != nil {
			return "", fmt.Errorf("%w: run `make demo` there, or pass -bin and -controlplane", err)
		}
	}
	cpDir = d.opts.ControlPlane
	if cpDir == "" {
		d.say.printf("building the local control plane, or reusing it (internal/controlplane/build.sh: 10-20 minutes the first time, then cached)")
		if cpDir, err = buildControlPlane(ctx, root, stderr); err != nil {
			return "", err
		}
	}
	d.bin = d.opts.Bin
	if d.bin == "" {
		d.bin = filepath.Join(d.tmp, "leader-elector")
		d.say.printf("building leader-elector")
		if err := replica.Build(ctx, replica.BuildOptions{Root: root, Package: "./cmd/leader-elector", Out: d.bin}); err != nil {
			return "", err
		}
	}
	return cpDir, nil
}

// setupCluster creates the demo's namespace and writes a kubeconfig for it.
func (d *demo) setupCluster(ctx context.Context, cp *controlplane.ControlPlane) error {
	cs, err := kubernetes.NewForConfig(cp.Admin)
	if err != nil {
		return fmt.Errorf("building a client for %s: %w", cp.Host, err)
	}
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: namespace}}
	if _, err := cs.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("creating namespace %s: %w", namespace, err)
	}
	// In a cluster each replica is a Pod, and watch flags a Lease whose
	// holder names no Pod as an orphan. Stand-in Pods named after the
	// replicas keep that flag for real orphans; no kubelet runs here, so
	// they stay Pending and run nothing (the "default" ServiceAccount must
	// exist for them to be admitted, and no controller creates it).
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "default"}}
	if _, err := cs.CoreV1().ServiceAccounts(namespace).Create(ctx, sa, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("creating the default ServiceAccount: %w", err)
	}
	var names []string
	for i := 1; i <= d.opts.Replicas; i++ {
		names = append(names, replicaID(i))
	}
	for i := 1; i <= shardWorkers; i++ {
		names = append(names, workerID(i))
	}
	for _, name := range names {
		pod := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"app": "leader-elector-demo"}},
			Spec: corev1.PodSpec{Containers: []corev1.Container{{
				Name: "leader-elector", Image: "ghcr.io/leader-elector/leader-elector", Args: []string{"elect"},
			}}},
		}
		if _, err := cs.CoreV1().Pods(namespace).Create(ctx, pod, metav1.CreateOptions{}); err != nil {
			return fmt.Errorf("creating the stand-in Pod %s: %w", pod.Name, err)
		}
	}
	d.kubeconfig = filepath.Join(d.tmp, "kubeconfig")
	return controlplane.WriteKubeconfig(d.kubeconfig, cp.Admin, namespace)
}

// firstFailure returns a replica's failure if one is waiting.
func (d *demo) firstFailure() error {
	select {
	case err := <-d.failed:
		return err
	default:
		return nil
	}
}

// quitByUser: the dashboard ends with 0 on q, exitcode.Interrupt on ctrl+c.
func quitByUser(err error) bool {
	var ee interface{ ExitCode() int }
	return err == nil || (errors.As(err, &ee) && ee.ExitCode() == exitcode.Interrupt)
}
