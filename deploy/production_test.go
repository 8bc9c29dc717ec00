package deploy

import (
	"encoding/json"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
)

// The sample apps, with and without the Components (deploy/testdata).
var samples = []string{"testdata/app", "testdata/app-sidecar", "testdata/app-leader-service", "testdata/statefulset", "testdata/statefulset-sidecar"}

const image = "ghcr.io/leader-elector/leader-elector"

// placeholder matches the Components' APP and LEASE, which replacements
// must have replaced (LEASE_NAME is an env name, not one).
var placeholder = regexp.MustCompile(`(^|[^A-Z_])(APP|LEASE)([^A-Z_]|$)`)

// pinnedVersion is what .ci/image-tag.sh reads from the kustomizations: the
// one release version every manifest pins.
func pinnedVersion(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("../.ci/image-tag.sh").Output()
	if err != nil {
		t.Fatalf(".ci/image-tag.sh: %v\n%s", err, out)
	}
	return strings.TrimSpace(string(out))
}

func podSpecs(t *testing.T, objs []*unstructured.Unstructured) map[string]corev1.PodSpec {
	t.Helper()
	out := map[string]corev1.PodSpec{}
	for _, o := range objs {
		tmpl, ok, _ := unstructured.NestedFieldNoCopy(o.Object, "spec", "template")
		if !ok {
			continue
		}
		var pt corev1.PodTemplateSpec
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(tmpl.(map[string]any), &pt); err != nil {
			t.Fatal(err)
		}
		out[o.GetKind()+"/"+o.GetName()] = pt.Spec
	}
	return out
}

// TestImagePinned: every base and every sample with a Component runs the
// image at the release version .ci/image-tag.sh manages, never :latest.
func TestImagePinned(t *testing.T) {
	v := pinnedVersion(t)
	if !regexp.MustCompile(`^[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?$`).MatchString(v) {
		t.Fatalf("the manifests pin %q, not a release version", v)
	}
	for _, dir := range append(slices.Clone(Bases), samples...) {
		for name, spec := range podSpecs(t, render(t, dir)) {
			for _, c := range append(spec.InitContainers, spec.Containers...) {
				if strings.HasPrefix(c.Image, image) && c.Image != image+":"+v {
					t.Errorf("%s: %s container %s runs %s, want %s:%s", dir, name, c.Name, c.Image, image, v)
				}
			}
		}
	}
}

// TestRecommendedLabels: every object of every base carries the
// recommended app.kubernetes.io labels.
func TestRecommendedLabels(t *testing.T) {
	for _, dir := range Bases {
		for _, o := range render(t, dir) {
			for _, k := range []string{"name", "component", "part-of", "managed-by"} {
				if o.GetLabels()["app.kubernetes.io/"+k] == "" {
					t.Errorf("%s: %s %s has no label app.kubernetes.io/%s", dir, o.GetKind(), o.GetName(), k)
				}
			}
		}
	}
	d := deployment(t, "base")
	for _, k := range []string{"name", "instance", "part-of"} {
		if d.Spec.Template.Labels["app.kubernetes.io/"+k] == "" {
			t.Errorf("base: the pod template has no label app.kubernetes.io/%s", k)
		}
	}
	if got, want := d.Spec.Selector.MatchLabels, map[string]string{"app.kubernetes.io/name": "myapp"}; !labels.Equals(got, want) {
		t.Errorf("base: selector %v, want %v: a selector cannot change once the Deployment exists, keep added labels out of it", got, want)
	}
}

// TestProductionShape: the example survives a drain and a zone failure: a
// PDB lets one replica go at a time, and replicas spread over zones and
// nodes; both select exactly the Deployment's pods.
func TestProductionShape(t *testing.T) {
	for _, dir := range []string{"base", "classic"} {
		t.Run(dir, func(t *testing.T) {
			objs := render(t, dir)
			d := deployment(t, dir)
			pods := labels.Set(d.Spec.Template.Labels)

			var pdb policyv1.PodDisruptionBudget
			if err := runtime.DefaultUnstructuredConverter.FromUnstructured(find(t, objs, "PodDisruptionBudget").Object, &pdb); err != nil {
				t.Fatal(err)
			}
			if mu := pdb.Spec.MaxUnavailable; mu == nil || mu.String() != "1" || pdb.Spec.MinAvailable != nil {
				t.Errorf("PDB maxUnavailable %v minAvailable %v, want maxUnavailable 1", mu, pdb.Spec.MinAvailable)
			}
			if sel, err := metav1.LabelSelectorAsSelector(pdb.Spec.Selector); err != nil || sel.Empty() || !sel.Matches(pods) {
				t.Errorf("PDB selector %v does not select the pods (labels %v): %v", pdb.Spec.Selector, pods, err)
			}

			keys := map[string]bool{}
			for _, c := range d.Spec.Template.Spec.TopologySpreadConstraints {
				keys[c.TopologyKey] = true
				if c.MaxSkew != 1 || c.WhenUnsatisfiable != corev1.ScheduleAnyway {
					t.Errorf("spread over %s: maxSkew %d, %s; want 1, ScheduleAnyway (a one-node cluster must still run it)", c.TopologyKey, c.MaxSkew, c.WhenUnsatisfiable)
				}
				if sel, err := metav1.LabelSelectorAsSelector(c.LabelSelector); err != nil || sel.Empty() || !sel.Matches(pods) {
					t.Errorf("spread over %s: selector %v does not select the pods: %v", c.TopologyKey, c.LabelSelector, err)
				}
			}
			for _, k := range []string{"topology.kubernetes.io/zone", "kubernetes.io/hostname"} {
				if !keys[k] {
					t.Errorf("no topology spread over %s", k)
				}
			}
		})
	}
}

// TestWatchRoleAggregates: the watch ClusterRole is gathered into the
// built-in view (and so edit and admin). e2e checks the same against the
// API server's own view ClusterRole.
func TestWatchRoleAggregates(t *testing.T) {
	role := find(t, render(t, "watch-rbac"), "ClusterRole")
	if v := role.GetLabels()["rbac.authorization.k8s.io/aggregate-to-view"]; v != "true" {
		t.Errorf("ClusterRole %s: aggregate-to-view = %q, want \"true\"", role.GetName(), v)
	}
}

// TestComponentOverSample renders each sample app with and without the
// sidecar Component and checks that the Component added the sidecar and
// changed nothing else of the app. (e2e does the same with what the API
// server stored.)
func TestComponentOverSample(t *testing.T) {
	tests := []struct {
		before, after, workload string
		apps                    []string
		sa, lease               string
		kinds                   []string
	}{
		{"testdata/app", "testdata/app-sidecar", "Deployment/shop", []string{"web", "worker"}, "shop-leader-elector", "shop-lock",
			[]string{"Deployment", "Role", "RoleBinding", "ServiceAccount"}},
		{"testdata/app", "testdata/app-leader-service", "Deployment/shop", []string{"web", "worker"}, "shop-leader-elector", "shop-lock",
			[]string{"Deployment", "Role", "RoleBinding", "Service", "ServiceAccount"}},
		{"testdata/statefulset", "testdata/statefulset-sidecar", "StatefulSet/ledger", []string{"ledger"}, "ledger-leader-elector", "ledger-lock",
			[]string{"Role", "RoleBinding", "ServiceAccount", "StatefulSet"}},
	}
	for _, tt := range tests {
		t.Run(tt.after, func(t *testing.T) {
			objs := render(t, tt.after)
			var kinds []string
			for _, o := range objs {
				kinds = append(kinds, o.GetKind())
				if s := string(mustJSON(t, o)); placeholder.MatchString(s) {
					t.Errorf("%s %s keeps a placeholder: %s", o.GetKind(), o.GetName(), s)
				}
			}
			slices.Sort(kinds)
			if !slices.Equal(kinds, tt.kinds) {
				t.Errorf("kinds %v, want %v (the settings ConfigMap and SidecarMount are local-config, never applied)", kinds, tt.kinds)
			}
			before := podSpecs(t, render(t, tt.before))[tt.workload]
			after := podSpecs(t, objs)[tt.workload]
			added := SplitSidecar(&after, before.ServiceAccountName)
			for _, p := range added.Problems(tt.apps, tt.sa, tt.lease) {
				t.Error(p)
			}
			if !equalJSON(t, before, after) {
				t.Errorf("the Component changed the app's pod spec beyond the sidecar:\nbefore %s\nafter  %s", mustJSON(t, before), mustJSON(t, after))
			}
		})
	}
}

// TestComponentNeedsSettings: without the ConfigMap naming the app and the
// Lease, kustomize fails and says which ConfigMap is missing.
func TestComponentNeedsSettings(t *testing.T) {
	_, err := Render("testdata/no-settings")
	if err == nil || !strings.Contains(err.Error(), "leader-elector") {
		t.Fatalf("rendering the Component without its ConfigMap: %v, want an error naming ConfigMap leader-elector", err)
	}
	t.Log(err)
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func equalJSON(t *testing.T, a, b any) bool {
	return string(mustJSON(t, a)) == string(mustJSON(t, b))
}

// TestOperatorRoleIsApart: the write (patch on leases) is only in the
// opt-in operator role, never in the read-only watch role, and the
// operator role is aggregated into no built-in one.
func TestOperatorRoleIsApart(t *testing.T) {
	watchRole := find(t, render(t, "watch-rbac"), "ClusterRole")
	op := find(t, render(t, "watch-rbac/operator"), "ClusterRole")
	verbs := func(role *unstructured.Unstructured) map[string]bool {
		out := map[string]bool{}
		rules, _, _ := unstructured.NestedSlice(role.Object, "rules")
		for _, r := range rules {
			res, _, _ := unstructured.NestedStringSlice(r.(map[string]any), "resources")
			vs, _, _ := unstructured.NestedStringSlice(r.(map[string]any), "verbs")
			for _, x := range res {
				for _, v := range vs {
					out[x+":"+v] = true
				}
			}
		}
		return out
	}
	if verbs(watchRole)["leases:patch"] {
		t.Error("the watch role may patch leases: it must stay read-only")
	}
	for _, want := range []string{"leases:get", "leases:list", "leases:watch", "leases:patch", "pods:list", "leasecandidates:list"} {
		if !verbs(op)[want] {
			t.Errorf("the operator role lacks %s", want)
		}
	}
	for k := range op.GetLabels() {
		if strings.HasPrefix(k, "rbac.authorization.k8s.io/aggregate-to-") {
			t.Errorf("the operator role is aggregated (%s): it must be granted on purpose", k)
		}
	}
}
