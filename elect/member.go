package elect

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/leader-elector/leader-elector/internal/shardgroup"
)

// memberLease keeps this replica's member Lease of a shard group while it
// acts for no shard: held under its identity and renewed every lease
// duration / 3, so the others count it among the members until a lease
// duration after its last renewal they saw, as they would judge a leader.
// While it acts for a shard, renewing that shard's Lease shows it alive
// (shards.View counts live holders as members), so the member Lease is left
// alone: a group's requests per shard stay a single leader's. The moment it
// acts for none again it renews at once, before its last shard's Lease is
// released. Membership needs nothing but Lease v1 and rights in the
// namespace, and a crash is noticed as any expired Lease is.
type memberLease struct {
	cfg Config
	api API
	log *slog.Logger
	// labels are --lease-labels: the member Lease carries them beside
	// the group's, so kubectl get lease -l finds it with the shards.
	labels map[string]string
	// idle says whether this replica acts for no shard; changed is poked
	// whenever that may have changed.
	idle    func() bool
	changed <-chan struct{}
	obj     *coordinationv1.Lease // as last written or read; nil: read first
}

// keep renews the member Lease while idle until ctx ends, then deletes
// it so the others plan without this replica at once.
func (m *memberLease) keep(ctx context.Context) {
	every := m.cfg.LeaseDuration / 3
	for {
		var due <-chan time.Time
		if m.idle() {
			wait := every
			if err := m.renew(ctx); err != nil {
				if ctx.Err() != nil {
					break
				}
				m.log.Warn("could not renew the member Lease; trying again", "err", err, "retryIn", m.cfg.RetryPeriod)
				wait = m.cfg.RetryPeriod
			}
			due = time.After(wait)
		}
		select {
		case <-ctx.Done():
		case <-due:
			continue
		case <-m.changed:
			continue
		}
		break
	}
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), RequestTimeout(m.cfg.RenewDeadline))
	defer cancel()
	if err := m.leave(dctx); err != nil {
		m.log.Warn("could not remove the member Lease; the others drop this replica when it expires", "err", err)
	}
}

func (m *memberLease) name() string {
	return shardgroup.MemberLease(m.cfg.LeaseName, m.cfg.Identity)
}

// renew writes the member Lease: created when missing, else updated from
// the copy last seen (read again after a conflict).
func (m *memberLease) renew(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, RequestTimeout(m.cfg.RenewDeadline))
	defer cancel()
	leases := m.api.Leases
	if m.obj == nil {
		obj, err := leases.Get(ctx, m.name(), metav1.GetOptions{})
		switch {
		case apierrors.IsNotFound(err):
			obj = nil
		case err != nil:
			return fmt.Errorf("reading member lease %s: %w", m.name(), err)
		}
		m.obj = obj
	}
	now := metav1.NewMicroTime(time.Now())
	ld := int32(m.cfg.LeaseDuration / time.Second)
	if m.obj == nil {
		obj := &coordinationv1.Lease{
			ObjectMeta: metav1.ObjectMeta{
				Name: m.name(), Namespace: m.cfg.Namespace,
				Labels:      merge(maps.Clone(m.labels), shardgroup.MemberLabels(m.cfg.LeaseName)),
				Annotations: map[string]string{shardgroup.GroupAnnotation: m.cfg.LeaseName},
			},
			Spec: coordinationv1.LeaseSpec{HolderIdentity: ptr.To(m.cfg.Identity), LeaseDurationSeconds: &ld, AcquireTime: &now, RenewTime: &now},
		}
		out, err := leases.Create(ctx, obj, metav1.CreateOptions{})
		if err != nil {
			return fmt.Errorf("creating member lease %s: %w", m.name(), err)
		}
		m.obj = out
		return nil
	}
	obj := m.obj.DeepCopy()
	if obj.Spec.HolderIdentity == nil || *obj.Spec.HolderIdentity != m.cfg.Identity {
		obj.Spec.AcquireTime = &now
	}
	obj.Spec.HolderIdentity, obj.Spec.LeaseDurationSeconds, obj.Spec.RenewTime = ptr.To(m.cfg.Identity), &ld, &now
	out, err := leases.Update(ctx, obj, metav1.UpdateOptions{})
	if err != nil {
		m.obj = nil // read it again: a conflict, or it was deleted
		return fmt.Errorf("renewing member lease %s: %w", m.name(), err)
	}
	m.obj = out
	return nil
}

// leave deletes the member Lease, or releases it when deleting is not
// possible. Preconditions keep it from deleting a Lease someone else wrote
// since (another process with the same identity, say).
func (m *memberLease) leave(ctx context.Context) error {
	if m.obj == nil {
		return nil
	}
	if m.api.Deletes != nil {
		rv := m.obj.ResourceVersion
		err := m.api.Deletes.Delete(ctx, m.name(), metav1.DeleteOptions{Preconditions: &metav1.Preconditions{ResourceVersion: &rv}})
		if err == nil || apierrors.IsNotFound(err) {
			return nil
		}
		if !apierrors.IsForbidden(err) {
			return fmt.Errorf("deleting member lease %s: %w", m.name(), err)
		}
	}
	obj := m.obj.DeepCopy()
	obj.Spec.HolderIdentity = ptr.To("")
	if _, err := m.api.Leases.Update(ctx, obj, metav1.UpdateOptions{}); err != nil {
		return fmt.Errorf("releasing member lease %s: %w", m.name(), err)
	}
	return nil
}
