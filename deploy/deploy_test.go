package deploy

import (
	"bufio"
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/leader-elector/leader-elector/elect/endpoints"
)

func render(t *testing.T, dir string) []*unstructured.Unstructured {
	t.Helper()
	objs, err := Render(dir)
	if err != nil {
		t.Fatal(err)
	}
	return objs
}

func find(t *testing.T, objs []*unstructured.Unstructured, kind string) *unstructured.Unstructured {
	t.Helper()
	for _, o := range objs {
		if o.GetKind() == kind {
			return o
		}
	}
	t.Fatalf("no %s rendered", kind)
	return nil
}

func deployment(t *testing.T, dir string) *appsv1.Deployment {
	t.Helper()
	var d appsv1.Deployment
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(find(t, render(t, dir), "Deployment").Object, &d); err != nil {
		t.Fatal(err)
	}
	return &d
}

func container(cs []corev1.Container, name string) (corev1.Container, bool) {
	for _, c := range cs {
		if c.Name == name {
			return c, true
		}
	}
	return corev1.Container{}, false
}

func env(c corev1.Container, name string) (string, bool) {
	for _, e := range c.Env {
		if e.Name == name {
			return e.Value, true
		}
	}
	return "", false
}

// TestBases renders every base and checks what each promises: the kinds,
// no namespace (so -n chooses), and where the sidecar sits.
func TestBases(t *testing.T) {
	wantKinds := map[string][]string{
		"base":                {"Deployment", "PodDisruptionBudget", "Role", "RoleBinding", "Service", "ServiceAccount"},
		"classic":             {"Deployment", "PodDisruptionBudget", "Role", "RoleBinding", "Service", "ServiceAccount"},
		"watch-rbac":          {"ClusterRole", "ClusterRoleBinding"},
		"watch-rbac/operator": {"ClusterRole", "RoleBinding"},
		"monitoring":          {"PodMonitor", "PrometheusRule"},
	}
	for _, dir := range Bases {
		t.Run(dir, func(t *testing.T) {
			var kinds []string
			for _, o := range render(t, dir) {
				kinds = append(kinds, o.GetKind())
				if o.GetNamespace() != "" {
					t.Errorf("%s %s sets namespace %q: leave it out so `kubectl apply -n` chooses", o.GetKind(), o.GetName(), o.GetNamespace())
				}
			}
			slices.Sort(kinds)
			if !slices.Equal(kinds, wantKinds[dir]) {
				t.Errorf("kinds %v, want %v", kinds, wantKinds[dir])
			}
		})
	}

	t.Run("base: a native sidecar that releases at once", func(t *testing.T) {
		spec := deployment(t, "base").Spec.Template.Spec
		side, ok := container(spec.InitContainers, "leader-elector")
		if !ok {
			t.Fatal("no init container leader-elector")
		}
		if side.RestartPolicy == nil || *side.RestartPolicy != corev1.ContainerRestartPolicyAlways {
			t.Errorf("restartPolicy %v, want Always (a native sidecar)", side.RestartPolicy)
		}
		if v, ok := env(side, "LEADER_ELECTOR_RELEASE_DELAY"); !ok || v != "0" {
			t.Errorf("LEADER_ELECTOR_RELEASE_DELAY = %q (set %v), want \"0\": the kubelet stops the app first", v, ok)
		}
		if _, ok := container(spec.Containers, "leader-elector"); ok {
			t.Error("leader-elector is also an ordinary container")
		}
	})

	t.Run("classic: an ordinary container with the default delay", func(t *testing.T) {
		spec := deployment(t, "classic").Spec.Template.Spec
		if len(spec.InitContainers) != 0 {
			t.Errorf("init containers %d, want none", len(spec.InitContainers))
		}
		side, ok := container(spec.Containers, "leader-elector")
		if !ok {
			t.Fatal("no container leader-elector")
		}
		if side.RestartPolicy != nil {
			t.Errorf("restartPolicy %v on an ordinary container", *side.RestartPolicy)
		}
		if _, ok := env(side, "LEADER_ELECTOR_RELEASE_DELAY"); ok {
			t.Error("LEADER_ELECTOR_RELEASE_DELAY is set: app and sidecar stop together here, so keep the default delay")
		}
		for _, name := range []string{"LEASE_NAME", "POD_NAME", "NAMESPACE"} {
			if !slices.ContainsFunc(side.Env, func(e corev1.EnvVar) bool { return e.Name == name }) {
				t.Errorf("the patch lost env %s", name)
			}
		}
		if _, ok := container(spec.Containers, "app"); !ok {
			t.Error("no app container")
		}
	})
}

// exportedMetrics scrapes a real endpoints server, the one the sidecar
// serves, and returns the metric names on its /metrics.
func exportedMetrics(t *testing.T) map[string]bool {
	t.Helper()
	srv := endpoints.New(endpoints.Options{LeaseName: "myapp-lock", Logger: slog.New(slog.DiscardHandler)})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.ServeListener(ctx, ln) }()
	t.Cleanup(func() { cancel(); <-done })

	client := &http.Client{Timeout: 10 * time.Second}
	resp, err := client.Get("http://" + ln.Addr().String() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	names := map[string]bool{}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		// "# TYPE name type" announces each metric family.
		if f := strings.Fields(sc.Text()); len(f) == 4 && f[0] == "#" && f[1] == "TYPE" {
			names[f[2]] = true
			if f[3] == "histogram" || f[3] == "summary" {
				for _, s := range []string{"_bucket", "_sum", "_count"} {
					names[f[2]+s] = true
				}
			}
		}
	}
	if err := sc.Err(); err != nil && err != io.EOF {
		t.Fatal(err)
	}
	if len(names) == 0 {
		t.Fatal("the endpoints server exported no metrics")
	}
	return names
}

var (
	promQLSkipped = regexp.MustCompile(`"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|\{[^}]*\}|\[[^\]]*\]|\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)`)
	promQLIdent   = regexp.MustCompile(`[a-zA-Z_:][\w:]*`)
	promQLWords   = map[string]bool{"and": true, "or": true, "unless": true, "bool": true, "offset": true, "inf": true, "nan": true}
)

// metricNames returns the metric names a PromQL expression reads: every
// identifier outside label matchers, ranges, strings and grouping clauses
// that is not a function or an operator.
func metricNames(expr string) []string {
	var out []string
	s := promQLSkipped.ReplaceAllString(expr, " ")
	for _, loc := range promQLIdent.FindAllStringIndex(s, -1) {
		word := s[loc[0]:loc[1]]
		if loc[0] > 0 && strings.ContainsAny(s[loc[0]-1:loc[0]], "0123456789.") {
			continue // the exponent of a number such as 1e9
		}
		if strings.HasPrefix(strings.TrimSpace(s[loc[1]:]), "(") || promQLWords[strings.ToLower(word)] {
			continue // a function or aggregation, or an operator
		}
		out = append(out, word)
	}
	return out
}

func TestMetricNames(t *testing.T) {
	tests := []struct {
		expr string
		want []string
	}{
		{`max by (namespace, name) (leader_election_master_status) == 0`, []string{"leader_election_master_status"}},
		{`rate(x_total{job="a", pod=~"b.*"}[5m]) > 0.1`, []string{"x_total"}},
		{`a == 1 and on (namespace, pod) b > 10`, []string{"a", "b"}},
		{`up == 0 or absent(leader_elector_transitions_total)`, []string{"up", "leader_elector_transitions_total"}},
		{`sum without (pod) (changes(m[15m])) > 1e9`, []string{"m"}},
	}
	for _, tt := range tests {
		if got := metricNames(tt.expr); !slices.Equal(got, tt.want) {
			t.Errorf("metricNames(%q) = %q, want %q", tt.expr, got, tt.want)
		}
	}
}

// TestAlertsUseExportedMetrics checks every alert of the example
// PrometheusRule reads only metrics the sidecar exports (an alert on a
// misspelt metric never fires), and that the three the README promises are
// there.
func TestAlertsUseExportedMetrics(t *testing.T) {
	exported := exportedMetrics(t)
	rule := find(t, render(t, "monitoring"), "PrometheusRule")
	groups, _, _ := unstructured.NestedSlice(rule.Object, "spec", "groups")
	var alerts []string
	for _, g := range groups {
		rules, _, _ := unstructured.NestedSlice(g.(map[string]any), "rules")
		for _, r := range rules {
			r := r.(map[string]any)
			name, _ := r["alert"].(string)
			expr, _ := r["expr"].(string)
			alerts = append(alerts, name)
			names := metricNames(expr)
			if len(names) == 0 {
				t.Errorf("alert %s reads no metric: %q", name, expr)
			}
			for _, m := range names {
				if !exported[m] {
					t.Errorf("alert %s reads %s, which the sidecar does not export (it exports %v)", name, m, keys(exported, "leader_"))
				}
			}
		}
	}
	for _, want := range []string{"LeaderElectorNoLeader", "LeaderElectorFlapping", "LeaderElectorRenewErrors"} {
		if !slices.Contains(alerts, want) {
			t.Errorf("no alert %s (have %v)", want, alerts)
		}
	}
}

func keys(m map[string]bool, prefix string) []string {
	var out []string
	for k := range m {
		if strings.HasPrefix(k, prefix) {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return out
}
