package e2e

import (
	"context"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"

	"github.com/leader-elector/leader-elector/elect"
	"github.com/leader-elector/leader-elector/internal/replica"
)

// storeLease stores a Lease held by holder ("" for none), renewed at
// renewed, for the refusal cases.
func storeLease(t *testing.T, ns, name, holder string, renewed time.Time, seconds int32) {
	t.Helper()
	l := &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: coordinationv1.LeaseSpec{LeaseDurationSeconds: &seconds, RenewTime: &metav1.MicroTime{Time: renewed}}}
	if holder != "" {
		l.Spec.HolderIdentity = &holder
	}
	if _, err := cp.Client(t, cp.Admin).CoordinationV1().Leases(ns).Create(context.Background(), l, metav1.CreateOptions{}); err != nil {
		t.Fatalf("creating Lease %s: %v", name, err)
	}
}

// leaseAnnotation is the Lease's hand-over annotation, and whether it is set.
func leaseAnnotation(t *testing.T, ns, name string) (string, bool) {
	t.Helper()
	l, err := cp.Client(t, cp.Admin).CoordinationV1().Leases(ns).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("reading Lease %s: %v", name, err)
	}
	v, ok := l.Annotations[elect.HandoverAnnotation]
	return v, ok
}

// TestHandoverRefuses: what handover cannot ask it refuses at once, exit
// 2, with one line naming the fix, and the Lease is not written.
func TestHandoverRefuses(t *testing.T) {
	ns := cp.Namespace(t)
	kc := cp.Kubeconfig(t, cp.Admin, ns)
	now := time.Now()
	storeLease(t, ns, "free", "", now, 15)
	storeLease(t, ns, "stale", "gone-7d9f", now.Add(-time.Minute), 10)
	storeLease(t, ns, "held", "app-0", now, 600)

	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"syntax", []string{"held"}, 2, `"held" is not NAMESPACE/LEASE`},
		{"not found", []string{ns + "/nope"}, 2, "Lease " + ns + "/nope not found"},
		{"no holder", []string{ns + "/free"}, 2, "has no holder"},
		{"expired", []string{ns + "/stale"}, 2, "its holder gone-7d9f has not renewed it since"},
		{"unknown --to", []string{ns + "/held", "--to", "ghost"}, 2, "--to ghost: no Pod of that name in namespace " + ns},
		{"--to the holder", []string{ns + "/held", "--to", "app-0"}, 0, "app-0 already holds " + ns + "/held"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			stdout, stderr, code := runBinary(t, 30*time.Second, nil, append([]string{"handover", "--kubeconfig", kc}, tc.args...)...)
			if code != tc.code || !strings.Contains(stderr, tc.want) {
				t.Fatalf("exit %d, stderr %q; want exit %d with %q", code, stderr, tc.code, tc.want)
			}
			if tc.code == 0 && stdout != "app-0\n" {
				t.Errorf("stdout %q, want the holder", stdout)
			}
			if tc.code == 2 && strings.Count(strings.TrimSpace(stderr), "\n") != 0 {
				t.Errorf("stderr is not one line: %q", stderr)
			}
		})
	}
	for _, name := range []string{"free", "stale", "held"} {
		if v, ok := leaseAnnotation(t, ns, name); ok {
			t.Errorf("Lease %s was written: %s", name, v)
		}
	}

	// A ServiceAccount that may read and follow Leases but not patch them
	// (the watch role): refused, naming the right and the operator role.
	// It may not list Pods either: that is only a warning.
	t.Run("forbidden", func(t *testing.T) {
		admin := cp.Client(t, cp.Admin)
		ctx := context.Background()
		sa := "viewer"
		if _, err := admin.CoreV1().ServiceAccounts(ns).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: sa}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		if _, err := admin.RbacV1().Roles(ns).Create(ctx, &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: sa},
			Rules: []rbacv1.PolicyRule{{APIGroups: []string{"coordination.k8s.io"}, Resources: []string{"leases"}, Verbs: []string{"get", "list", "watch"}}}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		if _, err := admin.RbacV1().RoleBindings(ns).Create(ctx, &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: sa},
			RoleRef:  rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: sa},
			Subjects: []rbacv1.Subject{{Kind: "ServiceAccount", Name: sa, Namespace: ns}}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		skc := cp.Kubeconfig(t, asServiceAccount(t, ns, sa), ns)
		_, stderr, code := runBinary(t, 30*time.Second, nil, "handover", "--kubeconfig", skc, ns+"/held", "--to", "app-1")
		lines := strings.Split(strings.TrimSpace(stderr), "\n")
		if code != 2 || len(lines) != 2 ||
			!strings.Contains(lines[0], "warning: cannot check that app-1 is a replica (may not list pods in namespace "+ns+")") ||
			!strings.Contains(lines[1], "may not patch leases in namespace "+ns) || !strings.Contains(lines[1], "grant patch on leases there") ||
			!strings.Contains(lines[1], "deploy/watch-rbac/operator") {
			t.Fatalf("exit %d, stderr %q; want a warning about pods, then exit 2 naming patch on leases and the operator role", code, stderr)
		}
		if v, ok := leaseAnnotation(t, ns, "held"); ok {
			t.Errorf("the Lease was written: %s", v)
		}
	})
}

// TestHandoverClientGoElector: client-go's elector does not understand a
// request. handover says so when its time is up, exit 1, and takes its
// request off the Lease again; the holder keeps leading.
func TestHandoverClientGoElector(t *testing.T) {
	bin := buildBaseline(t)
	s := newElectSetup(t)
	e := s.prepare("client-go-0")
	baselineKind(bin, replica.Elect{LeaseDuration: 3 * time.Second, RenewDeadline: 2 * time.Second, RetryPeriod: 500 * time.Millisecond}, true, 3*time.Second).launch(s, e)
	waitOneLeader(t, 20*time.Second, []*elector{e})

	start := time.Now()
	stdout, stderr, code := runBinary(t, time.Minute, nil, "handover", "--kubeconfig", s.kubeconfig, s.ns+"/"+s.lease, "--to", "someone", "--force")
	took := time.Since(start)
	// The default: 2 x 3s + 10s.
	want := "client-go-0 did not answer within 16s: it may not understand planned hand-overs (client-go's elector, the original sidecar)"
	if code != 1 || stdout != "" || !strings.Contains(stderr, want) || !strings.Contains(stderr, "withdrew the request") {
		t.Fatalf("exit %d, stdout %q, stderr %q; want exit 1 with %q", code, stdout, stderr, want)
	}
	if took < 16*time.Second || took > 40*time.Second {
		t.Errorf("took %v, want the default timeout, 16s", took)
	}
	if v, ok := leaseAnnotation(t, s.ns, s.lease); ok {
		t.Errorf("the request is still on the Lease: %s", v)
	}
	if h := s.holder(); h != "client-go-0" {
		t.Errorf("holder %q, want client-go-0 still", h)
	}

	// Ctrl-C while it waits: exit 130, and the request is withdrawn too.
	p := startBinary(t, nil, "handover", "--kubeconfig", s.kubeconfig, s.ns+"/"+s.lease)
	waitFor(t, 20*time.Second, "the request", func() bool { return strings.Contains(p.Stderr(), "asked client-go-0") })
	p.Signal(syscall.SIGINT)
	if code := p.Wait(20 * time.Second); code != 130 || !strings.Contains(p.Stderr(), "withdrew the request") {
		t.Errorf("after SIGINT: exit %d, stderr %q; want 130 and the request withdrawn", code, p.Stderr())
	}
	if v, ok := leaseAnnotation(t, s.ns, s.lease); ok {
		t.Errorf("the request is still on the Lease after SIGINT: %s", v)
	}
}

// TestHandoverToNamed: three of our electors; handover --to one of the
// followers. The leader releases, and only the named one takes the Lease
// (the third stands back); never two status files; the request is gone
// afterwards.
func TestHandoverToNamed(t *testing.T) {
	s := newElectSetup(t)
	es := []*elector{s.start("r-0"), s.start("r-1"), s.start("r-2")}
	leader := waitOneLeader(t, 20*time.Second, es)
	chk := startChecker(es)     // never two status files, through the hand-over
	time.Sleep(2 * time.Second) // the followers see renewals
	var to *elector
	for _, e := range es {
		if e != leader {
			to = e
			break
		}
	}

	// Every holder the Lease has from now on, in order.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	w, err := cp.Client(t, cp.Admin).CoordinationV1().Leases(s.ns).Watch(ctx, metav1.ListOptions{FieldSelector: fields.OneTermEqualSelector("metadata.name", s.lease).String()})
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var holders []string
	go func() {
		for ev := range w.ResultChan() {
			if l, ok := ev.Object.(*coordinationv1.Lease); ok {
				h := ""
				if l.Spec.HolderIdentity != nil {
					h = *l.Spec.HolderIdentity
				}
				mu.Lock()
				if len(holders) == 0 || holders[len(holders)-1] != h {
					holders = append(holders, h)
				}
				mu.Unlock()
			}
		}
	}()

	stdout, stderr, code := runBinary(t, time.Minute, nil, "handover", "--kubeconfig", s.kubeconfig, s.ns+"/"+s.lease, "--to", to.id, "--force")
	if code != 0 || stdout != to.id+"\n" {
		t.Fatalf("exit %d, stdout %q, stderr %q; want %s on stdout", code, stdout, stderr, to.id)
	}
	for _, want := range []string{"asked " + leader.id + " to hand", "released by " + leader.id, "taken by " + to.id} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr %q lacks %q", stderr, want)
		}
	}
	if got := waitOneLeader(t, 10*time.Second, es); got != to {
		t.Errorf("%s leads, want %s", got.id, to.id)
	}
	time.Sleep(2 * time.Second)
	mu.Lock()
	got := slices.Clone(holders)
	mu.Unlock()
	// The watch starts with the Lease as it was: the leader.
	if !slices.Equal(got, []string{leader.id, "", to.id}) && !slices.Equal(got, []string{leader.id, to.id}) {
		t.Errorf("holders %q, want %s, the release, then %s only", got, leader.id, to.id)
	}
	if v, ok := leaseAnnotation(t, s.ns, s.lease); ok {
		t.Errorf("the request is still on the Lease: %s", v)
	}
	chk.finish(t)
}
