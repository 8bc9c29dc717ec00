package e2e

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	coordinationv1beta1 "k8s.io/api/coordination/v1beta1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// createLease creates a held Lease named name in ns.
func createLease(t *testing.T, ns, name, holder string) {
	t.Helper()
	lease := &coordinationv1.Lease{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec:       coordinationv1.LeaseSpec{HolderIdentity: &holder, LeaseDurationSeconds: manifestPtr(int32(3600)), RenewTime: &metav1.MicroTime{Time: time.Now()}},
	}
	if _, err := cp.Client(t, cp.Admin).CoordinationV1().Leases(ns).Create(context.Background(), lease, metav1.CreateOptions{}); err != nil {
		t.Fatalf("creating Lease %s/%s: %v", ns, name, err)
	}
}

// runUntilSynced runs p until its JSON stream has synced (or it exits),
// then stops it with SIGTERM and returns its exit code.
func runUntilSynced(t *testing.T, p *testProc) int {
	t.Helper()
	waitFor(t, 30*time.Second, "the watch to sync", func() bool {
		return strings.Contains(p.Stdout(), `"type":"synced"`) || p.exited()
	})
	if !p.exited() {
		time.Sleep(2 * time.Second) // Pods and LeaseCandidates are listed beside the Leases
		p.Signal(syscall.SIGTERM)
	}
	return p.Wait(30 * time.Second)
}

// TestKubectlLeasesPlugin runs the binary as kubectl runs the plugin, by a
// link named kubectl-leases, with kubectl's flags and no `watch`: -n, -A,
// -o json, --kubeconfig, and --as/--as-group, which must reach the API
// server (a user with a Role in one namespace sees it, and is refused -A).
func TestKubectlLeasesPlugin(t *testing.T) {
	ns := cp.Namespace(t)
	createLease(t, ns, "plugged", "pod-0")
	plugin := filepath.Join(t.TempDir(), "kubectl-leases")
	if err := os.Symlink(binPath, plugin); err != nil {
		t.Fatal(err)
	}
	admin := cp.Client(t, cp.Admin)
	ctx := context.Background()
	if _, err := admin.RbacV1().Roles(ns).Create(ctx, &rbacv1.Role{
		ObjectMeta: metav1.ObjectMeta{Name: "lease-reader"},
		Rules:      []rbacv1.PolicyRule{{APIGroups: []string{"coordination.k8s.io"}, Resources: []string{"leases"}, Verbs: []string{"get", "list", "watch"}}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.RbacV1().RoleBindings(ns).Create(ctx, &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "lease-readers"},
		RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: "lease-reader"},
		Subjects:   []rbacv1.Subject{{APIGroup: "rbac.authorization.k8s.io", Kind: "Group", Name: "lease-readers"}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	kc := cp.Kubeconfig(t, cp.Admin, "default")
	shows := `"namespace":"` + ns + `","name":"plugged"`

	t.Run("-n ns -o json", func(t *testing.T) {
		p := startProgram(t, plugin, nil, "-n", ns, "-o", "json", "--kubeconfig", kc)
		if code := runUntilSynced(t, p); code != 0 {
			t.Fatalf("exit %d; stderr:\n%s", code, p.Stderr())
		}
		if !strings.Contains(p.Stdout(), shows) {
			t.Errorf("kubectl leases -n %s did not show its Lease; stdout:\n%s", ns, p.Stdout())
		}
	})
	t.Run("-A, piped", func(t *testing.T) {
		p := startProgram(t, plugin, nil, "-A", "--kubeconfig", kc) // stdout is no terminal: JSON
		if code := runUntilSynced(t, p); code != 0 {
			t.Fatalf("exit %d; stderr:\n%s", code, p.Stderr())
		}
		if !strings.Contains(p.Stdout(), shows) {
			t.Errorf("kubectl leases -A did not show %s/plugged; stdout:\n%s", ns, p.Stdout())
		}
	})
	t.Run("--as a reader of one namespace", func(t *testing.T) {
		p := startProgram(t, plugin, nil, "-n", ns, "-o", "json", "--kubeconfig", kc, "--as", "kim", "--as-group", "lease-readers")
		if code := runUntilSynced(t, p); code != 0 {
			t.Fatalf("exit %d; stderr:\n%s", code, p.Stderr())
		}
		if !strings.Contains(p.Stdout(), shows) {
			t.Errorf("kim did not see the Lease; stdout:\n%s", p.Stdout())
		}
	})
	t.Run("--server and --token, no kubeconfig at all, --once as kubectl get", func(t *testing.T) {
		ca := filepath.Join(t.TempDir(), "ca.pem")
		if err := os.WriteFile(ca, cp.Admin.TLSClientConfig.CAData, 0o600); err != nil {
			t.Fatal(err)
		}
		env := []string{"KUBECONFIG=" + filepath.Join(t.TempDir(), "none"), "HOME=" + t.TempDir()}
		p := startProgram(t, plugin, env, "--once", "-n", ns, "-s", cp.Admin.Host, "--token", cp.Admin.BearerToken,
			"--certificate-authority", ca, "--request-timeout", "10", "-o", "custom-columns=NAME:.metadata.name,HOLDER:.spec.holderIdentity")
		code := p.Wait(30 * time.Second)
		if code != 0 || p.Stdout() != "NAME      HOLDER\nplugged   pod-0\n" {
			t.Errorf("exit %d, stdout %q, stderr %q; want the Lease in custom columns", code, p.Stdout(), p.Stderr())
		}
		// A wrong token is refused by the API server itself.
		p = startProgram(t, plugin, env, "--once", "-n", ns, "-s", cp.Admin.Host, "--token", "wrong", "--certificate-authority", ca)
		if code := p.Wait(30 * time.Second); code == 0 || p.Stdout() != "" || !strings.Contains(p.Stderr(), "Unauthorized") {
			t.Errorf("a wrong token: exit %d, stdout %q, stderr %q; want a failure naming Unauthorized and nothing on stdout", code, p.Stdout(), p.Stderr())
		}
	})
	t.Run("a Lease by name, as kubectl get lease NAME", func(t *testing.T) {
		stdout, stderr, code := runProgram(t, plugin, "--once", "-n", ns, "plugged", "-o", "name", "--kubeconfig", kc)
		if code != 0 || stdout != "lease.coordination.k8s.io/plugged\n" {
			t.Errorf("exit %d, stdout %q, stderr %q", code, stdout, stderr)
		}
		stdout, stderr, code = runProgram(t, plugin, "--once", "-n", ns, "plugged", "nope", "--kubeconfig", kc)
		if code != 1 || !strings.Contains(stdout, "plugged") || strings.Contains(stdout, "nope") || !strings.Contains(stderr, "leases nope not found in namespace "+ns) {
			t.Errorf("exit %d, stdout %q, stderr %q; want 1, plugged's row and nope not found", code, stdout, stderr)
		}
	})
	t.Run("kubectl leases <TAB>: namespaces and Lease names from the API server", func(t *testing.T) {
		complete := filepath.Join(filepath.Dir(plugin), "kubectl_complete-leases")
		if err := os.Symlink(binPath, complete); err != nil {
			t.Fatal(err)
		}
		stdout, stderr, code := runProgram(t, complete, "--kubeconfig", kc, "-n", ns[:len(ns)-2])
		if code != 0 || !strings.Contains(stdout, ns+"\n") || !strings.HasSuffix(stdout, ":4\n") {
			t.Errorf("-n %s<TAB>: exit %d, stdout %q, stderr %q; want %s", ns[:len(ns)-2], code, stdout, stderr, ns)
		}
		stdout, stderr, code = runProgram(t, complete, "--kubeconfig", kc, "-n", ns, "plu")
		if code != 0 || stdout != "plugged\n:4\n" {
			t.Errorf("-n %s plu<TAB>: exit %d, stdout %q, stderr %q; want plugged", ns, code, stdout, stderr)
		}
	})
	t.Run("--as the same reader, -A: refused", func(t *testing.T) {
		_, stderr, code := runProgram(t, plugin, "-A", "-o", "json", "--kubeconfig", kc, "--as", "kim", "--as-group", "lease-readers")
		if code != 2 || !strings.Contains(stderr, "forbidden: this user may not list") || !strings.Contains(stderr, "leases.coordination.k8s.io in all namespaces") {
			t.Errorf("exit %d, stderr %q; want 2 and a denial for all namespaces (so --as reached the API server)", code, stderr)
		}
	})
}

// runProgram runs path to completion and returns its output and exit code.
func runProgram(t *testing.T, path string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	p := startProgram(t, path, nil, args...)
	code = p.Wait(30 * time.Second)
	return p.Stdout(), p.Stderr(), code
}

// TestWatchAPIWarnings: the API server warns on every request for the
// LeaseCandidate beta (deprecated in 1.36, still the newest version). The
// warning must reach neither of watch's streams by default, and be one
// debug line with -v.
func TestWatchAPIWarnings(t *testing.T) {
	if cp.Minor() < 36 {
		t.Skipf("kube-apiserver %s does not deprecate the LeaseCandidate beta (1.36 does), so it sends no warning to hide", cp.Version)
	}
	ns := cp.Namespace(t)
	createLease(t, ns, "ctl", "pod-a")
	if _, err := cp.Client(t, cp.Admin).CoordinationV1beta1().LeaseCandidates(ns).Create(context.Background(), &coordinationv1beta1.LeaseCandidate{
		ObjectMeta: metav1.ObjectMeta{Name: "ctl-pod-b"},
		Spec: coordinationv1beta1.LeaseCandidateSpec{
			LeaseName: "ctl", BinaryVersion: "1.37.2", EmulationVersion: "1.37.0",
			Strategy: coordinationv1.OldestEmulationVersion, RenewTime: &metav1.MicroTime{Time: time.Now()},
		},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatalf("creating a LeaseCandidate: %v", err)
	}
	kc := cp.Kubeconfig(t, cp.Admin, ns)

	p := startBinary(t, nil, "--kubeconfig", kc, "watch", "-o", "json")
	if code := runUntilSynced(t, p); code != 0 {
		t.Fatalf("exit %d; stderr:\n%s", code, p.Stderr())
	}
	for name, out := range map[string]string{"stdout": p.Stdout(), "stderr": p.Stderr()} {
		if strings.Contains(out, "deprecated") {
			t.Errorf("the API server's warning reached %s:\n%s", name, out)
		}
	}
	if !strings.Contains(p.Stdout(), `"candidates":[`) {
		t.Errorf("the LeaseCandidate was not shown, so the beta API was not read; stdout:\n%s", p.Stdout())
	}

	p = startBinary(t, nil, "--kubeconfig", kc, "-v", "watch", "-o", "json")
	if code := runUntilSynced(t, p); code != 0 {
		t.Fatalf("-v: exit %d; stderr:\n%s", code, p.Stderr())
	}
	if strings.Contains(p.Stdout(), "deprecated") {
		t.Errorf("-v: the warning reached stdout:\n%s", p.Stdout())
	}
	var warned []string
	for _, l := range strings.Split(p.Stderr(), "\n") {
		if strings.Contains(l, "LeaseCandidate is deprecated") {
			warned = append(warned, l)
		}
	}
	if len(warned) != 1 || !strings.Contains(warned[0], "level=DEBUG") {
		t.Errorf("-v: want the deprecation once, at debug level; got %d lines:\n%s", len(warned), strings.Join(warned, "\n"))
	}
}
