package e2e

import (
	"context"
	"encoding/json"
	"syscall"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/leader-elector/leader-elector/internal/replica"
)

// TestElectLeaseLabels runs the real sidecar with --lease-labels against the
// API server: the Lease carries the labels from its creation, renewals put
// them back when someone removed them and keep a label someone else added, `watch -l` finds the Lease by them,
// the release on SIGTERM keeps them, and client-go's own elector then takes
// the same labelled Lease, renews it and hands it back.
func TestElectLeaseLabels(t *testing.T) {
	ctx := context.Background()
	s := newElectSetup(t)
	leases := cp.Client(t, cp.Admin).CoordinationV1().Leases(s.ns)
	const labels = "app.kubernetes.io/name=shop,tier=web"
	want := map[string]string{"app.kubernetes.io/name": "shop", "tier": "web"}
	get := func() *coordinationv1.Lease {
		t.Helper()
		l, err := leases.Get(ctx, s.lease, metav1.GetOptions{})
		if err != nil {
			t.Fatalf("reading the Lease: %v", err)
		}
		return l
	}
	hasLabels := func(l *coordinationv1.Lease, want map[string]string) bool {
		for k, v := range want {
			if l.Labels[k] != v {
				return false
			}
		}
		return true
	}
	checkLabels := func(when string, want map[string]string) {
		t.Helper()
		if l := get(); !hasLabels(l, want) {
			t.Fatalf("%s: the Lease has labels %v, want %v among them", when, l.Labels, want)
		}
	}

	a := s.start("a", "--lease-labels", labels)
	waitOneLeader(t, 15*time.Second, []*elector{a})
	checkLabels("after the first acquire", want)

	// Someone else removes ours and adds a label of their own: the next
	// renewals (updates, not the create) put ours back and keep theirs.
	patched, err := leases.Patch(ctx, s.lease, types.MergePatchType,
		[]byte(`{"metadata":{"labels":{"owner":"ops","app.kubernetes.io/name":null,"tier":null}}}`), metav1.PatchOptions{})
	if err != nil {
		t.Fatal(err)
	}
	renewed := 0
	lastRV := patched.ResourceVersion
	waitFor(t, 10*time.Second, "two renewals after the label was added", func() bool {
		if l := get(); l.ResourceVersion != lastRV && l.Spec.HolderIdentity != nil && *l.Spec.HolderIdentity == "a" {
			renewed++
			lastRV = l.ResourceVersion
		}
		return renewed >= 2
	})
	withOwner := map[string]string{"owner": "ops"}
	for k, v := range want {
		withOwner[k] = v
	}
	checkLabels("after renewals", withOwner)

	// watch -l selects by them: this Lease, not an unlabelled one beside it.
	if _, err := leases.Create(ctx, &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Name: "unlabelled"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	out, stderr, code := runBinary(t, 30*time.Second, nil, "--kubeconfig", s.kubeconfig, "watch", "--once", "-o", "json", "-l", "app.kubernetes.io/name=shop")
	if code != 0 {
		t.Fatalf("watch --once -l exited %d; stderr:\n%s", code, stderr)
	}
	// --once -o json is kubectl's List.
	var list struct {
		Items []struct {
			Metadata struct{ Name string } `json:"metadata"`
		} `json:"items"`
	}
	if err := json.Unmarshal([]byte(out), &list); err != nil {
		t.Fatalf("watch --once -o json is not a List (%v); stdout:\n%s", err, out)
	}
	if len(list.Items) != 1 || list.Items[0].Metadata.Name != s.lease {
		t.Errorf("watch -l app.kubernetes.io/name=shop should list %s alone; stdout:\n%s", s.lease, out)
	}

	a.Signal(syscall.SIGTERM)
	if code := a.Wait(15 * time.Second); code != 0 {
		t.Fatalf("a exited %d on SIGTERM; stderr:\n%s", code, a.Stderr())
	}
	if h := s.holder(); h != "" {
		t.Fatalf("after a's release the Lease is held by %q", h)
	}
	checkLabels("after the release", withOwner)

	// client-go's elector on the same Lease: it takes it, renews it, and
	// releases it on SIGTERM to our b, which stamps the labels again.
	bin := buildBaseline(t)
	c := s.prepare("c")
	baselineKind(bin, replica.Elect{LeaseDuration: 3 * time.Second, RenewDeadline: 2 * time.Second, RetryPeriod: 500 * time.Millisecond}, true, 3*time.Second).launch(s, c)
	waitOneLeader(t, 15*time.Second, []*elector{c})
	if h := s.holder(); h != "c" {
		t.Fatalf("client-go's elector leads by its file but the Lease is held by %q", h)
	}
	b := s.start("b", "--lease-labels", labels)
	time.Sleep(2 * time.Second) // b follows, c renews
	if h := s.holder(); h != "c" {
		t.Fatalf("b joined and the Lease moved to %q while client-go's elector held it", h)
	}
	c.Signal(syscall.SIGTERM)
	if code := c.Wait(15 * time.Second); code != 0 {
		t.Fatalf("client-go's elector exited %d on SIGTERM; stderr:\n%s", code, c.Stderr())
	}
	waitOneLeader(t, 15*time.Second, []*elector{b})
	checkLabels("after b took over from client-go's elector", withOwner)
	b.Signal(syscall.SIGTERM)
	if code := b.Wait(15 * time.Second); code != 0 {
		t.Fatalf("b exited %d on SIGTERM; stderr:\n%s", code, b.Stderr())
	}
}
