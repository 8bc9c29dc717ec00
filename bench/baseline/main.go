// Command baseline is the elector the failover bench compares ours with:
// client-go's leaderelection exactly as its own example uses it (LeaseLock,
// ReleaseOnCancel, defaults 15s/10s/2s), writing a status file holding its
// identity while it leads, so the same measurement applies to both.
//
// With -lease-duration=15s -renew-deadline=10s -retry-period=2s
// -release-on-cancel=false it behaves as the original sidecar did on the
// Lease (see ORIGINAL.md in the shared seed): those timings, and on SIGTERM
// nothing is released, so the next leader waits out the whole lease. The
// e2e interop tests run it next to ours both ways.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/client-go/tools/leaderelection"
	rl "k8s.io/client-go/tools/leaderelection/resourcelock"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintf(os.Stderr, "baseline: %v\n", err)
		os.Exit(1)
	}
}

func run() error {
	kubeconfig := flag.String("kubeconfig", os.Getenv("KUBECONFIG"), "kubeconfig file")
	name := flag.String("lease-name", "", "Lease name")
	ns := flag.String("namespace", "default", "Lease namespace")
	id := flag.String("identity", "", "identity (default: hostname)")
	status := flag.String("status-file", "/tmp/leader_status", "file holding the identity while leading")
	leaseDuration := flag.Duration("lease-duration", 15*time.Second, "lease duration")
	renewDeadline := flag.Duration("renew-deadline", 10*time.Second, "renew deadline")
	retryPeriod := flag.Duration("retry-period", 2*time.Second, "retry period")
	release := flag.Bool("release-on-cancel", true, "release the Lease on SIGTERM (false: as the original sidecar, which leaves it to expire)")
	flag.Parse()
	if *id == "" {
		h, err := os.Hostname()
		if err != nil {
			return fmt.Errorf("reading the hostname for the identity: %w", err)
		}
		*id = h
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", *kubeconfig)
	if err != nil {
		return fmt.Errorf("loading kubeconfig %s: %w", *kubeconfig, err)
	}
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return fmt.Errorf("building the client: %w", err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	leaderelection.RunOrDie(ctx, leaderelection.LeaderElectionConfig{
		Lock: &rl.LeaseLock{
			LeaseMeta:  metav1.ObjectMeta{Name: *name, Namespace: *ns},
			Client:     client.CoordinationV1(),
			LockConfig: rl.ResourceLockConfig{Identity: *id},
		},
		LeaseDuration:   *leaseDuration,
		RenewDeadline:   *renewDeadline,
		RetryPeriod:     *retryPeriod,
		ReleaseOnCancel: *release,
		Callbacks: leaderelection.LeaderCallbacks{
			OnStartedLeading: func(context.Context) {
				if err := writeAtomic(*status, *id); err != nil {
					log.Error("writing the status file", "err", err)
				}
			},
			OnStoppedLeading: func() {
				if err := os.Remove(*status); err != nil && !os.IsNotExist(err) {
					log.Error("removing the status file", "err", err)
				}
			},
		},
	})
	return nil
}

// writeAtomic writes data to path through a temp file and a rename.
func writeAtomic(path, data string) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".status-*")
	if err != nil {
		return fmt.Errorf("creating a temp file next to %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.WriteString(data); err != nil {
		tmp.Close()
		return fmt.Errorf("writing %s: %w", tmp.Name(), err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("closing %s: %w", tmp.Name(), err)
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return fmt.Errorf("chmod %s: %w", tmp.Name(), err)
	}
	return os.Rename(tmp.Name(), path)
}
