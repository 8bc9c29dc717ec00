package controlplane

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// Main starts one control plane for a test package, stores it in *cp, runs
// the tests and stops it. On failure it prints the servers' last log lines.
// Use it from TestMain:
//
//	var cp *controlplane.ControlPlane
//	func TestMain(m *testing.M) { os.Exit(controlplane.Main(m, &cp)) }
func Main(m *testing.M, cp **ControlPlane) int {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	c, err := Start(ctx, Options{})
	cancel()
	if err != nil {
		fmt.Fprintf(os.Stderr, "controlplane: %v\n", err)
		return 1
	}
	fmt.Fprintf(os.Stderr, "controlplane: kube-apiserver %s ready at %s in %s\n", c.Version, c.Host, c.StartupTime.Round(time.Millisecond))
	*cp = c
	code := m.Run()
	if code != 0 {
		fmt.Fprintf(os.Stderr, "controlplane: tests failed; last server log lines:\n%s\n", c.Logs(40))
	}
	c.Stop()
	return code
}

// Client returns a clientset for cfg or fails the test.
func (cp *ControlPlane) Client(t testing.TB, cfg *rest.Config) kubernetes.Interface {
	t.Helper()
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatalf("building a client for %s: %v", cfg.Host, err)
	}
	return cs
}

var notLabel = regexp.MustCompile(`[^a-z0-9-]+`)

// Namespace creates a fresh namespace named after the test, with its
// "default" ServiceAccount (no controllers run here to create it, and Pods
// are refused without it), and returns its name. Namespaces are not deleted:
// without the namespace controller they would stay Terminating; the whole
// control plane goes at the end of the package.
func (cp *ControlPlane) Namespace(t testing.TB) string {
	t.Helper()
	base := strings.Trim(notLabel.ReplaceAllString(strings.ToLower(t.Name()), "-"), "-")
	if len(base) > 40 {
		base = strings.TrimRight(base[:40], "-")
	}
	name := fmt.Sprintf("%s-%04x", base, rand.IntN(1<<16))
	cs := cp.Client(t, cp.Admin)
	ctx := context.Background()
	if _, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{}); err != nil {
		t.Fatalf("creating namespace %s: %v", name, err)
	}
	if _, err := cs.CoreV1().ServiceAccounts(name).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "default"}}, metav1.CreateOptions{}); err != nil {
		t.Fatalf("creating the default ServiceAccount in %s: %v", name, err)
	}
	return name
}

// Kubeconfig writes a kubeconfig for cfg with default namespace ns into the
// test's temp dir and returns its path, for running the real binary.
func (cp *ControlPlane) Kubeconfig(t testing.TB, cfg *rest.Config, ns string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := WriteKubeconfig(path, cfg, ns); err != nil {
		t.Fatal(err)
	}
	return path
}

// Minor is the API server's minor version (37 for v1.37.2).
func (cp *ControlPlane) Minor() int {
	var major, minor int
	_, _ = fmt.Sscanf(cp.Version, "v%d.%d", &major, &minor)
	return minor
}

// ServesLeaseCandidates says whether the API server serves
// coordination.k8s.io/v1beta1 LeaseCandidates, as this package starts
// releases from 1.33 (see versionFlags); older ones have none to show.
func (cp *ControlPlane) ServesLeaseCandidates(t testing.TB) bool {
	t.Helper()
	res, err := cp.Client(t, cp.Admin).Discovery().ServerResourcesForGroupVersion("coordination.k8s.io/v1beta1")
	if err != nil {
		return false
	}
	for _, r := range res.APIResources {
		if r.Name == "leasecandidates" {
			return true
		}
	}
	return false
}
