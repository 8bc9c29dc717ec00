package main

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// generator creates Leases and renews them round-robin at a fixed rate,
// like kubelets renewing node Leases. One process cannot reach hundreds of
// writes a second through one client, so each worker has its own client
// (its own connection) with QPS raised to the rate.
type generator struct {
	namespace string
	clients   []kubernetes.Interface
	rate      int
	leases    []*coordinationv1.Lease
	renewed   atomic.Int64
	errors    atomic.Int64
}

func newGenerator(base *rest.Config, workers, rate int) (*generator, error) {
	g := &generator{namespace: fmt.Sprintf("watchload-%d", time.Now().Unix()), rate: rate}
	for range workers {
		cfg := rest.CopyConfig(base)
		cfg.QPS, cfg.Burst = float32(rate), rate
		cfg.ContentType = "application/vnd.kubernetes.protobuf"
		cfg.UserAgent = "watchload-generator"
		cs, err := kubernetes.NewForConfig(cfg)
		if err != nil {
			return nil, fmt.Errorf("building a generator client: %w", err)
		}
		g.clients = append(g.clients, cs)
	}
	return g, nil
}

// create makes the namespace and n Leases, held and renewed now.
func (g *generator) create(ctx context.Context, n int) error {
	if _, err := g.clients[0].CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: g.namespace}}, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("creating namespace %s: %w", g.namespace, err)
	}
	g.leases = make([]*coordinationv1.Lease, n)
	return g.each(func(w, i int) error {
		name := fmt.Sprintf("node-%05d", i)
		now := metav1.NowMicro()
		dur := int32(40)
		l, err := g.clients[w].CoordinationV1().Leases(g.namespace).Create(ctx, &coordinationv1.Lease{
			ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec: coordinationv1.LeaseSpec{
				HolderIdentity: &name, LeaseDurationSeconds: &dur, AcquireTime: &now, RenewTime: &now,
			},
		}, metav1.CreateOptions{})
		if err != nil {
			return fmt.Errorf("creating lease %s: %w", name, err)
		}
		g.leases[i] = l
		return nil
	})
}

// each runs f for every Lease index, split across the workers.
func (g *generator) each(f func(worker, i int) error) error {
	var wg sync.WaitGroup
	errs := make([]error, len(g.clients))
	for w := range g.clients {
		wg.Go(func() {
			for i := w; i < len(g.leases); i += len(g.clients) {
				if err := f(w, i); err != nil {
					errs[w] = err
					return
				}
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// renew updates renewTime round-robin until ctx is done, each worker at
// rate/workers per second on its own share of the Leases.
func (g *generator) renew(ctx context.Context) error {
	workers := len(g.clients)
	interval := time.Duration(float64(time.Second) * float64(workers) / float64(g.rate))
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			tick := time.NewTicker(interval)
			defer tick.Stop()
			leases := g.clients[w].CoordinationV1().Leases(g.namespace)
			for i := w; ; i += workers {
				select {
				case <-ctx.Done():
					return
				case <-tick.C:
				}
				i %= len(g.leases)
				l := g.leases[i]
				now := metav1.NowMicro()
				l.Spec.RenewTime = &now
				got, err := leases.Update(ctx, l, metav1.UpdateOptions{})
				switch {
				case err == nil:
					g.leases[i] = got
					g.renewed.Add(1)
				case ctx.Err() != nil:
					return
				case apierrors.IsConflict(err):
					if fresh, gerr := leases.Get(ctx, l.Name, metav1.GetOptions{}); gerr == nil {
						g.leases[i] = fresh
					}
					g.errors.Add(1)
				default:
					g.errors.Add(1)
				}
			}
		})
	}
	wg.Wait()
	return nil
}
