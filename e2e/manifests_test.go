package e2e

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
	"sigs.k8s.io/yaml"

	"github.com/leader-elector/leader-elector/deploy"
	"github.com/leader-elector/leader-elector/elect"
	"github.com/leader-elector/leader-elector/internal/proc"
)

// deployDir holds the example manifests, as kustomize bases.
const deployDir = "../deploy"

// The names the example manifests use; the README tells users to rename
// them together.
const (
	exampleSA       = "myapp-leader-elector"
	exampleLease    = "myapp-lock"
	exampleViewers  = "leader-elector-viewers"
	statusMountPath = "/var/run/leader"
)

// rbacAccess is one permission the sidecar needs: verb on group/resource, on
// its own Lease only when named.
type rbacAccess struct {
	Group, Resource, Verb string
	Named                 bool // limited to the Lease's name by resourceNames
	LeaderLabel           bool // needed only with --leader-label
}

// sidecarAccess flattens elect.RequiredAccess, the one list the sidecar's
// preflight also checks, so a change there fails this test until
// deploy/base/rbac.yaml follows.
func sidecarAccess() []rbacAccess {
	var out []rbacAccess
	for _, r := range elect.RequiredAccess {
		for _, v := range r.Verbs {
			out = append(out, rbacAccess{r.Group, r.Resource, v, r.ByName, r.LeaderLabel})
		}
	}
	return out
}

// namespaceAdmin returns a client config for a user who is admin of ns and
// nothing else: what `kubectl apply -n ns -k deploy/base` must be able to
// do with.
//
// The built-in ClusterRole admin only names, by an aggregationRule, the
// roles it gathers; kube-controller-manager fills in its rules, and the test
// control plane runs none. So the test does the aggregation itself, as that
// controller does (admin gathers edit, which gathers view), into a
// ClusterRole of its own, and binds it in ns only.
func namespaceAdmin(t *testing.T, ns string) *rest.Config {
	t.Helper()
	ctx := context.Background()
	admin := cp.Client(t, cp.Admin)
	// admin gathers edit, which gathers view: each an aggregation of its own.
	var rules []rbacv1.PolicyRule
	var gather func(name string, role *rbacv1.ClusterRole)
	gather = func(name string, role *rbacv1.ClusterRole) {
		if role.AggregationRule == nil {
			rules = append(rules, role.Rules...)
			return
		}
		for _, sel := range role.AggregationRule.ClusterRoleSelectors {
			parts, err := admin.RbacV1().ClusterRoles().List(ctx, metav1.ListOptions{LabelSelector: metav1.FormatLabelSelector(&sel)})
			if err != nil {
				t.Fatalf("listing the ClusterRoles aggregated into %s: %v", name, err)
			}
			for i := range parts.Items {
				gather(parts.Items[i].Name, &parts.Items[i])
			}
		}
	}
	builtin, err := admin.RbacV1().ClusterRoles().Get(ctx, "admin", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("reading the built-in ClusterRole admin: %v", err)
	}
	gather("admin", builtin)
	if len(rules) == 0 {
		t.Fatal("the ClusterRoles aggregated into admin hold no rules")
	}
	name := "e2e-namespace-admin-" + ns
	if _, err := admin.RbacV1().ClusterRoles().Create(ctx, &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: name}, Rules: rules}, metav1.CreateOptions{}); err != nil {
		t.Fatalf("creating ClusterRole %s: %v", name, err)
	}
	t.Cleanup(func() { _ = admin.RbacV1().ClusterRoles().Delete(context.Background(), name, metav1.DeleteOptions{}) })
	user := "nadia-" + ns
	_, err = admin.RbacV1().RoleBindings(ns).Create(ctx, &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "namespace-admin"},
		RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: name},
		Subjects:   []rbacv1.Subject{{APIGroup: "rbac.authorization.k8s.io", Kind: "User", Name: user}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("making %s admin of %s: %v", user, ns, err)
	}
	cfg := cp.UserConfig(user)
	cs := cp.Client(t, cfg)
	ra := func(verb, group, resource, namespace string) authorizationv1.ResourceAttributes {
		return authorizationv1.ResourceAttributes{Namespace: namespace, Group: group, Resource: resource, Verb: verb}
	}
	allowed := func(a authorizationv1.ResourceAttributes) bool {
		review := &authorizationv1.SelfSubjectAccessReview{Spec: authorizationv1.SelfSubjectAccessReviewSpec{ResourceAttributes: &a}}
		got, err := cs.AuthorizationV1().SelfSubjectAccessReviews().Create(ctx, review, metav1.CreateOptions{})
		return err == nil && got.Status.Allowed
	}
	// The authorizer learns of new bindings through an informer.
	waitFor(t, 30*time.Second, user+"'s admin binding to take effect", func() bool {
		return allowed(ra("patch", "", "serviceaccounts", ns))
	})
	// Only in ns: otherwise the test would not show that the base needs no
	// cluster-scoped right.
	for _, a := range []authorizationv1.ResourceAttributes{
		ra("create", "rbac.authorization.k8s.io", "clusterroles", ""),
		ra("create", "rbac.authorization.k8s.io", "clusterrolebindings", ""),
		ra("patch", "", "serviceaccounts", "default"),
	} {
		if allowed(a) {
			t.Fatalf("%s may %s %s outside %s: not a namespace admin", user, a.Verb, a.Resource, ns)
		}
	}
	return cfg
}

// TestManifestsApply renders deploy/base and deploy/watch-rbac with
// kustomize, applies every resource to the real API server, strictly (an
// unknown or misspelt field is an error, as a typo must be), the base into a
// fresh namespace as a user who is admin of that namespace only (so no
// cluster-scoped right is needed), and checks what users rely on: the Role
// grants exactly what the sidecar needs, the Deployment shares the status
// file's directory between the two containers, and the sidecar's
// ServiceAccount can do what it must and nothing else.
func TestManifestsApply(t *testing.T) {
	ns := cp.Namespace(t)
	applied := applyManifests(t, namespaceAdmin(t, ns), ns, readManifests(t, "base"))
	applied = append(applied, applyManifests(t, cp.Admin, ns, readManifests(t, "watch-rbac"))...)

	t.Run("every kind is there", func(t *testing.T) {
		var kinds []string
		for _, o := range applied {
			kinds = append(kinds, o.GetKind())
		}
		for _, want := range []string{"ServiceAccount", "Role", "RoleBinding", "Deployment", "PodDisruptionBudget", "Service", "ClusterRole", "ClusterRoleBinding"} {
			if !slices.Contains(kinds, want) {
				t.Errorf("no %s in %s (found %v)", want, deployDir, kinds)
			}
		}
	})

	// The built-in view gathers ClusterRoles by its aggregationRule's label
	// selectors (kube-controller-manager does the gathering; none runs
	// here, so the test asks the selectors themselves).
	t.Run("the watch ClusterRole is aggregated into view", func(t *testing.T) {
		admin := cp.Client(t, cp.Admin)
		view, err := admin.RbacV1().ClusterRoles().Get(context.Background(), "view", metav1.GetOptions{})
		if err != nil {
			t.Fatalf("reading the built-in ClusterRole view: %v", err)
		}
		if view.AggregationRule == nil {
			t.Fatal("the built-in view has no aggregationRule")
		}
		for _, sel := range view.AggregationRule.ClusterRoleSelectors {
			roles, err := admin.RbacV1().ClusterRoles().List(context.Background(), metav1.ListOptions{LabelSelector: metav1.FormatLabelSelector(&sel)})
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range roles.Items {
				if r.Name == "leader-elector-watch" {
					return
				}
			}
		}
		t.Errorf("view's aggregationRule %+v selects no leader-elector-watch", view.AggregationRule.ClusterRoleSelectors)
	})

	t.Run("role grants exactly the required access", func(t *testing.T) {
		var role rbacv1.Role
		fromUnstructured(t, findManifest(t, applied, "Role", exampleSA), &role)
		got := ruleGrants(role.Rules)
		want := map[string]bool{}
		for _, a := range sidecarAccess() {
			want[a.key()] = true
		}
		for k := range want {
			if !got[k] {
				t.Errorf("Role %s does not grant %s", role.Name, k)
			}
		}
		for k := range got {
			if !want[k] {
				t.Errorf("Role %s grants %s, which the sidecar does not need", role.Name, k)
			}
		}
	})

	t.Run("deployment shares the status directory", func(t *testing.T) {
		var d appsv1.Deployment
		fromUnstructured(t, findManifest(t, applied, "Deployment", "myapp"), &d)
		checkDeployment(t, &d)
		side := podContainer(t, &d, "leader-elector")
		if side.RestartPolicy == nil || *side.RestartPolicy != corev1.ContainerRestartPolicyAlways || !slices.ContainsFunc(d.Spec.Template.Spec.InitContainers, func(c corev1.Container) bool { return c.Name == side.Name }) {
			t.Error("the sidecar is not a native sidecar (an init container with restartPolicy: Always)")
		}
		if v := envValue(side, "LEADER_ELECTOR_RELEASE_DELAY"); v != "0" {
			t.Errorf("LEADER_ELECTOR_RELEASE_DELAY = %q, want 0 for a native sidecar", v)
		}
	})

	t.Run("sidecar service account", func(t *testing.T) {
		sa := rest.ImpersonationConfig{
			UserName: fmt.Sprintf("system:serviceaccount:%s:%s", ns, exampleSA),
			Groups:   []string{"system:serviceaccounts", "system:serviceaccounts:" + ns, "system:authenticated"},
		}
		var checks []accessCheck
		for _, a := range sidecarAccess() {
			attr := authorizationv1.ResourceAttributes{Namespace: ns, Group: a.Group, Resource: a.Resource, Verb: a.Verb}
			if a.Named {
				attr.Name = exampleLease
			}
			checks = append(checks, accessCheck{attr, true})
		}
		lease := func(verb, name, namespace string) authorizationv1.ResourceAttributes {
			return authorizationv1.ResourceAttributes{Namespace: namespace, Group: "coordination.k8s.io", Resource: "leases", Verb: verb, Name: name}
		}
		checks = append(checks,
			accessCheck{lease("delete", exampleLease, ns), false},
			accessCheck{lease("patch", exampleLease, ns), false},
			accessCheck{lease("update", "someone-elses-lock", ns), false},
			accessCheck{lease("get", "someone-elses-lock", ns), false},
			accessCheck{lease("list", "", ns), false}, // every Lease of the namespace
			accessCheck{lease("create", exampleLease, "kube-system"), false},
			accessCheck{lease("update", exampleLease, "kube-system"), false},
			accessCheck{authorizationv1.ResourceAttributes{Namespace: ns, Resource: "secrets", Verb: "get"}, false},
			accessCheck{authorizationv1.ResourceAttributes{Namespace: ns, Resource: "events", Verb: "delete"}, false},
			accessCheck{authorizationv1.ResourceAttributes{Namespace: "kube-system", Resource: "events", Verb: "create"}, false},
		)
		checkAccess(t, sa, checks)
	})

	t.Run("the sidecar leads with exactly this Role", func(t *testing.T) {
		checkSidecarRuns(t, ns)
	})

	t.Run("watch viewers are read-only", func(t *testing.T) {
		viewer := rest.ImpersonationConfig{UserName: "jane", Groups: []string{exampleViewers, "system:authenticated"}}
		ra := func(verb, group, resource, namespace string) authorizationv1.ResourceAttributes {
			return authorizationv1.ResourceAttributes{Namespace: namespace, Group: group, Resource: resource, Verb: verb}
		}
		checkAccess(t, viewer, []accessCheck{
			{ra("list", "coordination.k8s.io", "leases", ""), true}, // watch -A
			{ra("watch", "coordination.k8s.io", "leases", ""), true},
			{ra("get", "coordination.k8s.io", "leases", ns), true},
			{ra("list", "", "pods", ""), true},
			{ra("watch", "", "pods", ns), true},
			{ra("list", "coordination.k8s.io", "leasecandidates", ""), true},
			{ra("watch", "coordination.k8s.io", "leasecandidates", ns), true},
			{ra("update", "coordination.k8s.io", "leases", ns), false},
			{ra("create", "coordination.k8s.io", "leases", ns), false},
			{ra("delete", "coordination.k8s.io", "leases", ns), false},
			{ra("get", "", "pods", ns), false},
			{ra("get", "", "secrets", ns), false},
		})
		checkWatchRuns(t, ns)
		// And someone outside the group gets nothing from it.
		checkAccess(t, rest.ImpersonationConfig{UserName: "mallory", Groups: []string{"system:authenticated"}}, []accessCheck{
			{ra("list", "coordination.k8s.io", "leases", ""), false},
		})
	})
}

// TestManifestsClassic applies deploy/classic, the variant without native
// sidecars, as a namespace admin: the same checks of the pod spec, with the
// sidecar an ordinary container.
func TestManifestsClassic(t *testing.T) {
	ns := cp.Namespace(t)
	applied := applyManifests(t, namespaceAdmin(t, ns), ns, readManifests(t, "classic"))
	var d appsv1.Deployment
	fromUnstructured(t, findManifest(t, applied, "Deployment", "myapp"), &d)
	checkDeployment(t, &d)
	if n := len(d.Spec.Template.Spec.InitContainers); n != 0 {
		t.Errorf("%d init containers, want none", n)
	}
	if side := podContainer(t, &d, "leader-elector"); side.RestartPolicy != nil {
		t.Errorf("the classic sidecar has restartPolicy %s", *side.RestartPolicy)
	}
}

// crdDir holds the Prometheus Operator's own CRDs for PodMonitor and
// PrometheusRule (see testdata/crds/README.md), so the monitoring examples
// are validated against the real schemas.
const crdDir = "testdata/crds"

// TestManifestsMonitoring installs the Prometheus Operator's CRDs and
// applies deploy/monitoring strictly into a fresh namespace: a misspelt
// field of the PodMonitor or the PrometheusRule fails here. (Whether the
// alert expressions name real metrics is deploy's own test.)
func TestManifestsMonitoring(t *testing.T) {
	installCRDs(t)
	ns := cp.Namespace(t)
	applied := applyManifests(t, cp.Admin, ns, readManifests(t, "monitoring"))
	for _, kind := range []string{"PodMonitor", "PrometheusRule"} {
		findManifest(t, applied, kind, "myapp-leader-elector")
	}
}

// installCRDs applies the CRDs in crdDir and waits until they are served.
func installCRDs(t *testing.T) {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(crdDir, "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no CRDs in %s (%v)", crdDir, err)
	}
	var objs []*unstructured.Unstructured
	for _, f := range files {
		objs = append(objs, readYAMLFile(t, f)...)
	}
	applyManifests(t, cp.Admin, "", objs)
	dyn, err := dynamic.NewForConfig(cp.Admin)
	if err != nil {
		t.Fatal(err)
	}
	crds := dyn.Resource(schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"})
	for _, o := range objs {
		waitFor(t, 30*time.Second, "CRD "+o.GetName()+" to be established", func() bool {
			got, err := crds.Get(context.Background(), o.GetName(), metav1.GetOptions{})
			if err != nil {
				return false
			}
			conds, _, _ := unstructured.NestedSlice(got.Object, "status", "conditions")
			for _, c := range conds {
				c, _ := c.(map[string]any)
				if c["type"] == "Established" && c["status"] == "True" {
					return true
				}
			}
			return false
		})
	}
	// Established can precede discovery by a moment; apply maps kinds
	// through discovery.
	dc, err := discovery.NewDiscoveryClientForConfig(cp.Admin)
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range objs {
		group, _, _ := unstructured.NestedString(o.Object, "spec", "group")
		plural, _, _ := unstructured.NestedString(o.Object, "spec", "names", "plural")
		waitFor(t, 30*time.Second, "discovery to serve "+plural+"."+group, func() bool {
			res, err := dc.ServerResourcesForGroupVersion(group + "/v1")
			return err == nil && slices.ContainsFunc(res.APIResources, func(r metav1.APIResource) bool { return r.Name == plural })
		})
	}
}

// TestManifestAppLoop runs the example app container's shell loop (with the
// status file moved to a temp dir; dash stands in for busybox sh) and checks
// the original README's loop done right: work starts when the file appears,
// stops when it disappears, starts again on the next term, and SIGTERM ends
// the loop cleanly.
func TestManifestAppLoop(t *testing.T) {
	var d appsv1.Deployment
	fromUnstructured(t, findManifest(t, readManifests(t, "base"), "Deployment", "myapp"), &d)
	app := podContainer(t, &d, "app")
	if len(app.Args) != 1 {
		t.Fatalf("app container: want its script as the one argument of sh -c, got %d args", len(app.Args))
	}
	dir := t.TempDir()
	status := filepath.Join(dir, "status")
	script := strings.ReplaceAll(app.Args[0], statusMountPath+"/status", status)
	if script == app.Args[0] {
		t.Fatalf("app script does not poll %s/status", statusMountPath)
	}

	out := &proc.Buffer{}
	cmd := exec.Command("sh", "-c", script)
	cmd.Stdout, cmd.Stderr = out, out
	// Its own process group, so the cleanup also ends a work loop the script
	// failed to stop (which would otherwise hold the output pipe open).
	cmd.WaitDelay = 2 * time.Second
	if err := proc.StartCmd(cmd, true); err != nil {
		t.Fatalf("starting the app loop: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = proc.SignalGroup(cmd.Process.Pid, syscall.SIGKILL)
		<-done
		if t.Failed() {
			t.Logf("app loop output:\n%s", out.String())
		}
	})
	count := func(s string) int { return strings.Count(out.String(), s) }

	time.Sleep(1500 * time.Millisecond) // more than one poll
	if n := count("working"); n != 0 {
		t.Fatalf("the app works without the status file: %d lines of work", n)
	}
	if err := os.WriteFile(status, []byte("myapp-0"), 0o644); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "work to start once the status file exists", func() bool {
		return count("leading as myapp-0: starting work") == 1 && count("working") >= 1
	})
	if err := os.Remove(status); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "work to stop once the status file is gone", func() bool {
		return count("no longer leading: stopping work") == 1
	})
	// The work loop prints every 5s: two periods with no new line show it
	// was stopped, not merely forgotten as the original's loop would.
	before := count("working")
	time.Sleep(6 * time.Second)
	if after := count("working"); after != before {
		t.Fatalf("work went on after the status file disappeared: %d lines before, %d after", before, after)
	}
	if err := os.WriteFile(status, []byte("myapp-0"), 0o644); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "work to start again on the next term", func() bool {
		return count("starting work") == 2
	})
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-done:
		done <- err // for the cleanup
		// A killed work loop's last `sleep` may outlive the script for a
		// few seconds holding the pipe (ErrWaitDelay); the exit status is
		// what counts.
		if errors.Is(err, exec.ErrWaitDelay) && cmd.ProcessState.Success() {
			err = nil
		}
		if err != nil {
			t.Fatalf("app loop exited with %v on SIGTERM, want 0", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("app loop did not exit within 5s of SIGTERM")
	}
}

// checkSidecarRuns runs the real sidecar with a token of the example
// ServiceAccount, so nothing but the example Role authorizes it: it must pass
// its own RBAC preflight, take the Lease, write its status file, record an
// Event and release the Lease on SIGTERM.
func checkSidecarRuns(t *testing.T, ns string) {
	ctx := context.Background()
	admin := cp.Client(t, cp.Admin)
	asSA := asServiceAccount(t, ns, exampleSA)
	status := filepath.Join(t.TempDir(), "status")
	p := startBinary(t, nil, "--kubeconfig", cp.Kubeconfig(t, asSA, ns), "elect",
		"--lease-name", exampleLease, "--identity", "myapp-0", "--status-file", status, "--http-addr=")
	waitFor(t, 30*time.Second, "the sidecar to lead (its status file to hold myapp-0)", func() bool {
		b, _ := os.ReadFile(status)
		return string(b) == "myapp-0" || p.exited()
	})
	if p.exited() {
		t.Fatalf("the sidecar exited %d before leading; stderr:\n%s", p.Wait(0), p.Stderr())
	}
	p.Signal(syscall.SIGTERM)
	if code := p.Wait(30 * time.Second); code != 0 {
		t.Fatalf("the sidecar exited %d on SIGTERM, want 0; stderr:\n%s", code, p.Stderr())
	}
	lease, err := admin.CoordinationV1().Leases(ns).Get(ctx, exampleLease, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("reading Lease %s: %v", exampleLease, err)
	}
	if h := lease.Spec.HolderIdentity; h != nil && *h != "" {
		t.Errorf("Lease %s still held by %q after SIGTERM: the release was not allowed?", exampleLease, *h)
	}
	events, err := admin.CoreV1().Events(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range events.Items {
		if e.InvolvedObject.Kind == "Lease" && e.InvolvedObject.Name == exampleLease {
			return
		}
	}
	t.Errorf("no Event on Lease %s: the sidecar could not record one with the example Role? stderr:\n%s", exampleLease, p.Stderr())
}

// checkWatchRuns runs the real `watch -A` as a member of the example
// viewers' group, which the ClusterRole alone authorizes: it must show a
// Lease of ns and hit no "forbidden" (Leases, Pods for orphans,
// LeaseCandidates), then exit 0 on SIGTERM.
func checkWatchRuns(t *testing.T, ns string) {
	t.Helper()
	ctx := context.Background()
	holder := "someone"
	lease := &coordinationv1.Lease{
		ObjectMeta: metav1.ObjectMeta{Name: "watched"},
		Spec:       coordinationv1.LeaseSpec{HolderIdentity: &holder, LeaseDurationSeconds: manifestPtr(int32(3600)), RenewTime: &metav1.MicroTime{Time: time.Now()}},
	}
	if _, err := cp.Client(t, cp.Admin).CoordinationV1().Leases(ns).Create(ctx, lease, metav1.CreateOptions{}); err != nil {
		t.Fatalf("creating a Lease to watch: %v", err)
	}
	kc := cp.Kubeconfig(t, cp.UserConfig("jane", exampleViewers), ns)
	p := startBinary(t, nil, "--kubeconfig", kc, "-v", "watch", "-A", "-o", "json")
	waitFor(t, 30*time.Second, "watch -A to list the Leases", func() bool {
		return strings.Contains(p.Stdout(), `"type":"synced"`) || p.exited()
	})
	// Pods and LeaseCandidates are listed beside the Leases; a denial
	// shows within moments of the first list.
	time.Sleep(2 * time.Second)
	p.Signal(syscall.SIGTERM)
	if code := p.Wait(30 * time.Second); code != 0 {
		t.Fatalf("watch exited %d, want 0 (SIGTERM); stderr:\n%s", code, p.Stderr())
	}
	if !strings.Contains(p.Stdout(), `"namespace":"`+ns+`","name":"watched"`) {
		t.Errorf("watch -A did not show Lease %s/watched; stdout:\n%s", ns, p.Stdout())
	}
	for name, out := range map[string]string{"stdout": p.Stdout(), "stderr": p.Stderr()} {
		for _, line := range strings.Split(out, "\n") {
			// Where the API server lacks WatchList (1.29 here), client-go's
			// informer tries it, is told "sendInitialEvents is forbidden
			// for watch unless the WatchList feature gate is enabled" and
			// lists instead: a debug line about the server, not a denial.
			if strings.Contains(line, "Falling back to regular list") {
				continue
			}
			if strings.Contains(strings.ToLower(line), "forbidden") {
				t.Errorf("watch as a viewer hit a denial on %s:\n%s", name, out)
				break
			}
		}
	}
}

// checkDeployment checks the pod spec against defect 1 of the original (the
// volume mounted at the file's own path) and the rest of what the sidecar's
// README promises: identity and namespace from the downward API, probes on
// the endpoints, a read-only root filesystem, non-root.
func checkDeployment(t *testing.T, d *appsv1.Deployment) {
	t.Helper()
	if d.Spec.Replicas == nil || *d.Spec.Replicas != 3 {
		t.Errorf("replicas = %v, want 3", d.Spec.Replicas)
	}
	spec := d.Spec.Template.Spec
	if spec.ServiceAccountName != exampleSA {
		t.Errorf("serviceAccountName = %q, want %q (the one the RoleBinding names)", spec.ServiceAccountName, exampleSA)
	}
	sidecar, app := podContainer(t, d, "leader-elector"), podContainer(t, d, "app")

	statusFile := flagOrEnv(sidecar, "--status-file", "LEADER_ELECTOR_STATUS_FILE")
	if statusFile == "" {
		t.Fatal("the sidecar sets no --status-file or LEADER_ELECTOR_STATUS_FILE")
	}
	sm, ok := mountHolding(sidecar, statusFile)
	if !ok {
		t.Fatalf("the sidecar's status file %s is on no volume it mounts", statusFile)
	}
	if sm.MountPath == statusFile {
		t.Errorf("the volume is mounted at the status file's own path %s: mount it on its directory", statusFile)
	}
	am, ok := mountHolding(app, statusFile)
	switch {
	case !ok:
		t.Errorf("the app container does not mount the directory of %s", statusFile)
	case am.Name != sm.Name || am.MountPath != sm.MountPath:
		t.Errorf("app mounts %s at %s, sidecar mounts %s at %s: they must share one volume at one path", am.Name, am.MountPath, sm.Name, sm.MountPath)
	}
	if !strings.Contains(strings.Join(app.Args, " "), statusFile) {
		t.Errorf("the app's loop does not read %s", statusFile)
	}
	for _, v := range spec.Volumes {
		if v.Name == sm.Name && v.EmptyDir == nil {
			t.Errorf("volume %s is not an emptyDir", v.Name)
		}
	}

	for env, field := range map[string]string{"POD_NAME": "metadata.name", "NAMESPACE": "metadata.namespace"} {
		if got := envFieldRef(sidecar, env); got != field {
			t.Errorf("sidecar env %s comes from %q, want the downward API's %s", env, got, field)
		}
	}
	if v := envValue(sidecar, "LEASE_NAME"); v != exampleLease {
		t.Errorf("LEASE_NAME = %q, want %q (the Lease the Role names)", v, exampleLease)
	}
	if p := sidecar.LivenessProbe; p == nil || p.HTTPGet == nil || p.HTTPGet.Path != "/healthz" {
		t.Errorf("sidecar liveness probe is %+v, want GET /healthz", p)
	}
	if p := sidecar.ReadinessProbe; p == nil || p.HTTPGet == nil || p.HTTPGet.Path != "/readyz" {
		t.Errorf("sidecar readiness probe is %+v, want GET /readyz", p)
	}
	checkProbePorts(t, sidecar)
	for _, c := range []corev1.Container{sidecar, app} {
		sc := c.SecurityContext
		if sc == nil || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
			t.Errorf("container %s: readOnlyRootFilesystem is not true", c.Name)
		}
		if sc == nil || sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
			t.Errorf("container %s: allowPrivilegeEscalation is not false", c.Name)
		}
	}
	if psc := spec.SecurityContext; psc == nil || psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot {
		t.Error("the pod does not set runAsNonRoot")
	}
}

// checkProbePorts checks the probes reach the port the sidecar serves on
// (--http-addr, default :4040).
func checkProbePorts(t *testing.T, c corev1.Container) {
	t.Helper()
	addr := flagOrEnv(c, "--http-addr", "LEADER_ELECTOR_HTTP_ADDR")
	if addr == "" {
		addr = ":4040"
	}
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatalf("sidecar --http-addr %q: %v", addr, err)
	}
	for _, p := range []*corev1.Probe{c.LivenessProbe, c.ReadinessProbe} {
		if p == nil || p.HTTPGet == nil {
			continue // reported above
		}
		got := p.HTTPGet.Port.String()
		for _, cport := range c.Ports {
			if cport.Name == got {
				got = strconv.Itoa(int(cport.ContainerPort))
			}
		}
		if got != port {
			t.Errorf("probe %s goes to port %s, but the sidecar serves on %s", p.HTTPGet.Path, got, port)
		}
	}
}

// readManifests renders the kustomize base deploy/<base>, as `kubectl
// apply -k` would.
func readManifests(t *testing.T, base string) []*unstructured.Unstructured {
	t.Helper()
	objs, err := deploy.Render(filepath.Join(deployDir, base))
	if err != nil {
		t.Fatal(err)
	}
	if len(objs) == 0 {
		t.Fatalf("deploy/%s renders nothing", base)
	}
	return objs
}

// readYAMLFile parses every YAML document of a file, strictly.
func readYAMLFile(t *testing.T, f string) []*unstructured.Unstructured {
	t.Helper()
	b, err := os.ReadFile(f)
	if err != nil {
		t.Fatal(err)
	}
	var objs []*unstructured.Unstructured
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(b)))
	for i := 0; ; i++ {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("%s: reading document %d: %v", f, i, err)
		}
		// Strict: a key given twice is a mistake, not "last one wins".
		js, err := yaml.YAMLToJSONStrict(doc)
		if err != nil {
			t.Fatalf("%s: document %d: %v", f, i, err)
		}
		if s := strings.TrimSpace(string(js)); s == "null" || s == "{}" {
			continue // a comment-only or empty document
		}
		var u unstructured.Unstructured
		if err := u.UnmarshalJSON(js); err != nil {
			t.Fatalf("%s: document %d: %v", f, i, err)
		}
		objs = append(objs, &u)
	}
	return objs
}

// applyManifests server-side applies objs with strict field validation (unknown
// fields fail) and returns them as the API server stored them.
func applyManifests(t *testing.T, cfg *rest.Config, ns string, objs []*unstructured.Unstructured) []*unstructured.Unstructured {
	t.Helper()
	dc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	mapper := restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(dc))
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var out []*unstructured.Unstructured
	for _, o := range objs {
		gvk := o.GroupVersionKind()
		what := fmt.Sprintf("%s %s", gvk.Kind, o.GetName())
		m, err := mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
		if err != nil {
			t.Fatalf("%s: the API server does not serve %s: %v", what, gvk, err)
		}
		var ri dynamic.ResourceInterface = dyn.Resource(m.Resource)
		if m.Scope.Name() == "namespace" {
			if o.GetNamespace() != "" {
				t.Errorf("%s sets namespace %q: leave it out so `kubectl apply -n` chooses", what, o.GetNamespace())
			}
			o.SetNamespace(ns)
			ri = dyn.Resource(m.Resource).Namespace(ns)
		}
		body, err := o.MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		got, err := ri.Patch(ctx, o.GetName(), types.ApplyPatchType, body, metav1.PatchOptions{
			FieldManager:    "e2e-manifests",
			FieldValidation: metav1.FieldValidationStrict,
			Force:           manifestPtr(true),
		})
		if err != nil {
			t.Fatalf("applying %s: %v", what, err)
		}
		out = append(out, got)
	}
	return out
}

type accessCheck struct {
	attr    authorizationv1.ResourceAttributes
	allowed bool
}

// checkAccess asks the API server, as the impersonated user, whether each
// check's request would be allowed (a SelfSubjectAccessReview, which is what
// the sidecar's own preflight does).
func checkAccess(t *testing.T, as rest.ImpersonationConfig, checks []accessCheck) {
	t.Helper()
	cfg := rest.CopyConfig(cp.Admin)
	cfg.Impersonate = as
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range checks {
		a := c.attr
		desc := fmt.Sprintf("%s %s %s", a.Verb, strings.TrimPrefix(a.Group+"/"+a.Resource, "/"), a.Name)
		if a.Namespace != "" {
			desc += " in " + a.Namespace
		}
		review := &authorizationv1.SelfSubjectAccessReview{Spec: authorizationv1.SelfSubjectAccessReviewSpec{ResourceAttributes: &a}}
		got, err := cs.AuthorizationV1().SelfSubjectAccessReviews().Create(context.Background(), review, metav1.CreateOptions{})
		if err != nil {
			t.Fatalf("%s: access review for %s: %v", as.UserName, desc, err)
		}
		if got.Status.Allowed != c.allowed {
			t.Errorf("%s may %s: %v, want %v (%s)", as.UserName, desc, got.Status.Allowed, c.allowed, got.Status.Reason)
		}
	}
}

func (a rbacAccess) key() string {
	name := "*"
	if a.Named {
		name = exampleLease
	}
	return fmt.Sprintf("%s %s/%s %s", a.Verb, a.Group, a.Resource, name)
}

// ruleGrants flattens RBAC rules into access keys; a rule with resourceNames
// is reported under each name, so a misspelt Lease name shows as a mismatch.
func ruleGrants(rules []rbacv1.PolicyRule) map[string]bool {
	out := map[string]bool{}
	for _, r := range rules {
		names := r.ResourceNames
		if len(names) == 0 {
			names = []string{"*"}
		}
		for _, g := range r.APIGroups {
			for _, res := range r.Resources {
				for _, v := range r.Verbs {
					for _, n := range names {
						out[fmt.Sprintf("%s %s/%s %s", v, g, res, n)] = true
					}
				}
			}
		}
	}
	return out
}

func findManifest(t *testing.T, objs []*unstructured.Unstructured, kind, name string) *unstructured.Unstructured {
	t.Helper()
	for _, o := range objs {
		if o.GetKind() == kind && o.GetName() == name {
			return o
		}
	}
	t.Fatalf("no %s %q in %s", kind, name, deployDir)
	return nil
}

func fromUnstructured(t *testing.T, u *unstructured.Unstructured, into any) {
	t.Helper()
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, into); err != nil {
		t.Fatalf("converting %s %s: %v", u.GetKind(), u.GetName(), err)
	}
}

// podContainer finds a container of the pod template by name, among the
// init containers too (where a native sidecar is).
func podContainer(t *testing.T, d *appsv1.Deployment, name string) corev1.Container {
	t.Helper()
	spec := d.Spec.Template.Spec
	for _, c := range append(slices.Clone(spec.InitContainers), spec.Containers...) {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("Deployment %s has no container %q", d.Name, name)
	return corev1.Container{}
}

// flagOrEnv returns the value of --flag=value in args, else of env.
func flagOrEnv(c corev1.Container, flag, env string) string {
	args := append(slices.Clone(c.Command), c.Args...)
	for i, a := range args {
		if v, ok := strings.CutPrefix(a, flag+"="); ok {
			return v
		}
		if a == flag && i+1 < len(args) {
			return args[i+1]
		}
	}
	return envValue(c, env)
}

func envValue(c corev1.Container, name string) string {
	for _, e := range c.Env {
		if e.Name == name {
			return e.Value
		}
	}
	return ""
}

func envFieldRef(c corev1.Container, name string) string {
	for _, e := range c.Env {
		if e.Name == name && e.ValueFrom != nil && e.ValueFrom.FieldRef != nil {
			return e.ValueFrom.FieldRef.FieldPath
		}
	}
	return ""
}

// mountHolding returns the container's volume mount whose directory holds path.
func mountHolding(c corev1.Container, path string) (corev1.VolumeMount, bool) {
	for _, m := range c.VolumeMounts {
		if path == m.MountPath || strings.HasPrefix(path, strings.TrimSuffix(m.MountPath, "/")+"/") {
			return m, true
		}
	}
	return corev1.VolumeMount{}, false
}

func manifestPtr[T any](v T) *T { return &v }

// asServiceAccount is a client configuration that authenticates as the
// ServiceAccount sa of ns, with a token the API server issues for it: what
// a Pod running under it would use.
func asServiceAccount(t *testing.T, ns, sa string) *rest.Config {
	t.Helper()
	tr, err := cp.Client(t, cp.Admin).CoreV1().ServiceAccounts(ns).CreateToken(context.Background(), sa, &authenticationv1.TokenRequest{
		Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: manifestPtr(int64(600))},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("requesting a token for ServiceAccount %s: %v", sa, err)
	}
	return &rest.Config{Host: cp.Host, BearerToken: tr.Status.Token, TLSClientConfig: rest.TLSClientConfig{CAData: cp.Admin.CAData}}
}
