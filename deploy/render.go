// Package deploy holds the example manifests, as kustomize bases users apply
// with `kubectl apply -k`: base (the sidecar, namespace-scoped), classic (the
// same without native sidecars), watch-rbac (cluster-scoped, for watch),
// watch-rbac/operator (opt-in: the right to hand a Lease over) and
// monitoring (Prometheus Operator examples). Render builds one the way
// kubectl does, so tests check what users get without needing kubectl.
package deploy

import (
	"fmt"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
)

// Bases are the directories under deploy/ that hold a kustomization.
var Bases = []string{"base", "classic", "watch-rbac", "watch-rbac/operator", "monitoring"}

// Render runs kustomize on dir, as `kubectl apply -k dir` would, and returns
// the resources it produces.
func Render(dir string) ([]*unstructured.Unstructured, error) {
	k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	m, err := k.Run(filesys.MakeFsOnDisk(), dir)
	if err != nil {
		return nil, fmt.Errorf("kustomize build %s: %w", dir, err)
	}
	var out []*unstructured.Unstructured
	for _, r := range m.Resources() {
		obj, err := r.Map()
		if err != nil {
			return nil, fmt.Errorf("kustomize build %s: %s: %w", dir, r.CurId(), err)
		}
		out = append(out, &unstructured.Unstructured{Object: obj})
	}
	return out, nil
}
