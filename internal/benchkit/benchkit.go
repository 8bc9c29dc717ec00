// Package benchkit is what the bench harnesses (bench/failover,
// bench/shards, bench/footprint) share: building our elector and the
// client-go baseline, starting the control plane, the counting proxies'
// way to it, and the helpers of their tables.
package benchkit

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/leader-elector/leader-elector/internal/controlplane"
	"github.com/leader-elector/leader-elector/internal/replica"
)

// Build compiles our elector and the baseline into dir/bin with opts'
// flags (Package and Out are set here) and returns their paths.
func Build(ctx context.Context, dir string, opts replica.BuildOptions) (ours, base string, err error) {
	ours, base = filepath.Join(dir, "bin", "leader-elector"), filepath.Join(dir, "bin", "baseline")
	if err := os.MkdirAll(filepath.Dir(ours), 0o755); err != nil {
		return "", "", fmt.Errorf("creating the binaries' directory: %w", err)
	}
	for _, b := range []struct{ out, pkg string }{{ours, "./cmd/leader-elector"}, {base, "./bench/baseline"}} {
		o := opts
		o.Package, o.Out = b.pkg, b.out
		if err := replica.Build(ctx, o); err != nil {
			return "", "", err
		}
	}
	return ours, base, nil
}

// StartControlPlane starts the project's kube-apiserver and etcd (built or
// cached), giving it two minutes.
func StartControlPlane() (*controlplane.ControlPlane, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cp, err := controlplane.Start(ctx, controlplane.Options{})
	if err != nil {
		return nil, fmt.Errorf("starting the control plane: %w", err)
	}
	return cp, nil
}

// Conn is the way to the API server the counting proxies and the harness
// use: its URL, a transport with the admin's credentials, and a client.
type Conn struct {
	Target    *url.URL
	Transport http.RoundTripper
	Admin     kubernetes.Interface
}

// Connect makes a Conn from the admin's config.
func Connect(admin *rest.Config) (Conn, error) {
	target, err := url.Parse(admin.Host)
	if err != nil {
		return Conn{}, fmt.Errorf("parsing the API server's URL: %w", err)
	}
	transport, err := rest.TransportFor(admin)
	if err != nil {
		return Conn{}, fmt.Errorf("building the proxies' transport: %w", err)
	}
	cs, err := kubernetes.NewForConfig(admin)
	if err != nil {
		return Conn{}, fmt.Errorf("building the admin client: %w", err)
	}
	return Conn{Target: target, Transport: transport, Admin: cs}, nil
}

// WriteKubeconfig writes a kubeconfig for a counting proxy's plain-HTTP
// address: the proxy adds the credentials.
func WriteKubeconfig(path, server, ns string) error {
	kc := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: bench
  cluster:
    server: %s
users:
- name: bench
  user: {}
contexts:
- name: bench
  context: {cluster: bench, user: bench, namespace: %s}
current-context: bench
`, server, ns)
	return os.WriteFile(path, []byte(kc), 0o600)
}

// Progress prints one timestamped line on stderr.
func Progress(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "%s "+format+"\n", append([]any{time.Now().Format("15:04:05")}, args...)...)
}

// Totals lists ts as whole numbers.
func Totals(ts []float64) string {
	var parts []string
	for _, t := range ts {
		parts = append(parts, fmt.Sprintf("%.0f", t))
	}
	return strings.Join(parts, " ")
}

// Sum adds m's values.
func Sum(m map[string]float64) float64 {
	var t float64
	for _, v := range m {
		t += v
	}
	return t
}

// Keys are the keys of a and b, sorted.
func Keys(a, b map[string]float64) []string {
	seen := map[string]bool{}
	for k := range a {
		seen[k] = true
	}
	for k := range b {
		seen[k] = true
	}
	var out []string
	for k := range seen {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Percentile is the nearest-rank p-th percentile of ds (0 < p <= 100); 0
// for none.
func Percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	i := int(float64(len(s))*p/100+0.999999) - 1
	return s[max(0, min(i, len(s)-1))]
}

// Ratio is a/b with three decimals: "-" for 0/0, "inf" for a/0.
func Ratio(a, b float64) string {
	if b == 0 {
		if a == 0 {
			return "-"
		}
		return "inf"
	}
	return fmt.Sprintf("%.3f", a/b)
}
