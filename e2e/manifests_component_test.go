package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/leader-elector/leader-elector/deploy"
)

// TestManifestsComponent renders each sample app of deploy/testdata with
// krusty, once as the user has it and once with components/sidecar added,
// applies both server-side and strictly as a namespace admin (each into a
// namespace of its own), and compares what the API server stored field by
// field: the sidecar is an init container with restartPolicy Always, the
// status volume is mounted read-only in every app container, and once those
// additions are taken out the workload is exactly the app's own. Then the
// real sidecar runs with the Component's ServiceAccount and env and leads.
func TestManifestsComponent(t *testing.T) {
	tests := []struct {
		before, after, kind, name string
		apps                      []string
		app, lease                string
		leaderLabel               bool
	}{
		{"app", "app-sidecar", "Deployment", "shop", []string{"web", "worker"}, "shop", "shop-lock", false},
		{"app", "app-leader-service", "Deployment", "shop", []string{"web", "worker"}, "shop", "shop-lock", true},
		{"statefulset", "statefulset-sidecar", "StatefulSet", "ledger", []string{"ledger"}, "ledger", "ledger-lock", false},
	}
	for _, tt := range tests {
		t.Run(tt.after, func(t *testing.T) {
			sa := tt.app + "-leader-elector"
			nsBefore, nsAfter := cp.Namespace(t), cp.Namespace(t)
			stored := func(ns, sample string) (*unstructured.Unstructured, []*unstructured.Unstructured) {
				objs := applyManifests(t, namespaceAdmin(t, ns), ns, readManifests(t, filepath.Join("testdata", sample)))
				return findManifest(t, objs, tt.kind, tt.name), objs
			}
			before, _ := stored(nsBefore, tt.before)
			after, applied := stored(nsAfter, tt.after)

			beforeSpec, afterSpec := workloadSpec(t, before), workloadSpec(t, after)
			added := deploy.SplitSidecar(&afterSpec.Template.Spec, beforeSpec.Template.Spec.ServiceAccountName)
			for _, p := range added.Problems(tt.apps, sa, tt.lease) {
				t.Error(p)
			}
			if b, a := specJSON(t, beforeSpec.Template.Spec), specJSON(t, afterSpec.Template.Spec); a != b {
				t.Errorf("the Component changed the app's pod spec beyond the sidecar:\nwithout it %s\nwith it    %s", b, a)
			}
			afterSpec.Template.Spec = beforeSpec.Template.Spec
			if b, a := specJSON(t, beforeSpec), specJSON(t, afterSpec); a != b {
				t.Errorf("the Component changed the %s beyond its pod spec:\nwithout it %s\nwith it    %s", tt.kind, b, a)
			}
			if env := envValue(*added.Sidecar, "LEADER_ELECTOR_LEADER_LABEL"); (env != "") != tt.leaderLabel {
				t.Errorf("LEADER_ELECTOR_LEADER_LABEL = %q with leader-service %v", env, tt.leaderLabel)
			}

			var role rbacv1.Role
			fromUnstructured(t, findManifest(t, applied, "Role", sa), &role)
			checkRoleGrants(t, role, tt.lease, tt.leaderLabel)
			var rb rbacv1.RoleBinding
			fromUnstructured(t, findManifest(t, applied, "RoleBinding", sa), &rb)
			if rb.RoleRef.Name != sa || len(rb.Subjects) != 1 || rb.Subjects[0].Kind != "ServiceAccount" || rb.Subjects[0].Name != sa {
				t.Errorf("RoleBinding %s binds %+v to %+v, want Role %s to ServiceAccount %s", rb.Name, rb.RoleRef, rb.Subjects, sa, sa)
			}
			findManifest(t, applied, "ServiceAccount", sa)
			if tt.leaderLabel {
				var svc corev1.Service
				fromUnstructured(t, findManifest(t, applied, "Service", tt.app+"-leader"), &svc)
				key, value, _ := strings.Cut(envValue(*added.Sidecar, "LEADER_ELECTOR_LEADER_LABEL"), "=")
				if len(svc.Spec.Selector) != 1 || svc.Spec.Selector[key] != value {
					t.Errorf("Service %s selects %v, want only the leader label %s=%s", svc.Name, svc.Spec.Selector, key, value)
				}
				return // its sidecar needs a real Pod for POD_NAME: the leader-label e2e tests run that
			}
			runComponentSidecar(t, nsAfter, sa, *added.Sidecar)
		})
	}
}

type workload struct {
	Template             corev1.PodTemplateSpec
	Rest                 json.RawMessage // the rest of the workload's spec
	VolumeClaimTemplates []corev1.PersistentVolumeClaim
}

// workloadSpec returns a Deployment's or StatefulSet's spec, its pod
// template apart.
func workloadSpec(t *testing.T, u *unstructured.Unstructured) workload {
	t.Helper()
	var w workload
	switch u.GetKind() {
	case "Deployment":
		var d appsv1.Deployment
		fromUnstructured(t, u, &d)
		w.Template, d.Spec.Template = d.Spec.Template, corev1.PodTemplateSpec{}
		w.Rest = mustMarshal(t, d.Spec)
	case "StatefulSet":
		var s appsv1.StatefulSet
		fromUnstructured(t, u, &s)
		w.Template, s.Spec.Template = s.Spec.Template, corev1.PodTemplateSpec{}
		w.VolumeClaimTemplates = s.Spec.VolumeClaimTemplates
		w.Rest = mustMarshal(t, s.Spec)
	default:
		t.Fatalf("%s is no workload", u.GetKind())
	}
	return w
}

func mustMarshal(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func specJSON(t *testing.T, v any) string { return string(mustMarshal(t, v)) }

// checkRoleGrants compares the Role with elect.RequiredAccess for a sidecar
// electing on lease (with or without --leader-label): nothing missing,
// nothing more.
func checkRoleGrants(t *testing.T, role rbacv1.Role, lease string, leaderLabel bool) {
	t.Helper()
	want := map[string]bool{}
	for _, a := range sidecarAccess() {
		if a.LeaderLabel && !leaderLabel {
			continue
		}
		name := "*"
		if a.Named {
			name = lease
		}
		want[fmt.Sprintf("%s %s/%s %s", a.Verb, a.Group, a.Resource, name)] = true
	}
	got := ruleGrants(role.Rules)
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
}

// runComponentSidecar runs the real sidecar with a token of the
// Component's ServiceAccount and the env the Component gave the container
// (the downward API's values filled in as the kubelet would): it must pass
// its RBAC preflight, lead, label the Lease as LEADER_ELECTOR_LEASE_LABELS
// says, and release on SIGTERM.
func runComponentSidecar(t *testing.T, ns, sa string, side corev1.Container) {
	t.Helper()
	ctx := context.Background()
	admin := cp.Client(t, cp.Admin)
	asSA := asServiceAccount(t, ns, sa)
	identity := "pod-0"
	downward := map[string]string{"metadata.name": identity, "metadata.namespace": ns}
	var env []string
	for _, e := range side.Env {
		switch {
		case e.ValueFrom != nil && e.ValueFrom.FieldRef != nil:
			v, ok := downward[e.ValueFrom.FieldRef.FieldPath]
			if !ok {
				t.Fatalf("sidecar env %s from %s: not filled in by this test", e.Name, e.ValueFrom.FieldRef.FieldPath)
			}
			env = append(env, e.Name+"="+v)
		case e.ValueFrom != nil:
			t.Fatalf("sidecar env %s from %+v: not filled in by this test", e.Name, e.ValueFrom)
		default:
			env = append(env, e.Name+"="+e.Value)
		}
	}
	// The container's args, with the status file in a temp dir and no HTTP
	// port (tests run in parallel processes on one host).
	status := filepath.Join(t.TempDir(), "status")
	args := []string{"--kubeconfig", cp.Kubeconfig(t, asSA, ns)}
	for _, a := range side.Args {
		switch {
		case strings.HasPrefix(a, "--status-file="):
			a = "--status-file=" + status
		case strings.HasPrefix(a, "--http-addr="):
			a = "--http-addr="
		}
		args = append(args, a)
	}
	lease := envValue(side, "LEASE_NAME")
	p := startBinary(t, env, args...)
	waitFor(t, 30*time.Second, "the sidecar to lead (its status file to hold "+identity+")", func() bool {
		b, _ := os.ReadFile(status)
		return string(b) == identity || p.exited()
	})
	if p.exited() {
		t.Fatalf("the sidecar exited %d before leading; stderr:\n%s", p.Wait(0), p.Stderr())
	}
	got, err := admin.CoordinationV1().Leases(ns).Get(ctx, lease, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("reading Lease %s: %v", lease, err)
	}
	for _, kv := range strings.Split(envValue(side, "LEADER_ELECTOR_LEASE_LABELS"), ",") {
		if k, v, ok := strings.Cut(kv, "="); ok && got.Labels[k] != v {
			t.Errorf("Lease %s has labels %v, want %s (LEADER_ELECTOR_LEASE_LABELS)", lease, got.Labels, kv)
		}
	}
	p.Signal(syscall.SIGTERM)
	if code := p.Wait(30 * time.Second); code != 0 {
		t.Fatalf("the sidecar exited %d on SIGTERM, want 0; stderr:\n%s", code, p.Stderr())
	}
	got, err = admin.CoordinationV1().Leases(ns).Get(ctx, lease, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if h := got.Spec.HolderIdentity; h != nil && *h != "" {
		t.Errorf("Lease %s still held by %q after SIGTERM", lease, *h)
	}
}
